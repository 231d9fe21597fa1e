"""bench.blind: the blind files' format, and its figures on a small file of invented rows (the
blind rows themselves are read only by the format test, which prints no value of them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import blind
from streams.classify.classifier import Classifier
from streams.classify.labelled import (
    BLIND_COLUMNS,
    CORPUS_COLUMNS,
    KINDS,
    FormatError,
    blind_files,
    read_blind,
)
from streams.classify.rules_loader import REASONS
from streams.classify.words import build

HEADER = "\t".join(BLIND_COLUMNS)
# code status stage kind reasons suppress source text; no text is one the word model learnt
# (else bench.blind learns it again without them)
INVENTED = [
    "550\t5.1.1\trcpt\thard\tuserunknown\tyes\tinvented\tUser unknown (invented)",
    "554\t5.7.1\trcpt\thard\tbadreputation,blocked\tno\tinvented\t"
    "Client host [192.0.2.1] blocked using zen.spamhaus.org (invented)",
    "452\t4.2.2\trcpt\tsoft\tmailboxfull\tno\tinvented\tMailbox full (invented)",
    # labelled against what the text says, so that the classifier disagrees on purpose
    "550\t-\trcpt\tsoft\tblocked\tno\tinvented\t<a@example.org>: Recipient address "
    "rejected: User unknown in local recipient table (invented)",
    "599\t-\t-\thard\tuserunknown\tyes\tinvented\tXyzzy plugh frobnitz",
]


def write(tmp_path: Path, lines: list[str], name: str = "blind-x.tsv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("path", blind_files(), ids=lambda p: p.name)
def test_every_blind_row_follows_the_format(path):
    # read() raises on any bad line, naming the line and the column but not the value
    rows = read_blind(path)
    assert all(r.reasons <= REASONS and r.kind in KINDS for r in rows)


def test_figures_on_invented_rows(tmp_path):
    rows = read_blind(write(tmp_path, INVENTED))
    assert rows[1].reasons == {"badreputation", "blocked"} and rows[1].likeliest == "badreputation"
    assert (rows[0].suppress, rows[2].suppress, rows[4].code, rows[4].stage) == \
        (True, False, 599, None)
    s = blind.score(Classifier("recipient"), rows)
    assert (s.rows, s.reasons, s.kinds) == (5, 3, 4)
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)
    assert (s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5)
    assert s.confusion == {("userunknown", "blocked"): 1, ("undefined", "userunknown"): 1}
    assert sum(s.wrong_suppress.values()) == 2
    assert s.bases == {"text": 4, "none": 1} and s.bases_agreeing == {"text": 3}


def test_precision_and_recall_are_separate(tmp_path):
    # two correct suppressions and one wrong one: precision 2/3, recall 1
    lines = [INVENTED[0], INVENTED[3],
             "550\t5.1.1\trcpt\thard\tuserunknown\tyes\tinvented\tNo such user here (invented)"]
    s = blind.score(Classifier("recipient"), read_blind(write(tmp_path, lines)))
    assert (s.tp, s.fp, s.fn) == (2, 1, 0)
    assert (round(s.precision, 3), s.recall, s.f1) == (0.667, 1.0, 0.8)


def test_report_per_file_and_overall_without_texts(tmp_path, capsys):
    first = write(tmp_path, INVENTED[:3], "blind-a.tsv")
    second = write(tmp_path, INVENTED[3:], "blind-b.tsv")
    blind.main([str(first), str(second)])
    out = capsys.readouterr().out
    assert "blind-a.tsv: 3 rows; reasons 100.0%, kinds 100.0%" in out
    assert "blind-b.tsv: 2 rows; reasons 0.0%, kinds 50.0%" in out
    assert "overall: 5 rows; reasons 60.0%, kinds 80.0%; suppress precision 0.500 recall " \
        "0.500 F1 0.500 (tp 1, fp 1, fn 1)" in out
    assert "userunknown -> blocked" in out
    assert "decided by: text 4 (3 agree), none 1 (0 agree)" in out
    for line in INVENTED:
        assert line.split("\t")[-1] not in out


def test_no_suppression_at_all_reports_no_figure(tmp_path, capsys):
    blind.main([str(write(tmp_path, [INVENTED[2]]))])
    assert "precision n/a recall n/a F1 n/a" in capsys.readouterr().out


@pytest.mark.parametrize(("line", "column"), [
    ("550\t5.1.1\trcpt\thard\tuserunknown,nosuchreason\tyes\tinvented\tUser unknown", "reasons"),
    ("550\t5.1.1\trcpt\tbounced\tuserunknown\tyes\tinvented\tUser unknown", "kind"),
    ("550\t5.1.1\trcpt\thard\tuserunknown\tmaybe\tinvented\tUser unknown", "suppress"),
    ("550\t5.1.1\tquit\thard\tuserunknown\tyes\tinvented\tUser unknown", "stage"),
    ("550\t5.1\trcpt\thard\tuserunknown\tyes\tinvented\tUser unknown", "status"),
    ("5x0\t5.1.1\trcpt\thard\tuserunknown\tyes\tinvented\tUser unknown", "code"),
    ("550\t5.1.1\trcpt\thard\tuserunknown\tyes\tUser unknown", "columns"),
])
def test_a_bad_row_is_named_by_line_and_column_not_value(tmp_path, line, column):
    with pytest.raises(FormatError) as err:
        read_blind(write(tmp_path, [INVENTED[0], line]))
    message = str(err.value)
    assert "blind-x.tsv line 3:" in message and column in message
    assert "User unknown" not in message and "nosuchreason" not in message


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "blind-h.tsv"
    path.write_text("code\tstatus\ttext\n550\t5.1.1\tUser unknown\n", encoding="utf-8")
    with pytest.raises(SystemExit) as err:
        blind.main([str(path)])
    assert "header must be" in str(err.value.code)


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        blind.main([str(tmp_path / "nowhere.tsv")])
    assert err.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_near_copies_are_masked_contained_or_alike_rows():
    corpus = ["550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in "
              "virtual mailbox table", "452 4.2.2 Mailbox full"]
    texts = [
        "550 5.1.1 <ann@example.net>: Recipient address rejected: User unknown in virtual "
        "mailbox table",  # another address
        "Recipient address rejected: User unknown in virtual mailbox table",  # within one
        "452 4.2.2 Mailbox full",  # short and equal
        "Mailbox full",  # short and contained: not a copy
        "421 Too many connections from your IP, try again later",
    ]
    assert blind.near_copies(texts, corpus) == [True, True, True, False, False]


def test_rows_the_word_model_learnt_are_scored_with_a_model_learnt_without_them(tmp_path):
    (tmp_path / "replies.tsv").write_text(
        "\t".join(CORPUS_COLUMNS) + "\n"
        "452\t-\trcpt\tsoft\tmailboxfull\ts\tinbox brimming\n"
        "550\t-\trcpt\thard\tsuspend\ts\taccount frozen\n", encoding="utf-8")
    learnt = write(tmp_path, ["550\t-\trcpt\thard\tsuspend\tno\ts\tzorblaxed"] * 4,
                   "blind-1.tsv")
    classifier = Classifier("recipient")
    classifier.words = build(tmp_path / "replies.tsv")
    assert classifier.words.guess(550, None, "rcpt", "zorblaxed") == "suspend"
    copied = tmp_path / "elsewhere.tsv"  # the set the model learnt, under another name
    copied.write_text(learnt.read_text(encoding="utf-8"), encoding="utf-8")
    other = blind.held_out(classifier, "recipient", read_blind(copied), tmp_path)
    assert other is not classifier
    assert other.words.guess(550, None, "rcpt", "zorblaxed") is None
    invented = read_blind(write(tmp_path, INVENTED))
    assert blind.held_out(classifier, "recipient", invented, tmp_path) is classifier
