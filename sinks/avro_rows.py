"""Rows that ClickHouse reads as Avro: the records the pipeline already encoded for Kafka, each
followed by its source partition and offset.

An Avro record is its fields' encodings one after another, so a classified reply's bytes followed
by two zigzag longs are a record of the same schema with two more fields at the end. ClickHouse
maps a container file's fields to the table's columns by name: the replies table's columns are
the classified reply's fields plus ``src_partition`` and ``src_offset``. Writing a reply row is
then a concatenation instead of building and encoding a row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sinks.base import pieces
from streams.ingest.varint import LengthPrefixed, zigzag

AVRO = LengthPrefixed(zigzag)
MAGIC = b"Obj\x01"
# A container file's blocks end with the file's sync marker; one block per insert, so any fixed
# 16 bytes do.
SYNC = b"bounceflow-sync!"
SOURCE_FIELDS = [{"name": "src_partition", "type": "int"}, {"name": "src_offset", "type": "long"}]


def source_suffix(partition: int, offset: int) -> bytes:
    """What follows a record to make it a row of a RECORD_TABLES table: its source partition
    and offset (the engine encodes it once for a reply's row and its hooks' rows)."""
    return zigzag(partition) + zigzag(offset)


class AvroRows:
    """Rows of one table as records of ``schema`` + SOURCE_FIELDS, inserted as one container
    file (format ``Avro``)."""

    format = "Avro"

    def __init__(self, schema: dict[str, Any]) -> None:
        full = {**schema, "fields": [*schema["fields"], *SOURCE_FIELDS]}
        metadata = {"avro.schema": json.dumps(full).encode(), "avro.codec": b"null"}
        self.header = b"".join([MAGIC, zigzag(len(metadata)),
                                *(AVRO.string(k) + AVRO.bytes(v) for k, v in metadata.items()),
                                zigzag(0), SYNC])

    @staticmethod
    def encode(row: bytes) -> bytes:
        return row  # already a record (see source_suffix)

    def block(self, rows: list[bytes]) -> Iterator[bytes]:
        """The container file of ``rows``: one block, sent in pieces (``base.pieces``)."""
        yield b"".join((self.header, zigzag(len(rows)), zigzag(sum(map(len, rows)))))
        yield from pieces(rows)
        yield SYNC
