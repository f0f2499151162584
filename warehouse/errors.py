"""Typed errors of the warehouse; each is a user-facing one-line message."""
from schemas.errors import StarmillError


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
