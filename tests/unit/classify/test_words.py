"""The word model: the guess for replies no rule names a cause for (streams/classify/words.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.classify.classifier import Classifier
from streams.classify.labelled import BLIND_COLUMNS, CORPUS, CORPUS_COLUMNS, blind_files
from streams.classify.words import (
    STOPWORDS_FILE,
    WordModel,
    build,
    digest_of,
    dumps,
    features,
    load,
    load_stopwords,
    main,
    train,
    without,
)
from streams.exceptions import RulesError


@pytest.fixture(scope="module")
def recipient() -> Classifier:
    return Classifier("recipient")


CORPUS_HEADER = "\t".join(CORPUS_COLUMNS) + "\n"
BLIND_HEADER = "\t".join(BLIND_COLUMNS) + "\n"
# (code, status, stage, text, reason)
ROWS = [
    (550, None, "rcpt", "no such mailbox here", "userunknown"),
    (550, "5.1.1", "rcpt", "such mailbox does not exist", "userunknown"),
    (552, None, "rcpt", "mailbox is full", "mailboxfull"),
    (452, "4.2.2", "rcpt", "quota exceeded, mailbox full", "mailboxfull"),
    (452, None, "rcpt", "over quota", "mailboxfull"),
    (421, None, "connect", "too many connections from your host", "toomanyconn"),
    (421, None, None, "too many connections", "toomanyconn"),
    (250, None, None, "ok queued", "delivered"),
    (550, None, None, "transaction failed", "undefined"),
    (554, None, None, "transaction failed here", "undefined"),
]


def test_the_words_file_is_built_from_the_labelled_files() -> None:
    shipped = load()
    assert (shipped.sources, shipped.digest) == (
        (CORPUS.name, *(p.name for p in blind_files())),
        digest_of([CORPUS, *blind_files()])), (
        "a labelled file, the stop words or words.py changed: "
        "run `python -m streams.classify.words`")


def test_a_telling_word_decides_and_unknown_words_do_not() -> None:
    model = train(ROWS)
    assert model.guess(452, None, "rcpt", "Storage quota reached") == "mailboxfull"
    assert model.guess(421, None, None, "Too many connections, slow down") == "toomanyconn"
    assert model.guess(550, None, "rcpt", "zorblax quux") is None  # no word it knows
    assert model.guess(550, "5.1.1", "rcpt", "") is None  # the context alone is no cause
    assert model.guess(554, None, None, "The transaction failed") is None  # no cause: undefined
    assert set(model.reasons) == {"userunknown", "mailboxfull", "toomanyconn", "undefined"}


def test_the_context_is_code_class_status_and_stage() -> None:
    assert features(550, "5.7.1", "RCPT", "Denied") == {
        "denied", "code:5xx", "status:5.7", "status:x.7.1", "stage:rcpt"}
    assert features(None, "5.7", None, "x") == frozenset()  # not an enhanced status


def test_addresses_links_and_host_names_are_not_words() -> None:
    assert features(550, None, "RCPT", "full@example.com see https://quota.example/full "
                                       "mx.full.example said: quota.") == {
        "see", "said", "quota", "code:5xx", "stage:rcpt"}
    assert train(ROWS).guess(550, None, None, "full@example.com see https://x.example/quota") \
        is None


def test_a_long_token_is_read_in_linear_time() -> None:
    assert features(None, None, None, "x@" + "y" * 200_000) == frozenset()  # no backtracking


def test_stop_words_are_not_learnt() -> None:
    stop = load_stopwords()
    assert {"the", "your", "with"} <= stop and not stop & {"not", "full", "unknown"}
    model = train([(550, None, None, "the mailbox is full", "mailboxfull"),
                   (550, None, None, "the user is unknown", "userunknown")])
    assert "the" not in model.table and "full" in model.table
    assert "the" not in load().table


def test_a_guess_needs_its_probability_and_is_never_no_cause() -> None:
    rows = [(550, None, None, "alpha", "undefined")] * 3 + [(550, None, None, "alpha",
                                                              "userunknown")]
    assert train(rows).guess(550, None, None, "alpha") is None  # the likeliest is "no cause"
    split = [(550, None, None, f"alpha {word}", reason) for word, reason in
             [("beta", "userunknown"), ("gamma", "blocked"), ("delta", "spamdetected"),
              ("epsilon", "mailboxfull"), ("zeta", "suspend")] * 2]
    model = train(split)
    assert model.guess(550, None, None, "alpha") is None  # a fifth each: below the threshold
    assert model.guess(550, None, None, "alpha beta") == "userunknown"


def test_training_is_the_same_every_time() -> None:
    assert dumps(train(ROWS * 3)) == dumps(train(ROWS * 3))


@pytest.fixture(scope="module")
def guessing() -> Classifier:
    """The classifier with a word model that guesses userunknown (a hard reason) for "zorblax"."""
    classifier = Classifier("recipient")
    classifier.words = train([(550, None, "rcpt", "zorblax", "userunknown"),
                              (452, None, "rcpt", "mailbox full", "mailboxfull")] * 2)
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


HEAD = ('schema = "bounceflow.words/3"\nsources = ["c.tsv"]\ndigest = "x"\ntelling = 0.5\n'
        'reasons = ["blocked", "userunknown"]\n')


@pytest.mark.parametrize("text, error", [
    ('schema = "bounceflow.words/0"\n', "expected schema"),
    (HEAD.replace('"blocked"', '"nosuchreason"') + 'threshold = 0.3\n[weights]\n'
     '"x" = { nosuchreason = 1.0 }\n', "unknown reasons"),
    (HEAD + 'threshold = 1.5\n[weights]\n"x" = { blocked = 1.0 }\n', "threshold above 0"),
    (HEAD + 'threshold = 0.3\n[weights]\n', "needs two reasons"),
    (HEAD + 'threshold = 0.3\n', "not a words file"),
    (HEAD + 'threshold = 0.3\n[weights]\n"x" = 1.0\n', "not a words file"),
    (HEAD + 'threshold = 0.3\n[weights]\n"x" = { blocked = nan }\n', "not a finite number"),
    (HEAD + 'threshold = 0.3\n[weights]\n"x" = { spamdetected = 1.0 }\n', "not listed"),
    (HEAD.replace('sources = ["c.tsv"]', 'sources = "c.tsv"') + 'threshold = 0.3\n[weights]\n'
     '"x" = { blocked = 1.0 }\n', "not a list of strings"),
    (HEAD.replace('sources = ["c.tsv"]\n', "") + 'threshold = 0.3\n[weights]\n'
     '"x" = { blocked = 1.0 }\n', "not a words file"),  # no sources
])
def test_a_bad_words_file_is_refused_by_name(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "words.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match=error) as err:
        load(path)
    assert str(path) in str(err.value)


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    """The one line argparse writes after its usage line."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("python -m streams.classify.words: error: ")
    return lines[-1]


