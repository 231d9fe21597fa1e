"""The pure parts of the report pages: the forms' checks, sorting and paging, the SVG bars and
the escaping of what the data holds."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from streams.web import chart, pages
from streams.web.forms import (
    PAGE_SIZE,
    FormError,
    ReportForm,
    health_form,
    report_form,
    sorted_page,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_good_form():
    form = report_form({"from": "2026-01-01", "to": "2026-01-02T06:00:00+03:00",
                        "account": "7", "campaign": "", "group_by": "sending_ip",
                        "sort": "sender", "page": "2"})
    assert form == ReportForm(T0, datetime(2026, 1, 2, 3, tzinfo=timezone.utc), 7, None,
                              "sending_ip", "sender", False, 2)
    assert report_form({}) == ReportForm()


@pytest.mark.parametrize(("query", "message"), [
    ({"from": "soon"}, "from: 'soon' is not a date (YYYY-MM-DD or RFC 3339)"),
    ({"from": "2026-02-01", "to": "2026-01-01"},
     "to: the end of the period must come after its start"),
    ({"account": "1; DROP TABLE replies"}, "account: '1; DROP TABLE replies' is not a whole "
                                           "number"),
    ({"campaign": str(2**63)}, f"campaign: {2**63} is out of range"),
    ({"group_by": "email"}, "group_by: must be one of from_domain, sending_ip"),
    ({"sort": "event_id"}, "sort: must be one of sender, recipient_domain, bounce_text, amount, "
                           "guessed"),
    ({"dir": "up"}, "dir: must be asc or desc"),
    ({"page": "0"}, "page: 0 is out of range"),
])
def test_a_bad_form_names_the_field(query, message):
    with pytest.raises(FormError) as caught:
        report_form(query)
    assert str(caught.value) == message


def test_health_form():
    assert health_form({"minutes": "60", "provider": " google ", "sending_ip": ""}).pairs == \
        (("provider", "google"),)
    with pytest.raises(FormError, match="minutes: must be 1 or 60"):
        health_form({"minutes": "5"})


def test_sorting_keeps_the_reports_order_for_ties_and_pages_by_50():
    rows = [[f"s{n % 3}", f"d{n}", "t", n % 4] for n in range(120)]
    first, pages_ = sorted_page(rows, ReportForm(sort="amount", descending=True))
    assert pages_ == 3 and len(first) == PAGE_SIZE
    assert [r[3] for r in first] == [3] * 30 + [2] * 20
    assert [r[1] for r in first[:3]] == ["d3", "d7", "d11"]  # the report's order among equals
    last, _ = sorted_page(rows, ReportForm(sort="sender", descending=False, page=9))
    assert len(last) == 20 and {r[0] for r in last} == {"s2"}  # past the end: the last page


def test_a_row_shows_how_many_of_its_replies_had_a_guessed_reason():
    rows = [["s", "d1", "t1", 5, 0], ["s", "d2", "t2", 3, 3]]
    html = pages.report_page("bounces", {}, report_form({"sort": "guessed"}), rows, (60, []),
                             ("soft", "hard"))
    assert re.search(r'<th class="num" title="[^"]*guess[^"]*" data-column="guessed">', html)
    cells = re.findall(r'<td>(t\d)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>',
                       html)
    assert cells == [("t2", "3", "3"), ("t1", "5", "0")]  # most guesses first


def test_timeline_bars_carry_their_counts_and_scale_with_the_largest():
    svg = chart.timeline("t", [(T0, "soft", 10), (T0, "hard", 5),
                               (T0.replace(hour=1), "soft", 20)], ("soft", "hard"), 3600)
    bars = re.findall(r'data-label="([^"]+)" data-kind="(\w+)" data-value="(\d+)"', svg)
    assert bars == [("2026-01-01 00:00", "soft", "10"), ("2026-01-01 00:00", "hard", "5"),
                    ("2026-01-01 01:00", "soft", "20"), ("2026-01-01 01:00", "hard", "0")]
    heights = [float(h) for h in re.findall(r'class="bar"[^>]* height="([\d.]+)"', svg)]
    assert heights == [88.0, 44.0, 176.0, 0.0]
    assert "per hour, UTC" in svg
    assert "nothing in this period" in chart.timeline("t", [], ("soft",), 60)


def test_what_the_data_holds_is_escaped():
    text = '550 <script>alert("x")</script> & more'
    html = pages.report_page("bounces", {"from": '"><b>'}, ReportForm(),
                             [["a.example", "b.example", text, 3, 0]], (60, []),
                             ("soft", "hard"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'value="&quot;&gt;&lt;b&gt;"' in html
    error = pages.report_error("bounces", {"from": "<i>"}, "from: '<i>' is not a date")
    assert "<i>" not in error and 'id="error"' in error
