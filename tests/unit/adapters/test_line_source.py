"""How `bounceflow ingest` reads a file: complete lines only while following, positions that a
restart resumes from (plain and zstd), truncation and rotation (also while it was down)."""

from __future__ import annotations

import os

import zstandard

from streams.ingest.files import LineSource


def test_follow_reads_complete_lines_and_resumes_at_its_position(tmp_path):
    log = tmp_path / "maillog"
    log.write_bytes(b"one\ntwo\nthr")
    src = LineSource(str(log), None, follow=True)
    assert src.chunk(10) == [b"one", b"two"]  # "thr" is still being written
    with log.open("ab") as f:
        f.write(b"ee\n\nfour\n")
    assert src.chunk(1) == [b"three"] and src.chunk(10) == [b"four"]
    position = src.position()
    src.close()
    with log.open("ab") as f:
        f.write(b"five\n")
    again = LineSource(str(log), position, follow=True)
    assert again.chunk(10) == [b"five"]
    assert again.chunk(10) == [] and not again.done


def test_without_follow_the_cut_last_line_is_read_and_the_file_is_done(tmp_path):
    log = tmp_path / "acct.csv"
    log.write_bytes(b"a\nb,cut mid-fie")
    src = LineSource(str(log), None, follow=False)
    assert src.chunk(10) == [b"a", b"b,cut mid-fie"] and src.done


def test_zstd_segments_resume_at_the_decompressed_position(tmp_path):
    seg = tmp_path / "20261207-0400"
    seg.write_bytes(zstandard.ZstdCompressor().compress(b'{"n": 1}\n{"n": 2}\n{"n": 3}\n'))
    src = LineSource(str(seg), None, follow=True)  # a segment is read whole, never followed
    assert src.chunk(2) == [b'{"n": 1}', b'{"n": 2}']
    again = LineSource(str(seg), src.position(), follow=False)
    assert again.chunk(10) == [b'{"n": 3}'] and again.done


def test_truncation_and_rotation_while_following(tmp_path):
    log = tmp_path / "maillog"
    log.write_bytes(b"a\nb\n")
    src = LineSource(str(log), None, follow=True)
    assert src.chunk(10) == [b"a", b"b"]
    log.write_bytes(b"c\n")  # copytruncate: shorter than our position
    assert src.chunk(10) == [] and src.chunk(10) == [b"c"]
    os.rename(log, tmp_path / "maillog.1")
    with (tmp_path / "maillog.1").open("ab") as f:
        f.write(b"d\n")  # written before the MTA reopened its log
    log.write_bytes(b"e\n")
    assert src.chunk(10) == [b"d", b"e"]


def test_a_rotation_while_down_finishes_the_old_file_first(tmp_path):
    log = tmp_path / "maillog"
    log.write_bytes(b"a\nb\n")
    src = LineSource(str(log), None, follow=True)
    assert src.chunk(1) == [b"a"]
    position = src.position()
    src.close()
    os.rename(log, tmp_path / "maillog.1")
    log.write_bytes(b"c\n")
    again = LineSource(str(log), position, follow=True)
    assert again.chunk(10) == [b"b", b"c"]
    assert again.position() == {"inode": log.stat().st_ino, "offset": 2}
