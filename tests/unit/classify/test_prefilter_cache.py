"""A compiled prefilter database is kept on disk and loaded by the next start with the same rules:
a start does not spend seconds compiling rules it compiled before, and a damaged or foreign file
is compiled again, never trusted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streams.classify import prefilter

PATTERNS = (r"\bmailbox (is )?full\b", r"user unknown", r"(?i)over quota")
TEXT = "552 Mailbox full"


def compile_(patterns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return prefilter._database.__wrapped__(patterns)  # past the per-process lru_cache


def hits(db: object) -> set[int]:
    found: set[int] = set()
    db.scan(TEXT.encode(), match_event_handler=prefilter._collect, context=found,  # type: ignore[attr-defined]
            scratch=prefilter.hyperscan.Scratch(db))
    return found


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(prefilter, "CACHE_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def test_the_second_start_loads_what_the_first_compiled(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = compile_(PATTERNS)
    assert len(list(cache.glob("prefilter-*.hsdb"))) == 1

    def no_compiling() -> None:
        raise AssertionError("compiled again although the cache holds the database")

    monkeypatch.setattr(prefilter.hyperscan, "Database", no_compiling)
    second, _ = compile_(PATTERNS)
    assert hits(second) == hits(first) == {0}


def test_other_rules_get_a_database_of_their_own(cache: Path) -> None:
    compile_(PATTERNS)
    db, _ = compile_((*PATTERNS, r"mailbox"))
    assert hits(db) == {0, 3}
    assert len(list(cache.glob("prefilter-*.hsdb"))) == 2


def test_a_damaged_file_is_compiled_again_and_replaced(cache: Path) -> None:
    compile_(PATTERNS)
    (kept,) = cache.glob("prefilter-*.hsdb")
    kept.write_bytes(b"not a database")
    db, _ = compile_(PATTERNS)
    assert hits(db) == {0}
    assert kept.read_bytes() != b"not a database"


def test_a_cache_that_cannot_be_written_costs_only_the_compile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory would be")
    monkeypatch.setattr(prefilter, "CACHE_DIR", blocker / "cache")
    db, _ = compile_(PATTERNS)
    assert hits(db) == {0}


def test_the_databases_used_last_are_kept_up_to_a_size(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compile_(PATTERNS)
    (first,) = cache.glob("prefilter-*.hsdb")
    monkeypatch.setattr(prefilter, "KEPT_BYTES", 3 * first.stat().st_size)
    os.utime(first, (1, 1))  # long ago: the first to go, unless it is used again
    for n in range(3):
        compile_((*PATTERNS, f"word{n}"))
    assert not first.exists()
    assert len(list(cache.glob("prefilter-*.hsdb"))) <= 3
    assert not list(cache.glob("*.partial"))


def test_a_database_loaded_again_is_kept_before_older_ones(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def database_of(patterns: tuple[str, ...]) -> Path:
        before = set(cache.glob("prefilter-*.hsdb"))
        compile_(patterns)
        (made,) = set(cache.glob("prefilter-*.hsdb")) - before
        return made

    older = [database_of((*PATTERNS, f"word{n}")) for n in range(2)]
    first = database_of(PATTERNS)
    for n, path in enumerate([first, *older]):
        os.utime(path, (n, n))  # first the oldest of all
    compile_(PATTERNS)  # loaded again: used now
    monkeypatch.setattr(prefilter, "KEPT_BYTES",
                        first.stat().st_size + older[1].stat().st_size)
    database_of((*PATTERNS, "word2"))
    assert first.exists() and not older[0].exists()


def test_without_a_home_nothing_is_kept_and_the_rules_still_compile(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(prefilter.Path, "home", no_home)
    assert prefilter._cache_dir() is None
    monkeypatch.setattr(prefilter, "CACHE_DIR", None)
    db, _ = compile_(PATTERNS)
    assert hits(db) == {0}


def test_a_database_others_could_have_written_is_compiled_again(
        cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compile_(PATTERNS)
    (kept,) = cache.glob("prefilter-*.hsdb")
    kept.chmod(0o666)
    compiled = []
    real = prefilter.hyperscan.Database

    def counting() -> object:
        compiled.append(1)
        return real()

    monkeypatch.setattr(prefilter.hyperscan, "Database", counting)
    db, _ = compile_(PATTERNS)
    assert compiled and hits(db) == {0}
