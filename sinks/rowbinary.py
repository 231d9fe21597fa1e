"""ClickHouse's RowBinary format, written by an encoder made from a table's column types: a row
(values in column order) becomes bytes that ClickHouse parses in C++.

Why not clickhouse-connect's Native inserts: they transpose the rows and encode each column in
Python (LowCardinality dictionaries, datetime conversions), which cost more than the insert. The
rows read back the same (tests/integration/test_clickhouse.py). DateTime64(3) values are epoch
milliseconds, as the pipeline keeps them.
"""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sinks.base import pieces
from streams.ingest.varint import LengthPrefixed, uleb128

ROWBINARY = LengthPrefixed(uleb128)


class Unsupported(Exception):
    """A column type this encoder does not write."""


_FIXED = {"Int8": "b", "Int16": "h", "Int32": "i", "Int64": "q", "UInt8": "B",
          "UInt16": "H", "UInt32": "I", "UInt64": "Q", "Float32": "f", "Float64": "d",
          "DateTime64(3, 'UTC')": "q", "DateTime64(3)": "q"}
_WRAPPED = re.compile(r"^(Nullable|LowCardinality|Array)\((.*)\)$")
_ENV: dict[str, Any] = {"_string": ROWBINARY.string, "_uleb128": uleb128,
                        **{f"_{c}": struct.Struct("<" + c).pack for c in set(_FIXED.values())}}


def _expression(column_type: str, x: str, temps: Iterator[str]) -> str:
    """An expression of the bytes of ``x`` (an expression evaluated once) as ``column_type``."""
    wrapped = _WRAPPED.match(column_type)
    if wrapped:
        kind, inner = wrapped.groups()
        if kind == "LowCardinality":  # the same bytes as its type in RowBinary
            return _expression(inner, x, temps)
        t = next(temps)
        if kind == "Nullable":
            return (f"(b'\\x01' if ({t} := {x}) is None "
                    f"else b'\\x00' + {_expression(inner, t, temps)})")
        v = next(temps)
        return (f"(_uleb128(len({t} := {x})) + "
                f"b''.join([{_expression(inner, v, temps)} for {v} in {t}]))")
    if column_type == "String":
        return f"_string({x})"
    if column_type == "Bool":
        return f"(b'\\x01' if {x} else b'\\x00')"
    if column_type in _FIXED:
        return f"_{_FIXED[column_type]}({x})"
    raise Unsupported(f"column type {column_type}")


def row_encoder(column_types: Sequence[str]) -> Callable[[Sequence[Any]], bytes]:
    """The encoder of one row (its values in column order) of a table with these column types:
    one generated function, a flat join of the columns' bytes (faster than a loop over an
    encoder per column)."""
    temps = (f"t{i}" for i in itertools.count())
    parts = [_expression(t, f"row[{i}]", temps) for i, t in enumerate(column_types)]
    env = dict(_ENV)
    # The source is built above from the column types only.
    exec(f"def encode(row):\n    return b''.join(({', '.join(parts)},))\n", env)
    encode: Callable[[Sequence[Any]], bytes] = env["encode"]
    return encode


class RowBinaryRows:
    """Rows of one table as RowBinary (a row is its values in column order), inserted as the
    concatenation of the rows."""

    format = "RowBinary"

    def __init__(self, column_types: Sequence[str]) -> None:
        self.encode = row_encoder(column_types)

    @staticmethod
    def block(rows: list[bytes]) -> Iterator[bytes]:
        """The rows one after another, sent in pieces (``base.pieces``)."""
        return pieces(rows)
