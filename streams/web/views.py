"""The report pages' routes: the form checked (``forms.py``), ClickHouse read with query
parameters only (``sinks/reports.py``, ``sinks/charts.py``), the page rendered (``pages.py``).
A bad filter gets its form back with the reason (400); no data yet, the reason (503)."""

from __future__ import annotations

import io
import logging
import signal
import threading
from typing import Any

from sinks import charts, provider_health
from sinks.export import file_text, write_xlsx
from sinks.reports import Filters, Report, run_report
from streams import logs
from streams.exceptions import BounceflowError
from streams.settings import Settings, redact_dsn
from streams.web import pages
from streams.web.forms import FormError, ReportForm, health_form, report_form
from streams.web.http import Auth, Response
from streams.web.server import ClientPool, Route, live_routes, make_server

log = logging.getLogger("bounceflow")

HTML = "text/html; charset=utf-8"
DOWNLOADS = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _html(body: str, status: int = 200) -> Response:
    return Response(status, body.encode(), HTML)


def _unavailable(exc: Exception) -> str:
    """Why a page has no data: bounceflow's own message, or ClickHouse's first line."""
    if isinstance(exc, BounceflowError):
        return str(exc)
    log.error("a page's ClickHouse query failed: %s: %s", type(exc).__name__, exc)
    return f"ClickHouse failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"


def report_routes(pool: ClientPool) -> dict[str, Route]:
    """/, /reports/{bounces,undeliveries,summary}[.csv|.xlsx] and /provider-health."""

    def report(kind: str, client: Any, form: ReportForm) -> Report:
        return run_report(client, pool.database, kind, Filters(**form.filters()), form.group_by)

    def page(kind: str) -> Route:
        def view(query: dict[str, str]) -> Response:
            try:
                form = report_form(query)
            except FormError as exc:
                return _html(pages.report_error(kind, query, str(exc)), 400)
            where, params = Filters(**form.filters()).where()
            try:
                with pool.client() as client:
                    result = report(kind, client, form)
                    timeline = charts.timeline(client, pool.database, kind, where, params)
            except Exception as exc:  # no tables yet, ClickHouse down: the page says so
                return _html(pages.report_error(kind, query, _unavailable(exc)), 503)
            if kind == "summary":
                return _html(pages.summary_page(query, result.columns, result.rows[0],
                                                timeline))
            return _html(pages.report_page(kind, query, form, result.rows, timeline,
                                           charts.TIMELINES[kind][2]))
        return view

    def download(kind: str, fmt: str) -> Route:
        def view(query: dict[str, str]) -> Response:
            try:
                form = report_form(query)
            except FormError as exc:
                return _html(pages.report_error(kind, query, str(exc)), 400)
            try:
                with pool.client() as client:
                    result = report(kind, client, form)
            except Exception as exc:
                return _html(pages.report_error(kind, query, _unavailable(exc)), 503)
            if fmt == "xlsx":
                buffer = io.BytesIO()
                write_xlsx(result, buffer)
                body = buffer.getvalue()
            else:
                body = file_text(result, fmt).encode()
            return Response(200, body, DOWNLOADS[fmt], {
                "Content-Disposition": f'attachment; filename="{kind}.{fmt}"'})
        return view

    def health(query: dict[str, str]) -> Response:
        try:
            form = health_form(query)
        except FormError as exc:
            return _html(pages.health_error(query, str(exc)), 400)
        try:
            with pool.client() as client:
                windows = provider_health.recent_windows(client, pool.database, form.minutes,
                                                         dict(form.pairs), form.last)
                alerts = charts.alerts(client, pool.database, form.last)
        except Exception as exc:
            return _html(pages.health_error(query, _unavailable(exc)), 503)
        return _html(pages.health_page(query, form, windows, alerts))

    routes: dict[str, Route] = {"/": lambda query: _html(pages.index()),
                                "/provider-health": health}
    for kind in pages.TITLES:
        routes[f"/reports/{kind}"] = page(kind)
        for fmt in DOWNLOADS:
            routes[f"/reports/{kind}.{fmt}"] = download(kind, fmt)
    return routes


def serve(settings: Settings, port: int) -> None:
    """``bounceflow serve``: the report pages and the live JSON pages over the settings'
    ClickHouse, until SIGTERM or Ctrl-C."""
    logs.configure(settings)
    pool = ClientPool(settings.clickhouse_dsn)
    server = make_server(settings.web_host, port, {**live_routes(pool), **report_routes(pool)},
                         Auth.of(settings))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True, name="web").start()
    log.info("report pages at http://%s:%d/ over %s", settings.web_host, port,
             redact_dsn(settings.clickhouse_dsn))
    stop.wait()
    server.shutdown()
    server.server_close()
    pool.close()
