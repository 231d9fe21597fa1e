"""The recipient state machine, transition by transition, repeated events included."""

from streams.ingest.codec import HOOK
from streams.tracking import recent
from streams.tracking.hooks import as_dict, encode, hook_values
from streams.tracking.machine import Limits, PendingIndex, decide, expiry_hook, is_clean

LIMITS = Limits(max_attempts=3, default_retry_s=600, message_lifetime_s=86400)


def reply(event_id, kind, *, attempt=1, final=False, suppress=None, retry_after=None,
          message_id="m1", t=1_000_000):
    return {
        "event_id": event_id, "event_time": t, "account_id": 1, "list_id": 5, "campaign_id": 7,
        "message_id": message_id, "profile_id": "p1", "email": "a@x.com",
        "recipient_domain": "x.com", "from_domain": "news.example", "sending_ip": "192.0.2.1",
        "attempt": attempt, "final": final, "reply_code": {"delivered": 250, "soft": 450,
                                                           "hard": 550}[kind],
        "enhanced_status": None, "is_test": False, "kind": kind, "reason": "r",
        "suppress": (kind == "hard") if suppress is None else suppress,
        "retry_after": retry_after, "bounce_text": "t", "basis": "status",
    }


def types(decision):
    return [as_dict(h)["event_type"] for h in decision.hooks]


def test_delivery_emits_deliv_and_settles_the_message():
    d = decide(reply("e1", "delivered"), None, {"first": 1, "attempts": 1}, LIMITS, 0)
    assert types(d) == ["deliv"]
    assert d.forget_message
    assert d.recipient is None  # an address never seen and delivered: nothing to remember


def test_hard_bounce_suppresses_and_changes_status():
    d = decide(reply("e1", "hard"), None, None, LIMITS, 0)
    assert types(d) == ["hbounce", "status"]
    assert as_dict(d.hooks[1])["event_data"]["status"] == "Hardbounced"
    assert d.recipient["suppressed_by"] == "e1"


def test_hard_bounce_without_suppression_keeps_the_address():
    d = decide(reply("e1", "hard", suppress=False), None, None, LIMITS, 0)
    assert types(d) == ["hbounce"]
    assert d.recipient is None


def test_send_to_suppressed_address_is_a_suppress_event():
    state = decide(reply("e1", "hard"), None, None, LIMITS, 0).recipient
    d = decide(reply("e2", "delivered", message_id="m2"), state, None, LIMITS, 0)
    assert types(d) == ["suppress"]
    assert as_dict(d.hooks[0])["event_data"]["cause"] == "e1"


def test_soft_bounce_announces_the_retry_and_stays_pending():
    d = decide(reply("e1", "soft", retry_after=120), None, None, LIMITS, 4)
    assert types(d) == ["sbounce"]
    data = as_dict(d.hooks[0])["event_data"]
    assert data["retry_after"] == 120
    assert data["retry_at"] == "1970-01-01T00:18:40.000+00:00"
    assert {k: v for k, v in d.message.items() if k != "reply"} == \
        {"first": 1_000_000, "attempts": 1, "partition": 4}
    assert d.message["reply"]["event_id"] == "e1"


def test_soft_bounce_without_hint_uses_default_retry():
    d = decide(reply("e1", "soft"), None, None, LIMITS, 0)
    assert as_dict(d.hooks[0])["event_data"]["retry_after"] == 600


def test_final_soft_bounce_is_undelivered_once_per_message():
    d = decide(reply("e1", "soft", final=True), None, {"first": 1, "attempts": 1}, LIMITS, 0)
    assert types(d) == ["sbounce", "undeliv"]
    assert as_dict(d.hooks[1])["hook_id"] == "m1:undeliv"
    assert as_dict(d.hooks[1])["event_data"]["cause"] == "final"
    assert d.forget_message


def test_max_attempts_makes_undelivered():
    d = decide(reply("e3", "soft", attempt=3), None, None, LIMITS, 0)
    assert types(d) == ["sbounce", "undeliv"]
    assert as_dict(d.hooks[1])["event_data"]["cause"] == "max_attempts"


