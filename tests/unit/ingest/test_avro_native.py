"""The C Avro codec's own checks; tests/unit/test_avro_reader.py and test_avro_writer.py run
every codec test on it and on the generated Python."""

from __future__ import annotations

import pytest

from streams.ingest import avro_native


def test_the_c_codec_is_built() -> None:
    # pip install compiles it; where that failed, the worker runs ~10% slower on the Python
    # codec, and this test is the one that says so.
    assert avro_native.AVAILABLE, avro_native.CODEC


C = avro_native._avro


@pytest.mark.parametrize("program", [(), ("long",), (99,), (C.RECORD, "fields"),
                                     (C.RECORD, (("x",),)), (C.UNION, 2, (C.LONG,)),
                                     (C.ENUM, [], {})])
def test_a_malformed_program_is_refused(program: tuple) -> None:
    with pytest.raises((TypeError, ValueError)):
        avro_native._avro.Writer(program, False)


def test_a_program_of_a_value_is_not_a_record_s() -> None:
    with pytest.raises(ValueError, match="a writer's program is a record's"):
        avro_native._avro.Writer((0,), False)


def test_the_flat_writer_takes_one_value_a_field() -> None:
    write = avro_native.flat_writer([("a", "long"), ("b", "string")])
    assert write(-1, "x") == b"\x01\x02x"
    with pytest.raises(TypeError, match="takes 2 values, not 1"):
        write(-1)
