"""Versioned Parquet datasets, their manifests, and read-only SQL over them through DuckDB."""
from warehouse.errors import DatasetNotFound, QueryError, VersionNotFound, WarehouseError
from warehouse.manifest import Manifest
from warehouse.versions import VersionRef, Warehouse

__all__ = [
    "DatasetNotFound", "Manifest", "QueryError", "VersionNotFound", "VersionRef", "Warehouse",
    "WarehouseError",
]
