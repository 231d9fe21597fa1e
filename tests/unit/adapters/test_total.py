"""Every adapter is total: any JSON value, record or line gives replies or a Skip with a reason,
never an exception (one bad record must not stop a file, a POST or a worker)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.adapters.common import Options, Skip
from streams.adapters.exim import Exim
from streams.adapters.kumomta import KumoMTA
from streams.adapters.postfix import Postfix
from streams.adapters.powermta import PowerMTA
from tests.unit.adapters import test_exim, test_postfix, test_powermta
from tests.unit.adapters.test_kumomta import expiration, record, transient

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
RECORDS = [record(), transient(1), expiration(2), record("Bounce"), record("OOB"),
           record(recipient=["a@x.example", "b@y.example"])]
FIELDS = sorted({k for r in RECORDS for k in r} | {"event_time", "enhanced_code", "content",
                                                   "code", "command", "class"})
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def answered(result: object) -> None:
    assert (isinstance(result, Skip) and result.reason) or (
        isinstance(result, list) and all(isinstance(r, dict) for r in result)), result


@SETTINGS
@given(JSON)
def test_kumomta_any_json_value(value):
    answered(KumoMTA().record(value))
    answered(KumoMTA().line(json.dumps(value)))


def _replace(rec: dict, path: list[str], value: object) -> dict:
    """``rec`` with the field at ``path`` (top level, or inside ``response``) set to ``value``."""
    out = json.loads(json.dumps(rec))
    target = out
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target.get(key), dict) else target
    target[path[-1]] = value
    return out


@SETTINGS
@given(st.sampled_from(RECORDS),
       st.lists(st.tuples(st.sampled_from([[f] for f in FIELDS]
                                          + [["response", f] for f in FIELDS]
                                          + [["response", "enhanced_code", f] for f in FIELDS]),
                          JSON), min_size=1, max_size=3))
def test_kumomta_records_with_fields_replaced(rec, replacements):
    adapter = KumoMTA()
    answered(adapter.record(transient(1)))  # a remembered reply, as an expiry would find
    for path, value in replacements:
        rec = _replace(rec, path, value)
    answered(adapter.record(rec))


def _mutated(lines: list[str]):
    """A sample line with a slice replaced by arbitrary text, or arbitrary text alone."""
    @st.composite
    def strategy(draw):
        if draw(st.booleans()):
            return draw(st.text(max_size=200))
        line = draw(st.sampled_from(lines))
        start = draw(st.integers(0, len(line)))
        end = draw(st.integers(start, len(line)))
        return line[:start] + draw(st.text(max_size=30)) + line[end:]
    return strategy()


@SETTINGS
@given(st.lists(_mutated(test_postfix.LOG), max_size=5))
def test_postfix_any_lines(lines):
    adapter = Postfix(Options(utc_offset_s=0), reference_ms=test_postfix.REF)
    for line in lines:
        answered(adapter.line(line))
        answered(adapter.line(line.encode("utf-8", "surrogatepass")))


@SETTINGS
@given(st.lists(_mutated([test_powermta.HEADER, *test_powermta.ROWS]), max_size=5))
def test_powermta_any_lines(lines):
    adapter = PowerMTA()
    adapter.line(test_powermta.HEADER)
    for line in lines:
        answered(adapter.line(line))


@SETTINGS
@given(st.lists(_mutated(test_exim.LOG), max_size=5))
def test_exim_any_lines(lines):
    adapter = Exim(Options(utc_offset_s=0))
    for line in lines:
        answered(adapter.line(line))
        answered(adapter.line(line.encode("utf-8", "surrogatepass")))
