"""The compiled Avro readers (generated Python and C) against fastavro's, the reference: the same
records from the bytes of every schema, a ReadError (never another exception) for anything
else, and a clear refusal of the types they do not cover."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.ingest.avro_reader import SPAN, ReadError, compile_reader
from streams.ingest.avro_writer import AVRO, Unsupported, compile_writer
from streams.ingest.codec import schema, schema_json
from tests.examples import examples
from tests.unit.ingest.test_avro_writer import BOTH_CODECS, SCHEMAS, records

pytestmark = BOTH_CODECS

SOME = settings(max_examples=examples(300), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_reads_what_fastavro_reads(native: bool, name: str) -> None:
    read = compile_reader(schema_json(name), native=native)
    write = compile_writer(schema_json(name), native=native)

    @SOME
    @given(records(schema_json(name)))
    def same_record(record: dict[str, Any]) -> None:
        data = write(record)
        assert read(data) == fastavro.schemaless_reader(io.BytesIO(data), schema(name), None)

    same_record()


@pytest.mark.parametrize("name", SCHEMAS)
def test_a_record_cut_short_anywhere_is_a_read_error(native: bool, name: str) -> None:
    read = compile_reader(schema_json(name), native=native)
    write = compile_writer(schema_json(name), native=native)

    @SOME
    @given(records(schema_json(name)), st.data())
    def cut(record: dict[str, Any], data: st.DataObject) -> None:
        full = write(record)
        end = data.draw(st.integers(0, len(full) - 1))
        with pytest.raises(ReadError):
            read(full[:end])

    cut()


@pytest.mark.parametrize("name", SCHEMAS)
def test_any_bytes_are_a_record_or_a_read_error(native: bool, name: str) -> None:
    read = compile_reader(schema_json(name), native=native)

    @SOME
    @given(st.binary(max_size=300))
    def total(data: bytes) -> None:
        try:
            assert isinstance(read(data), dict)
        except ReadError as exc:
            assert str(exc)

    total()


SPEC = {"type": "record", "name": "R", "fields": [
    {"name": "n", "type": "long"},
    {"name": "s", "type": ["null", "string"]},
    {"name": "b", "type": "boolean"},
    {"name": "k", "type": {"type": "enum", "name": "K", "symbols": ["x", "y"]}},
]}


@pytest.mark.parametrize(("data", "message"), [
    (b"\x02\x02\x02a\x02\x00", "a boolean that is neither 0 nor 1 at byte 4"),
    (b"\x02\x04\x02a\x00\x00", "a union index out of range at byte 1"),
    (b"\x02\x02\x03a\x00\x00", "a negative length at byte 3"),
    (b"\x02\x02\x0aab\x00\x00", "a string longer than the record at byte 3"),
    (b"\x02\x02\x02\xff\x00\x00", r"a string is not UTF-8 \(invalid start byte\)"),
    (b"\x02\x00\x00\x04", "an enum index out of range at byte 4"),
    (b"\xff" * 11 + b"\x01\x00\x00\x00", "a varint at byte 0 is longer than 10 bytes"),
    # Ten-byte varints, wider than a C long long: a length and an enum index.
    (b"\x02\x02" + b"\xfe" + b"\xff" * 8 + b"\x01a\x00\x00",
     "a string longer than the record at byte 12"),
    (b"\x02\x02" + b"\xff" * 9 + b"\x01a\x00\x00", "a negative length at byte 12"),
    (b"\x02\x00\x00" + b"\xfe" + b"\xff" * 8 + b"\x01", "an enum index out of range at byte 13"),
    (b"\x02\x00\x01\x02\x00", "1 bytes left over"),
    (b"\x02\x00\x01", "the record ends early"),
])
def test_what_the_specification_forbids_is_named(native: bool, data: bytes,
                                                message: str) -> None:
    with pytest.raises(ReadError, match=f"^{message}$"):
        compile_reader(SPEC, native=native)(data)


def test_multi_byte_values_and_lengths(native: bool) -> None:
    text = "\u00e9" * 100  # 200 bytes: a two-byte length
    record = {"n": -(2**63), "s": text, "b": True, "k": "y"}
    data = compile_writer(SPEC, native=native)(record)
    assert compile_reader(SPEC, native=native)(data) == record


@pytest.mark.parametrize("n", [63, 64, 8191, 8192, -64, -65, -8192, -8193])
def test_values_and_lengths_at_each_width_they_are_read_inline(native: bool, n: int) -> None:
    # One and two bytes are read inline, longer varints by a loop: each side of both edges.
    record = {"n": n, "s": "x" * abs(n), "b": False, "k": "x"}
    data = compile_writer(SPEC, native=native)(record)
    assert compile_reader(SPEC, native=native)(data) == record


@pytest.mark.parametrize("field_type", [
    {"type": "array", "items": "long"},
    ["null", "string", "long"],
    ["string", "long"],
    {"type": "fixed", "name": "F", "size": 4},
])
def test_types_it_does_not_cover_are_refused(native: bool, field_type: Any) -> None:
    spec = {"type": "record", "name": "R", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(Unsupported):
        compile_reader(spec, native=native)


@SOME
@given(records(schema_json("smtp_reply")), st.binary(max_size=6))
def test_spans_are_the_bytes_of_their_fields(native: bool, record: dict[str, Any],
                                             header: bytes) -> None:
    """Read after a header of any length, a marked field's span holds its bytes alone."""
    read = compile_reader(schema_json("smtp_reply"), ("event_id", "email"), native=native)
    data = header + compile_writer(schema_json("smtp_reply"), native=native)(record)
    got = read(data, len(header))
    for name in ("event_id", "email"):
        start, end = got.pop(SPAN + name)
        assert data[start:end] == AVRO.string(record[name])
    assert got == compile_reader(schema_json("smtp_reply"), native=native)(data, len(header))


def test_a_span_of_a_field_the_schema_lacks_is_refused(native: bool) -> None:
    with pytest.raises(Unsupported, match="no field"):
        compile_reader(SPEC, spans=("nope",), native=native)
