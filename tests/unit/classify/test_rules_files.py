"""The rules files follow their schema, and a broken file is reported with file and rule."""

import pytest

from streams.classify.rules_loader import (
    REASONS,
    RULES_DIR,
    load_context,
    load_policies,
    load_retry_rules,
    load_status_table,
    load_text_rules,
)
from streams.exceptions import RulesError


def test_builtin_rules_load_and_use_the_vocabulary():
    rules = load_text_rules(RULES_DIR / "patterns.toml")
    assert len({r.id for r in rules}) == len(rules)
    assert {r.reason for r in rules} <= REASONS
    table = load_status_table()
    assert set(table.enhanced.values()) <= REASONS
    assert set(load_policies()) == {"altcraft", "recipient"}
    assert load_retry_rules().units["minutes"] == 60


def test_every_rfc3463_subject_has_a_default():
    table = load_status_table()
    for subject in range(8):
        assert f"X.{subject}.0" in table.enhanced


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[rule]]\nid='a'\nreason='nonsense'\npatterns=['x']", "not in the vocabulary"),
        ("[[rule]]\nid='a'\nreason='blocked'\npatterns=['(']", "bad pattern"),
        ("[[rule]]\nid='a'\nreason='blocked'", "missing 'patterns'"),
        ("[[rule]]\nid='a'\nreason='blocked'\npatterns=['x']\nstages=['lunch']",
         "unknown stages"),
        ("[[rule]]\nid='a'\nreason='blocked'\npatterns=['x']\ncodes=['6']", "reply-code"),
        ("[[rule]]\nid='a'\nreason='blocked'\npatterns=['x']\ncolour='red'", "unknown keys"),
    ],
)
def test_bad_user_rules_name_file_and_rule(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text('schema = "bounceflow.patterns/1"\n' + body)
    with pytest.raises(RulesError, match=message) as info:
        load_text_rules(path)
    assert str(path) in str(info.value)
    assert "rule a" in str(info.value)


def test_wrong_schema_tag(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text('schema = "something/9"\n')
    with pytest.raises(RulesError, match="expected schema"):
        load_text_rules(path)


def test_a_rule_s_patterns_are_tried_alone_unless_one_refers_to_a_group(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('schema = "bounceflow.patterns/1"\n'
                    "[[rule]]\nid='alone'\nreason='blocked'\npatterns=['spam', 'black ?list']\n"
                    "[[rule]]\nid='joined'\nreason='blocked'\npatterns=['(x)y', '(a)\\1']\n")
    alone, joined = load_text_rules(path)
    assert [p.pattern for p in alone.alternatives] == ["(?:spam)", "(?:black ?list)"]
    # Alone, "(a)\1" would find its own group; joined, \1 is the first pattern's (no group).
    assert joined.alternatives == (joined.regex,)
    assert not joined.regex.search("aa")


@pytest.mark.parametrize(("body", "message"), [
    ("[wrappers]\npatterns = ['(?P<code>[245]\\\\d\\\\d)']\n[stage_reasons.lunch]\n"
     "userunknown = 'rejected'", "unknown stage"),
    ("[wrappers]\npatterns = ['(?P<code>[245]\\\\d\\\\d)']\n[stage_reasons.mail]\n"
     "userunknown = 'nonsense'", "not in the vocabulary"),
    ("[wrappers]\npatterns = ['said: \\\\d+']", "no group code or status"),
    ("[wrappers]\npatterns = ['(']", "bad pattern"),
    ("[wrappers]\npatterns = ['(?P<code>[245]\\d\\d)']\n[wrapper_stages]\nquit = ['x']",
     "unknown stage"),
    ("[wrappers]\npatterns = ['(?P<code>[245]\\d\\d)']\n[refused_commands]\nhelo = ['(']",
     "refused_commands: bad pattern"),
])
def test_a_bad_context_file_is_named(tmp_path, body, message):
    path = tmp_path / "context.toml"
    path.write_text('schema = "bounceflow.context/1"\n' + body)
    with pytest.raises(RulesError, match=message):
        load_context(path)


def test_a_policy_s_bases_are_checked(tmp_path):
    path = tmp_path / "policies.toml"
    path.write_text('schema = "bounceflow.policies/1"\n[p]\nkinds = ["hard"]\nbases = ["hunch"]\n')
    with pytest.raises(RulesError, match="bases"):
        load_policies(path)
    assert load_policies()["recipient"].bases == {"text", "status"}
    assert load_policies()["altcraft"].bases is None


@pytest.mark.parametrize(("text", "reason", "kind"), [
    ("Permanent failure for this address", "undefined", "hard"),
    ("Permanently rejected, do not retry", "undefined", "hard"),
    ("remote said 550 and closed", "undefined", "hard"),
    ("Temporarily rejected, please retry", "undefined", "soft"),
    ("Greylisted, come back in a while", "blocked", "soft"),
    ("Message deferred: rate limited", "speeding", "soft"),
    ("error 451 while talking to the host", "undefined", "soft"),
    ("Recipient does not exist", "userunknown", "hard"),
    ("Sender refused", "rejected", "hard"),
    ("Mailbox over 500 MB", "mailboxfull", "soft"),  # a size, not a reply code
    ("Nobody home", "userunknown", "hard"),  # the reason's nature
    ("Nobody home", "mailboxfull", "soft"),
    ("Nobody home", "undefined", "soft"),
])
def test_a_reply_without_code_or_status_takes_its_kind_from_its_words(text, reason, kind):
    assert load_context().kind_of(text, reason) == kind


@pytest.mark.parametrize(("body", "message"), [
    ("[[text_kinds]]\nkind = 'maybe'\npatterns = ['x']", "text_kinds #1"),
    ("[[text_kinds]]\nkind = 'hard'\npatterns = ['(']", "bad pattern"),
    ("[reason_kinds]\nhard = ['nonsense']", "reason_kinds"),
])
def test_a_broken_kind_section_is_reported(tmp_path, body, message):
    path = tmp_path / "context.toml"
    path.write_text('schema = "bounceflow.context/1"\n'
                    "[wrappers]\npatterns = ['(?P<code>[245]\\\\d\\\\d)']\n" + body)
    with pytest.raises(RulesError, match=message):
        load_context(path)
