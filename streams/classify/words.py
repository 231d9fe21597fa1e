"""A guess for the replies no rule names a cause for: a logistic (softmax) model of which words,
with the reply code's class, the enhanced status and the SMTP stage, go with which reason in the
labelled replies: the tuning corpus and the blind sets (tests/corpus/). It is data,
``rules/words.toml``, built again with

    python -m streams.classify.words

after a labelled file changes (tests/unit/classify/test_words.py fails until then). Its reason is
a guess: the classification's basis is ``words``, which reports count as a guess, on which no
policy that lists its bases suppresses and which provider health never counts as pushback.
``bench.blind`` scores a blind set the model learnt from with the model built without it."""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import random
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from streams.classify.labelled import (
    CORPUS,
    CORPUS_DIR,
    Example,
    FormatError,
    blind_examples,
    blind_files,
    corpus_rows,
    masked,
)
from streams.classify.rules_loader import REASONS, RULES_DIR
from streams.datafiles import load_toml
from streams.exceptions import RulesError

SCHEMA = "bounceflow.words/3"
WORDS_FILE = RULES_DIR / "words.toml"
STOPWORDS_FILE = RULES_DIR / "stopwords.toml"


@dataclass(frozen=True)
class Training:
    """How the model is fitted (stochastic gradient descent on the softmax's log loss) and when
    it guesses; chosen by leaving each blind set out in turn (docs/classification.md)."""

    passes: int = 15
    rate: float = 0.5  # the first pass's step; pass n takes rate / n
    l2: float = 1e-3  # weight decay: a word seen in few replies stays a weak hint
    threshold: float = 0.3  # the guessed reason's probability must reach this
    telling: float = 0.5  # and a word of the reply must weigh this much for it: the code,
    # status and stage alone are no cause, nor are they with words that hardly weigh
    seed: int = 1  # the order the replies are shuffled in, so that a rebuild is the same
    # The corpus's labels are the project's conventions, a blind label one labeller's reading:
    # where they differ, the corpus weighs more.
    corpus_weight: int = 3


TRAINING = Training()
BIAS = ":bias"  # every reply's feature; not a word (a colon)
DIGITS = 2  # decimals a weight is written with
SMALLEST = 0.1  # a smaller weight is left out: it moved no blind figure and shrinks the file
# Reasons a reply's words never give: set by a 2xx code, by ARF or by us.
NOT_GUESSED = frozenset({"delivered", "feedback", "suppressed"})

_WORD = re.compile(r"[a-z]{3,}")
# A token that is an address, a link or a host name (a dot between letters) names someone or
# something, not a cause. Tokens are split on spaces first: a regular expression over the whole
# text backtracks on a long token.
_NAME = re.compile(r"@|://|[a-z0-9]\.[a-z]")
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")


def features(code: int | None, status: str | None, stage: str | None,
             text: str) -> frozenset[str]:
    """A reply's words (lower case, three letters or more, not in names) and its context: the
    code's class, the enhanced status's class and subject and its subject and detail, the
    stage."""
    found = {w for token in text.lower().split() if not _NAME.search(token)
             for w in _WORD.findall(token)}
    if code is not None:
        found.add(f"code:{code // 100}xx")
    parts = _STATUS.fullmatch(status) if status else None
    if parts:
        found.add(f"status:{parts[1]}.{parts[2]}")
        found.add(f"status:x.{parts[2]}.{parts[3]}")
    if stage:
        found.add(f"stage:{stage.lower()}")
    return frozenset(found)


