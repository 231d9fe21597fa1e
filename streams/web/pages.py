"""The report pages as HTML, rendered on the server from plain values: pure (no ClickHouse, no
HTTP). ``views.py`` queries and calls these."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from streams.web import chart
from streams.web.forms import COUNTS, GROUPS, REPORT_COLUMNS, HealthForm, ReportForm, sorted_page

NAV = (("/reports/bounces", "Bounces"), ("/reports/undeliveries", "Undeliveries"),
       ("/reports/summary", "Summary"), ("/provider-health", "Provider health"))
TITLES = {"bounces": "Bounces (soft)", "undeliveries": "Undeliveries", "summary": "Summary"}
TOP_TEXTS = 10
GUESSED_HINT = ("replies whose reason is a guess: not read from the text by a rule, but from the "
                "enhanced status or reply code alone, guessed from its words, or undefined")
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 24px; color: #222; }
nav.top { padding: 10px 0; border-bottom: 1px solid #ddd; margin-bottom: 12px; }
nav.top a { margin-right: 16px; text-decoration: none; }
nav.top a.here { font-weight: bold; }
form { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 12px; }
label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
input, select { font: inherit; padding: 3px 5px; }
.error { background: #fde8e6; border: 1px solid #d55e00; padding: 6px 10px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 8px; text-align: left; }
td.num, th.num { text-align: right; }
h2 { font-size: 16px; margin: 18px 0 6px; }
svg.chart text { font-size: 11px; fill: #333; }
.muted { color: #777; }
"""


def layout(title: str, here: str, body: str) -> str:
    links = "".join(f'<a href="{href}"{" class=here" if href == here else ""}>{name}</a>'
                    for href, name in NAV)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} '
            f'— bounceflow</title><style>{STYLE}</style></head><body><nav class="top">'
            f'<strong>bounceflow</strong> · {links}</nav><h1>{escape(title)}</h1>{body}'
            '</body></html>')


def index() -> str:
    items = "".join(f'<li><a href="{href}">{name}</a></li>' for href, name in NAV)
    return layout("Reports", "", f"<ul>{items}</ul><p class=muted>Also: /health, /metrics, "
                  "/windows, /suppression (JSON).</p>")


def _input(name: str, label: str, query: dict[str, str], placeholder: str = "") -> str:
    return (f'<label>{label}<input name="{name}" value="{escape(query.get(name, ""))}" '
            f'placeholder="{placeholder}" size="{max(10, len(placeholder))}"></label>')


def _select(name: str, label: str, options: dict[str, str], current: str) -> str:
    opts = "".join(f'<option value="{v}"{" selected" if v == current else ""}>{escape(t)}'
                   "</option>" for v, t in options.items())
    return f'<label>{label}<select name="{name}">{opts}</select></label>'


def _error(message: str | None) -> str:
    return f'<p class="error" id="error" role="alert">{escape(message)}</p>' if message else ""


def report_form(kind: str, query: dict[str, str]) -> str:
    fields = [_input("from", "From (inclusive)", query, "YYYY-MM-DD or RFC 3339"),
              _input("to", "To (exclusive)", query, "YYYY-MM-DD or RFC 3339"),
              _input("account", "Account", query), _input("campaign", "Mailing", query)]
    if kind != "summary":
        fields.append(_select("group_by", "Group by", GROUPS,
                              query.get("group_by") or "from_domain"))
    return (f'<form id="filters" method="get" action="/reports/{kind}">{"".join(fields)}'
            '<button type="submit">Show</button></form>')


def report_error(kind: str, query: dict[str, str], message: str) -> str:
    """The form as it was sent, with the reason it cannot be shown."""
    return layout(TITLES[kind], f"/reports/{kind}",
                  _error(message) + report_form(kind, query))


def _link(query: dict[str, str], **changes: Any) -> str:
    merged = {**{k: v for k, v in query.items() if v != ""},
              **{k: str(v) for k, v in changes.items()}}
    return "?" + urlencode(merged)


