"""The C Avro codec (``_avro.c``), given programs built here from a schema: the same records and
bytes as the Python functions ``avro_reader`` and ``avro_writer`` generate, several times as
fast.

The C extension is built by ``pip install``; where it could not be compiled, ``AVAILABLE`` is
false and the codec is the generated Python (the worker's log says which: ``CODEC``). The
schema is checked by the Python compilers first: a program is only built for what they cover.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from streams.ingest.varint import zigzag

try:
    from streams.ingest import _avro

    CODEC = "C (streams/ingest/_avro.c)"
except ImportError as exc:  # not compiled: the generated Python functions are used
    _avro = None
    CODEC = f"generated Python (the C extension is not built: {exc})"

AVAILABLE = _avro is not None


def _program(schema: Any, spans: Collection[str] = ()) -> tuple[Any, ...]:
    """``spans``: a record's fields whose byte positions a reader keeps too."""
    if isinstance(schema, list):  # null and one other type
        null_at = schema.index("null")
        return (_avro.UNION, null_at, _program(schema[1 - null_at]))
    kind = schema["type"] if isinstance(schema, dict) else schema
    if kind == "record":
        return _record([(f["name"], f["type"], f) for f in schema["fields"]], spans)
    if kind == "enum":
        symbols = tuple(schema["symbols"])
        return (_avro.ENUM, symbols, {s: zigzag(i) for i, s in enumerate(symbols)})
    codes = {"int": _avro.LONG, "long": _avro.LONG, "string": _avro.STRING,
             "bytes": _avro.BYTES, "boolean": _avro.BOOLEAN, "double": _avro.DOUBLE,
             "float": _avro.FLOAT, "null": _avro.NUL}
    return (codes[kind],)


def _record(fields: list[tuple[str, Any, dict[str, Any]]],
            spans: Collection[str] = ()) -> tuple[Any, ...]:
    return (_avro.RECORD, tuple((name, _program(kind), "default" in field, field.get("default"),
                                 name in spans) for name, kind, field in fields))


def reader(schema: dict[str, Any], spans: Collection[str], read_error: type[Exception],
           long_tail: Callable[[bytes, int], tuple[int, int]]
           ) -> Callable[[bytes, int], tuple[dict[str, Any], int]]:
    """Reads a record of ``schema`` at ``data[start]``: (the record, the position after it).
    ``long_tail`` reads a varint of 10 bytes (Python's ints are wider than C's)."""
    return _avro.Reader(_program(schema, spans), read_error, long_tail)


def writer(schema: dict[str, Any]) -> Callable[[dict[str, Any]], bytes]:
    return _avro.Writer(_program(schema), False)


def flat_writer(fields: list[tuple[str, Any]]) -> Callable[..., bytes]:
    """The writer of a record given as its ``avro_writer.flat_fields``' values."""
    return _avro.Writer(_record([(name, kind, {}) for name, kind in fields]), True)
