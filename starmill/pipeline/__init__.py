"""The STaR loop as plain code: ``run_star(config, warehouse, map_stage)`` prepares the problems,
runs every iteration's stages through ``map_stage`` (shards as jobs; in this process by default,
Prefect tasks in ``flows/star.py``), streams the results through grading and selection, and
publishes ``samples`` and ``sft`` with a typed run report. The shard jobs, their retries and the
in-process mapper are ``starmill.warehouse.shards`` (beside the ledger; ``starmill eval`` uses them too).

    run.py      the run: config, warehouse, problems, ledger, key
    stream.py   grading and selection shard by shard; the spool on local disk
    preflight.py checks made before anything is generated (source, teachers, judges, warehouse)
    models.py   the step between iterations (which teacher samples next)
    loop.py     the iterations and stages
    publish.py  the report, the versions, the summary
"""

from starmill.pipeline.loop import MapStage, PartialRun, StarLoop, run_star
from starmill.pipeline.preflight import preflight
from starmill.pipeline.publish import summary_markdown
from starmill.pipeline.run import Run, RunError, prepare
from starmill.warehouse.shards import RetryPolicy, ShardJob, ShardResult, generate_shard, map_in_process

__all__ = [
    "MapStage",
    "PartialRun",
    "RetryPolicy",
    "Run",
    "RunError",
    "ShardJob",
    "ShardResult",
    "StarLoop",
    "generate_shard",
    "map_in_process",
    "preflight",
    "prepare",
    "run_star",
    "summary_markdown",
]
