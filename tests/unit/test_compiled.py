"""The compiled modules (setup.py) are builds of the sources beside them. A module loads its
``.so`` when there is one, so a ``.py`` edited since the last ``pip install -e .`` would not run:
this says so, instead of the tests passing on the old build."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_compiled_module_is_older_than_its_source():
    stale = []
    for built in [*ROOT.glob("streams/**/*.so"), *ROOT.glob("sinks/*.so")]:
        source = built.with_name(built.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > built.stat().st_mtime:
            stale.append(str(source.relative_to(ROOT)))
    assert not stale, f"edited since they were compiled, run `pip install -e .` again: {stale}"


def test_the_compiled_modules_named_for_the_log_are_the_ones_loaded_from_a_build():
    from streams.ingest import avro_native
    from streams.runtime import interpreter
    from streams.tracking import machine as tracking

    named = interpreter.compiled_modules()
    assert ("streams.ingest._avro" in named) == avro_native.CODEC.startswith("C ")
    assert ("streams.tracking.machine" in named) == (tracking.__file__ or "").endswith(".so")
    assert all(name.split(".")[0] in ("streams", "sinks") for name in named)
