"""The labelled replies the classifier is built and judged on, as files: the tuning corpus
(tests/corpus/replies.tsv, one reason a reply, which the rules are written from) and the blind
sets (tests/corpus/blind-*.tsv, labelled by people who never saw the rules: the acceptable reasons,
likeliest first, and whether the address should be suppressed)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from streams.classify.rules_loader import REASONS
from streams.ingest.validation import SMTP_STAGES

CORPUS_DIR = Path(__file__).resolve().parents[2] / "tests" / "corpus"
CORPUS = CORPUS_DIR / "replies.tsv"
BLIND_COLUMNS = ["code", "status", "stage", "kind", "reasons", "suppress", "source", "text"]
KINDS = ("delivered", "soft", "hard")
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")

# (code, status, stage, text, reason): what the word model learns from
Example = tuple[int | None, str | None, str | None, str, str]


def blind_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """The blind sets in a directory."""
    return sorted(directory.glob("blind-*.tsv"))


class BlindFormatError(ValueError):
    """A blind file that does not follow the format; the message names lines and columns, never
    their values."""


@dataclass(frozen=True)
class Blind:
    """One blind row: ``reasons`` are the acceptable ones, ``likeliest`` the first listed."""

    code: int | None
    status: str | None
    stage: str | None
    kind: str
    reasons: frozenset[str]
    likeliest: str
    suppress: bool
    text: str


def problems(row: dict[str | None, object]) -> list[str]:
    """What is wrong with one row as csv.DictReader reads it: the columns at fault, not their
    values."""
    if None in row or any(row.get(c) is None for c in BLIND_COLUMNS):
        return [f"expected {len(BLIND_COLUMNS)} tab-separated columns"]
    value = {c: str(row[c]) for c in BLIND_COLUMNS}
    out = []
    code = value["code"]
    if code != "-" and not (code.isdigit() and 200 <= int(code) <= 599):
        out.append("code is not '-' or a reply code 200-599")
    if value["status"] != "-" and not _STATUS.fullmatch(value["status"]):
        out.append("status is not '-' or an enhanced status code")
    if value["stage"] != "-" and value["stage"] not in SMTP_STAGES:
        out.append("stage is not '-' or an SMTP stage")
    if value["kind"] not in KINDS:
        out.append("kind is not delivered, soft or hard")
    reasons = value["reasons"].split(",")
    if not all(r.strip() in REASONS for r in reasons):
        out.append("reasons has a reason outside the vocabulary")
    if value["suppress"] not in ("yes", "no"):
        out.append("suppress is not yes or no")
    if not value["source"].strip() or not value["text"].strip():
        out.append("source or text is empty")
    return out


def read_blind(path: Path) -> list[Blind]:
    """The rows of one blind file; BlindFormatError listing every bad line."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames != BLIND_COLUMNS:
            raise BlindFormatError(f"{path}: the header must be: {' '.join(BLIND_COLUMNS)}")
        rows, bad = [], []
        for line, raw in enumerate(reader, start=2):
            found = problems(raw)
            if found:
                bad += [f"{path.name} line {line}: {p}" for p in found]
                continue
            reasons = [r.strip() for r in raw["reasons"].split(",")]
            rows.append(Blind(
                code=None if raw["code"] == "-" else int(raw["code"]),
                status=None if raw["status"] == "-" else raw["status"],
                stage=None if raw["stage"] == "-" else raw["stage"],
                kind=raw["kind"],
                reasons=frozenset(reasons),
                likeliest=reasons[0],
                suppress=raw["suppress"] == "yes",
                text=raw["text"],
            ))
    if bad:
        raise BlindFormatError("\n".join(bad))
    return rows


def corpus_rows(path: Path = CORPUS) -> list[Example]:
    """The (code, status, stage, text, reason) rows of the tuning corpus."""
    with path.open(encoding="utf-8", newline="") as f:
        return [(None if r["code"] == "-" else int(r["code"]),
                 None if r["status"] == "-" else r["status"],
                 None if r["stage"] == "-" else r["stage"], r["text"], r["reason"])
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def blind_examples(paths: list[Path]) -> list[Example]:
    """The blind sets' rows, each with its likeliest reason."""
    return [(r.code, r.status, r.stage, r.text, r.likeliest)
            for path in paths for r in read_blind(path)]