def _downloads(kind: str, query: dict[str, str]) -> str:
    kept = urlencode({k: v for k, v in query.items()
                      if k in ("from", "to", "account", "campaign", "group_by") and v})
    suffix = f"?{kept}" if kept else ""
    return (f'<p>Download: <a id="csv" href="/reports/{kind}.csv{suffix}">CSV</a> · '
            f'<a id="xlsx" href="/reports/{kind}.xlsx{suffix}">Excel</a></p>')


def report_page(kind: str, query: dict[str, str], form: ReportForm, rows: list[list[Any]],
                timeline: tuple[int, list[tuple[datetime, str, int]]],
                kinds: tuple[str, ...]) -> str:
    """Bounces or Undeliveries: the chart over time, the top bounce texts, the sorted and paged
    table and the downloads."""
    shown, pages = sorted_page(rows, form)
    page = min(form.page, pages)
    texts = Counter[str]()
    for row in rows:
        texts[row[2]] += row[3]
    tops = sorted(texts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TEXTS]
    heads = []
    for column in REPORT_COLUMNS:
        # the column shown: the other way round; another: counts largest first, text A to Z
        descending = not form.descending if form.sort == column else column in COUNTS
        arrow = (" ▼" if form.descending else " ▲") if form.sort == column else ""
        name = GROUPS[form.group_by] if column == "sender" else column.replace("_", " ")
        css = ' class="num"' if column in COUNTS else ""
        hint = f' title="{GUESSED_HINT}"' if column == "guessed" else ""
        href = _link(query, sort=column, dir="desc" if descending else "asc", page=1)
        heads.append(f'<th{css}{hint} data-column="{column}"><a class="sort" '
                     f'href="{escape(href)}">{escape(name)}</a>{arrow}</th>')
    body_rows = "".join(
        f"<tr><td>{escape(str(r[0]))}</td><td>{escape(str(r[1]))}</td>"
        f'<td>{escape(str(r[2]))}</td><td class="num">{r[3]}</td><td class="num">{r[4]}</td>'
        "</tr>" for r in shown)
    pager = [f'<span id="page">Page {page} of {pages}</span>']
    if page > 1:
        pager.insert(0, f'<a id="prev" href="{escape(_link(query, page=page - 1))}">← previous'
                        "</a>")
    if page < pages:
        pager.append(f'<a id="next" href="{escape(_link(query, page=page + 1))}">next →</a>')
    step, buckets = timeline
    body = (
        report_form(kind, query)
        + f"<h2>Over time</h2>{chart.timeline('timeline', buckets, kinds, step)}"
        + "<h2>Top bounce texts</h2>"
        + chart.top_bars("top-texts", [(text, kinds[0], n) for text, n in tops])
        + f'<h2>Rows</h2><p id="totals">{len(rows)} rows, {sum(r[3] for r in rows)} in all</p>'
        + _downloads(kind, query)
        + f'<table id="report"><thead><tr>{"".join(heads)}</tr></thead>'
        + f"<tbody>{body_rows}</tbody></table>"
        + f'<nav id="pager">{" ".join(pager)}</nav>'
    )
    return layout(TITLES[kind], f"/reports/{kind}", body)


def summary_page(query: dict[str, str], columns: list[str], values: list[Any],
                 timeline: tuple[int, list[tuple[datetime, str, int]]]) -> str:
    figures = dict(zip(columns, values))
    rows = "".join(f'<tr><th>{escape(c.replace("_", " "))}</th><td class="num" data-name="{c}">'
                   f"{v}</td></tr>" for c, v in figures.items())
    bars = chart.top_bars("counts", [
        ("delivered", "delivered", figures["delivered"]),
        ("soft bounces", "soft", figures["soft_bounces"]),
        ("hard bounces", "hard", figures["hard_bounces"]),
        ("undelivered", "undeliv", figures["undelivered"])])
    step, buckets = timeline
    body = (report_form("summary", query)
            + "<h2>Replies over time</h2>"
            + chart.timeline("timeline", buckets, ("delivered", "soft", "hard"), step)
            + f"<h2>Counts</h2>{bars}"
            + _downloads("summary", query)
            + f'<table id="summary"><tbody>{rows}</tbody></table>')
    return layout("Summary", "/reports/summary", body)


