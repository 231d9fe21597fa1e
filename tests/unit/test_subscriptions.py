"""Hook subscriptions from a TOML file: checked with clear errors, matched by type and filters."""

import pytest

from streams.exceptions import ConfigError
from streams.subscriptions import load

GOOD = '''
[[http]]
name = "crm"
url = "http://127.0.0.1:9/hooks"
event_types = ["hbounce", "status"]
accounts = [1]
secret = "hook-s3cret"
'''


def hook(event_type="hbounce", account=1, is_test=False, campaign=7):
    return {"event_type": event_type, "account_id": account, "list_id": None, "is_test": is_test,
            "event_data": {"campaign_id": campaign}}


def test_load_and_match(tmp_path):
    path = tmp_path / "hooks.toml"
    path.write_text(GOOD)
    (sub,) = load(path)
    assert sub.matches(hook())
    assert not sub.matches(hook("deliv"))
    assert not sub.matches(hook(account=2))
    assert not sub.matches(hook(is_test=True))
    assert "hook-s3cret" not in repr(sub)  # secrets stay out of logs


@pytest.mark.parametrize(("body", "message"), [
    ('[[http]]\nname = "a"\nurl = "ftp://x"', "url must start"),
    ('[[http]]\nname = "a"\nurl = "http://x"\nauth = "bearer"', "needs a token"),
    ('[[http]]\nname = "a"\nurl = "http://x"\ncolour = "red"', "unknown keys"),
    ('[[http]]\nname = "a"\nurl = "http://x"\n[[http]]\nname = "a"\nurl = "http://y"', "unique"),
    ('[[rabbit]]\nname = "a"', "unknown sections"),
    ('[[http]]\nurl = "http://x"', "missing 1 required"),
])
def test_bad_files_say_what_is_wrong(tmp_path, body, message):
    path = tmp_path / "hooks.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load(path)
