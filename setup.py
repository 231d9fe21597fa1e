"""What pyproject.toml cannot declare: the compiled parts of the build, each optional (where one
does not build, its Python runs).

- the C Avro codec (streams/ingest/_avro.c); without it, the codec's generated Python functions;
- the per-reply modules compiled by mypyc from their own source: the same code, run without the
  interpreter's dispatch (a quarter off ``python -m bench.loop``: docs/performance-history.md).
  A module loads its compiled build when there is one (``*.so`` beside the ``.py``): after
  editing one, ``pip install -e .`` again (tests/unit/test_compiled.py says when it is stale).
"""

from setuptools import Extension, setup

# Pure logic on the path of every reply; mypyc cannot compile a module that reads ``__file__``
# (codec, rules_loader) or a class an interpreted class inherits from (sinks/base.py).
COMPILED = ["streams/classify/classifier.py", "streams/classify/normalize.py",
            "streams/tracking/hooks.py", "streams/tracking/machine.py",
            "streams/tracking/recent.py", "streams/tracking/state.py",
            "streams/runtime/partitioner.py", "streams/runtime/processing.py",
            "streams/ingest/validation.py", "streams/ingest/varint.py", "sinks/avro_rows.py"]


def compiled() -> list[Extension]:
    try:
        from mypyc.build import mypycify
    except ImportError:  # built outside pip's isolated build environment, without mypy
        print("mypyc is not installed: bounceflow's per-reply modules run as Python")
        return []
    # Type errors only in the compiled modules: the others are read for their types alone.
    extensions = mypycify(["--ignore-missing-imports", "--follow-imports=silent", *COMPILED],
                          opt_level="3", group_name="streams._compiled")
    for extension in extensions:
        extension.optional = True
    return extensions


setup(ext_modules=[Extension("streams.ingest._avro", ["streams/ingest/_avro.c"], optional=True),
                   *compiled()])
