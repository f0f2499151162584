"""Prefect's fixed start: ``starmill run`` spawns the temporary server first, loads the teacher while it
starts, and waits for it only before the flow (the CLI in-process, with Prefect's parts observed)."""

import json

import pytest

from tests.helpers import run_cli


@pytest.fixture
def calls(monkeypatch):
    """The order in which ``starmill run`` spawns the server, loads the teacher, waits, runs the flow."""
    import starmill.flows.star
    from starmill.flows import prefect_env
    from starmill.pipeline import preload

    seen = []
    server = object()
    monkeypatch.setattr(prefect_env, "spawn_temporary_server", lambda: seen.append("spawn") or server)
    monkeypatch.setattr(
        prefect_env, "wait_for_server", lambda got: seen.append("wait" if got is server else "wait for another server")
    )
    monkeypatch.setattr(preload, "preload_teacher", lambda cfg: seen.append(f"teacher {cfg.teacher.model}"))
    monkeypatch.setattr(starmill.flows.star, "star_flow", lambda config, **kw: seen.append("flow") or {"warnings": []})
    return seen


def test_the_teacher_loads_while_the_server_starts(calls, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STARMILL_PREFECT_OVERLAP", raising=False)
    code, stdout, stderr = run_cli(capsys, "run", "-w", str(tmp_path / "wh"), "--json")
    assert code == 0, stderr
    assert json.loads(stdout) == {"warnings": []}
    assert calls == ["spawn", "teacher starmill/demo-teacher", "wait", "flow"]


def test_without_the_overlap_the_server_answers_before_anything_loads(calls, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STARMILL_PREFECT_OVERLAP", "0")
    code, _, stderr = run_cli(capsys, "run", "-w", str(tmp_path / "wh"), "--json")
    assert code == 0, stderr
    assert calls == ["spawn", "wait", "flow"]  # the teacher loads in the flow's first shard, as before


def test_no_teacher_is_loaded_ahead_where_the_run_may_not_use_it(tmp_path):
    from starmill.config import RunConfig
    from starmill.pipeline.preload import worth_preloading

    plain = RunConfig.model_validate({})
    assert worth_preloading(plain, str(tmp_path), force=False, publish_partial=False)
    assert not worth_preloading(plain, str(tmp_path), force=False, publish_partial=True)  # generates nothing
    dask = RunConfig.model_validate({"runner": {"kind": "dask"}})
    assert not worth_preloading(dask, str(tmp_path), force=True, publish_partial=False)  # loads in its workers
