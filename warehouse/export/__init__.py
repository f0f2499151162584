"""Export ``sft`` versions as TRL-ready datasets to a folder or the Hugging Face Hub, with a card."""
from warehouse.export.build import build_export, export_to_folder, export_to_hub
from warehouse.export.errors import ExportError, FolderNotEmpty, HubUnreachable, MissingToken
from warehouse.export.formats import FORMATS
from warehouse.export.hub import parse_target
from warehouse.export.model import Export, ExportSettings

__all__ = [
    "FORMATS", "Export", "ExportError", "ExportSettings", "FolderNotEmpty", "HubUnreachable", "MissingToken",
    "build_export", "export_to_folder", "export_to_hub", "parse_target",
]
