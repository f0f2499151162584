"""Typed records and explicit Arrow schemas, one per table, each with a schema version."""
from schemas.errors import StarmillError
from schemas.base import SchemaVersionError, check_readable, content_hash
from schemas.evals import EvalRecord
from schemas.models import ModelRecord
from schemas.problems import ProblemRecord
from schemas.prm import PrmRecord
from schemas.rejects import RejectRecord
from schemas.samples import SampleRecord, Stage
from schemas.sft import SftRecord
from schemas.tree import TreeRecord

TABLES = {r.TABLE: r for r in (ProblemRecord, RejectRecord, SampleRecord, SftRecord, ModelRecord, EvalRecord, TreeRecord,
                                   PrmRecord)}

__all__ = [
    "EvalRecord", "ModelRecord", "PrmRecord", "ProblemRecord", "RejectRecord", "SampleRecord", "SftRecord", "SchemaVersionError",
    "Stage", "StarmillError",
    "TABLES", "TreeRecord", "check_readable", "content_hash",
]
