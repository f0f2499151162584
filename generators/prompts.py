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

from schemas.errors import StarmillError

TEMPLATES = Path(__file__).resolve().parent / "templates"


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
            messages += [{"role": "user", "content": self.user.replace("{question}", q).replace("{hint}", "")},
                         {"role": "assistant", "content": a}]
        text = self.user.replace("{question}", question)
        if hint is not None:
            text = text.replace("{hint}", hint)
        messages.append({"role": "user", "content": text})
        return messages

    def hint_phrases(self) -> list[str]:
        """The template's own words around the hint, which an output leaking the hint would quote."""
        if not self.takes_hint:
            return []
        line = next(l for l in self.user.splitlines() if "{hint}" in l)
        return [p.strip(" ().:") for p in line.split("{hint}") if len(p.strip(" ().:")) >= 8]

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "hash": self.hash, "description": self.description,
                "system": self.system, "user": self.user, "examples": len(self.examples)}


def load_template(path: str | Path) -> Template:
    path = Path(path)
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
        examples = tuple((e["question"], e["answer"]) for e in data.get("examples") or [])
        user = data["user"]
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise TemplateError(f"{path} is not a valid template (needs 'id' and 'user'): {exc}") from None
    if "{question}" not in user:
        raise TemplateError(f"{path}: 'user' must contain {{question}}")
    return Template(id=data.get("id", path.stem), hash=hashlib.sha256(raw).hexdigest()[:16],
                    description=data.get("description", ""), system=data.get("system"), user=user,
                    examples=examples)


@functools.lru_cache(maxsize=64)
def get_template(name: str) -> Template:
    """A built-in template by id, or a template file by path."""
    if re.fullmatch(r"[a-z0-9_]+", name) and (TEMPLATES / f"{name}.yaml").exists():
        return load_template(TEMPLATES / f"{name}.yaml")
    if Path(name).is_file():
        return load_template(name)
    raise TemplateError(f"unknown prompt template {name!r} (built-in: {', '.join(available())}; or a path to a YAML file)")


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
