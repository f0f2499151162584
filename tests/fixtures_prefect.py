"""One Prefect test harness (temporary server and database) for the whole session, heartbeat off."""
import pytest


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness  # ~5 s to import: only here

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness(server_startup_timeout=60):
            yield
