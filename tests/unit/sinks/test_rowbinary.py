"""RowBinary rows, byte by byte, for the column types the tables use and the nesting of them; the
round trip through chDB is tests/integration/test_clickhouse.py."""

from __future__ import annotations

import struct

import pytest

from sinks.ddl import TABLES, column_types
from sinks.rowbinary import Unsupported, row_encoder


def test_each_type_and_their_nesting() -> None:
    encode = row_encoder(["String", "UInt16", "Nullable(Int64)", "Nullable(Int64)",
                          "LowCardinality(Nullable(String))", "Bool", "Float64",
                          "DateTime64(3, 'UTC')", "Array(Nullable(String))"])
    row = ["é" * 200, 25, None, -2, "x", True, 0.5, 1_767_225_600_123, ["a", None]]
    assert encode(row) == (
        b"\x90\x03" + "é".encode() * 200  # 400 bytes: a two-byte length
        + struct.pack("<H", 25) + b"\x01" + b"\x00" + struct.pack("<q", -2)
        + b"\x00\x01x" + b"\x01" + struct.pack("<d", 0.5) + struct.pack("<q", 1_767_225_600_123)
        + b"\x02" + b"\x00\x01a" + b"\x01"
    )


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_has_an_encoder(table: str) -> None:
    assert callable(row_encoder(column_types(table)))


def test_other_types_are_refused() -> None:
    with pytest.raises(Unsupported):
        row_encoder(["Map(String, String)"])