WINDOW_COLUMNS = ("window_start", "replies", "delivered", "soft_bounces", "hard_bounces",
                  "blocks", "deferrals", "top_reason")


def health_form(query: dict[str, str], form: HealthForm | None) -> str:
    minutes = str(form.minutes if form else query.get("minutes") or 1)
    return ('<form id="filters" method="get" action="/provider-health">'
            + _select("minutes", "Window", {"1": "1 minute", "60": "1 hour"}, minutes)
            + _input("provider", "Provider", query, "google")
            + _input("sending_ip", "Sending IP", query)
            + _input("from_domain", "Sending domain", query)
            + _input("last", "Windows", query, "30")
            + '<button type="submit">Show</button></form>')


def health_error(query: dict[str, str], message: str) -> str:
    return layout("Provider health", "/provider-health",
                  _error(message) + health_form(query, None))


def health_page(query: dict[str, str], form: HealthForm, windows: list[dict[str, Any]],
                alerts: list[dict[str, Any]]) -> str:
    """Windows (newest first) of the pairs the form names, and the alert hooks, with which
    pairs are alerting now (their latest hook is an alert)."""
    oldest_first = list(reversed(windows))
    buckets = [(w["window_start"], kind, w[kind]) for w in oldest_first
               for kind in ("blocks", "deferrals")]
    rows = "".join(
        "<tr>" + "".join(f'<td{" class=num" if isinstance(w[c], int) else ""}>{escape(str(w[c]))}'
                         "</td>" for c in WINDOW_COLUMNS)
        + f'<td class="num">{_rate(w)}</td></tr>' for w in windows)
    heads = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in WINDOW_COLUMNS)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for a in alerts:  # newest first: the first per pair is its latest
        latest.setdefault((a["provider"], a["sending_ip"] or a["from_domain"]), a)
    in_force = sorted(k for k, a in latest.items() if a["event_type"] == "alert")
    alert_rows = "".join(
        f'<tr class="{a["event_type"]}"><td>{a["event_time"]:%Y-%m-%d %H:%M}</td>'
        f'<td>{a["event_type"]}</td><td>{escape(a["provider"])}</td>'
        f'<td>{escape(a["sending_ip"] or a["from_domain"])}</td><td>{escape(a["reason"] or "")}'
        f'</td><td class="num">{a["alert_rate"]}</td><td class="num">{a["alert_volume"]}</td>'
        f'<td>{escape(a["alert_action"] or "")}</td></tr>' for a in alerts)
    force = ", ".join(f"{p} at {provider}" for provider, p in in_force) or "none"
    step = form.minutes * 60
    body = (health_form(query, form)
            + "<h2>Blocks and deferrals</h2>"
            + chart.timeline("timeline", buckets, ("blocks", "deferrals"), step)
            + f'<h2>Windows</h2><table id="windows"><thead><tr>{heads}<th>rate</th></tr>'
            + f"</thead><tbody>{rows}</tbody></table>"
            + f'<h2>Alerts</h2><p id="in-force">Alerting now: {escape(force)}</p>'
            + '<table id="alerts"><thead><tr><th>time</th><th>event</th><th>provider</th>'
            + "<th>pair</th><th>reason</th><th>rate</th><th>volume</th><th>action</th></tr>"
            + f"</thead><tbody>{alert_rows}</tbody></table>")
    return layout("Provider health", "/provider-health", body)


def _rate(window: dict[str, Any]) -> str:
    """(blocks + deferrals) / replies: what alerts are decided on."""
    if not window["replies"]:
        return "0"
    return f"{(window['blocks'] + window['deferrals']) / window['replies']:.3f}"
