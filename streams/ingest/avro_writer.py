"""Avro binary encoding compiled from a schema: one generated Python function per record type.

Why not fastavro's writer: it walks the schema for every field of every record (and tries each
branch of a union in turn), which made encoding a third of the worker's time. The compiled
function is a flat join of the fields' bytes, byte for byte the same
(tests/unit/ingest/test_avro_writer.py checks it against fastavro on generated records of every
schema). Its counterpart for decoding is ``avro_reader.py``.

It covers what bounceflow's schemas use: records, the primitive types, enums and unions of null
with one other type. ``compile_writer`` raises ``Unsupported`` for anything else: a schema that
needs more fails the codec's construction and tests/unit/ingest/test_avro_writer.py, not a record.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from streams.ingest import avro_native
from streams.ingest.varint import SMALL, LengthPrefixed, zigzag

AVRO = LengthPrefixed(zigzag)


class Unsupported(Exception):
    """The schema uses a type the compiler does not cover."""


class _Compiler:
    def __init__(self) -> None:
        self.env: dict[str, Any] = {
            "_INTS": AVRO.small, "_varint": zigzag,
            "_double": struct.Struct("<d").pack, "_float": struct.Struct("<f").pack,
            "_TRUE": b"\x01", "_FALSE": b"\x00",
        }
        self.functions: list[str] = []
        self.temps = 0

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def constant(self, value: Any) -> str:
        name = f"c{len(self.env)}"
        self.env[name] = value
        return name

    def record(self, schema: dict[str, Any]) -> str:
        """Define the function that encodes one record of ``schema``; return its name."""
        name = f"w{len(self.functions)}"
        self.functions.append("")  # reserve the slot: nested records get the next ones
        parts = []
        for field in schema["fields"]:
            key = repr(field["name"])
            value = (f"r.get({key}, {self.constant(field['default'])})" if "default" in field
                     else f"r[{key}]")
            parts.append(self.value(field["type"], value))
        self.functions[int(name[1:])] = (
            f"def {name}(r):\n    return b''.join(({', '.join(parts)},))\n")
        return name

    def value(self, schema: Any, x: str) -> str:
        """An expression of the bytes of ``x`` (an expression evaluated once) as ``schema``."""
        if isinstance(schema, list):
            return self.union(schema, x)
        kind = schema["type"] if isinstance(schema, dict) else schema
        if kind in ("int", "long"):
            t = self.temp()
            return f"(_INTS[{t}] if 0 <= ({t} := {x}) < {SMALL} else _varint({t}))"
        if kind in ("string", "bytes"):
            # Inline rather than a call to AVRO.string: an ActionHook has a dozen strings.
            data, n = self.temp(), self.temp()
            value = f"{x}.encode()" if kind == "string" else x
            return (f"((_INTS[{n}] if ({n} := len({data} := {value})) < {SMALL} "
                    f"else _varint({n})) + {data})")
        simple = {"double": "_double({})", "float": "_float({})",
                  "boolean": "(_TRUE if {} else _FALSE)", "null": "b''"}
        if kind in simple:
            return simple[kind].format(x)
        if kind == "enum":
            codes = {symbol: zigzag(i) for i, symbol in enumerate(schema["symbols"])}
            return f"{self.constant(codes)}[{x}]"
        if kind == "record":
            return f"{self.record(schema)}({x})"
        raise Unsupported(f"Avro type {kind!r}")

    def union(self, branches: list[Any], x: str) -> str:
        if len(branches) != 2 or "null" not in branches:
            raise Unsupported(f"union {branches!r}: only null and one other type")
        null_at = branches.index("null")
        other = branches[1 - null_at]
        t = self.temp()
        null_code, other_code = zigzag(null_at), zigzag(1 - null_at)
        return (f"({null_code!r} if ({t} := {x}) is None "
                f"else {other_code!r} + {self.value(other, t)})")


def _top_level(schema: Any) -> None:
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise Unsupported("the top-level schema must be a record")


def _defined(compiler: _Compiler, name: str) -> Any:
    exec("\n".join(compiler.functions), compiler.env)  # the source is built from the schema
    return compiler.env[name]


def compile_writer(
    schema: dict[str, Any], native: bool = avro_native.AVAILABLE
) -> Callable[[dict[str, Any]], bytes]:
    """The encoder of records of ``schema`` (a record schema as JSON, logical types removed).
    ``native``: written by the C codec (``avro_native.py``), the same bytes."""
    _top_level(schema)
    compiler = _Compiler()
    top = compiler.record(schema)  # refuses what neither codec covers
    writer: Callable[[dict[str, Any]], bytes] = (
        avro_native.writer(schema) if native else _defined(compiler, top))
    return writer


def flat_fields(schema: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """The fields of ``schema`` in order, a nested record's fields in its place (named
    ``outer.inner``), with their types. A union holding a record stays one field."""
    out = []
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, dict) and kind.get("type") == "record":
            out += flat_fields(kind, f"{prefix}{field['name']}.")
        else:
            out.append((prefix + field["name"], kind))
    return out


def compile_flat_writer(
    schema: dict[str, Any], native: bool = avro_native.AVAILABLE
) -> tuple[tuple[str, ...], Callable[..., bytes]]:
    """The encoder of records of ``schema`` given as the values of its ``flat_fields``, in their
    order, as positional arguments; and the fields' names. No dict is built or read, which
    saves about half of making a hook (``native``: written by the C codec)."""
    _top_level(schema)
    compiler = _Compiler()
    fields = flat_fields(schema)
    args = [f"a{i}" for i in range(len(fields))]
    parts = [compiler.value(kind, arg) for (_, kind), arg in zip(fields, args)]
    compiler.functions.append(
        f"def flat({', '.join(args)}):\n    return b''.join(({', '.join(parts)},))\n")
    return (tuple(name for name, _ in fields),
            avro_native.flat_writer(fields) if native else _defined(compiler, "flat"))