def _is_context(feature: str) -> bool:
    return feature.startswith(("code:", "status:", "stage:"))


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True)
class WordModel:
    """The reasons, each one's bias (the weight every reply has), per feature the reasons it
    weighs on with their weights (sparse: a feature weighs on a few reasons), the probability a
    guess needs and the weight its telling word needs, and the files it was learnt from with
    their digest."""

    threshold: float
    telling: float
    reasons: tuple[str, ...]
    bias: tuple[float, ...]
    table: dict[str, tuple[tuple[int, float], ...]]
    sources: tuple[str, ...] = ()  # file names in tests/corpus, the corpus first
    digest: str = ""

    @classmethod
    def of(cls, threshold: float, telling: float, reasons: list[str],
           weights: dict[str, dict[str, float]], sources: tuple[str, ...] = (),
           digest: str = "") -> WordModel:
        """The model of per-feature weights by reason (the feature ``:bias``: every reply's);
        RulesError for a weight on a reason not listed."""
        index = {r: i for i, r in enumerate(reasons)}
        stray = {r for ws in weights.values() for r in ws} - set(index)
        if stray:
            raise RulesError(f"weights for reasons not listed: {sorted(stray)}")
        bias = weights.get(BIAS, {})
        return cls(threshold, telling, tuple(reasons), tuple(bias.get(r, 0.0) for r in reasons),
                   {f: tuple((index[r], w) for r, w in sorted(ws.items()))
                    for f, ws in weights.items() if f != BIAS}, sources, digest)

    def weights(self) -> dict[str, dict[str, float]]:
        """Per feature (``:bias`` too), its weight by reason: what the file keeps."""
        out = {f: {self.reasons[i]: w for i, w in ws} for f, ws in self.table.items()}
        bias = {r: w for r, w in zip(self.reasons, self.bias) if w}
        return {**out, BIAS: bias} if bias else out

    def guess(self, code: int | None, status: str | None, stage: str | None,
              text: str) -> str | None:
        """The likeliest reason, or None: when it is "no cause" itself, is not likely enough, or
        no word of the reply weighs enough for it."""
        # In sorted order: a float sum depends on its order, and a set's on the hash seed.
        found = sorted(f for f in features(code, status, stage, text) if f in self.table)
        if all(_is_context(f) for f in found):
            return None
        scores = list(self.bias)
        for f in found:
            for i, weight in self.table[f]:
                scores[i] += weight
        best = max(range(len(scores)), key=scores.__getitem__)
        if self.reasons[best] == "undefined" or _softmax(scores)[best] < self.threshold:
            return None
        if not any(i == best and weight >= self.telling for f in found if not _is_context(f)
                   for i, weight in self.table[f]):
            return None
        return self.reasons[best]


def train(rows: Iterable[Example], training: Training = TRAINING, sources: tuple[str, ...] = (),
          digest: str = "") -> WordModel:
    """The model of (code, status, stage, text, reason) rows, without the stop words;
    RulesError for a reason not in the vocabulary."""
    stop = load_stopwords()
    data: list[tuple[list[str], str]] = []
    for code, status, stage, text, reason in rows:
        if reason not in REASONS:
            raise RulesError(f"unknown reason {reason!r} (reasons.toml lists them)")
        if reason not in NOT_GUESSED:
            data.append(([*sorted(features(code, status, stage, text) - stop), BIAS], reason))
    reasons = sorted({r for _, r in data})
    index = {r: i for i, r in enumerate(reasons)}
    weights: dict[str, list[float]] = {}
    shuffle = random.Random(training.seed).shuffle
    for n in range(training.passes):
        shuffle(data)
        step = training.rate / (n + 1)
        for found, reason in data:
            vectors = [weights.setdefault(f, [0.0] * len(reasons)) for f in found]
            gradient = _softmax(list(map(sum, zip(*vectors))))
            gradient[index[reason]] -= 1
            for i, g in enumerate(gradient):
                if abs(g) >= 1e-4:  # a reason already ruled out: nothing to learn
                    for v in vectors:
                        v[i] -= step * (g + training.l2 * v[i])
    return WordModel.of(training.threshold, training.telling, reasons,
                        _written(weights, reasons), sources, digest)


def _written(weights: dict[str, list[float]], reasons: list[str]) -> dict[str, dict[str, float]]:
    """The weights as the file keeps them: rounded, without the smallest."""
    out = {f: {r: round(w, DIGITS) for r, w in zip(reasons, ws) if abs(w) >= SMALLEST}
           for f, ws in weights.items()}
    return {f: ws for f, ws in out.items() if ws}


def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    words = load_toml(path, "bounceflow.stopwords/1").get("words")
    if not isinstance(words, list) or not all(isinstance(w, str) and _WORD.fullmatch(w)
                                              for w in words):
        raise RulesError(f"{path}: words must be a list of lower-case words of three letters "
                         "or more")
    return frozenset(words)


def digest_of(paths: list[Path], training: Training = TRAINING) -> str:
    """What a model was built from: the labelled files, the stop words, the training's settings
    and this module (its features and fitting), so that a change to any says to rebuild."""
    h = hashlib.sha256(repr(training).encode())
    for path in [Path(__file__), STOPWORDS_FILE, *paths]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _training_rows(corpus: Path, blind: list[Path]) -> list[Example]:
    return corpus_rows(corpus) * TRAINING.corpus_weight + blind_examples(blind)


def build(corpus: Path = CORPUS, blind: list[Path] | None = None) -> WordModel:
    """The model of the corpus and blind sets (default: every blind set beside the corpus)."""
    blind = blind_files(corpus.parent) if blind is None else blind
    return train(_training_rows(corpus, blind), sources=(corpus.name, *(b.name for b in blind)),
                 digest=digest_of([corpus, *blind]))


@functools.lru_cache(maxsize=2)
def _learnt(paths: tuple[Path, ...], digest: str) -> tuple[tuple[Example, ...], tuple[str, ...]]:
    """The training rows of these files with their masked texts, read once for a model (its
    digest, so that files changed since are read again)."""
    rows = _training_rows(paths[0], list(paths[1:]))
    return tuple(rows), tuple(masked(r[3]) for r in rows)


