"""Alert and recovered hooks, transition by transition."""

from streams.alerts.machine import AlertPolicy, Window, transitions, written_up_to
from streams.ingest.codec import HOOK

POLICY = AlertPolicy(raise_at=0.3, clear_at=0.1, min_volume=50)


def window(minute, volume, deferrals, blocks=0, pair="203.0.113.9"):
    return Window("sending_ip", pair, "google", minute * 60_000, 60, volume, blocks, deferrals,
                  "speeding", "421 4.7.28 <URL>")


def run(windows, alerting=None):
    alerting = set() if alerting is None else alerting
    return [(h["event_type"], h["event_data"]["alert"]["window_start"][11:16])
            for _, h in transitions(windows, alerting, POLICY)], alerting


def test_a_spike_raises_one_alert_and_its_end_one_recovery():
    got, alerting = run([window(0, 100, 2), window(1, 100, 40), window(2, 100, 60),
                         window(3, 100, 20), window(4, 100, 5), window(5, 100, 1)])
    assert got == [("alert", "00:01"), ("recovered", "00:04")]
    assert alerting == set()


def test_hovering_at_the_threshold_does_not_flap():
    got, _ = run([window(m, 100, d) for m, d in enumerate([31, 29, 31, 25, 30, 12, 31])])
    assert got == [("alert", "00:00")]


def test_low_volume_windows_decide_nothing():
    got, alerting = run([window(0, 49, 49), window(1, 10, 0)])
    assert got == [] and alerting == set()
    got, _ = run([window(0, 10, 0)], alerting={("sending_ip", "203.0.113.9", "google")})
    assert got == []


def test_pairs_are_independent_and_hooks_encode():
    hooks = [h for _, h in transitions(
        [window(0, 100, 50), window(0, 100, 0, pair="198.51.100.1")], set(), POLICY)]
    assert [h["event_data"]["sending_ip"] for h in hooks] == ["203.0.113.9"]
    data = HOOK.decode(HOOK.encode(hooks[0]))["event_data"]["alert"]
    assert (data["action"], data["rate"], data["volume"]) == ("reduce_rate", 0.5, 100)
    blocked = [h for _, h in transitions([window(0, 100, 0, blocks=40)], set(), POLICY)]
    assert blocked[0]["event_data"]["alert"]["action"] == "pause"
    assert blocked[0]["hook_id"] == "alert:sending_ip:203.0.113.9:google:0"


def test_windows_close_at_the_partition_that_wrote_least_unless_it_is_idle():
    assert written_up_to({0: 5_000, 1: 3_000, 2: 9_000}, idle_ms=10_000) == 3_000
    assert written_up_to({0: 5_000, 1: 3_000, 2: 9_000}, idle_ms=5_000) == 5_000
    assert written_up_to({0: 7_000}, idle_ms=0) == 7_000
