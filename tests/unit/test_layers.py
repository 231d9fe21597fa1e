"""The import contracts in pyproject.toml (import-linter) hold, and they would catch a pure module
that starts doing I/O: the architecture in docs/architecture.md cannot drift from the code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_contracts_are_kept() -> None:
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("streams/classify/normalize.py", "import confluent_kafka", "Pure logic imports no I/O"),
    ("streams/tracking/machine.py", "from streams.runtime import health",
     "Pure logic imports no I/O"),
    ("sinks/reports.py", "from streams.runtime import engine",
     "The ClickHouse sinks import nothing of the runtime"),
])
def test_an_import_across_a_layer_breaks_a_contract(tmp_path: Path, module: str, line: str,
                                                    contract: str) -> None:
    for tree in ("streams", "sinks"):
        shutil.copytree(ROOT / tree, tmp_path / tree,
                        ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / module, "a") as f:
        f.write(f"\n{line}\n")
    out = lint(tmp_path)
    assert out.returncode != 0
    assert f"{contract} BROKEN" in out.stdout
