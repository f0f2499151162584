"""The ``manifest.json`` of a version: its lineage, counts and schema, written last at commit.

Format 1 (renamed folders): the files lie in the version folder. Format 2 (no rename): they lie in
the writer's data folder ``data`` (``<dataset>/_data/<writer>``, relative to the warehouse root),
and the manifest alone, created only if absent, is the commit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from starmill.schemas.report import RunReport

MANIFEST_FORMAT = 2


class FileEntry(BaseModel):
    path: str  # relative to the manifest's data folder (format 1: the version folder)
    table: str
    rows: int
    bytes: int
    sha256: str | None = None  # hex digest of the file's bytes at commit (absent in older manifests)


class SourceEntry(BaseModel):
    # a run's many sources add counts, limit, weight and verifiers (extra keys, absent for one source)
    model_config = ConfigDict(extra="allow")

    name: str
    uri: str
    fingerprint: str | None = None
    license: str | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    format: int = MANIFEST_FORMAT
    dataset: str
    version: int
    table: str  # the main table's kind: problems | samples | sft
    schema_version: int
    tables: dict[str, int] = Field(default_factory=dict)  # table -> rows
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    starmill_version: str
    git_commit: str | None = None
    command: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    sources: list[SourceEntry] = Field(default_factory=list)
    parents: list[str] = Field(default_factory=list)  # "name@vN"
    models: list[dict[str, Any]] = Field(default_factory=list)
    sampling: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)  # rows at every stage
    drops: dict[str, int] = Field(default_factory=dict)  # dropped rows per reason
    partial: bool = False
    report: RunReport | None = None  # what the STaR run that made a samples or sft version found
    data: str | None = None  # the folder holding ``files``, relative to the warehouse root (format 2)
    files: list[FileEntry] = Field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.tables.get(self.table, 0)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False)
