"""The README and docs/ say only what the repository holds: every path and relative link in them
exists, the module map names exactly the modules there are, docs/configuration.md is what the
settings table generates, and the README stays a few screens long."""

import re
from pathlib import Path

import pytest

from streams.settings import markdown_table

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
README_MAX_LINES = 250

# A repository path as the docs write them: `streams/runtime/engine.py`, docs/hooks.md,
# tests/integration/test_crash.py::name, streams/classify/rules/*.toml, setup.py.
_PATH = re.compile(
    r"(?<![\w./<-])((?:streams|sinks|schemas|tests|docs|bench|\.ci)/[\w.*/-]*[\w*/]"
    r"|(?:setup|pyproject|docker-compose)\.\w+|Dockerfile)"
)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_MODULE = re.compile(r"`((?:streams|sinks)/[\w/]+\.py)`")


def repository_paths(text: str) -> set[str]:
    return {m.rstrip("/") or m for m in _PATH.findall(text)}


def missing_paths(text: str) -> list[str]:
    return sorted(p for p in repository_paths(text) if not any(ROOT.glob(p)))


def broken_links(doc: Path) -> list[str]:
    broken = []
    for target in _LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (doc.parent / target.split("#")[0]).exists():
            broken.append(target)
    return broken


def module_map(architecture: str) -> set[str]:
    section = architecture.split("## Module map", 1)[1].split("\n## ", 1)[0]
    return set(_MODULE.findall(section))


def modules() -> set[str]:
    return {str(p.relative_to(ROOT)) for package in ("streams", "sinks")
            for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_path_named_exists(doc):
    assert missing_paths(doc.read_text()) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_exists(doc):
    assert broken_links(doc) == []


def test_the_module_map_names_every_module_and_no_other():
    named = module_map((ROOT / "docs" / "architecture.md").read_text())
    assert sorted(modules() - named) == [], "add these modules to docs/architecture.md"
    assert sorted(named - modules()) == [], "these are not modules (moved or removed?)"


def test_the_readme_fits_on_a_few_screens():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail to docs/"


def test_the_configuration_doc_is_generated_from_the_settings():
    assert (ROOT / "docs" / "configuration.md").read_text() == markdown_table(), (
        "docs/configuration.md is out of date: run "
        "`bounceflow settings --markdown > docs/configuration.md`")


def test_the_checks_see_what_is_missing():
    """The extractors above find a wrong path, a broken link and an unknown module, so an empty
    result above means there are none, not that nothing was looked at."""
    text = "see `streams/runtime/nowhere.py`, docs/nothing.md and tests/unit/test_docs.py::x"
    assert missing_paths(text) == ["docs/nothing.md", "streams/runtime/nowhere.py"]
    assert "tests/unit/test_docs.py" in repository_paths(text)
    assert module_map("## Module map\n| `streams/cli.py` | x |\n## Next\n`sinks/ddl.py`") == {
        "streams/cli.py"}
    assert len(repository_paths((ROOT / "README.md").read_text())) >= 10
