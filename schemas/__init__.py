"""Typed records and explicit Arrow schemas, one per table, each with a schema version."""

from starmill.schemas.base import SchemaVersionError, check_readable, content_hash
from starmill.schemas.contamination import ContaminationRecord
from starmill.schemas.errors import StarmillError
from starmill.schemas.evals import EvalRecord
from starmill.schemas.models import ModelRecord
from starmill.schemas.prm import PrmRecord
from starmill.schemas.problems import ProblemRecord
from starmill.schemas.rejects import RejectRecord
from starmill.schemas.samples import SampleRecord, Stage
from starmill.schemas.sft import SftRecord
from starmill.schemas.tree import TreeRecord

TABLES = {
    r.TABLE: r
    for r in (
        ProblemRecord,
        RejectRecord,
        SampleRecord,
        SftRecord,
        ModelRecord,
        EvalRecord,
        TreeRecord,
        PrmRecord,
        ContaminationRecord,
    )
}

__all__ = [
    "ContaminationRecord",
    "EvalRecord",
    "ModelRecord",
    "PrmRecord",
    "ProblemRecord",
    "RejectRecord",
    "SampleRecord",
    "SftRecord",
    "SchemaVersionError",
    "Stage",
    "StarmillError",
    "TABLES",
    "TreeRecord",
    "check_readable",
    "content_hash",
]
