"""The Hyperscan prefilter of the text rules may name a rule that does not match, never miss one
that does: checked against Python's ``re`` on the corpus, the synthetic mix and generated texts,
rule by rule; and the classifier decides alike with it and without it. The same for the
retry-after patterns."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.classify import prefilter
from streams.classify.classifier import Classifier
from streams.classify.prefilter import Prefilter, Untranslatable, pcre
from streams.local.synth import generate
from tests.unit.classify.test_corpus import load

CLASSIFIER = Classifier("recipient")
RULES = CLASSIFIER.rules
FILTER = Prefilter([r.regex.pattern for r in RULES])
# The corpus, and one synthetic text of each template (the rest differ only in ids and numbers).
TEXTS = [row["text"] for row in load()] + list({
    re.sub(r"[0-9a-f]{6,}|\d+", "#", e["reply_text"]): e["reply_text"]
    for e in generate(3000, seed=7)}.values())


def matching(text: str) -> set[int]:
    return {i for i, rule in enumerate(RULES) if rule.regex.search(text)}


def test_hyperscan_is_installed_and_takes_the_built_in_rules() -> None:
    db, always = prefilter._database(tuple(r.regex.pattern for r in RULES))
    assert db is not None, "hyperscan is a dependency on this platform"
    assert not always, f"rules tried always: {sorted(always)}"
    # The classifier scans each rule's patterns on their own.
    db, always = prefilter._database(tuple(p.pattern for _, p in CLASSIFIER._patterns))
    assert db is not None and not always and len(CLASSIFIER._patterns) > 2 * len(RULES)


def test_no_rule_that_matches_a_known_text_is_missed() -> None:
    scanned = 0
    for text in TEXTS:
        possible = FILTER.possible(text)
        if possible is not None:
            scanned += 1
            assert matching(text) <= possible, text
    assert scanned > len(TEXTS) * 0.9


# Text made of pieces of the rules' own wording, so that rules match often.
WORDS = sorted({w for r in RULES for w in re.findall(r"[a-z\u0430-\u044f\u0451]{3,}",
                                                     r.regex.pattern.lower())})
# Mostly ASCII, as most replies are; the rest names the characters that fold into ASCII ones,
# control characters (\\s in Python) and Cyrillic.
pieces = (st.sampled_from(WORDS)
          | st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=126), max_size=8)
          | st.text(alphabet=st.sampled_from("\u0130\u0131\u017f\u212a\x1c\x0b\xa0\u0410"
                                             "\u044f\u0451\u2028\u00e9 k"), max_size=4))
separators = st.sampled_from([" ", " ", "  ", "\t", "\n", "\r\n", "-", ".", ""])
texts = st.lists(st.tuples(pieces, separators), max_size=12).map(
    lambda parts: "".join(piece + sep for piece, sep in parts))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.text(max_size=60))
def test_no_rule_that_matches_a_generated_text_is_missed(text: str) -> None:
    possible = FILTER.possible(text)
    if possible is not None:
        assert matching(text) <= possible


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([None, 421, 450, 451, 452, 550, 552, 554]),
       st.sampled_from([None, "rcpt", "data", "connect"]), texts)
def test_the_classifier_decides_as_if_it_tried_every_rule(code, stage, text) -> None:
    key = str(code) if code is not None else "none"
    expected = next((r.id for r in RULES if r.applies(key, stage) and r.regex.search(text)),
                    None)
    rule = CLASSIFIER._decide(code, None, text, stage)[2]
    assert rule == expected or (expected is None and rule not in {r.id for r in RULES})


@pytest.mark.parametrize(("pattern", "text"), [
    # Python's spellings, translated, not copied
    (r"ab{,3}c", "ac"),  # PCRE would read "{,3}" as text
    (r"[\w.]+@", "a.b@"),
    (r"over\s+quota$", "over\t quota\n"),
    (r"(?<!no )unknown", "user unknown"),
    (r"\bfull\b", "mailbox full."),
    # what Python matches in other characters, which the wide scan sees as one placeholder
    (r"user \w+ unknown", "user \u00fc unknown"),
    (r"quota [a-z]+", "quota \u212a"),
    (r"over\s+quota", "over\xa0quota"),
    (r"box.full", "box\u00e9full"),
    (r"\d+ days", "\u0663 days"),
    (r"\bmas\b", "ma\u017f"),
    (r"\bfull\b", "\u00e9 full"),
    (r"[^a]ser", "\u00fcser"),
])
def test_what_python_matches_the_scan_names(pattern: str, text: str) -> None:
    assert re.search(pattern, text, re.IGNORECASE)
    assert 0 in Prefilter([pattern]).possible(text)


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?-i:x)"])
def test_patterns_outside_the_translation_are_always_tried(pattern: str) -> None:
    with pytest.raises(Untranslatable):
        pcre(pattern)
    assert Prefilter([pattern, "nomatch"]).possible("anything") == {0}


@pytest.mark.parametrize(("pattern", "text", "named"), [
    ("\u212aull", "mailbox kull", True),  # the Kelvin sign folds to k
    ("[\u212a]ull", "mailbox Kull", True),
    ("[\u0430-\u044f\u212a]ull", "mailbox kull", True),
    ("too much mail|\u0441\u043b\u0438\u0448\u043a\u043e\u043c", "too much mail", True),
    ("too much mail|\u0441\u043b\u0438\u0448\u043a\u043e\u043c", "too little", False),
    ("[\u0430-\u044f]+ ok", "xyz ok", False),
    ("[^\u0430-\u044f] ok", "x ok", True),
    ("a[^\u044f]c", "abc", True),
])
def test_non_ascii_characters_stand_for_the_ascii_ones_they_match(pattern: str, text: str,
                                                                  named: bool) -> None:
    """ASCII text is scanned as it is: there a Cyrillic letter matches nothing, the Kelvin
    sign k."""
    assert bool(re.search(pattern, text, re.IGNORECASE)) == named
    assert (0 in Prefilter([pattern]).possible(text)) == named


@pytest.mark.parametrize("text", [
    "mailbox full\x0b",  # \s in Python, not in PCRE
    "user un\u212anown",  # the Kelvin sign folds to k in Python
    "\u043f\u043e\u0447\u0442\u043e\u0432\u044b\u0439 \u044f\u0449\u0438\u043a "
    "\u043f\u0435\u0440\u0435\u043f\u043e\u043b\u043d\u0435\u043d",
    "Benutzer unbekannt: user unknown \u00fc",
])
def test_text_with_other_characters_is_scanned_wide(text: str) -> None:
    possible = FILTER.possible(text)
    assert possible is not None and matching(text) <= possible
    assert matching(text), "a rule matches each of these texts"
    assert len(possible) < len(RULES) / 4, "the wide scan still rules most rules out"


def test_only_i_k_and_s_fold_from_non_ascii_characters() -> None:
    ascii_ = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    folded = {c.lower() for code in range(0x80, 0x110000)
              for c in _ascii_folds(ascii_, chr(code))}
    assert folded == set(prefilter.FOLDED_FROM_NON_ASCII)


def _ascii_folds(ascii_: re.Pattern[str], char: str) -> list[str]:
    """The ASCII characters ``char`` matches case-insensitively."""
    if not ascii_.fullmatch(char):
        return []
    return [a for a in map(chr, range(0x80)) if re.fullmatch(re.escape(char), a, re.IGNORECASE)]


RETRY = CLASSIFIER._retry
RETRY_WORDS = sorted({w for p in RETRY.patterns for w in re.findall(r"[a-z]{3,}", p.pattern)})
retry_texts = st.lists(st.tuples(
    st.sampled_from(RETRY_WORDS) | st.sampled_from(sorted(RETRY.units)) | st.from_regex(
        r"\A[0-9]{1,4}\Z") | st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=126),
                                     max_size=6), separators), max_size=10).map(
    lambda parts: "".join(piece + sep for piece, sep in parts))


def test_the_retry_patterns_are_all_scanned() -> None:
    db, always = prefilter._database(tuple(p.pattern for p in RETRY.patterns))
    assert db is not None and not always


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(retry_texts | st.sampled_from(TEXTS))
def test_retry_after_reads_as_if_it_tried_every_pattern(text: str) -> None:
    expected = next((int(m.group(1)) * RETRY.units[m.group(2).lower()]
                     for p in RETRY.patterns for m in p.finditer(text)
                     if m.group(2).lower() in RETRY.units), None)
    assert CLASSIFIER.retry_after(text) == expected
