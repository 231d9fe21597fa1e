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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and MADV_PAGEOUT")
def test_page_out_frees_a_mapped_files_pages_and_keeps_their_contents(tmp_path):
    import mmap

    content = bytes(range(256)) * (64 * 4096)  # 64 MB
    path = tmp_path / "library-under-test.so"
    path.write_bytes(content)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped:
        assert mapped[:] == content  # every page touched, so resident
        freed = memory.page_out("library-under-test")
        assert freed > 0.9 * len(content)
        assert memory.page_out("library-under-test") < 0.1 * len(content)  # nothing left
        assert mapped[:] == content  # read back as it was
    assert memory.page_out("no-such-library") == 0


def test_without_modules_fails_their_import_inside_the_block_only():
    name = "json.tool"  # in the standard library, and not imported by anything the tests run
    sys.modules.pop(name, None)
    with memory.without_modules(name), pytest.raises(ImportError):
        import json.tool
    import json.tool  # noqa: F401

    assert sys.modules[name] is not None


def test_without_modules_leaves_a_module_already_imported():
    import json

    with memory.without_modules("json"):
        import json as again
    assert again is json
