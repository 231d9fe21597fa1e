"""The compiled Avro writers (generated Python and C) against fastavro's, the reference: the same
bytes for generated records of every schema bounceflow writes, and a clear refusal of the types
they do not cover."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.ingest.avro_writer import Unsupported, compile_flat_writer, compile_writer
from streams.ingest.codec import SCHEMA_DIR, schema, schema_json
from streams.ingest.varint import SMALL
from tests.examples import examples

# Every test runs on both codecs: the generated Python functions and the C one (avro_native.py).
BOTH_CODECS = pytest.mark.parametrize("native", [False, True], ids=["python", "c"])
pytestmark = BOTH_CODECS
SCHEMAS = sorted(p.stem for p in SCHEMA_DIR.glob("*.avsc"))
LONGS = (st.integers(-2**63, 2**63 - 1) | st.integers(-2, SMALL + 2)
         | st.sampled_from([SMALL - 1, SMALL, -SMALL, 2**31 - 1, -2**31]))


def records(node: Any) -> st.SearchStrategy[Any]:
    """Values of an Avro schema (as JSON), edge cases included."""
    if isinstance(node, list):
        return st.one_of([records(branch) for branch in node])
    kind = node["type"] if isinstance(node, dict) else node
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: records(f["type"]) for f in node["fields"]})
    if kind == "enum":
        return st.sampled_from(node["symbols"])
    return {
        "null": st.none(),
        # Lengths around SMALL: the table of short lengths ends there.
        "string": st.text(max_size=40) | st.sampled_from(["x" * (SMALL - 1), "x" * SMALL,
                                                          "\u00e9" * (SMALL // 2 + 1)]),
        "bytes": st.binary(max_size=40) | st.sampled_from([b"\0" * (SMALL - 1), b"\0" * SMALL]),
        "int": st.integers(-2**31, 2**31 - 1) | st.integers(-2, SMALL + 2),
        "long": LONGS,
        "boolean": st.booleans(),
        "double": st.floats(allow_nan=False),
    }[kind]


def fastavro_bytes(name: str, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema(name), record)
    return buf.getvalue()


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_schema_is_compiled_and_writes_what_fastavro_writes(native: bool, name: str) -> None:
    write = compile_writer(schema_json(name), native=native)

    @settings(max_examples=examples(300), deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(records(schema_json(name)))
    def same_bytes(record: dict[str, Any]) -> None:
        assert write(record) == fastavro_bytes(name, record)

    same_bytes()


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_flat_writer_writes_what_the_record_writer_writes(native: bool, name: str) -> None:
    names, write_flat = compile_flat_writer(schema_json(name), native=native)
    write = compile_writer(schema_json(name), native=native)

    def value(record: dict[str, Any], dotted: str) -> Any:
        for part in dotted.split("."):
            record = record[part]
        return record

    @settings(max_examples=examples(200), deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(records(schema_json(name)))
    def same_bytes(record: dict[str, Any]) -> None:
        assert write_flat(*(value(record, n) for n in names)) == write(record)

    same_bytes()


def test_flat_fields_name_a_nested_record_s_fields_in_its_place(native: bool) -> None:
    spec = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"},
        {"name": "n", "type": {"type": "record", "name": "N", "fields": [
            {"name": "b", "type": "string"},
            {"name": "o", "type": ["null", {"type": "record", "name": "O", "fields": [
                {"name": "c", "type": "long"}]}]}]}},
        {"name": "d", "type": "boolean"},
    ]}
    names, write = compile_flat_writer(spec, native=native)
    assert names == ("a", "n.b", "n.o", "d")
    assert write(-3, "x", {"c": 1}, True) == b"\x05\x02x\x02\x02\x01"


def test_a_field_with_a_default_may_be_left_out(native: bool) -> None:
    spec = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "long"},
        {"name": "b", "type": ["null", "string"], "default": None},
        {"name": "c", "type": "boolean", "default": True},
    ]}
    assert compile_writer(spec, native=native)({"a": -3}) == b"\x05\x00\x01"


@pytest.mark.parametrize("field_type", [
    {"type": "array", "items": "long"},
    ["null", "string", "long"],
    ["string", "long"],
    {"type": "fixed", "name": "F", "size": 4},
])
def test_types_it_does_not_cover_are_refused(native: bool, field_type: Any) -> None:
    spec = {"type": "record", "name": "R", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(Unsupported):
        compile_writer(spec, native=native)