def test_the_build_command_refuses_a_missing_file(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "none.tsv"), "--output", str(tmp_path / "w.toml")])
    assert exit_.value.code == 2 and "no such file" in _error(capsys)
    assert not (tmp_path / "w.toml").exists()


@pytest.mark.parametrize("corpus, error", [
    ("code\tstage\ttext\n550\t-\tno reason column\n", "the header must be"),
    (CORPUS_HEADER + "550\t-\t-\thard\tnosuchreason\ts\tt\n", "line 2: reason is not"),
    (CORPUS_HEADER + "five\t-\t-\thard\tblocked\ts\tt\n", "line 2: code is not"),
    (CORPUS_HEADER + "550\n", "line 2: expected 7"),
    (CORPUS_HEADER + "550\t-\t-\thard\tnosuchreason\ts\tt\n" * 3, "line 2: reason is not a "
     "reason in the vocabulary (and 2 more)".replace("a reason in ", "in ")),
    (CORPUS_HEADER + "550\t-\t-\thard\tblocked\ts\t" + "x" * 200_000 + "\n",
     "not a tab-separated UTF-8 file"),
    (CORPUS_HEADER + "550\t-\t-\thard\tblocked\ts\tt\n", "needs two reasons"),
])
def test_the_build_command_refuses_a_bad_corpus_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], corpus: str, error: str) -> None:
    (tmp_path / "c.tsv").write_text(corpus, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "c.tsv"), "--output", str(tmp_path / "w.toml")])
    line = _error(capsys)
    assert exit_.value.code == 2 and "not a labelled file" in line and error in line
    assert not (tmp_path / "w.toml").exists()


def corpus_file(tmp_path: Path, rows: list[tuple[int, str | None, str | None, str, str]]
                ) -> Path:
    kind = {2: "delivered", 4: "soft", 5: "hard"}
    path = tmp_path / "replies.tsv"
    path.write_text(CORPUS_HEADER + "".join(
        f"{c}\t{st or '-'}\t{s or '-'}\t{kind[c // 100]}\t{r}\tt\t{t}\n"
        for c, st, s, t, r in rows), encoding="utf-8")
    return path


def test_the_build_command_writes_a_file_the_classifier_loads(tmp_path: Path) -> None:
    corpus = corpus_file(tmp_path, ROWS)
    assert main([str(corpus), "--output", str(tmp_path / "w.toml")]) == 0
    assert load(tmp_path / "w.toml").guess(452, None, None, "quota reached") == "mailboxfull"


def test_a_build_is_the_same_whatever_the_hash_seed(tmp_path: Path) -> None:
    corpus = corpus_file(tmp_path, ROWS * 3)
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-m", "streams.classify.words", str(corpus), "--output",
                        str(tmp_path / f"{seed}.toml")], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    assert (tmp_path / "1.toml").read_bytes() == (tmp_path / "2.toml").read_bytes()


