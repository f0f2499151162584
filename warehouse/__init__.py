"""Versioned Parquet datasets, their manifests, and read-only SQL over them through DuckDB."""

from starmill.warehouse.errors import DatasetNotFound, QueryError, VersionNotFound, WarehouseError
from starmill.warehouse.manifest import Manifest
from starmill.warehouse.versions import VersionRef, Warehouse

__all__ = [
    "DatasetNotFound",
    "Manifest",
    "QueryError",
    "VersionNotFound",
    "VersionRef",
    "Warehouse",
    "WarehouseError",
]
