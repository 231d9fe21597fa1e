"""Blind agreement: the classifier on labelled replies its rules were not written from
(tests/corpus/blind-*.tsv), so that a round of rule changes reports an unseen-text figure, not the
tuning corpus's.

    python -m bench.blind [--policy recipient] [--top 15] [--unseen] [FILE ...]

A file is tab-separated with a header row: code status stage kind reasons suppress source text.
``reasons`` lists the acceptable reasons (comma-separated), ``suppress`` is yes/no: whether the
address should be suppressed (a permanent failure caused by the address, the ``recipient``
policy's meaning). Prints, per file and overall: reason agreement (the predicted reason is one of
the acceptable ones), kind agreement, the suppress decision's precision, recall and F1 (each on
its own: a wrong suppression loses a good address, a missed one costs reputation), and the most
common disagreements as counts (predicted -> labelled), never the texts, so that reading the
report does not turn the blind set into a tuning set; and how the rows were decided (text rule,
status entry, reply code, the word model's guess, nothing: Classification.basis), each with how
many agree. Rows the word model learnt from (a set it was built from, wherever the file is, and
their repeats in other sets) are scored with the model learnt again without them, so every
figure is on replies the model never saw."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from streams.classify.classifier import Classifier
from streams.classify.labelled import (
    CORPUS_DIR,
    Blind,
    FormatError,
    blind_files,
    corpus_rows,
    masked,
    read_blind,
)
from streams.classify.words import is_current, without
from streams.settings import POLICIES


def near_copies(texts: list[str], corpus: list[str]) -> list[bool]:
    """For each text, whether the tuning corpus holds a near copy of it: the same text once
    numbers, ids and addresses are masked, one within the other (40 characters or more), or
    nine tenths alike. A held-out reply found there is no longer unseen, however it got in
    (a standard MTA line the rule writer found elsewhere, say)."""
    others = [masked(t) for t in corpus]
    out = []
    for text in texts:
        mine = masked(text)
        out.append(any(
            mine == other
            or (min(len(mine), len(other)) >= 40 and (mine in other or other in mine))
            or (difflib.SequenceMatcher(None, mine, other).quick_ratio() > 0.9
                and difflib.SequenceMatcher(None, mine, other).ratio() > 0.9)
            for other in others))
    return out


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Score:
    rows: int = 0
    reasons: int = 0  # predicted reason among the acceptable ones
    kinds: int = 0
    tp: int = 0  # suppressed and labelled so
    fp: int = 0
    fn: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    wrong_suppress: Counter[tuple[str, str]] = field(default_factory=Counter)
    # how each row was decided (Classification.basis), and how many of those agree on the reason
    bases: Counter[str] = field(default_factory=Counter)
    bases_agreeing: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def __add__(self, other: Score) -> Score:
        return Score(self.rows + other.rows, self.reasons + other.reasons,
                     self.kinds + other.kinds, self.tp + other.tp, self.fp + other.fp,
                     self.fn + other.fn, self.confusion + other.confusion,
                     self.wrong_suppress + other.wrong_suppress, self.bases + other.bases,
                     self.bases_agreeing + other.bases_agreeing)


def score(classifier: Classifier, rows: list[Blind]) -> Score:
    s = Score(rows=len(rows))
    for row in rows:
        got = classifier.classify(row.code, row.status, row.text, row.stage)
        labelled = "|".join(sorted(row.reasons))
        s.bases[got.basis] += 1
        if got.reason in row.reasons:
            s.reasons += 1
            s.bases_agreeing[got.basis] += 1
        else:
            s.confusion[(got.reason, labelled)] += 1
        s.kinds += got.kind == row.kind
        s.tp += got.suppress and row.suppress
        s.fp += got.suppress and not row.suppress
        s.fn += row.suppress and not got.suppress
        if got.suppress != row.suppress:
            what = "suppressed" if got.suppress else "kept"
            s.wrong_suppress[(f"{what} as {got.reason} ({got.basis}: {got.rule})", labelled)] += 1
    return s


def held_out(classifier: Classifier, policy: str, rows: list[Blind],
             directory: Path = CORPUS_DIR) -> Classifier:
    """The classifier to score blind rows with: if its word model learnt any of them (or a
    repeat of one, once masked), one whose model is learnt again without them, so that every
    figure is on replies the model never saw. ``directory``: where the model's sources are."""
    words = without(classifier.words, [r.text for r in rows], directory)
    if words is classifier.words:
        return classifier
    other = Classifier(policy)
    other.words = words
    return other


def _figure(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if percent else f"{value:.3f}"


def report(name: str, s: Score, top: int) -> list[str]:
    lines = [
        f"{name}: {s.rows} rows; reasons {_figure(_ratio(s.reasons, s.rows))}, "
        f"kinds {_figure(_ratio(s.kinds, s.rows))}; suppress precision "
        f"{_figure(s.precision, False)} recall {_figure(s.recall, False)} "
        f"F1 {_figure(s.f1, False)} (tp {s.tp}, fp {s.fp}, fn {s.fn})",
        "  decided by: " + ", ".join(
            f"{basis} {n} ({s.bases_agreeing[basis]} agree)" for basis, n in s.bases.most_common())]
    if top:
        lines += [f"  {n:4}  {got} -> {want}" for (got, want), n in s.confusion.most_common(top)]
        lines += [f"  {n:4}  {got} -> {want}"
                  for (got, want), n in s.wrong_suppress.most_common(top)]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help="blind files (default: every tests/corpus/blind-*.tsv)")
    parser.add_argument("--policy", choices=POLICIES, default="recipient",
                        help="suppression policy whose decision is scored (default recipient)")
    parser.add_argument("--top", type=int, default=15,
                        help="how many of the commonest disagreements to list (0: none)")
    parser.add_argument("--unseen", action="store_true",
                        help="score only the rows with no near copy in the tuning corpus "
                             "(tests/corpus/replies.tsv), and say how many were left out")
    args = parser.parse_args(argv)
    files = args.files or blind_files()
    if not files:
        parser.error("no FILE given and no tests/corpus/blind-*.tsv")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    if args.top < 0:
        parser.error("--top must be 0 or more")
    try:
        per_file = [(f, read_blind(f)) for f in files]
    except FormatError as exc:
        sys.exit(f"blind file format: {exc}")
    if args.unseen:
        corpus = [text for _, _, _, text, _ in corpus_rows()]
        kept = []
        for path, rows in per_file:
            copied = near_copies([r.text for r in rows], corpus)
            print(f"{path.name}: {sum(copied)} of {len(rows)} rows have a near copy in the "
                  "tuning corpus, left out")
            kept.append((path, [r for r, c in zip(rows, copied) if not c]))
        per_file = kept
    classifier = Classifier(args.policy)
    if not is_current(classifier.words):
        sys.exit("the word model (rules/words.toml) is not built from the labelled files as they "
                 "are: run `python -m streams.classify.words`")
    total = Score()
    for path, rows in per_file:
        s = score(held_out(classifier, args.policy, rows), rows)
        total += s
        print("\n".join(report(path.name, s, args.top)))
    if len(per_file) > 1:
        print("\n".join(report("overall", total, args.top)))


if __name__ == "__main__":
    main()
