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
CORPUS_COLUMNS = ["code", "status", "stage", "kind", "reason", "source", "text"]
BLIND_COLUMNS = ["code", "status", "stage", "kind", "reasons", "suppress", "source", "text"]
KINDS = ("delivered", "soft", "hard")
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")

# (code, status, stage, text, reason): what the word model learns from
Example = tuple[int | None, str | None, str | None, str, str]


def blind_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """The blind sets in a directory."""
    return sorted(directory.glob("blind-*.tsv"))


class FormatError(ValueError):
    """A labelled file that does not follow its format; the message names the file, lines and
    columns, never their values."""


def masked(text: str) -> str:
    """A reply's text with addresses, ids and numbers masked: two replies alike but for those
    are one reply to the sets' repeat checks and the word model's held-out scoring."""
    text = re.sub(r"\S+@\S+", "@", text.lower())
    text = re.sub(r"\d+", "#", re.sub(r"[0-9a-f]{6,}", "#", text))
    return " ".join(text.split())


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


def problems(row: dict[str | None, object], columns: list[str] = BLIND_COLUMNS) -> list[str]:
    """What is wrong with one row of a blind file (or, with CORPUS_COLUMNS, of the corpus) as
    csv.DictReader reads it: the columns at fault, not their values."""
    if None in row or any(row.get(c) is None for c in columns):
        return [f"expected {len(columns)} tab-separated columns"]
    value = {c: str(row[c]) for c in columns}
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
    if "reason" in value and value["reason"] not in REASONS:
        out.append("reason is not in the vocabulary")
    if "reasons" in value and not all(r.strip() in REASONS for r in value["reasons"].split(",")):
        out.append("reasons has a reason outside the vocabulary")
    if "suppress" in value and value["suppress"] not in ("yes", "no"):
        out.append("suppress is not yes or no")
    if not value["source"].strip() or not value["text"].strip():
        out.append("source or text is empty")
    return out


def _records(path: Path, columns: list[str]) -> list[dict[str | None, object]]:
    """A tab-separated file's rows under its header; FormatError for another header or a row
    the csv module refuses (a field over its size limit)."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            if reader.fieldnames != columns:
                raise FormatError(f"{path}: the header must be: {' '.join(columns)}")
            return list(reader)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: not a tab-separated UTF-8 file: {type(exc).__name__}") \
            from None


def read_blind(path: Path) -> list[Blind]:
    """The rows of one blind file; FormatError listing every bad line."""
    rows, bad = [], []
    for line, raw in enumerate(_records(path, BLIND_COLUMNS), start=2):
        found = problems(raw)
        if found:
            bad += [f"{path.name} line {line}: {p}" for p in found]
            continue
        reasons = [r.strip() for r in str(raw["reasons"]).split(",")]
        rows.append(Blind(
            code=None if raw["code"] == "-" else int(str(raw["code"])),
            status=None if raw["status"] == "-" else str(raw["status"]),
            stage=None if raw["stage"] == "-" else str(raw["stage"]),
            kind=str(raw["kind"]),
            reasons=frozenset(reasons),
            likeliest=reasons[0],
            suppress=raw["suppress"] == "yes",
            text=str(raw["text"]),
        ))
    if bad:
        raise FormatError("\n".join(bad))
    return rows


def corpus_rows(path: Path = CORPUS) -> list[Example]:
    """The (code, status, stage, text, reason) rows of the tuning corpus; FormatError listing
    every bad line."""
    rows: list[Example] = []
    bad = []
    for line, raw in enumerate(_records(path, CORPUS_COLUMNS), start=2):
        found = problems(raw, CORPUS_COLUMNS)
        if found:
            bad += [f"{path.name} line {line}: {p}" for p in found]
            continue
        rows.append((None if raw["code"] == "-" else int(str(raw["code"])),
                     None if raw["status"] == "-" else str(raw["status"]),
                     None if raw["stage"] == "-" else str(raw["stage"]), str(raw["text"]),
                     str(raw["reason"])))
    if bad:
        raise FormatError("\n".join(bad))
    return rows


def blind_examples(paths: list[Path]) -> list[Example]:
    """The blind sets' rows, each with its likeliest reason."""
    return [(r.code, r.status, r.stage, r.text, r.likeliest)
            for path in paths for r in read_blind(path)]
