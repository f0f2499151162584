"""Which versions can be served: per dataset (``survey``) and per file, checksums included (``verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starmill.warehouse.errors import DamagedVersion
from starmill.warehouse.integrity import verify_checksums
from starmill.warehouse.manifest import Manifest
from starmill.warehouse.versions import check_ref


@dataclass
class DatasetHealth:
    name: str
    versions: list[int]
    manifests: dict[int, Manifest] = field(default_factory=dict)  # versions that opened cleanly
    damaged: dict[int, DamagedVersion] = field(default_factory=dict)

    @property
    def latest(self) -> int:
        return self.versions[-1]

    @property
    def latest_ok(self) -> bool:
        return self.latest in self.manifests

    @property
    def status(self) -> str:
        if not self.damaged:
            return "ok"
        kinds = sorted({e.status for e in self.damaged.values()})
        return f"{'/'.join(kinds)} ({', '.join(f'v{v}' for v in sorted(self.damaged))})"

    def problem(self) -> str:
        """The first damaged version's error, and how many more there are."""
        first = min(self.damaged) if self.latest_ok else self.latest
        more = len(self.damaged) - 1
        return str(self.damaged[first]) + (f" (and {more} more damaged version{'s' * (more > 1)})" if more else "")

    def warning(self) -> str:
        """One line for stderr; empty when nothing is damaged."""
        if not self.damaged:
            return ""
        if not self.latest_ok:
            return (
                f"Warning: dataset {self.name!r} is not served: {self.problem()}; "
                f"`starmill verify {self.name}` checks every file"
            )
        return (
            f"Warning: {self.name}_all is not served: {self.problem()}; `starmill verify {self.name}` checks every file"
        )


def survey(wh, name: str) -> DatasetHealth:
    """Open every version of ``name`` (cheap checks: manifest, sizes, footers)."""
    health = DatasetHealth(name, wh.versions(name))
    for version in health.versions:
        try:
            health.manifests[version] = wh.manifest(wh.ref(name, version))
        except DamagedVersion as exc:
            health.damaged[version] = exc
    return health


@dataclass(frozen=True)
class VersionReport:
    ref: str
    status: str  # ok | damaged | newer
    problem: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def verify(wh, spec: str | None = None) -> list[VersionReport]:
    """Check every file of every version (of ``NAME``, or only ``NAME@vN``) against its manifest."""
    if spec is None:
        refs = [wh.ref(n, v) for n in wh.datasets() for v in wh.versions(n)]
    elif check_ref(spec)[1] is not None:
        refs = [wh.resolve(spec)]
    else:
        name = wh.resolve(spec).dataset
        refs = [wh.ref(name, v) for v in wh.versions(name)]
    reports = []
    for ref in refs:
        try:
            manifest = wh.manifest(ref, cached=False)
            checked = verify_checksums(wh.storage, ref, manifest)
        except DamagedVersion as exc:
            reports.append(VersionReport(str(ref), exc.status, exc.problem))
            continue
        note = "" if checked else "no checksums recorded (an older starmill): sizes, rows and schemas checked"
        reports.append(VersionReport(str(ref), "ok", note))
    return reports
