"""The word model: the guess for replies no rule names a cause for (streams/classify/words.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.classify.classifier import Classifier
from streams.classify.words import (
    STOPWORDS_FILE,
    WORDS_FILE,
    corpus_rows,
    dumps,
    features,
    load,
    load_stopwords,
    main,
    train,
)
from streams.exceptions import RulesError


@pytest.fixture(scope="module")
def recipient() -> Classifier:
    return Classifier("recipient")


ROWS = [
    (550, "rcpt", "no such mailbox here", "userunknown"),
    (550, "rcpt", "such mailbox does not exist", "userunknown"),
    (552, "rcpt", "mailbox is full", "mailboxfull"),
    (452, "rcpt", "quota exceeded, mailbox full", "mailboxfull"),
    (452, "rcpt", "over quota", "mailboxfull"),
    (421, "connect", "too many connections from your host", "toomanyconn"),
    (421, None, "too many connections", "toomanyconn"),
    (250, None, "ok queued", "delivered"),
    (550, None, "transaction failed", "undefined"),
    (554, None, "transaction failed here", "undefined"),
]


def test_the_words_file_is_built_from_the_corpus() -> None:
    assert WORDS_FILE.read_text(encoding="utf-8") == dumps(train(corpus_rows())), (
        "tests/corpus/replies.tsv changed: run `python -m streams.classify.words`")


def test_a_telling_word_decides_and_unknown_words_do_not() -> None:
    model = train(ROWS)
    assert model.guess(452, "rcpt", "Storage quota reached") == "mailboxfull"
    assert model.guess(421, None, "Too many connections, slow down") == "toomanyconn"
    assert model.guess(550, "rcpt", "zorblax quux") is None  # no word it knows
    assert model.guess(550, "rcpt", "") is None  # the code and stage alone are no cause
    assert model.guess(550, None, "ok your host") is None  # words of one reply only
    assert model.guess(554, None, "The transaction failed") is None  # the corpus's undefined
    assert set(model.rows) == {"userunknown", "mailboxfull", "toomanyconn", "undefined"}


def test_addresses_links_and_host_names_are_not_words() -> None:
    assert features(550, "RCPT", "full@example.com see https://quota.example/full "
                                 "mx.full.example said: quota.") == {
        "see", "said", "quota", "code:5xx", "stage:rcpt"}
    assert train(ROWS).guess(550, None, "full@example.com see https://x.example/quota") is None


def test_a_long_token_is_read_in_linear_time() -> None:
    assert features(None, None, "x@" + "y" * 200_000) == frozenset()  # no backtracking regex


def test_stop_words_are_not_learnt() -> None:
    stop = load_stopwords()
    assert {"the", "your", "with"} <= stop and not stop & {"not", "full", "unknown"}
    model = train([(550, None, "the mailbox is full", "mailboxfull")] * 2)
    assert "the" not in model.counts["mailboxfull"] and "full" in model.counts["mailboxfull"]
    assert "the" not in load().likelihood


def test_a_guess_must_be_twice_as_likely_as_no_cause() -> None:
    rows = [(550, None, "alpha", "undefined")] * 2
    assert train(rows + [(550, None, "alpha", "userunknown")] * 3).guess(550, None, "alpha") is None
    assert train(rows + [(550, None, "alpha", "userunknown")] * 5).guess(
        550, None, "alpha") == "userunknown"


def test_a_reply_with_words_of_several_reasons_alike_stays_undefined() -> None:
    model = train([(550, None, f"alpha {word}", reason) for word, reason in
                   [("beta", "userunknown"), ("gamma", "blocked"), ("delta", "spamdetected")] * 2])
    assert model.guess(550, None, "alpha") is None  # a third each: not likelier than the rest
    assert model.guess(550, None, "alpha beta") == "userunknown"


@pytest.fixture(scope="module")
def guessing() -> Classifier:
    """The classifier with a word model that guesses userunknown (a hard reason) for "zorblax"."""
    classifier = Classifier("recipient")
    classifier.words = train([(550, "rcpt", "zorblax", "userunknown")] * 2)
    return classifier


def test_the_classifier_guesses_only_where_no_rule_decided_and_never_suppresses(
        guessing: Classifier) -> None:
    guessed = guessing.classify(550, None, "zorblax", "rcpt")
    assert (guessed.reason, guessed.basis, guessed.rule) == ("userunknown", "words", "words")
    assert guessed.kind == "hard" and not guessed.suppress
    assert "a guess from the reply's words" in guessing.explain(guessed)
    ruled = guessing.classify(550, "5.1.1", "User unknown zorblax", "rcpt")
    assert ruled.basis != "words" and ruled.suppress


def test_a_guess_does_not_change_the_kind_of_a_reply_without_code_or_status(
        recipient: Classifier, guessing: Classifier) -> None:
    before = recipient.classify(None, None, "zorblax", None)
    guessed = guessing.classify(None, None, "zorblax", None)
    assert (before.reason, before.basis) == ("undefined", "none")
    assert (guessed.reason, guessed.kind) == ("userunknown", before.kind)


@pytest.mark.parametrize("text, error", [
    ('schema = "bounceflow.words/0"\n', "expected schema"),
    ('schema = "bounceflow.words/1"\nalpha = 0.01\nthreshold = 0.5\nmargin = 2.0\n'
     '[reasons.nosuchreason]\nrows = 1\nfeatures = { "x" = 1 }\n', "unknown reasons"),
    ('schema = "bounceflow.words/1"\nalpha = 0.01\nthreshold = 0.5\nmargin = 0.5\n'
     '[reasons.blocked]\nrows = 1\nfeatures = { "x" = 1 }\n', "margin at least 1"),
    ('schema = "bounceflow.words/1"\nalpha = 0.01\n', "not a words file"),
])
def test_a_bad_words_file_is_refused_by_name(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "words.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=error):
        load(path)


def test_the_build_command_refuses_a_missing_corpus(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "none.tsv"), "--output", str(tmp_path / "w.toml")])
    assert exit_.value.code == 2 and "no corpus at" in capsys.readouterr().err
    assert not (tmp_path / "w.toml").exists()


@pytest.mark.parametrize("corpus", [
    "code\tstage\ttext\n550\t-\tno reason column\n",
    "code\tstatus\tstage\tkind\treason\tsource\ttext\n550\t-\t-\thard\tnosuchreason\ts\tt\n",
    "code\tstatus\tstage\tkind\treason\tsource\ttext\nfive\t-\t-\thard\tblocked\ts\tt\n",
    "code\tstatus\tstage\tkind\treason\tsource\ttext\n550\n",
])
def test_the_build_command_refuses_a_bad_corpus_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], corpus: str) -> None:
    (tmp_path / "c.tsv").write_text(corpus, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "c.tsv"), "--output", str(tmp_path / "w.toml")])
    assert exit_.value.code == 2 and "not a corpus" in capsys.readouterr().err
    assert not (tmp_path / "w.toml").exists()


def test_the_build_command_writes_a_file_the_classifier_loads(tmp_path: Path) -> None:
    corpus = tmp_path / "c.tsv"
    corpus.write_text("code\tstatus\tstage\tkind\treason\tsource\ttext\n"
                      + "".join(f"{c}\t-\t{s or '-'}\t-\t{r}\tt\t{t}\n" for c, s, t, r in ROWS),
                      encoding="utf-8")
    assert main([str(corpus), "--output", str(tmp_path / "w.toml")]) == 0
    assert load(tmp_path / "w.toml").guess(452, None, "quota reached") == "mailboxfull"


@pytest.mark.parametrize(("code", "stage", "text"), [
    (550, "rcpt", "Sender address moved"),  # the principle tables' sender-side wordings
    (550, "rcpt", "Sender domain is disabled"),
    (550, "rcpt", "Your domain has been disabled for sending"),
    (550, "rcpt", "IP address invalid"),
    (550, "rcpt", "Recipient rejected"),
    (554, "dot", "554 Transaction failed"),  # RFC 5321's words for no cause
    (550, "rcpt", "Requested action not taken: mailbox unavailable"),
    (550, None, "Message rejected mx.google.com gsmtp"),
])
def test_the_shipped_model_never_suppresses_what_no_rule_decides(
        recipient: Classifier, code: int, stage: str | None, text: str) -> None:
    got = recipient.classify(code, None, text, stage)
    assert got.basis in ("words", "none") and not got.suppress


def test_the_stop_words_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "stop.toml"
    path.write_text('schema = "bounceflow.stopwords/1"\nwords = ["The"]\n', encoding="utf-8")
    with pytest.raises(RulesError, match="lower-case words"):
        load_stopwords(path)
    assert STOPWORDS_FILE.is_file()