def test_soft_streak_counts_and_resets():
    s = decide(reply("e1", "soft"), None, None, LIMITS, 0).recipient
    s = decide(reply("e2", "soft", attempt=2), s, None, LIMITS, 0).recipient
    assert s["soft_streak"] == 2
    s = decide(reply("e3", "delivered"), s, None, LIMITS, 0).recipient
    assert s["soft_streak"] == 0 and is_clean(s)


def test_a_suppressed_address_is_never_clean():
    s = decide(reply("e1", "hard"), None, None, LIMITS, 0).recipient
    s = decide(reply("e2", "delivered", message_id="m2"), s, None, LIMITS, 0).recipient or s
    assert not is_clean(s) and s["suppressed_by"] == "e1"


def test_the_same_event_again_re_emits_its_hooks_and_changes_nothing():
    # A DSN delivered twice, a log read again: the same event at another input position.
    first = decide(reply("e1", "hard"), None, None, LIMITS, 0)
    again = decide(reply("e1", "hard"), first.recipient, None, LIMITS, 0)
    assert again.hooks == first.hooks and types(again) == ["hbounce", "status"]
    assert again.recipient is None


def test_a_suppress_event_again_stays_a_suppress_event():
    s = decide(reply("e1", "hard"), None, None, LIMITS, 0).recipient
    s2 = decide(reply("e2", "delivered", message_id="m2"), s, None, LIMITS, 0).recipient
    again = decide(reply("e2", "delivered", message_id="m2"), s2, None, LIMITS, 0)
    assert types(again) == ["suppress"] and again.recipient is None


def test_a_soft_bounce_again_does_not_count_twice():
    s = decide(reply("e1", "soft"), None, None, LIMITS, 0).recipient
    again = decide(reply("e1", "soft"), s, None, LIMITS, 0)
    assert types(again) == ["sbounce"] and again.recipient is None
    assert s["soft_streak"] == 1


def test_only_the_latest_events_of_an_address_with_state_are_kept():
    s = decide(reply("e0", "hard"), None, None, LIMITS, 0).recipient
    for i in range(1, 12):
        s = decide(reply(f"e{i}", "delivered", message_id=f"m{i}"), s, None, LIMITS, 0).recipient
    assert len(s["recent"]) == recent.KEPT * recent.WIDTH
    assert decide(reply("e11", "delivered"), s, None, LIMITS, 0).recipient is None
    assert decide(reply("e2", "delivered"), s, None, LIMITS, 0).recipient is not None


def test_a_delivered_address_keeps_no_recent_events():
    s = decide(reply("e1", "soft"), None, None, LIMITS, 0).recipient
    s = decide(reply("e2", "delivered"), s, None, LIMITS, 0).recipient
    assert is_clean(s)  # the entry goes, its recent events with it


def test_pending_index_expires_by_stream_time():
    index = PendingIndex([("m1", 0)])
    index.add("m2", 50_000_000)
    assert index.advance(86_399_999, 86400) == []
    assert index.advance(86_400_000, 86400) == ["m1"]
    index.discard("m2")
    assert index.advance(10**12, 86400) == []
    assert len(index) == 0


def test_pending_index_forgets_settled_messages_before_their_lifetime_ends():
    index = PendingIndex()
    for i in range(100_000):  # soft bounces settled by a later delivery, as most are
        index.add(f"m{i}", i)
        index.discard(f"m{i}")
        if i % 10 == 0:
            index.add(f"m{i}", i)  # one in ten stays pending
    assert len(index) == 10_000
    assert len(index._heap) <= 2 * len(index) + 1024
    assert index.advance(86_400_000 + 55, 86400) == [f"m{i}" for i in range(0, 56, 10)]
    assert len(index) == 10_000 - 6


def test_expiry_hook_is_the_same_undeliv_as_a_final_reply():
    message = {"reply": reply("e1", "soft")}
    hook = as_dict(expiry_hook(message))
    assert hook["hook_id"] == "m1:undeliv"
    assert hook["event_data"]["cause"] == "lifetime"


ESCALATING = Limits(max_attempts=9, default_retry_s=600, message_lifetime_s=86400,
                    escalate_soft_bounces=3, escalate_window_s=86400)


