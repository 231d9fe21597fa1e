"""A guess for the replies no rule names a cause for: a naive Bayes model of which words (with the
reply code's class and the SMTP stage) go with which reason in the tuning corpus
(tests/corpus/replies.tsv). It is data, ``rules/words.toml``, built from the corpus again with

    python -m streams.classify.words [CORPUS]

after the corpus changes (tests/unit/classify/test_words.py fails until then). Its reason is a
guess: the classification's basis is ``words``, which reports count as a guess and on which no
policy that lists its bases suppresses."""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from streams.classify.rules_loader import REASONS, RULES_DIR
from streams.datafiles import load_toml
from streams.exceptions import RulesError

SCHEMA = "bounceflow.words/1"
WORDS_FILE = RULES_DIR / "words.toml"
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "replies.tsv"
# Chosen on blind-1..10's replies that no rule decided, before blind-11..13 were measured with
# them: a small smoothing lets one telling word carry a reply; a reason is guessed only when it is
# likelier than all the others together, and not where the corpus's own undefined replies are.
ALPHA = 0.01
THRESHOLD = 0.5
MARGIN = 2.0  # how many times likelier than "no cause" (the corpus's undefined) a guess must be
MIN_ROWS = 2  # a word in one reply only is that reply's accident, not a reason's word
# Reasons a reply's words never give: set by a 2xx code, by ARF or by us.
NOT_GUESSED = frozenset({"delivered", "feedback", "suppressed"})

_WORD = re.compile(r"[a-z]{3,}")
# Addresses and links name hosts and people, not causes.
_NAMES = re.compile(r"\S+@\S+|https?://\S+")


def features(code: int | None, stage: str | None, text: str) -> frozenset[str]:
    """A reply's words (lower case, three letters or more), its code's class and its stage."""
    found = set(_WORD.findall(_NAMES.sub(" ", text.lower())))
    if code is not None:
        found.add(f"code:{code // 100}xx")
    if stage:
        found.add(f"stage:{stage.lower()}")
    return frozenset(found)


@dataclass(frozen=True)
class WordModel:
    alpha: float
    threshold: float
    margin: float
    rows: dict[str, int]  # reason -> corpus rows with it
    counts: dict[str, dict[str, int]]  # reason -> feature -> how many of those rows have it

    def __post_init__(self) -> None:
        # Per feature, its log likelihood under each reason (in ``_reasons`` order); a feature no
        # row had says nothing and is left out.
        reasons = tuple(sorted(self.rows))
        vocabulary = {f for c in self.counts.values() for f in c}
        likelihood = {f: tuple(math.log((self.counts[r].get(f, 0) + self.alpha)
                                        / (self.rows[r] + 2 * self.alpha)) for r in reasons)
                      for f in vocabulary}
        object.__setattr__(self, "_reasons", reasons)
        object.__setattr__(self, "_priors", tuple(math.log(self.rows[r]) for r in reasons))
        object.__setattr__(self, "_likelihood", likelihood)
        object.__setattr__(self, "_undefined",
                           reasons.index("undefined") if "undefined" in reasons else None)

    def guess(self, code: int | None, stage: str | None, text: str) -> str | None:
        """The most likely reason, or None when no word is known or it is less likely than the
        threshold."""
        found = [f for f in features(code, stage, text) if f in self._likelihood]
        if all(f.startswith(("code:", "stage:")) for f in found):  # a code alone is no cause
            return None
        known = [self._likelihood[f] for f in found]
        scores = [prior + sum(k[i] for k in known) for i, prior in enumerate(self._priors)]
        best = max(range(len(scores)), key=scores.__getitem__)
        if best == self._undefined or 1 / sum(math.exp(s - scores[best]) for s in scores) \
                < self.threshold:
            return None
        if self._undefined is not None and \
                scores[best] - scores[self._undefined] < math.log(self.margin):
            return None
        return self._reasons[best]


def train(rows: Iterable[tuple[int | None, str | None, str, str]],
          alpha: float = ALPHA, threshold: float = THRESHOLD,
          margin: float = MARGIN) -> WordModel:
    """The model of (code, stage, text, reason) rows."""
    count: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {}
    for code, stage, text, reason in rows:
        if reason in NOT_GUESSED:
            continue
        count[reason] += 1
        counts.setdefault(reason, Counter()).update(features(code, stage, text))
    seen = Counter(f for c in counts.values() for f in c.elements())
    return WordModel(alpha, threshold, margin, dict(count),
                     {r: {f: n for f, n in c.items() if seen[f] >= MIN_ROWS}
                      for r, c in counts.items()})


def corpus_rows(path: Path = CORPUS) -> list[tuple[int | None, str | None, str, str]]:
    """The (code, stage, text, reason) rows of the tuning corpus."""
    with path.open(encoding="utf-8", newline="") as f:
        return [(None if r["code"] == "-" else int(r["code"]),
                 None if r["stage"] == "-" else r["stage"], r["text"], r["reason"])
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def dumps(model: WordModel) -> str:
    """The model as a words file (TOML), features sorted so that a rebuild diffs cleanly."""
    out = [f'schema = "{SCHEMA}"',
           "# Built from tests/corpus/replies.tsv by `python -m streams.classify.words`: "
           "do not edit.",
           f"alpha = {model.alpha}", f"threshold = {model.threshold}",
           f"margin = {model.margin}", ""]
    for reason in sorted(model.rows):
        words = ", ".join(f"{json.dumps(f)} = {n}" for f, n in sorted(model.counts[reason].items()))
        out += [f"[reasons.{reason}]", f"rows = {model.rows[reason]}", f"features = {{ {words} }}",
                ""]
    return "\n".join(out)


def load(path: Path = WORDS_FILE) -> WordModel:
    data = load_toml(path, SCHEMA)
    try:
        reasons = data["reasons"]
        model = WordModel(float(data["alpha"]), float(data["threshold"]), float(data["margin"]),
                          {r: int(v["rows"]) for r, v in reasons.items()},
                          {r: {f: int(n) for f, n in v["features"].items()}
                           for r, v in reasons.items()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RulesError(f"{path}: not a words file: {type(exc).__name__}: {exc}") from None
    unknown = set(model.rows) - REASONS
    if unknown:
        raise RulesError(f"{path}: unknown reasons {sorted(unknown)}")
    if not model.rows or min(model.rows.values()) < 1 or model.alpha <= 0 or model.margin < 1:
        raise RulesError(f"{path}: every reason needs rows, alpha must be positive and margin "
                         "at least 1")
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.classify.words",
        description="Build the word model (rules/words.toml) that guesses a reason for replies "
                    "no rule names a cause for, from a labelled corpus.")
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS,
                        help="tab-separated corpus with code, stage, reason and text columns "
                             "(default: tests/corpus/replies.tsv of this checkout)")
    parser.add_argument("--output", type=Path, default=WORDS_FILE, help="default: %(default)s")
    args = parser.parse_args(argv)
    if not args.corpus.is_file():
        parser.error(f"no corpus at {args.corpus}")
    try:
        rows = corpus_rows(args.corpus)
    except (KeyError, ValueError) as exc:
        parser.error(f"{args.corpus}: not a corpus: {type(exc).__name__}: {exc}")
    model = train(rows)
    args.output.write_text(dumps(model), encoding="utf-8")
    print(f"{args.output}: {len(model.rows)} reasons from {sum(model.rows.values())} replies",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
