"""Sink rows match their tables, batches keep their offsets, a failed write keeps its batch."""

import pytest

from sinks.base import BatchingSink, token
from sinks.clickhouse import dead_letter_row, hook_row, reply_row
from sinks.ddl import columns
from streams.classify import Classifier
from streams.processing import SMTP_REPLY, Source, classify_reply, dead_letter
from streams.tracking import Limits, decide
from tests.unit.test_codec_and_validation import GOOD


def classified():
    result = classify_reply(SMTP_REPLY.encode(GOOD), Classifier())
    assert isinstance(result, dict)
    return result


def test_rows_have_one_value_per_column():
    r = classified()
    assert len(reply_row(r, 0, 1)) == len(columns("replies"))
    hooks = decide(r, None, None, Limits(5, 600, 86400), 0).hooks
    assert len(hook_row(hooks[0], 0, 1)) == len(columns("hooks"))
    dl = dead_letter("bad", Source("t", 1, 2), b"k", b"v")
    assert len(dead_letter_row(dl, 0, 1)) == len(columns("dead_letters"))


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
