"""A guess for the replies no rule names a cause for: a naive Bayes model of which words (with the
reply code's class and the SMTP stage) go with which reason in the tuning corpus
(tests/corpus/replies.tsv). It is data, ``rules/words.toml``, built from the corpus again with

    python -m streams.classify.words [CORPUS]

after the corpus changes (tests/unit/classify/test_words.py fails until then). Its reason is a
guess: the classification's basis is ``words``, which reports count as a guess, on which no
policy that lists its bases suppresses and which provider health never counts as pushback."""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from streams.classify.rules_loader import REASONS, RULES_DIR
from streams.datafiles import load_toml
from streams.exceptions import RulesError

SCHEMA = "bounceflow.words/1"
WORDS_FILE = RULES_DIR / "words.toml"
STOPWORDS_FILE = RULES_DIR / "stopwords.toml"
CORPUS = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "replies.tsv"
ALPHA = 0.01  # small: one telling word may carry a reply
THRESHOLD = 0.5  # a guess is likelier than all the other reasons together
MARGIN = 2.0  # and twice as likely as "no cause" (the corpus's own undefined replies)
MIN_ROWS = 2  # a reason's word seen in one of its replies only is that reply's accident
# Reasons a reply's words never give: set by a 2xx code, by ARF or by us.
NOT_GUESSED = frozenset({"delivered", "feedback", "suppressed"})

_WORD = re.compile(r"[a-z]{3,}")
# A token that is an address, a link or a host name (a dot between letters) names someone or
# something, not a cause. Tokens are split on spaces first: a regular expression over the whole
# text backtracks on a long token.
_NAME = re.compile(r"@|://|[a-z0-9]\.[a-z]")


def features(code: int | None, stage: str | None, text: str) -> frozenset[str]:
    """A reply's words (lower case, three letters or more, not in names), its code's class and
    its stage."""
    found = {w for token in text.lower().split() if not _NAME.search(token)
             for w in _WORD.findall(token)}
    if code is not None:
        found.add(f"code:{code // 100}xx")
    if stage:
        found.add(f"stage:{stage.lower()}")
    return frozenset(found)


def _is_context(feature: str) -> bool:
    return feature.startswith(("code:", "stage:"))


@dataclass(frozen=True)
class WordModel:
    """The corpus's counts (``rows``: replies per reason; ``counts``: per reason, the replies
    with each feature) and how a guess is made from them."""

    alpha: float
    threshold: float
    margin: float
    rows: dict[str, int]
    counts: dict[str, dict[str, int]]
    # Derived: the reasons in order, their log priors, and per feature its log likelihood under
    # each reason (a feature no reason kept says nothing and is left out).
    reasons: tuple[str, ...] = field(init=False, repr=False, compare=False)
    priors: tuple[float, ...] = field(init=False, repr=False, compare=False)
    likelihood: dict[str, tuple[float, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        reasons = tuple(sorted(self.rows))
        vocabulary = {f for c in self.counts.values() for f in c}
        object.__setattr__(self, "reasons", reasons)
        object.__setattr__(self, "priors", tuple(math.log(self.rows[r]) for r in reasons))
        object.__setattr__(self, "likelihood", {
            f: tuple(math.log((self.counts[r].get(f, 0) + self.alpha)
                              / (self.rows[r] + 2 * self.alpha)) for r in reasons)
            for f in vocabulary})

    def guess(self, code: int | None, stage: str | None, text: str) -> str | None:
        """The likeliest reason, or None: when no word of the reply is known (the code and stage
        alone are no cause), or the likeliest is not likely enough."""
        found = [f for f in features(code, stage, text) if f in self.likelihood]
        if all(_is_context(f) for f in found):
            return None
        scores = [prior + sum(self.likelihood[f][i] for f in found)
                  for i, prior in enumerate(self.priors)]
        best = max(range(len(scores)), key=scores.__getitem__)
        if 1 / sum(math.exp(s - scores[best]) for s in scores) < self.threshold:
            return None
        if "undefined" in self.rows and \
                scores[best] - scores[self.reasons.index("undefined")] < math.log(self.margin):
            return None  # the likeliest is "no cause" itself, or hardly likelier
        return self.reasons[best]


def train(rows: Iterable[tuple[int | None, str | None, str, str]],
          alpha: float = ALPHA, threshold: float = THRESHOLD,
          margin: float = MARGIN) -> WordModel:
    """The model of (code, stage, text, reason) rows, without the stop words; RulesError for a
    reason not in the vocabulary."""
    stop = load_stopwords()
    count: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {}
    for code, stage, text, reason in rows:
        if reason not in REASONS:
            raise RulesError(f"unknown reason {reason!r} (reasons.toml lists them)")
        if reason in NOT_GUESSED:
            continue
        count[reason] += 1
        counts.setdefault(reason, Counter()).update(features(code, stage, text))
    return WordModel(alpha, threshold, margin, dict(count),
                     {r: {f: n for f, n in c.items()
                          if f not in stop and (n >= MIN_ROWS or _is_context(f))}
                      for r, c in counts.items()})


def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    words = load_toml(path, "bounceflow.stopwords/1").get("words")
    if not isinstance(words, list) or not all(isinstance(w, str) and _WORD.fullmatch(w)
                                              for w in words):
        raise RulesError(f"{path}: words must be a list of lower-case words of three letters "
                         "or more")
    return frozenset(words)


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
    """The model of a words file; RulesError naming the file for anything wrong in it."""
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
        model = train(corpus_rows(args.corpus))
    except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError,
            RulesError) as exc:
        parser.error(f"{args.corpus}: not a corpus: {type(exc).__name__}: {exc}")
    args.output.write_text(dumps(model), encoding="utf-8")
    print(f"{args.output}: {len(model.rows)} reasons from {sum(model.rows.values())} replies",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
