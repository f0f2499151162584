"""What a local model folder must hold before starmill loads it (teacher, scorer, judge, training base):
a readable config.json, whole safetensors weights (never pickles, which can run code when loaded), and
no remote code unless the caller opted in. Read from the files alone: nothing is imported or run."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from starmill.schemas.errors import StarmillError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # a safetensors header is JSON of tensor names and offsets


class ModelFolderError(StarmillError, ValueError):
    pass


def looks_like_path(model: str) -> bool:
    """A local path, not a Hub id (``org/name`` or ``name``)."""
    return model.startswith(("/", "./", "../", "~")) or model.count("/") > 1


def check_model_folder(
    model: str, what: str = "model", trust_remote_code: bool = False, remote_code_hint: str = ""
) -> None:
    """A ``ModelFolderError`` naming ``what`` and the reason when ``model`` is a local path that is not a
    loadable model folder. A Hub id that is no local folder passes (the loader resolves it)."""
    path = Path(model).expanduser()
    if not path.exists():
        if looks_like_path(model):
            raise ModelFolderError(f"{what} path {model!r} does not exist")
        return
    if not path.is_dir():
        raise ModelFolderError(
            f"{what} {model!r} is not a folder: give the folder that holds config.json and the weights"
        )
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    if not isinstance(config, dict):
        raise ModelFolderError(f"{what} {model!r} holds no model (no readable config.json)")
    if not trust_remote_code:
        for name in ("config.json", "tokenizer_config.json"):
            data = config if name == "config.json" else _json(path / name)
            if isinstance(data, dict) and data.get("auto_map"):
                raise ModelFolderError(
                    f"{what} {model!r} needs remote code ({name} has auto_map: Python code "
                    f"shipped with the model), which starmill does not run{remote_code_hint}"
                )
    _check_weights(path, model, what)


def _json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _check_weights(path: Path, model: str, what: str) -> None:
    shards = sorted(path.glob("*.safetensors"))
    index = _json(path / "model.safetensors.index.json")
    if isinstance(index, dict) and isinstance(index.get("weight_map"), dict):
        listed = sorted({str(f) for f in index["weight_map"].values()})
        missing = [f for f in listed if not (path / f).is_file()]
        if missing:
            raise ModelFolderError(
                f"{what} {model!r} is incomplete: its weight index names {missing[0]}, which is missing"
            )
    if not shards:
        pickles = sorted(p.name for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise ModelFolderError(
                f"{what} {model!r} has only pickle weights ({pickles[0]}), which can run code "
                "when loaded: starmill loads safetensors only (convert them where you trust "
                "the files: save_pretrained(..., safe_serialization=True))"
            )
        raise ModelFolderError(f"{what} {model!r} holds no weights (no *.safetensors file)")
    for shard in shards:
        problem = safetensors_problem(shard)
        if problem is not None:
            raise ModelFolderError(f"{what} {model!r}: {shard.name} is damaged ({problem}); copy it again")


def safetensors_problem(file: Path) -> str | None:
    """Why ``file`` is no whole safetensors file (truncated, not one at all), or None; reads its header only."""
    try:
        size = file.stat().st_size
        with file.open("rb") as handle:
            head = handle.read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else None
            if length is None or not 2 <= length <= min(size - 8, MAX_HEADER_BYTES):
                return "not a safetensors file, or truncated in its header"
            header = json.loads(handle.read(length))
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError:
        return "its header is not valid JSON"
    if not isinstance(header, dict):
        return "its header is not a mapping of tensors"
    offsets = [t.get("data_offsets") if isinstance(t, dict) else None for k, t in header.items() if k != "__metadata__"]
    if not all(isinstance(o, list) and len(o) == 2 and all(type(x) is int for x in o) for o in offsets):
        return "its header has bad offsets"
    data = size - 8 - length
    need = max((o[1] for o in offsets), default=0)
    if need != data:
        return (
            f"{data} bytes of tensor data where its header describes {need}: truncated"
            if need > data
            else f"{data - need} bytes after the last tensor"
        )
    return None