def test_a_guess_is_the_same_whatever_the_hash_seed() -> None:
    # every labelled reply, guessed in two interpreters whose sets iterate in other orders
    script = ("from streams.classify.labelled import CORPUS, blind_examples, blind_files, "
              "corpus_rows\nfrom streams.classify.words import load\nm = load()\n"
              "print([m.guess(c, s, g, t) for c, s, g, t, _ in "
              "corpus_rows(CORPUS) + blind_examples(blind_files())])")
    outputs = {subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("0", "1")}
    assert len(outputs) == 1 and "userunknown" in outputs.pop()


def test_the_build_command_refuses_what_it_cannot_name_or_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = corpus_file(tmp_path, ROWS)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "blind-1.tsv").write_text(BLIND_HEADER, encoding="utf-8")
    (tmp_path / "blind-1.tsv").write_text(BLIND_HEADER, encoding="utf-8")
    for args, error in [
            (["--blind", str(tmp_path / "elsewhere" / "blind-1.tsv")], "beside the corpus"),
            (["--blind", str(tmp_path / "blind-1.tsv"), str(tmp_path / "blind-1.tsv")],
             "given twice"),
            (["--output", str(tmp_path / "no" / "w.toml")], "cannot write")]:
        with pytest.raises(SystemExit) as exit_:
            main([str(corpus), "--output", str(tmp_path / "w.toml"), *args])
        assert exit_.value.code == 2 and error in _error(capsys)


def test_a_guess_rests_on_a_telling_word() -> None:
    model = WordModel.of(0.3, 0.5, ["undefined", "userunknown"],
                         {":bias": {"userunknown": 2.0}, "faint": {"userunknown": 0.2},
                          "plain": {"userunknown": 0.6}})
    assert model.guess(550, None, "rcpt", "faint") is None  # likely, but the context's doing
    assert model.guess(550, None, "rcpt", "plain faint") == "userunknown"
    assert model.weights() == {":bias": {"userunknown": 2.0}, "faint": {"userunknown": 0.2},
                               "plain": {"userunknown": 0.6}}


def test_blind_sets_teach_their_likeliest_reason_and_can_be_held_out(tmp_path: Path) -> None:
    corpus = corpus_file(tmp_path, ROWS)
    zorblax = tmp_path / "blind-1.tsv"
    zorblax.write_text(BLIND_HEADER + "550\t-\trcpt\thard\tsuspend,userunknown\tno\ts\t"
                       "account zorblaxed\n" * 2, encoding="utf-8")
    other = tmp_path / "blind-2.tsv"
    other.write_text(BLIND_HEADER + "452\t-\trcpt\tsoft\tmailboxfull\tno\ts\tinbox brimming"
                     "\n" * 2, encoding="utf-8")
    model = build(corpus)  # every blind set beside the corpus
    assert model.sources == ("replies.tsv", "blind-1.tsv", "blind-2.tsv")
    assert model.guess(550, None, "rcpt", "Account zorblaxed") == "suspend"
    # held out by content: the rows of blind-1, wherever they are read from, and repeats of them
    held = without(model, ["Account Zorblaxed"], tmp_path)
    assert held.weights() == build(corpus, [other]).weights()
    assert held.guess(550, None, "rcpt", "Account zorblaxed") is None
    assert held.guess(452, None, "rcpt", "inbox brimming") == "mailboxfull"
    assert without(model, ["nothing it learnt"], tmp_path) is model
    assert main([str(corpus), "--blind", "--output", str(tmp_path / "w.toml")]) == 0
    assert load(tmp_path / "w.toml").weights() == build(corpus, []).weights()  # corpus only


def test_the_build_command_refuses_a_bad_blind_set_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = corpus_file(tmp_path, ROWS)
    (tmp_path / "blind-1.tsv").write_text(
        BLIND_HEADER + "550\t-\trcpt\thard\tnosuch\tno\ts\tt\n" * 2, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main([str(corpus), "--output", str(tmp_path / "w.toml")])
    line = _error(capsys)
    assert exit_.value.code == 2 and "blind-1.tsv line 2" in line and "(and 1 more)" in line
    assert not (tmp_path / "w.toml").exists()


@pytest.mark.parametrize(("code", "stage", "text"), [
    (550, "rcpt", "Sender address moved"),  # the principle tables' sender-side wordings
    (550, "rcpt", "Sender domain is disabled"),
    (550, "rcpt", "Your domain has been disabled for sending"),
    (550, "rcpt", "IP address invalid"),
    (550, "rcpt", "Recipient rejected"),
    (554, "dot", "554 Transaction failed"),  # RFC 5321's words for no cause
    (550, "rcpt", "Mailbox not available"),
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
