"""ClickHouse sink: one insert per (topic, partition) batch, idempotent.

What happens on a crash, at each step of the engine's checkpoint (rows -> insert -> commit):
- before the insert: nothing was written; the offsets were not committed; the events are
  redelivered and written once.
- during the insert: ClickHouse applies an insert of one block atomically, so it is either all in
  or not at all; the retry carries the same ``insert_deduplication_token`` and is a no-op if the
  first try landed.
- after the insert, before the worker commits the offsets: the events are redelivered, possibly in
  batches with other boundaries (other tokens). The rows are written again, and the tables'
  ReplacingMergeTree keys (event_id, hook_id, source offset) fold them into one: every report
  reads ``FINAL``. Exact, not approximate.
- upstream replays (classify or track re-run after a crash) write the same event_id / hook_id with
  the same content: same folding.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import urlsplit

from sinks.avro_rows import AvroRows
from sinks.base import Batch, BatchingSink, ReadOnce, token
from sinks.ddl import INPUTS, column_types, columns, stale_views, statements
from sinks.rowbinary import RowBinaryRows
from streams import memory
from streams.exceptions import ConfigError, SinkError
from streams.ingest.codec import declared_schema
from streams.settings import redact_dsn

log = logging.getLogger("bounceflow")

DEFAULT_DATABASE = "bounceflow"


def connect(dsn: str) -> tuple[Any, str]:
    """A clickhouse-connect client and the database name for a DSN:
    ``chdb:///dir`` (embedded) or ``http(s)://user:password@host:port/db``."""
    # Imported here: an engine process (engine_processes.py) reaches ClickHouse through its
    # worker and never opens a client, and the library would be memory it never uses.
    import clickhouse_connect

    database = database_of(dsn)
    parts = urlsplit(dsn)
    try:
        if parts.scheme == "chdb":
            # chDB imports pyarrow, and numpy with it, when installed: for Arrow and DataFrame
            # results that bounceflow never asks for, tens of MB of the worker's memory.
            with memory.without_modules("pyarrow"):
                client = clickhouse_connect.get_client(dsn=dsn)
            freed = memory.page_out("chdb")
            if freed:
                log.info("chDB open: %d MB of its library's pages, touched only to load it, "
                         "given back", freed >> 20)
            return client, database
        return clickhouse_connect.get_client(dsn=parts._replace(path="").geturl()), database
    except Exception as exc:
        raise SinkError(f"cannot open ClickHouse at {redact_dsn(dsn)}: {exc}") from exc


def database_of(dsn: str) -> str:
    """The database a DSN names (``connect``'s), without opening anything."""
    parts = urlsplit(dsn)
    if parts.scheme == "chdb":
        return DEFAULT_DATABASE
    if parts.scheme in ("http", "https", "clickhouse", "clickhouses"):
        return parts.path.strip("/") or DEFAULT_DATABASE
    raise ConfigError(
        f"ClickHouse DSN {redact_dsn(dsn)!r}: use chdb:///dir or http(s)://user:pass@host:port/db"
    )


def _text(raw: bytes | None) -> str | None:
    # Dead letters keep their raw bytes; ClickHouse String is bytes, but not every client path
    # round-trips arbitrary bytes, so store them base64 encoded.
    return None if raw is None else base64.b64encode(raw).decode()


def dead_letter_row(dl: dict[str, Any], partition: int, offset: int) -> list[Any]:
    return [
        dl["source_topic"], dl["source_partition"], dl["source_offset"], dl["reason"],
        _text(dl["key"]), _text(dl["value"]), dl["failed_at"],
    ]


# Tables whose rows are a topic's Avro records plus their source (``avro_rows.py``): no row to
# build or encode on the worker's path. They are inserted into the table, or into its input
# (``ddl.INPUTS``) when the record's fields are not the table's columns.
RECORD_TABLES = {"replies": "classified_reply", "hooks": "action_hook"}


class ClickHouseSink(BatchingSink):
    """Writes the rows of one source topic into one table. A row is kept encoded until the
    insert: for RECORD_TABLES it is a record then its ``avro_rows.source_suffix``; otherwise a
    list of the table's values in column order (times as epoch milliseconds), encoded as
    RowBinary when added (``rowbinary.py``: faster, and a third of the memory of the list)."""

    def __init__(self, client: Any, database: str, table: str) -> None:
        super().__init__()
        self.client = client
        self.database = database
        self.table = table
        self._target = INPUTS.get(table, table)
        self._columns = columns(self._target)
        self.rows = (AvroRows(declared_schema(RECORD_TABLES[table])) if table in RECORD_TABLES
                     else RowBinaryRows(column_types(table)))
        self.encode = self.rows.encode  # type: ignore[method-assign]  # per table, as added
        self._purges_allocator = client.uri.startswith("chdb:")  # a server manages its own

    def setup(self) -> None:
        for statement in statements(self.database, self.table):
            self.client.command(statement)
        if self._target != self.table:
            views = self.client.query(
                "SELECT name FROM system.tables WHERE database = {db:String} "
                "AND engine = 'MaterializedView'", parameters={"db": self.database}).result_rows
            for view in stale_views(self._target, (name for (name,) in views)):
                self.client.command(f"DROP VIEW IF EXISTS `{self.database}`.`{view}`")

    def write(self, batches: list[Batch]) -> None:
        """Insert the batches' rows, each encoded by ``encode``."""
        rows = [row for batch in batches for row in batch.rows]
        try:
            self.client.raw_insert(
                f"`{self.database}`.`{self._target}`", self._columns,
                insert_block=ReadOnce(self.rows.block(rows)), fmt=self.rows.format,
                settings={"insert_deduplication_token": token(batches), "async_insert": 0,
                          "deduplicate_blocks_in_dependent_materialized_views": 1,
                          # Folding equal keys within the block at insert is a merge sort the
                          # reads do anyway (FINAL): faster and less memory without it.
                          "optimize_on_insert": 0},
            )
        except Exception as exc:
            sources = ", ".join(f"{b.topic}[{b.partition}]@{b.first_offset}-{b.last_offset}"
                                for b in batches)
            raise SinkError(
                f"insert of {len(rows)} rows into {self.table} from {sources} failed: {exc}"
            ) from exc
        if self._purges_allocator:
            self._release_memory()

    def _release_memory(self) -> None:
        # chDB's allocator keeps freed pages for seconds, tens of MB of the worker's RSS after a
        # run of inserts; returning them costs little beside an insert. A build without
        # jemalloc (chDB on macOS) refuses the command: the rows are in, so only log it, once.
        try:
            self.client.command("SYSTEM JEMALLOC PURGE")
        except Exception as exc:
            self._purges_allocator = False
            log.info("chDB cannot purge its allocator, freed memory stays with it: %s", exc)
