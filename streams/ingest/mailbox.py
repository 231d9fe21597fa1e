"""Mail a user already collects bounces in: a Maildir, an mbox file, one ``.eml`` file or a
directory of them, read as raw messages (``bounceflow ingest --format mail PATH``)."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredMail:
    where: str  # the file, or the mailbox and its key: named in a dead letter
    index: int  # its position in what was read (a dead letter's source offset)
    raw: bytes | None  # None when larger than the limit
    mtime_ms: int  # when it was stored: a report without a Date is dated by it


def mails(path: Path, max_bytes: int) -> Iterator[StoredMail]:
    """Every mail under ``path``; raises ValueError naming what it is not."""
    if path.is_dir() and any((path / d).is_dir() for d in ("cur", "new")):
        # A Maildir holds one message a file in new/ and cur/ (tmp/ is still being written).
        files = sorted(f for d in ("new", "cur") if (path / d).is_dir()
                       for f in (path / d).iterdir() if f.is_file() and not f.name.startswith("."))
        for index, file in enumerate(files):
            yield _read(str(file), index, file, max_bytes)
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".eml")
        for index, file in enumerate(files):
            yield _read(str(file), index, file, max_bytes)
    elif path.is_file():
        with path.open("rb") as f:
            mbox = f.read(5) == b"From "
        if not mbox:
            yield _read(str(path), 0, path, max_bytes)
            return
        box = mailbox.mbox(str(path), factory=None, create=False)
        # closed also when the reader stops early (the generator's close runs the finally)
        try:
            mtime = int(path.stat().st_mtime * 1000)
            for index, key in enumerate(box.iterkeys()):
                raw = box.get_bytes(key)
                yield StoredMail(f"{path}:{key}", index, raw if len(raw) <= max_bytes else None,
                                 mtime)
        finally:
            box.close()
    else:
        raise ValueError(f"{path}: not a Maildir, an mbox or .eml file, or a directory of "
                         ".eml files")


def _read(where: str, index: int, file: Path, max_bytes: int) -> StoredMail:
    stat = file.stat()
    raw = file.read_bytes() if stat.st_size <= max_bytes else None
    return StoredMail(where, index, raw, int(stat.st_mtime * 1000))
