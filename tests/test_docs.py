"""The documentation site (``mkdocs.yml``, ``docs/``): the generated references match the code, the site
builds with ``mkdocs build --strict`` (broken links and anchors fail it), and every page is in the nav."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def _gen_ref():
    spec = importlib.util.spec_from_file_location("docs_gen_ref", DOCS / "gen_ref.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nav_pages(nav) -> list[str]:
    """Every page path in mkdocs' nav, in order."""
    pages = []
    for item in nav:
        if isinstance(item, str):
            pages.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may use mkdocs' own tags (!ENV, !!python/name); the nav needs none of them
    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    return yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


@pytest.mark.parametrize("name", ["cli.md", "config.md"])
def test_the_generated_references_match_the_code(name):
    gen_ref = _gen_ref()
    path = DOCS / "reference" / name
    generated = gen_ref.pages()[path]
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    assert committed == generated, (
        f"docs/reference/{name} is stale: run `.venv/bin/python docs/gen_ref.py` and commit the result"
    )


def test_the_generated_references_are_deterministic():
    gen_ref = _gen_ref()
    first, second = gen_ref.pages(), gen_ref.pages()
    assert first == second
    for text in first.values():
        assert str(REPO) not in text and str(Path.home()) not in text  # no paths of this machine
        assert re.search(r" at 0x[0-9a-f]{6,}", text) is None  # no object reprs


def test_the_references_name_every_command_and_every_config_section():
    import click

    from starmill.cli import cli
    from starmill.config import RunConfig

    gen_ref = _gen_ref()
    pages = gen_ref.pages()
    cli_text, config_text = pages[gen_ref.CLI_PAGE], pages[gen_ref.CONFIG_PAGE]
    for name, command in cli.commands.items():
        assert f"## starmill {name} " in cli_text
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert f"`{param.opts[0]}`" in cli_text
    for key in RunConfig.model_fields:
        assert f"| `{key}` |" in config_text
    assert "## `sampling.search` (SearchConfig)" in config_text  # nested models get their own section
    assert "`beam_width`" in config_text and "`min_pass_rate`" in config_text


def test_every_docs_page_is_in_the_nav():
    nav = _nav_pages(_config()["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(set(pages) - set(nav)) == [], "docs pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - set(pages)) == [], "nav entries without a page"
    assert len(nav) == len(set(nav)), "a page is in the nav twice"


def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(REPO / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    assert (site / "index.html").is_file() and (site / "reference" / "cli" / "index.html").is_file()
    # the images the pages show were copied into the site
    for image in [
        "viewer/problem.png",
        "results/img/test_time_compute_1000_difficulty1.png",
        "results/img/star_curve_3000.png",
    ]:
        assert (site / image).is_file(), image
