"""Sink rows match their tables, batches keep their offsets, a failed write keeps its batch."""

import io

import fastavro
import pytest

from sinks.avro_rows import SOURCE_FIELDS, AvroRows, source_suffix
from sinks.base import BatchingSink, token
from sinks.clickhouse import dead_letter_row
from sinks.ddl import columns
from streams.classify.classifier import Classifier
from streams.ingest.codec import CLASSIFIED, SMTP_REPLY, declared_schema, schema_json
from streams.runtime.processing import Source, classify_reply, dead_letter
from tests.unit.ingest.test_codec_and_validation import GOOD


def classified():
    result = classify_reply(SMTP_REPLY.encode(GOOD), Classifier())
    assert isinstance(result, dict)
    return result


def test_rows_have_one_value_per_column():
    dl = dead_letter("bad", Source("t", 1, 2), b"k", b"v")
    assert len(dead_letter_row(dl, 0, 1)) == len(columns("dead_letters"))


def test_the_hooks_input_table_has_a_column_for_every_hook_field_the_table_keeps():
    """Avro input matches columns to fields by name, a nested field as ``event_data.email``;
    retry_at is the one field the hooks table does not keep."""
    def leaves(fields, prefix=""):
        for f in fields:  # a record in a union (the alert) is one column, a Tuple
            if isinstance(f["type"], dict) and f["type"]["type"] == "record":
                yield from leaves(f["type"]["fields"], f"{prefix}{f['name']}.")
            else:
                yield prefix + f["name"]

    fields = [*leaves(schema_json("action_hook")["fields"]), "src_partition", "src_offset"]
    assert [f for f in fields if f != "event_data.retry_at"] == columns("hooks_in")


def test_a_reply_row_is_the_classified_record_with_its_source_and_one_field_per_column():
    r = classified()
    schema = {**schema_json("classified_reply"),
              "fields": [*schema_json("classified_reply")["fields"], *SOURCE_FIELDS]}
    assert [f["name"] for f in schema["fields"]] == columns("replies") == columns("replies_in")
    row = CLASSIFIED.encode(r) + source_suffix(3, 1_234_567_890)
    assert fastavro.schemaless_reader(io.BytesIO(row), fastavro.parse_schema(schema), None) == \
        {**r, "src_partition": 3, "src_offset": 1_234_567_890}


def test_avro_rows_make_one_container_file_that_any_avro_reader_reads():
    rows = AvroRows(declared_schema("classified_reply"))
    records = [{**classified(), "event_id": f"e{i}"} for i in range(3)]
    block = b"".join(rows.block([CLASSIFIED.encode(r) + source_suffix(0, i)
                                   for i, r in enumerate(records)]))
    read = list(fastavro.reader(io.BytesIO(block)))
    assert [(x["event_id"], x["src_offset"]) for x in read] == [("e0", 0), ("e1", 1), ("e2", 2)]
    assert read[0]["event_time"].timestamp() * 1000 == records[0]["event_time"]  # a time to readers


class Recording(BatchingSink):
    def __init__(self, fail_first=False):
        super().__init__()
        self.written, self.fail_first = [], fail_first

    def setup(self):
        pass

    def write(self, batches):
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("down")
        self.written.append((token(batches), [row for b in batches for row in b.rows]))


def test_one_write_of_every_partition_with_offset_tokens():
    sink = Recording()
    for offset in (5, 6, 7):
        sink.add(offset, "replies", 0, offset)
    sink.add("x", "replies", 1, 40)
    assert sink.flush() == 4
    assert sink.written == [("replies-0-5-7|replies-1-40-40", [5, 6, 7, "x"])]
    assert sink.pending() == 0


def test_failed_write_keeps_the_same_batch_for_the_retry():
    sink = Recording(fail_first=True)
    sink.add("a", "replies", 0, 1)
    with pytest.raises(RuntimeError):
        sink.flush()
    assert sink.pending() == 1
    sink.flush()
    assert sink.written == [("replies-0-1-1", ["a"])]