def without(model: WordModel, texts: Iterable[str], directory: Path = CORPUS_DIR) -> WordModel:
    """The model learnt again from its own sources (names in ``directory``) without any reply
    that is one of ``texts`` once masked (a blind set to score, wherever its file is, and its
    repeats in other sets); the model itself if it never learnt one or names no sources."""
    if not model.sources:
        return model
    held = {masked(t) for t in texts}
    rows, texts_learnt = _learnt(tuple(directory / name for name in model.sources),
                                 model.digest)
    kept = [r for r, text in zip(rows, texts_learnt) if text not in held]
    return model if len(kept) == len(rows) else train(kept)


def is_current(model: WordModel, directory: Path = CORPUS_DIR) -> bool:
    """Whether the model's sources are still as it learnt them."""
    paths = [directory / name for name in model.sources]
    return bool(paths) and all(p.is_file() for p in paths) and \
        digest_of(paths) == model.digest


def dumps(model: WordModel) -> str:
    """The model as a words file (TOML), features sorted so that a rebuild diffs cleanly."""
    out = [f'schema = "{SCHEMA}"',
           "# Built from these files of tests/corpus by `python -m streams.classify.words`: "
           "do not edit.",
           f"sources = {json.dumps(list(model.sources))}",
           f'digest = "{model.digest}"', f"threshold = {model.threshold}",
           f"telling = {model.telling}", f"reasons = {json.dumps(list(model.reasons))}", "",
           "[weights]"]
    for f, ws in sorted(model.weights().items()):
        pairs = ", ".join(f"{r} = {w}" for r, w in sorted(ws.items()))
        out.append(f"{json.dumps(f)} = {{ {pairs} }}")
    return "\n".join(out) + "\n"


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{value!r} is not a list of strings")
    return value


def check(model: WordModel, path: Path) -> WordModel:
    """The model if it can guess; RulesError naming ``path`` if not."""
    unknown = set(model.reasons) - REASONS
    if unknown:
        raise RulesError(f"{path}: unknown reasons {sorted(unknown)}")
    if len(model.reasons) < 2 or not model.table or not 0 < model.threshold <= 1:
        raise RulesError(f"{path}: needs two reasons or more, weights, and a threshold above 0 "
                         "and at most 1")
    return model


def load(path: Path = WORDS_FILE) -> WordModel:
    """The model of a words file; RulesError naming the file for anything wrong in it."""
    data = load_toml(path, SCHEMA)
    try:
        digest = data["digest"]
        if not isinstance(digest, str):
            raise ValueError("digest is not a string")
        model = WordModel.of(_number(data["threshold"]), _number(data["telling"]),
                             _strings(data["reasons"]),
                             {str(f): {str(r): _number(w) for r, w in ws.items()}
                              for f, ws in data["weights"].items()},
                             tuple(_strings(data["sources"])), digest)
    except (KeyError, TypeError, ValueError, AttributeError, RulesError) as exc:
        raise RulesError(f"{path}: not a words file: {type(exc).__name__}: {exc}") from None
    return check(model, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streams.classify.words",
        description="Build the word model (rules/words.toml) that guesses a reason for replies "
                    "no rule names a cause for, from the labelled replies: the tuning corpus "
                    "and the blind sets.")
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS,
                        help="tab-separated corpus with code, status, stage, reason and text "
                             "columns (default: tests/corpus/replies.tsv of this checkout)")
    parser.add_argument("--blind", nargs="*", type=Path, metavar="FILE",
                        help="blind sets to learn from as well, each row with its likeliest "
                             "reason (default: every blind-*.tsv beside the corpus; none given: "
                             "the corpus alone)")
    parser.add_argument("--output", type=Path, default=WORDS_FILE, help="default: %(default)s")
    args = parser.parse_args(argv)
    missing = [str(p) for p in [args.corpus, *(args.blind or [])] if not p.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    if args.blind and any(p.resolve().parent != args.corpus.resolve().parent
                          for p in args.blind):
        parser.error("blind sets must be beside the corpus (the model names its sources)")
    if args.blind and len({p.resolve() for p in args.blind}) < len(args.blind):
        parser.error("a blind set is given twice")
    try:
        model = check(build(args.corpus, args.blind), args.output)
        args.output.write_text(dumps(model), encoding="utf-8")
    except (FormatError, RulesError) as exc:
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        parser.error(f"not a labelled file: {lines[0]}{more}")
    except OSError as exc:
        parser.error(f"cannot write {args.output}: {exc.strerror}")
    print(f"{args.output}: {len(model.reasons)} reasons, {len(model.table)} features, from "
          f"{len(model.sources)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
