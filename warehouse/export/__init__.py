"""Export ``sft`` versions as TRL-ready datasets to a folder or the Hugging Face Hub, with a card."""

from starmill.warehouse.export.build import build_export, export_to_folder, export_to_hub
from starmill.warehouse.export.errors import ExportError, FolderNotEmpty, HubUnreachable, MissingToken
from starmill.warehouse.export.formats import FORMATS
from starmill.warehouse.export.hub import parse_target
from starmill.warehouse.export.model import Export, ExportSettings

__all__ = [
    "FORMATS",
    "Export",
    "ExportError",
    "ExportSettings",
    "FolderNotEmpty",
    "HubUnreachable",
    "MissingToken",
    "build_export",
    "export_to_folder",
    "export_to_hub",
    "parse_target",
]
