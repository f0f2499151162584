"""Pushing an export folder to the Hugging Face Hub as one commit of exactly its files.

The token comes from ``HF_TOKEN`` or the user's saved login (``hf auth login``); it is passed to
``HfApi`` only, never logged, and scrubbed from any error message that might quote a request.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from starmill.warehouse.export.errors import ExportError, HubUnreachable, MissingToken
from starmill.warehouse.export.folder import folder_files

HF_RE = re.compile(r"^hf://(datasets/)?(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)$")
# transport failures of the HTTP client huggingface_hub uses (requests, httpx or httpx2, by version)
NETWORK = {"TransportError", "NetworkError", "ConnectError", "ConnectionError", "Timeout", "TimeoutException"}
MANAGED = ("data/",)  # remote files under these folders that the export lacks are deleted


def parse_target(target: str) -> str | None:
    """The repo id of an ``hf://OWNER/NAME`` target, None for a folder."""
    if not target.startswith("hf://"):
        return None
    match = HF_RE.match(target)
    if not match:
        raise ExportError(f"bad Hub target {target!r}: use hf://OWNER/NAME")
    return match.group("repo")


def resolve_token() -> str:
    from huggingface_hub import get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise MissingToken("no Hugging Face token: set HF_TOKEN or log in with `hf auth login`, then retry")
    return token


def _api(token: str):
    from huggingface_hub import HfApi

    # read at call time: huggingface_hub reads HF_ENDPOINT only once, at import
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)


def push_folder(
    root: Path, repo_id: str, *, token: str, private: bool = False, revision: str | None = None, commit_message: str
) -> str:
    """Create the dataset repo (and branch) if needed and commit the folder's files; the commit URL."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    api = _api(token)
    files = folder_files(root)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        remote = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
        stale = sorted(f for f in remote if f.startswith(MANAGED) and f not in files)
        operations = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(root / f)) for f in files]
        operations += [CommitOperationDelete(path_in_repo=f) for f in stale]
        info = api.create_commit(
            repo_id, operations, commit_message=commit_message, repo_type="dataset", revision=revision
        )
    except Exception as exc:  # network, offline mode, auth, permissions: one line, token scrubbed
        raise _error(exc, repo_id, api.endpoint, token) from None
    return str(getattr(info, "commit_url", None) or info)


def push_written(
    write: Callable[[Path], list[str]],
    repo_id: str,
    *,
    token: str,
    private: bool = False,
    revision: str | None = None,
    commit_message: str,
) -> tuple[list[str], str]:
    """Write an export with ``write`` into a temporary folder and push it (``push_folder``); the files
    ``write`` returned and the commit URL."""
    with tempfile.TemporaryDirectory(prefix="starmill-export-") as tmp:
        files = write(Path(tmp))
        url = push_folder(
            Path(tmp), repo_id, token=token, private=private, revision=revision, commit_message=commit_message
        )
    return files, url


def _error(exc: Exception, repo_id: str, endpoint: str, token: str) -> ExportError:
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].replace(token, "***")
    if isinstance(exc, OfflineModeIsEnabled):
        return HubUnreachable(f"cannot push to {repo_id}: offline mode is on (HF_HUB_OFFLINE); unset it to push")
    if isinstance(exc, OSError) or NETWORK & {c.__name__ for c in type(exc).__mro__}:
        return HubUnreachable(
            f"cannot reach the Hugging Face Hub at {endpoint} ({type(exc).__name__}: {first}); "
            "check your network or HF_ENDPOINT"
        )
    if isinstance(exc, HfHubHTTPError):
        return ExportError(f"the Hub refused the push to {repo_id}: {first}")
    return ExportError(f"push to {repo_id} failed ({type(exc).__name__}: {first})")
