"""One transformers backend on the committed demo teacher for the whole session."""

from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "generators" / "demo_teacher"


@pytest.fixture(scope="session")
def hf_backend():
    from starmill.generators.transformers_backend import TransformersBackend

    backend = TransformersBackend(str(DEMO))
    yield backend
    backend.close()
