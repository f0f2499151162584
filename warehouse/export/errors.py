"""Typed errors of the export; each is a user-facing one-line message."""

from starmill.schemas.errors import StarmillError


class ExportError(StarmillError):
    pass


class FolderNotEmpty(ExportError):
    pass


class MissingToken(ExportError):
    pass


class HubUnreachable(ExportError):
    pass
