"""Avro encoding of every topic: fastavro decodes (about 10x the `avro` package, LOCAL-STACK.md),
a writer compiled from the schema encodes (``avro_writer.py``, about 3x fastavro).

Decoding never raises on bad input: it returns the record or an ``Invalid`` that says why, so the
worker can route the raw bytes to the dead-letter topic (bad input is data, not a crash).
Producers may frame records the Confluent Schema Registry way (magic byte 0, 4-byte schema id),
under a schema id the codec was told is its schema; plain Avro is accepted too.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

from .avro_writer import compile_writer

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CONFLUENT_MAGIC = 0


@dataclass(frozen=True)
class Invalid:
    """Why a message could not be decoded or accepted."""

    reason: str


@cache
def declared_schema(name: str) -> Any:
    """``schemas/<name>.avsc`` as written, logical types included (ClickHouse reads them)."""
    return json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())


@cache
def schema_json(name: str) -> Any:
    """``schemas/<name>.avsc`` with times as epoch milliseconds.

    The ``timestamp-millis`` annotations are dropped: the wire format is the same long, and
    integers are what the pipeline computes with (no datetime round trips on the hot path)."""
    return _without_logical_types(declared_schema(name))


@cache
def schema(name: str) -> Any:
    """The schema of ``schemas/<name>.avsc`` parsed by fastavro (see ``schema_json``)."""
    return fastavro.parse_schema(schema_json(name))


def _without_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(v) for v in node]
    return node


class Codec:
    """Encoder/decoder of one schema; holds the parsed schema so the hot path does no lookups."""

    def __init__(self, name: str, schema_ids: Collection[int] = ()) -> None:
        self._schema = schema(name)
        self.name = self._schema["name"].rsplit(".", 1)[-1]
        self.schema_ids = frozenset(schema_ids)
        self.encode = compile_writer(schema_json(name))

    def decode(self, data: bytes | None) -> dict[str, Any] | Invalid:
        if not data:
            return Invalid("empty message")
        body = data
        if data[0] == CONFLUENT_MAGIC and len(data) > 5:
            # A plain-Avro SmtpReply cannot start with 0: that would be an empty event_id.
            (schema_id,) = struct.unpack(">I", data[1:5])
            if schema_id not in self.schema_ids:
                return Invalid(
                    f"Confluent schema id {schema_id} is not a known {self.name} schema (known: "
                    f"{sorted(self.schema_ids) or 'none'}; see BOUNCEFLOW_SCHEMA_IDS)"
                )
            body = data[5:]
        buf = io.BytesIO(body)
        try:
            record = fastavro.schemaless_reader(buf, self._schema, None)
        except Exception as exc:  # fastavro raises many types for corrupt input
            return Invalid(f"not a valid {self.name} Avro record: {type(exc).__name__}: {exc}")
        if buf.tell() != len(body):
            return Invalid(
                f"not a valid {self.name} Avro record: {len(body) - buf.tell()} bytes left over"
            )
        return record


def confluent_frame(schema_id: int, body: bytes) -> bytes:
    return struct.pack(">bI", CONFLUENT_MAGIC, schema_id) + body
