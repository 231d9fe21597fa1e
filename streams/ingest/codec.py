"""Avro encoding of every topic: a reader and a writer compiled from each schema
(``avro_reader.py``, ``avro_writer.py``; faster than fastavro, which is far faster than the
`avro` package: docs/performance-history.md). fastavro parses the schemas and validates what
``bounceflow produce`` is given.

Decoding never raises on bad input: it returns the record or an ``Invalid`` that says why, so the
worker can route the raw bytes to the dead-letter topic (bad input is data, not a crash).
Producers may frame records the Confluent Schema Registry way (magic byte 0, 4-byte schema id),
under a schema id the codec was told is its schema; plain Avro is accepted too.

A schema grows by fields added at the end of their record, each with a default and ``"since"``:
the schema's version that added it (a field without one has been there since version 1). A record
an older version wrote (still in a topic during an upgrade) is read as that version wrote it, and
the fields it lacks take their defaults: the codec knows every older writer, it does not guess.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

from streams.ingest.avro_reader import ReadError, compile_reader
from streams.ingest.avro_writer import compile_writer

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
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


def versions(node: Any) -> set[int]:
    """The versions of a schema whose fields differ: 1 and every field's ``since``."""
    inner = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    own = {node["since"]} if isinstance(node, dict) and "since" in node else set()
    return own.union({1}, *map(versions, inner))


def as_of(node: Any, version: int) -> Any:
    """The schema as version ``version`` wrote it: without the fields added after it."""
    if isinstance(node, list):
        return [as_of(v, version) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: as_of(v, version) for k, v in node.items()}
    if "fields" in node:
        out["fields"] = [f for f in out["fields"] if f.get("since", 1) <= version]
    return out


def _with_defaults(record: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``record``, read with an older version of the record ``schema``, with the fields that
    version lacked set to their defaults (in nested records too)."""
    for field in schema["fields"]:
        name, kind = field["name"], field["type"]
        if name not in record:
            record[name] = field["default"]
            continue
        nested = next((t for t in (kind if isinstance(kind, list) else [kind])
                       if isinstance(t, dict) and t.get("type") == "record"), None)
        if nested is not None and isinstance(record[name], dict):
            _with_defaults(record[name], nested)
    return record


class Codec:
    """Encoder/decoder of one schema: its compiled writer and reader, and readers of the records
    its older versions wrote."""

    def __init__(self, name: str, schema_ids: Collection[int] = (),
                 spans: Collection[str] = ()) -> None:
        """``spans``: fields whose byte positions in the message a decoded record holds too
        (``avro_reader.compile_reader``); a record of an older version holds none."""
        spec = schema_json(name)
        self.name = spec["name"].rsplit(".", 1)[-1]
        self.schema_ids = frozenset(schema_ids)
        self.encode = compile_writer(spec)
        self._read = compile_reader(spec, spans)
        self._spec = spec
        # Newest first. A version's record is shorter than a newer one's (the added fields come
        # last and take a byte at least): it ends early for a newer reader, so at most one reads it.
        self._older = [compile_reader(as_of(spec, v))
                       for v in sorted(versions(spec), reverse=True)[1:]]

    def decode(self, data: bytes | None) -> dict[str, Any] | Invalid:
        if not data:
            return Invalid("empty message")
        start = 0
        if data[0] == CONFLUENT_MAGIC and len(data) > 5:
            # A plain-Avro SmtpReply cannot start with 0: that would be an empty event_id.
            (schema_id,) = struct.unpack(">I", data[1:5])
            if schema_id not in self.schema_ids:
                return Invalid(
                    f"Confluent schema id {schema_id} is not a known {self.name} schema (known: "
                    f"{sorted(self.schema_ids) or 'none'}; see BOUNCEFLOW_SCHEMA_IDS)"
                )
            start = 5
        try:
            return self._read(data, start)
        except ReadError as exc:
            for read in self._older:
                try:
                    return _with_defaults(read(data, start), self._spec)
                except ReadError:
                    pass
            return Invalid(f"not a valid {self.name} Avro record: {exc}")


def confluent_frame(schema_id: int, body: bytes) -> bytes:
    return struct.pack(">bI", CONFLUENT_MAGIC, schema_id) + body


# One codec per topic, shared by every module that reads or writes it.
SMTP_REPLY = Codec("smtp_reply")
CLASSIFIED = Codec("classified_reply")
HOOK = Codec("action_hook")
DEAD_LETTER = Codec("dead_letter")


@dataclass(frozen=True)
class Source:
    """Where a dead letter came from: a topic's partition and offset, or a file
    (``file:<path>``, partition 0, the line's byte offset)."""

    topic: str
    partition: int
    offset: int


def dead_letter(
    reason: str, source: Source, key: bytes | None, value: bytes | None
) -> dict[str, Any]:
    return {
        "reason": reason,
        "source_topic": source.topic,
        "source_partition": source.partition,
        "source_offset": source.offset,
        "key": key,
        "value": value,
        "failed_at": int(time.time() * 1000),
    }
