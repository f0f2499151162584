"""The teacher loaded ahead of the run (while Prefect's temporary server starts), into this process's
backend registry, where the run's shard tasks find it: only when those tasks run in this process
(the thread runner) and the run will generate."""

from __future__ import annotations

import logging

from starmill.config import RunConfig

log = logging.getLogger(__name__)


def worth_preloading(config: RunConfig, warehouse: str | None, *, force: bool, publish_partial: bool) -> bool:
    """True when the run will most likely load its teacher here: thread runner, generating, and not a rerun
    that may turn out unchanged (one with an ``sft`` version already, unless ``force``): such a rerun
    loads no teacher, and a large one takes minutes."""
    if publish_partial or config.runner.kind != "thread":
        return False
    if force:
        return True
    from starmill.warehouse import Warehouse

    try:
        wh = Warehouse(config.warehouse or warehouse, options=config.warehouse_options or None)
        return not wh.versions(config.datasets.sft)
    except Exception:  # the run itself reports a warehouse it cannot read
        return False


def preload_teacher(config: RunConfig) -> None:
    """Load the iteration-0 teacher into this process's registry (``generators.registry``). A load that
    fails is left to the run's shards, which try again and report it as they always have."""
    from starmill.generators import stopping
    from starmill.generators.registry import backend_for

    try:
        backend_for(config.teacher.model_dump(mode="json"))
    except stopping.Stopped:
        raise
    except Exception as exc:  # the shards load it again: their retries and FAILED lines stay the report
        log.info("teacher preload failed (the run's shards load it): %s", exc)
