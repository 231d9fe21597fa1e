"""Returning memory the worker no longer uses to the system, where the C library and the
kernel can.

CPython frees the rows of a written batch (megabytes) and librdkafka its fetch buffers, but glibc
keeps freed memory in its arenas for reuse: a worker's RSS then follows its largest moment rather
than its state. ``malloc_trim`` after each ClickHouse write gives it back.

chDB's library is hundreds of MB of code and constants, and opening it touches a good part of
them (static initialisers across the whole binary, registering every function and format); an
insert then uses far fewer. ``page_out`` hands the touched pages back after the open: the ones
used later are read back on first use (docs/performance-history.md has the figures).

A library may also import optional ones it would use only for calls bounceflow never makes:
``without_modules`` keeps them out."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("bounceflow")


_LIBC = ctypes.CDLL(None, use_errno=True)  # the C library the process runs on
_LIBC.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_MADV_PAGEOUT = 21  # Linux 5.4: reclaim the pages now; contents are kept (file or swap)


def _malloc_trim() -> Any:
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is None:  # not glibc (macOS, musl): nothing to call
        log.debug("malloc_trim is not available; freed memory stays with the allocator")
    return trim


_TRIM = _malloc_trim()


def trim() -> None:
    """Give the C allocator's free memory back to the system (microseconds; GIL released)."""
    if _TRIM is not None:
        _TRIM(0)


def page_out(library: str) -> int:
    """Reclaim the resident pages of the read-only mappings of the loaded files whose path
    contains ``library``; returns how many bytes of the process's resident set that freed (0
    where there is no /proc or no MADV_PAGEOUT). Safe whatever the mappings hold: unlike
    MADV_DONTNEED, which would discard the relocated read-only data, PAGEOUT keeps every page's
    contents and only frees the memory, so a page touched again comes back as it was."""
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:  # not Linux
        return 0
    before = resident_bytes()
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or library not in fields[5] or "w" in fields[1]:
            continue
        start, end = (int(a, 16) for a in fields[0].split("-"))
        if _LIBC.madvise(start, end - start, _MADV_PAGEOUT) != 0:
            log.debug("madvise(MADV_PAGEOUT) refused (errno %d): %s stays resident",
                      ctypes.get_errno(), library)
            break
    return max(0, before - resident_bytes())


def resident_bytes() -> int:
    """This process's resident set now, in bytes; 0 where there is no /proc (not Linux)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def without_modules(*names: str) -> Iterator[None]:
    """Inside the block, importing one of ``names`` (not yet imported) fails as if it were not
    installed; afterwards it imports as usual, but a module imported inside the block keeps
    what it found (chDB's own Arrow results stay unavailable for the process's life). For a
    library that imports an optional one when it can, for features bounceflow does not use."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not found"
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
