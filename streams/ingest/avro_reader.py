"""Avro binary decoding compiled from a schema: one generated Python function per record type,
the counterpart of ``avro_writer.py``.

Why not fastavro's reader: its Cython reader dispatches on the schema for every field of every
record and builds the result through generic paths, which made decoding the largest single item
of the loop. The compiled function reads the fields in order with the one-byte cases inline and
builds the dict in one expression: the same dict in about half the time
(tests/unit/ingest/test_avro_reader.py checks it against fastavro on generated records of every
schema).

Where the Avro specification is strict it is strict too, and a little stricter than fastavro: a
boolean byte other than 0 or 1, a union or enum index out of range, a negative length, a string
or bytes running past the end, a varint longer than 10 bytes, a string that is not UTF-8 and
bytes left over after the record all raise ``ReadError``, which the codec turns into a dead
letter. It covers what ``avro_writer`` covers and raises ``Unsupported`` for anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from typing import Any

from streams.ingest import avro_native
from streams.ingest.avro_writer import Unsupported

MAX_VARINT_BYTES = 10  # a 64-bit long
SPAN = "@"  # before a field's name, the key of its byte positions: no Avro name starts with @


class ReadError(ValueError):
    """The bytes are not a record of the schema; the message says where they went wrong."""


def _long(d: bytes, p: int) -> tuple[int, int]:
    """A zigzag varint of any length at ``d[p]``: the value and the position after it."""
    n = shift = 0
    for i in range(p, p + MAX_VARINT_BYTES):
        b = d[i]
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return (n >> 1) ^ -(n & 1), i + 1
        shift += 7
    raise ReadError(f"a varint at byte {p} is longer than {MAX_VARINT_BYTES} bytes")


def _bad(what: str, p: int) -> ReadError:
    return ReadError(f"{what} at byte {p}")


class _Compiler:
    def __init__(self) -> None:
        self.env: dict[str, Any] = {
            "_long": _long, "_bad": _bad,
            "_double": struct.Struct("<d").unpack_from, "_float": struct.Struct("<f").unpack_from,
        }
        self.functions: list[str] = []
        self.temps = 0

    def temp(self) -> str:
        self.temps += 1
        return f"v{self.temps}"

    def record(self, schema: dict[str, Any], spans: Collection[str] = ()) -> str:
        """Define the function that reads one record of ``schema`` at ``d[p]`` and returns it
        with the position after it; return the function's name. ``spans``: fields whose
        (start, end) byte positions the record also holds, under ``SPAN + name``."""
        name = f"r{len(self.functions)}"
        self.functions.append("")  # reserve the slot: nested records get the next ones
        body: list[str] = []
        items = []
        for field in schema["fields"]:
            v = self.temp()
            marked = field["name"] in spans
            body += [f"{v}_at = p"] if marked else []
            body += self.value(field["type"], v)
            body += [f"{v}_end = p"] if marked else []
            items.append(f"{field['name']!r}: {v}")
            if marked:
                items.append(f"{SPAN + field['name']!r}: ({v}_at, {v}_end)")
        lines = [f"def {name}(d, p):", "    end = len(d)", *("    " + s for s in body),
                 f"    return {{{', '.join(items)}}}, p"]
        self.functions[int(name[1:])] = "\n".join(lines) + "\n"
        return name

    def value(self, schema: Any, v: str) -> list[str]:
        """Statements that read one ``schema`` value at ``d[p]`` into ``v`` and move ``p``."""
        if isinstance(schema, list):
            return self.union(schema, v)
        kind = schema["type"] if isinstance(schema, dict) else schema
        if kind in ("int", "long"):
            # Values of -8192..8191 take one or two bytes: the common cases, read inline.
            return ["b = d[p]",
                    "if b < 0x80:",
                    f"    {v} = (b >> 1) ^ -(b & 1); p += 1",
                    "elif (c := d[p + 1]) < 0x80:",
                    "    b = b & 0x7F | c << 7",
                    f"    {v} = (b >> 1) ^ -(b & 1); p += 2",
                    "else:",
                    f"    {v}, p = _long(d, p)"]
        if kind in ("string", "bytes"):
            convert = ".decode()" if kind == "string" else ""
            return ["b = d[p]",
                    "if b < 0x80 and not b & 1:",  # an even byte: a length of 0..63
                    "    p += 1; e = p + (b >> 1)",
                    "elif not b & 1 and (c := d[p + 1]) < 0x80:",  # a length of 64..8191
                    "    p += 2; e = p + ((b & 0x7F | c << 7) >> 1)",
                    "else:",
                    "    n, p = _long(d, p)",
                    "    if n < 0:",
                    "        raise _bad('a negative length', p)",
                    "    e = p + n",
                    "if e > end:",
                    f"    raise _bad('a {kind} longer than the record', p)",
                    f"{v} = d[p:e]{convert}; p = e"]
        if kind == "boolean":
            return ["b = d[p]",
                    "if b > 1:",
                    "    raise _bad('a boolean that is neither 0 nor 1', p)",
                    f"{v} = b == 1; p += 1"]
        if kind in ("double", "float"):
            return [f"({v},) = _{kind}(d, p); p += {8 if kind == 'double' else 4}"]
        if kind == "null":
            return [f"{v} = None"]
        if kind == "enum":
            symbols = f"c{len(self.env)}"
            self.env[symbols] = tuple(schema["symbols"])
            return [*self.value("long", v),
                    f"if not 0 <= {v} < {len(schema['symbols'])}:",
                    "    raise _bad('an enum index out of range', p)",
                    f"{v} = {symbols}[{v}]"]
        if kind == "record":
            return [f"{v}, p = {self.record(schema)}(d, p)"]
        raise Unsupported(f"Avro type {kind!r}")

    def union(self, branches: list[Any], v: str) -> list[str]:
        if len(branches) != 2 or "null" not in branches:
            raise Unsupported(f"union {branches!r}: only null and one other type")
        null_at = branches.index("null")
        other = branches[1 - null_at]
        # Branch indexes 0 and 1 are the zigzag bytes 0 and 2.
        return ["b = d[p]; p += 1",
                f"if b == {2 * null_at}:",
                f"    {v} = None",
                f"elif b == {2 * (1 - null_at)}:",
                *("    " + s for s in self.value(other, v)),
                "else:",
                "    raise _bad('a union index out of range', p - 1)"]


def compile_reader(
    schema: dict[str, Any], spans: Collection[str] = (), native: bool = avro_native.AVAILABLE
) -> Callable[[bytes, int], dict[str, Any]]:
    """The decoder of records of ``schema`` (a record schema as JSON, logical types removed):
    ``data`` from ``start`` (a frame's header before it) must be one record. ``spans``: top-level
    fields whose byte positions in ``data`` the record holds too, as ``record[SPAN + name]``
    (the bytes around them can then be copied, not encoded again). ``native``: read by the C
    codec (``avro_native.py``), the same records, instead of the generated function."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise Unsupported("the top-level schema must be a record")
    unknown = set(spans) - {f["name"] for f in schema["fields"]}
    if unknown:
        raise Unsupported(f"no field {sorted(unknown)} to mark")
    compiler = _Compiler()
    top = compiler.record(schema, spans)  # refuses what neither codec covers
    read_record: Callable[[bytes, int], tuple[dict[str, Any], int]]
    if native:
        read_record = avro_native.reader(schema, spans, ReadError, _long)
    else:
        exec("\n".join(compiler.functions), compiler.env)  # the source is built from the schema
        read_record = compiler.env[top]

    def read(data: bytes, start: int = 0) -> dict[str, Any]:
        try:
            record, p = read_record(data, start)
        except IndexError:
            raise ReadError("the record ends early") from None
        except struct.error:
            raise ReadError("a float or double runs past the end") from None
        except UnicodeDecodeError as exc:
            raise ReadError(f"a string is not UTF-8 ({exc.reason})") from None
        if p != len(data):
            raise ReadError(f"{len(data) - p} bytes left over")
        return record

    return read
