"""Typed errors of the warehouse; each is a user-facing one-line message."""

from starmill.schemas.errors import StarmillError


class WarehouseError(StarmillError):
    pass


class DatasetNotFound(WarehouseError):
    pass


class VersionNotFound(WarehouseError):
    pass


class BadDatasetName(WarehouseError):
    pass


class QueryError(WarehouseError):
    pass


class DamagedVersion(WarehouseError):
    """A version whose files don't match what its manifest promises (or that this starmill can't read)."""

    def __init__(self, ref: str, problem: str, *, newer: bool = False):
        self.ref, self.problem, self.newer = ref, problem, newer
        super().__init__(f"{ref} {'cannot be read' if newer else 'is damaged'}: {problem}")

    @property
    def status(self) -> str:
        return "newer" if self.newer else "damaged"


class StoreError(WarehouseError):
    """The warehouse's object store refused or could not be reached (credentials, endpoint, bucket)."""
