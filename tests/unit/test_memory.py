import sys

import pytest

from streams import memory


def rss_anon_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trim_returns_freed_heap_memory_to_the_system():
    # 1 KB objects come from malloc, not CPython's small-object arenas; keeping one in a hundred
    # alive leaves the heap fragmented, so free() alone cannot give the pages back.
    blocks = [bytes(1024) for _ in range(150_000)]
    _kept = blocks[::100]  # alive to the end of the test
    del blocks
    before = rss_anon_mb()
    memory.trim()
    assert before - rss_anon_mb() > 50
