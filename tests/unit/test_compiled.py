"""The compiled modules (setup.py) are builds of the sources beside them. A module loads its
``.so`` when there is one, so a ``.py`` edited since the last ``pip install -e .`` would not run:
this says so, instead of the tests passing on the old build."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_compiled_module_is_older_than_its_source():
    stale = []
    for built in [*ROOT.glob("streams/*.so"), *ROOT.glob("sinks/*.so")]:
        source = built.with_name(built.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > built.stat().st_mtime:
            stale.append(str(source.relative_to(ROOT)))
    assert not stale, f"edited since they were compiled, run `pip install -e .` again: {stale}"
