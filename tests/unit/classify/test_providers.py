"""The recipient-domain -> provider mapping is data with a schema."""

import pytest

from streams.classify.providers import PROVIDERS, Providers
from streams.exceptions import RulesError


@pytest.mark.parametrize(("domain", "provider"), [
    ("gmail.com", "google"), ("googlemail.com", "google"),
    ("outlook.com", "microsoft"), ("hotmail.co.uk", "microsoft"), ("live.fr", "microsoft"),
    ("Hotmail.COM", "microsoft"),
    ("mail.ru", "mailru"), ("bk.ru", "mailru"), ("inbox.ru", "mailru"), ("list.ru", "mailru"),
    ("yahoo.co.jp", "yahoo"), ("aol.com", "yahoo"), ("yandex.ru", "yandex"),
    ("gmx.de", "united-internet"), ("web.de", "united-internet"), ("icloud.com", "apple"),
    ("corp.example", "other"), ("notgmail.com", "other"), ("gmail.com.evil.example", "other"),
])
def test_provider_of(domain, provider):
    assert PROVIDERS.of(domain) == provider


@pytest.mark.parametrize(("body", "message"), [
    ('[providers.a]\ndomains = ["x.com"]\n[providers.b]\ndomains = ["x.com"]', "in a and b"),
    ('[providers.a]\ndomain = ["x.com"]', "unknown keys"),
])
def test_bad_mappings_are_refused(tmp_path, body, message):
    path = tmp_path / "providers.toml"
    path.write_text('schema = "bounceflow.providers/1"\n' + body)
    with pytest.raises(RulesError, match=message):
        Providers(path)
