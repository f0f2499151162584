"""What a run checks before it generates anything (``starmill run`` before Prefect starts, ``run_star`` as
it begins): the settings this machine can make wrong where the YAML is fine (a source file, a model
folder, a backend option, a read-only warehouse), so a mistake is one error at once instead of a
traceback after minutes of generation. Nothing is loaded, run or written."""

from __future__ import annotations

from starmill.config import RunConfig
from starmill.pipeline.run import RunError


def preflight(config: RunConfig, warehouse: str | None = None, generate: bool = True) -> None:
    """Raise the first problem: the source, the teachers and judges (unless nothing is ``generate``d),
    the warehouse. Scorers' model folders are checked as the config loads."""
    from starmill.build import build_verifiers
    from starmill.generators.registry import check_teacher
    from starmill.warehouse.root import not_writable
    from starmill.warehouse.sources import check_source
    from starmill.warehouse.storage import resolve_root

    for source in config.source_specs():
        check_source(source)
    if generate:
        teacher = config.teacher.model_dump(mode="json")
        check_teacher(teacher)
        for i, model in enumerate(config.iterations.models):
            check_teacher({**teacher, "model": model, "revision": None}, f"iterations.models[{i}]")
        for source in config.source_specs():
            build_verifiers(source)  # a judge's model and options, a verifier's own settings
        if config.audit.enabled and config.audit.verifier != "math-verify":  # math-verify missing: skipped
            from starmill.grading.audit import build_auditor

            build_auditor(config.audit.verifier)
    problem = not_writable(resolve_root(config.warehouse or warehouse))
    if problem is not None:
        raise RunError(problem)
