"""Reading mailboxes: a Maildir, an mbox, one .eml file and a directory of them give the same
mails; a mail over the limit is kept as a placeholder (a dead letter), never read whole."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from streams.ingest.mailbox import mails
from tests.unit.mail import samples

MAILS = [samples.postfix_failed("b@bounce.example", "a@isp.example", "m1@shop"),
         samples.out_of_office("b@bounce.example", "c@isp.example", "m2@shop")]


def _raw(found) -> list[bytes]:
    return [m.raw.replace(b"\r\n", b"\n") for m in found]


def test_maildir_mbox_eml_and_a_directory_of_eml_give_the_same_mails(tmp_path: Path):
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    mbox = mailbox.mbox(str(tmp_path / "bounces.mbox"), create=True)
    (tmp_path / "eml").mkdir()
    for i, raw in enumerate(MAILS):
        box.add(raw)
        mbox.add(raw)
        (tmp_path / "eml" / f"{i}.eml").write_bytes(raw)
    mbox.flush()
    for path in (tmp_path / "Maildir", tmp_path / "bounces.mbox", tmp_path / "eml"):
        found = list(mails(path, 1_000_000))
        assert sorted(_raw(found)) == sorted(MAILS), path
        assert [m.index for m in found] == [0, 1] and all(m.mtime_ms > 0 for m in found)
    [one] = mails(tmp_path / "eml" / "0.eml", 1_000_000)
    assert one.raw == MAILS[0] and one.where.endswith("0.eml")


def test_a_mail_over_the_limit_is_not_read(tmp_path: Path):
    (tmp_path / "big.eml").write_bytes(MAILS[0])
    [big] = mails(tmp_path / "big.eml", 100)
    assert big.raw is None


def test_anything_else_is_refused_with_what_it_is_not(tmp_path: Path):
    with pytest.raises(ValueError, match=r"not a Maildir, an mbox or \.eml file"):
        list(mails(tmp_path / "missing", 100))


@pytest.mark.parametrize("stop_after", [None, 1])
def test_reading_an_mbox_closes_it_read_whole_or_left_early(tmp_path: Path, stop_after):
    import gc
    import warnings

    mbox = mailbox.mbox(str(tmp_path / "bounces.mbox"), create=True)
    for raw in MAILS:
        mbox.add(raw)
    mbox.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        found = mails(tmp_path / "bounces.mbox", 1_000_000)
        got = [next(found)] if stop_after else list(found)
        found.close()
        del found
        gc.collect()
    assert len(got) == (stop_after or len(MAILS))
    # a file object collected while still open warns "unclosed file": the mbox was left open
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
