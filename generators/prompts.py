"""Prompt templates: YAML files in ``generators/templates/`` with an id and a content hash.

A template renders a question (and, for STaR rationalization, a gold-answer hint) into chat messages.
The hash is stored with every sample, so a changed template is a different template.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from starmill.schemas.errors import StarmillError

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_TEMPLATE_BYTES = 256 * 1024  # a template is a few lines; anything bigger is a wrong file


class TemplateError(StarmillError):
    pass


@dataclass(frozen=True)
class Template:
    id: str
    hash: str  # sha256 of the file, first 16 hex digits
    description: str
    system: str | None
    user: str  # with {question}, and {hint} for rationalization templates
    examples: tuple[tuple[str, str], ...] = ()

    @property
    def takes_hint(self) -> bool:
        return "{hint}" in self.user

    def render(self, question: str, hint: str | None = None) -> list[dict[str, str]]:
        if self.takes_hint and hint is None:
            raise TemplateError(f"template {self.id!r} needs a hint (the gold answer)")
        if hint is not None and not self.takes_hint:
            raise TemplateError(f"template {self.id!r} has no place for a hint")
        messages = [{"role": "system", "content": self.system}] if self.system else []
        for q, a in self.examples:
            messages += [
                {"role": "user", "content": self.user.replace("{question}", q).replace("{hint}", "")},
                {"role": "assistant", "content": a},
            ]
        text = self.user.replace("{question}", question)
        if hint is not None:
            text = text.replace("{hint}", hint)
        messages.append({"role": "user", "content": text})
        return messages

    def hint_phrases(self) -> list[str]:
        """The template's own words around the hint, which an output leaking the hint would quote."""
        if not self.takes_hint:
            return []
        line = next(text for text in self.user.splitlines() if "{hint}" in text)
        return [p.strip(" ().:") for p in line.split("{hint}") if len(p.strip(" ().:")) >= 8]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hash": self.hash,
            "description": self.description,
            "system": self.system,
            "user": self.user,
            "examples": len(self.examples),
        }


def load_template(path: str | Path) -> Template:
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"{path} is not a template: over {MAX_TEMPLATE_BYTES // 1024} KiB")
    try:
        data = yaml.safe_load(raw)
        examples = tuple((str(e["question"]), str(e["answer"])) for e in data.get("examples") or [])
        user = data["user"]
    except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TemplateError(f"{path} is not a valid template (a YAML mapping with 'user'): {first}") from None
    if not isinstance(user, str) or "{question}" not in user:
        raise TemplateError(f"{path}: 'user' must be text containing {{question}}")
    return Template(
        id=str(data.get("id", path.stem)),
        hash=hashlib.sha256(raw).hexdigest()[:16],
        description=str(data.get("description", "")),
        system=data.get("system"),
        user=user,
        examples=examples,
    )


def template_file(name: str) -> Path:
    """The file of a user template: a relative ``.yaml`` path inside the current folder. Absolute
    paths, ``..`` and links out of it are refused, so a config cannot point a prompt at any file."""
    path = Path(name)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise TemplateError(
            f"unknown prompt template {name!r} (built-in: {', '.join(available())}; "
            "or a relative path to your own .yaml template)"
        )
    if path.is_absolute() or name.startswith("~") or ".." in path.parts:
        raise TemplateError(f"prompt template {name!r}: give a path relative to the current folder, without '..'")
    here = Path.cwd().resolve()
    resolved = (here / path).resolve()
    if not resolved.is_relative_to(here):
        raise TemplateError(f"prompt template {name!r} leads outside the current folder")
    if not resolved.is_file():
        raise TemplateError(f"prompt template file {name!r} not found")
    return resolved


@functools.lru_cache(maxsize=64)
def get_template(name: str) -> Template:
    """A built-in template by id, or a template file by relative path (see ``template_file``)."""
    if re.fullmatch(r"[a-z0-9_]+", name) and (TEMPLATES / f"{name}.yaml").exists():
        return load_template(TEMPLATES / f"{name}.yaml")
    return load_template(template_file(name))


def render(template_id: str, question: str, hint: str | None = None) -> list[dict[str, str]]:
    """Chat messages for ``question`` from a template id (or path); ``hint`` is the gold answer."""
    return get_template(template_id).render(question, hint=hint)


def training_prompt(template_id: str, question: str, plain_template_id: str = "cot_zero_shot") -> list[dict[str, str]]:
    """The prompt stored with a sample: for a hinted template (rationalization) the plain, hint-free
    prompt of ``plain_template_id``, never the hinted one; otherwise the template's own prompt."""
    template = get_template(template_id)
    plain = get_template(plain_template_id) if template.takes_hint else template
    if plain.takes_hint:
        raise TemplateError(f"template {plain.id!r} shows a hint and cannot be a training prompt")
    return plain.render(question)


def available() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.yaml"))