def soft_run(times, limits=ESCALATING):
    state, decisions = None, []
    for i, t in enumerate(times):
        d = decide(reply(f"e{i}", "soft", message_id=f"m{i}", t=t), state, None, limits, 0)
        decisions.append(d)
        state = d.recipient or state
    return state, decisions


def test_escalation_suppresses_after_n_soft_bounces_in_the_window():
    state, decisions = soft_run([0, 1000, 2000, 3000])
    assert [types(d) for d in decisions] == [
        ["sbounce"], ["sbounce"], ["sbounce", "status"], ["suppress"]]
    assert as_dict(decisions[2].hooks[1])["event_data"]["cause"] == "soft_bounces"
    assert state["suppressed_by"] == "e2"


def test_escalation_counts_only_inside_the_window_and_is_off_by_default():
    day = 86_400_000
    _, decisions = soft_run([0, day, 2 * day, 2 * day + 1])
    assert all(types(d) == ["sbounce"] for d in decisions[:3])
    assert types(decisions[3]) == ["sbounce"]  # only two inside the window so far
    _, off = soft_run([0, 1, 2, 3, 4], limits=LIMITS)
    assert all("status" not in types(d) for d in off)


def test_escalation_keeps_the_soft_times_after_a_delivery():
    state, _ = soft_run([0, 1000])
    state = decide(reply("e9", "delivered", t=1500), state, None, ESCALATING, 0).recipient
    assert state["soft_streak"] == 0 and state["soft_times"] == [0, 1000]
    assert not is_clean(state)


def test_a_pending_message_keeps_what_its_expiry_hook_needs_and_not_the_text():
    full = {**reply("e1", "soft"), "reply_text": "x" * 60000, "mx_host": "mx.example"}
    stored = decide(full, None, None, LIMITS, 0).message
    assert "reply_text" not in stored["reply"]
    assert expiry_hook(stored) == hook_values("undeliv", full, cause="lifetime")


def test_hook_dates_are_rfc3339_with_milliseconds():
    import random
    from datetime import datetime, timezone

    from streams.tracking.hooks import rfc3339

    rng = random.Random(3)
    for ms in [0, 999, 59_999, 60_000, 1_767_225_599_999,
               *(rng.randrange(4_000_000_000_000) for _ in range(2000))]:
        want = datetime.fromtimestamp(ms // 1000, tz=timezone.utc).replace(
            microsecond=ms % 1000 * 1000).isoformat(timespec="milliseconds")
        assert rfc3339(ms) == want


def test_a_hook_s_values_are_its_record_s_fields():
    sent = reply("e1", "soft")
    hook = hook_values("sbounce", sent, retry_after=60, retry_at="then", status="S", cause="C")
    assert as_dict(hook) == {
        "hook_id": "e1:sbounce", "event_type": "sbounce",
        "event_date": "1970-01-01T00:16:40.000+00:00", "account_id": 1, "profile_id": "p1",
        "list_id": 5, "sends_trying_num": 1, "is_test": False,
        "event_data": {
            "event_id": "e1", "message_id": "m1", "campaign_id": 7, "email": "a@x.com",
            "recipient_domain": "x.com", "from_domain": "news.example",
            "sending_ip": "192.0.2.1", "reply_code": 450, "enhanced_status": None, "reason": "r",
            "bounce_text": "t", "retry_after": 60, "retry_at": "then", "status": "S",
            "cause": "C", "alert": None, "async": False, "reason_basis": "status",
        },
    }
    assert encode(hook) == HOOK.encode(as_dict(hook))
    delivered = as_dict(hook_values("deliv", reply("e2", "delivered")))["event_data"]
    assert delivered["reason"] is None and delivered["bounce_text"] is None
    assert delivered["reason_basis"] is None


def test_a_lifetime_expiry_says_how_its_reason_was_decided():
    """The pending message keeps the reply's basis for its undeliv hook; one kept by a version
    before the basis (no such key in the changelog) gives an unknown one, not a made-up one."""
    stored = decide(reply("e1", "soft"), None, None, LIMITS, 0).message
    assert as_dict(expiry_hook(stored))["event_data"]["reason_basis"] == "status"
    del stored["reply"]["basis"]
    assert as_dict(expiry_hook(stored))["event_data"]["reason_basis"] is None
