"""A file the code reads beside its modules (rules, schemas, synthetic replies, ...) reaches a
wheel only when [tool.setuptools.package-data] names it: every such file in the packages must
match a pattern there (tests/integration/test_wheel.py builds the wheel and runs it)."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CODE = {".py", ".pyc", ".so", ".c"}  # modules, their builds, and the C codec's source


def test_every_data_file_in_the_packages_is_package_data():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]
    missing = []
    for package in ("streams", "sinks"):
        for path in (ROOT / package).rglob("*"):
            if path.is_dir() or path.suffix in CODE or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT / package).as_posix()
            if not any(fnmatch.fnmatch(relative, p) for p in patterns.get(package, [])):
                missing.append(f"{package}/{relative}")
    assert missing == []
