"""Problem sources: files, folders, Hub ids and the procedural generator, with field presets."""

from starmill.schemas.sources import PRESETS, ProceduralSpec, SourceSpec
from starmill.warehouse.sources.ingest import check_source, ensure_problems, ingest, iter_problems
from starmill.warehouse.sources.readers import SourceError

__all__ = [
    "PRESETS",
    "ProceduralSpec",
    "SourceError",
    "SourceSpec",
    "check_source",
    "ensure_problems",
    "ingest",
    "iter_problems",
]
