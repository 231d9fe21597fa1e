"""bounceflow as a user installs it: a wheel built from what the Docker image's builder stage
copies (tests/dockerfile.py), installed in a fresh venv with the embedded extra, runs
``bounceflow demo``; the data files are in it, and its worker runs the compiled modules."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile

import pytest

from tests.dockerfile import ROOT, copy_build_context

pytestmark = pytest.mark.integration


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    print(f"{time.monotonic() - started:5.1f} s  {' '.join(command[:4])}")
    return done


def test_the_wheel_runs_the_demo_in_a_fresh_venv(tmp_path):
    context, wheels, venv = tmp_path / "context", tmp_path / "wheels", tmp_path / "venv"
    copy_build_context(context)
    # pip's cache keeps the build requirements (setuptools, mypy) and the dependencies local.
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels),
        str(context), timeout=600)
    [wheel] = wheels.glob("bounceflow-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in [*ROOT.glob("streams/classify/rules/*.toml"), *ROOT.glob("streams/schemas/*.avsc"),
                 ROOT / "streams/local/data/synth_replies.toml"]:
        assert str(data.relative_to(ROOT)) in names
    assert any(n.startswith("streams/ingest/_avro.") and n.endswith(".so") for n in names)

    run(sys.executable, "-m", "venv", str(venv), timeout=120)
    python = str(venv / "bin" / "python")
    run(python, "-m", "pip", "install", "--quiet", "--no-compile", f"{wheel}[embedded]",
        timeout=600)
    # Nothing of the repository or this test run's settings: cwd outside it, no BOUNCEFLOW_*.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BOUNCEFLOW_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    demo = run(str(venv / "bin" / "bounceflow"), "demo", "--events", "2000", "--data-dir",
               str(tmp_path / "demo"), cwd=tmp_path, env=env, timeout=300)
    assert "the reports equal the produced stream exactly" in demo.stdout

    log = (tmp_path / "demo" / "worker.log").read_text()
    [line] = [line for line in log.splitlines() if "compiled modules:" in line]
    assert "streams.ingest._avro" in line and "streams.classify.classifier" in line, line
    # The demo's worker is `python -m streams.cli` with the venv's python, from this cwd.
    where = run(python, "-c", "import streams.cli; print(streams.cli.__file__)", cwd=tmp_path,
                env=env)
    assert where.stdout.startswith(str(venv)), where.stdout
