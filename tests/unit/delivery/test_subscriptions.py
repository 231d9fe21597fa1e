"""Hook subscriptions from a TOML file: checked with clear errors, matched by type and filters."""

import pytest

from streams.delivery.subscriptions import load
from streams.exceptions import ConfigError

GOOD = '''
[[http]]
name = "crm"
url = "http://127.0.0.1:9/hooks"
event_types = ["hbounce", "status"]
accounts = [1]
secret = "hook-s3cret"

[[rabbitmq]]
name = "routed"
url = "amqp://bf:rabbit-s3cret@127.0.0.1:5672/"
exchange = "hooks"
event_types = ["sbounce"]

[[rabbitmq]]
name = "queued"
url = "amqp://127.0.0.1/"
queue = "bounces"
'''


def hook(event_type="hbounce", account=1, is_test=False, campaign=7):
    return {"event_type": event_type, "account_id": account, "list_id": None, "is_test": is_test,
            "event_data": {"campaign_id": campaign}}


def test_load_and_match(tmp_path):
    path = tmp_path / "hooks.toml"
    path.write_text(GOOD)
    sub, routed, queued = load(path)
    assert sub.matches(hook())
    assert not sub.matches(hook("deliv"))
    assert not sub.matches(hook(account=2))
    assert not sub.matches(hook(is_test=True))
    assert "hook-s3cret" not in repr(sub)  # secrets stay out of logs
    assert "rabbit-s3cret" not in repr(routed) + routed.target
    assert routed.matches(hook("sbounce", account=5)) and not routed.matches(hook())
    # The modelled platform's routing key: <list_id>.<event_type>, 0 for no list.
    assert routed.routing_key({**hook("sbounce"), "list_id": 12}) == "12.sbounce"
    assert routed.routing_key(hook("sbounce")) == "0.sbounce"
    assert queued.routing_key(hook()) == "bounces"
    assert queued.target == "rabbitmq queue bounces"


@pytest.mark.parametrize(("body", "message"), [
    ('[[http]]\nname = "a"\nurl = "ftp://x"', "url must start"),
    ('[[http]]\nname = "a"\nurl = "http://x"\nauth = "bearer"', "needs a token"),
    ('[[http]]\nname = "a"\nurl = "http://x"\ncolour = "red"', "unknown keys"),
    ('[[http]]\nname = "a"\nurl = "http://x"\n[[http]]\nname = "a"\nurl = "http://y"', "unique"),
    ('[[rabbit]]\nname = "a"', "unknown sections"),
    ('[[rabbitmq]]\nname = "a"\nurl = "http://x"\nqueue = "q"', "amqp://"),
    ('[[rabbitmq]]\nname = "a"\nurl = "amqp://x"', "a queue or an exchange"),
    ('[[rabbitmq]]\nname = "a"\nurl = "amqp://x"\nqueue = "q"\nexchange = "e"', "not both"),
    ('[[rabbitmq]]\nname = "a"\nurl = "amqp://x"\nexchange = "e"\nexchange_type = "x"',
     "exchange_type"),
    ('[[rabbitmq]]\nname = "a"\nurl = "amqp://x"\nqueue = "q"\nsecret = "s"', "unknown keys"),
    ('[[http]]\nurl = "http://x"', "missing 1 required"),
])
def test_bad_files_say_what_is_wrong(tmp_path, body, message):
    path = tmp_path / "hooks.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load(path)
