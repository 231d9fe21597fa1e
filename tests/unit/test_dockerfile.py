"""The Dockerfile cannot be built here (no Docker engine): read it, as test_compose.py reads
docker-compose.yml. The builder stage has a compiler and every source setup.py and pyproject.toml
need, and builds a wheel; the runtime stage installs that wheel alone."""

from __future__ import annotations

import fnmatch
import sys

from tests.dockerfile import ROOT, copy_build_context, ignored, stages

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_two_stages_on_the_same_python():
    builder, runtime = stages()
    assert builder.name and runtime.image == builder.image  # compiled for that Python


def test_the_builder_compiles_and_builds_a_wheel():
    builder = stages()[0]
    runs = " ".join(builder.args("RUN"))
    assert "apt-get install" in runs and " gcc" in runs
    copied = builder.copied()
    assert {"setup.py", "pyproject.toml", PYPROJECT["project"]["readme"]} <= set(copied)
    assert any("pip wheel" in run and "--no-deps" in run for run in builder.args("RUN"))


def test_the_builder_copies_every_package_and_its_data(tmp_path):
    copied = stages()[0].copied()
    includes = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()
                and any(fnmatch.fnmatch(p.name, pattern) for pattern in includes)]
    assert packages and set(packages) <= set(copied)
    copy_build_context(tmp_path)
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:  # each resolves in the copy (streams/schemas is a symlink)
            assert list((tmp_path / package).glob(pattern)), f"{package}/{pattern}"
    assert not list(tmp_path.rglob("*.so")) and not list(tmp_path.rglob("__pycache__"))


def test_the_runtime_stage_installs_the_wheel_alone():
    builder, runtime = stages()
    assert runtime.copied() == []  # no sources
    assert any(args.startswith(f"--from={builder.name} ") for args in runtime.args("COPY"))
    runs = " ".join(runtime.args("RUN"))
    assert "pip install" in runs and ".whl" in runs and "gcc" not in runs
    user = runtime.args("USER")[-1]
    assert user != "root" and f"useradd --create-home {user}" in runs  # a home: see Dockerfile
    assert runtime.args("ENTRYPOINT") == ['["bounceflow"]']


def test_dockerignore_keeps_local_builds_and_caches_out():
    for path in (".git/HEAD", ".venv/bin/python", "build/lib/streams/cli.py",
                 "streams/classify/classifier.cpython-311-x86_64-linux-gnu.so",
                 "streams/__pycache__/cli.cpython-311.pyc", "bounceflow.egg-info/PKG-INFO"):
        assert ignored(path), path
    for path in ("setup.py", "streams/cli.py", "streams/ingest/_avro.c",
                 "streams/classify/rules/patterns.toml", "schemas/smtp_reply.avsc"):
        assert not ignored(path), path
