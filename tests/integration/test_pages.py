"""The report pages in headless Chromium, served by a worker's web port over its embedded chDB:
each table equals `bounceflow report ... --format json`, the charts' bars equal the counts, the
downloads equal the CLI's files, and a bad filter shows its reason. The CLI's answers are taken
between two runs of the worker, while no process holds the data (one at a time opens chDB).

Screenshots go to $BOUNCEFLOW_SCREENSHOTS (docs/images for the README) or a temporary dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from streams.local.broker import free_port
from streams.local.synth import generate
from streams.local.testing import start_worker, stop_worker, worker_env
from streams.runtime.progress import wait_drained
from streams.settings import Settings
from tests.conftest import jsonl, report_json, run_cli
from tests.integration.test_provider_health import SPIKY, alert_hooks, health_stream

pytestmark = pytest.mark.integration

ROWS_JS = """return Array.from(document.querySelectorAll(arguments[0])).map(
    tr => Array.from(tr.children).map(td => td.textContent));"""
BARS_JS = """return Array.from(document.querySelectorAll(arguments[0] + ' rect.bar')).map(
    r => [r.dataset.label, r.dataset.kind, Number(r.dataset.value),
          Number(r.getAttribute(arguments[1]))]);"""
FILTERS = {"account": "1", "campaign": "102", "from": "2026-01-01T03:00:00Z",
           "to": "2026-01-01T09:00:00Z"}
HEALTH_SHIFT_MS = 13 * 3600 * 1000
CLI_FILTERS = ["--account", "1", "--campaign", "102", "--from", "2026-01-01T03:00:00Z",
               "--to", "2026-01-01T09:00:00Z"]


GROUPS = ("from_domain", "sending_ip")
DOWNLOAD_ARGS = ("--group-by", "sending_ip",
                 *(a for a in CLI_FILTERS if a not in ("--campaign", "102")))


class Site:
    """The worker that serves the pages, and what the CLI answered over the same data."""

    def __init__(self, settings: Settings, root: Path) -> None:
        self.settings, self.root = settings, root
        self.json = {args: report_json(settings, *args) for args in [
            *((kind, "--group-by", group) for kind in ("bounces", "undeliveries")
              for group in GROUPS),
            ("bounces", *CLI_FILTERS), ("summary",)]}
        self.files = {}
        for kind in ("bounces", "undeliveries", "summary"):
            for fmt in ("csv", "xlsx"):
                out = root / f"cli-{kind}.{fmt}"
                done = run_cli(settings, "report", kind, *DOWNLOAD_ARGS, "--format", fmt,
                               "--output", str(out))
                assert done.returncode == 0, done.stderr
                self.files[(kind, fmt)] = out
        self.worker = start_worker(settings, root / "worker.log")  # has nothing left to do
        wait_for_page(settings, self.worker)

    def rows(self, *args: str) -> list[tuple]:
        return [(r["sender"], r["recipient_domain"], r["bounce_text"], r["amount"], r["guessed"])
                for r in self.json[args]]

    def stop(self) -> None:
        """Lets another process open the data."""
        assert stop_worker(self.worker) == 0


@pytest.fixture(scope="module")
def site(broker, tmp_path_factory):
    """A worker with a web port over a stream with known counts: the reports', and one alert
    and its recovery."""
    root = tmp_path_factory.mktemp("pages")
    tag = root.name[-8:].replace("_", "")
    settings = Settings.load(
        env={}, kafka_bootstrap=broker.bootstrap, clickhouse_dsn=f"chdb://{root}/chdb",
        partitions=2, app_id=f"pages-{tag}", topic_replies=f"replies-p{tag}",
        topic_classified=f"classified-p{tag}", topic_hooks=f"hooks-p{tag}",
        topic_dead_letters=f"dead-p{tag}", session_timeout_s=6.0, sink_batch_seconds=0.5,
        web_port=free_port(), alert_check_s=0.5, alert_grace_s=0, alert_min_volume=40)
    # The provider-health stream after the reports' (which spans 12.5 hours), once that is
    # processed: an alert is decided on what the table holds when the window closes.
    reports = list(generate(3000, seed=11))
    health = [{**e, "event_time": e["event_time"] + HEALTH_SHIFT_MS} for e in health_stream()]
    worker = start_worker(settings, root / "worker.log")
    try:
        for n, events in enumerate((reports, health)):
            done = run_cli(settings, "produce", str(jsonl(events, root / f"{n}.jsonl")),
                           "--quiet")
            assert done.returncode == 0, done.stderr
            wait_drained(settings, len(reports) + n * len(health),
                         lambda: worker.poll() is None, 120)
        deadline = time.monotonic() + 180  # a loaded machine; returns as soon as both are in
        while [h["event_type"] for h in alert_hooks(settings)] != ["alert", "recovered"]:
            assert time.monotonic() < deadline, alert_hooks(settings)
            time.sleep(1)
        time.sleep(1.5)  # the evaluator's checkpoint: the hooks' rows are in ClickHouse
    finally:
        assert stop_worker(worker) == 0, (root / "worker.log").read_text()[-3000:]
    site = Site(settings, root)
    yield site
    stop_worker(site.worker)


def wait_for_page(settings: Settings, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/", timeout=5).close()
            return
        except OSError:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.3)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1000,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("BOUNCEFLOW_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def url(settings: Settings, path: str) -> str:
    return f"http://127.0.0.1:{settings.web_port}{path}"


def open_page(browser, settings: Settings, path: str) -> None:
    browser.get(url(settings, path))
    assert browser.find_element(By.TAG_NAME, "h1")


def table_rows(browser) -> list[tuple]:
    """Every row of the report table, page after page, as the CLI's JSON gives them."""
    rows = []
    while True:
        rows += [(s, d, t, int(a), int(g)) for s, d, t, a, g in
                 browser.execute_script(ROWS_JS, "#report tbody tr")]
        following = browser.find_elements(By.ID, "next")
        if not following:
            return rows
        following[0].click()


@pytest.mark.parametrize("kind", ["bounces", "undeliveries"])
@pytest.mark.parametrize("group", ["from_domain", "sending_ip"])
def test_the_table_equals_the_cli_report(site, browser, shots, kind, group):
    served = site.settings
    open_page(browser, served, f"/reports/{kind}?group_by={group}")
    if group == "from_domain":
        browser.save_screenshot(str(shots / f"report-{kind}.png"))
    shown = table_rows(browser)
    want = site.rows(kind, "--group-by", group)
    assert len(want) > (50 if kind == "bounces" else 3)  # bounces: more than one page
    assert Counter(shown) == Counter(want)
    # the first page is sorted by amount, largest first, as the CLI's rows are within a sender
    amounts = [r[3] for r in shown]
    assert amounts[:50] == sorted(amounts[:50], reverse=True)
    totals = browser.execute_script("return document.getElementById('totals').textContent")
    assert totals == f"{len(want)} rows, {sum(r[3] for r in want)} in all"


def test_sorting_by_a_column_and_the_filters(site, browser):
    served = site.settings
    query = "&".join(f"{k}={v}" for k, v in FILTERS.items())
    open_page(browser, served, f"/reports/bounces?{query}")
    browser.find_element(By.CSS_SELECTOR, 'th[data-column="recipient_domain"] a').click()
    shown = table_rows(browser)
    want = site.rows("bounces", *CLI_FILTERS)
    assert want and Counter(shown) == Counter(want)
    assert [r[1] for r in shown] == sorted(r[1] for r in want)
    for name, value in FILTERS.items():  # the form keeps what was asked
        assert browser.find_element(By.NAME, name).get_attribute("value") == value


def test_the_charts_bars_match_the_counts(site, browser):
    served = site.settings
    open_page(browser, served, "/reports/bounces")
    summary = site.json[("summary",)]
    timeline = browser.execute_script(BARS_JS, "#timeline", "height")
    by_kind = Counter()
    for _, kind, value, _ in timeline:
        by_kind[kind] += value
    assert by_kind == {"soft": summary["soft_bounces"], "hard": summary["hard_bounces"]}
    peak = max(value for *_, value, _ in timeline)
    for _, _, value, height in timeline:  # drawn to scale
        assert height == pytest.approx(value / peak * 176, abs=0.06)

    texts = Counter()
    for _, _, text, amount, _ in site.rows("bounces", "--group-by", "from_domain"):
        texts[text] += amount
    tops = browser.execute_script(BARS_JS, "#top-texts", "width")
    assert [(label, value) for label, _, value, _ in tops] == \
        sorted(texts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [w for *_, w in tops] == sorted((w for *_, w in tops), reverse=True)


def fetch(settings: Settings, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url(settings, path), timeout=30) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


@pytest.mark.parametrize("kind", ["bounces", "undeliveries", "summary"])
def test_the_downloads_equal_the_cli_files(site, browser, tmp_path, kind):
    served = site.settings
    query = "&".join(f"{k}={v}" for k, v in FILTERS.items() if k != "campaign")
    open_page(browser, served, f"/reports/{kind}?group_by=sending_ip&{query}")
    for fmt in ("csv", "xlsx"):
        href = browser.find_element(By.ID, fmt).get_attribute("href")
        status, content_type, body = fetch(served, href.split(str(served.web_port), 1)[1])
        assert status == 200 and content_type.startswith(("text/csv", "application/vnd"))
        out = site.files[(kind, fmt)]
        if fmt == "csv":
            assert body == out.read_bytes()
            assert body.count(b"\r\n") >= 1
        else:  # a workbook holds its creation time: compare the cells
            (tmp_path / "page.xlsx").write_bytes(body)
            cells = [[list(r) for r in load_workbook(p).active.iter_rows(values_only=True)]
                     for p in (tmp_path / "page.xlsx", out)]
            assert cells[0] == cells[1] and len(cells[0]) > 1


def test_the_summary_page(site, browser, shots):
    served = site.settings
    open_page(browser, served, "/reports/summary")
    browser.save_screenshot(str(shots / "report-summary.png"))
    shown = dict(browser.execute_script(
        "return Array.from(document.querySelectorAll('#summary td')).map("
        "td => [td.dataset.name, td.textContent]);"))
    want = site.json[("summary",)]
    assert shown == {k: str(v) for k, v in want.items()}
    bars = {kind: value
            for _, kind, value, _ in browser.execute_script(BARS_JS, "#counts", "width")}
    assert bars == {"delivered": want["delivered"], "soft": want["soft_bounces"],
                    "hard": want["hard_bounces"], "undeliv": want["undelivered"]}
    timeline = Counter()
    for _, kind, value, _ in browser.execute_script(BARS_JS, "#timeline", "height"):
        timeline[kind] += value
    assert timeline == {"delivered": want["delivered"], "soft": want["soft_bounces"],
                        "hard": want["hard_bounces"]}


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("from", "yesterday", "from: 'yesterday' is not a date (YYYY-MM-DD or RFC 3339)"),
    ("account", "1 OR 1=1", "account: '1 OR 1=1' is not a whole number"),
])
def test_a_bad_filter_shows_its_reason(site, browser, shots, field, value, reason):
    served = site.settings
    open_page(browser, served, "/reports/bounces")
    box = browser.find_element(By.NAME, field)
    box.clear()
    box.send_keys(value)
    box.submit()
    # submit() may return before the answer's page replaced this one (seen once in CI)
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(box))
    assert browser.find_element(By.ID, "error").text == reason
    assert browser.find_element(By.NAME, field).get_attribute("value") == value
    assert not browser.find_elements(By.ID, "report")
    if field == "from":
        browser.save_screenshot(str(shots / "report-bad-filter.png"))
    status, content_type, body = fetch(served, browser.current_url.split(
        str(served.web_port), 1)[1])
    assert (status, content_type) == (400, "text/html; charset=utf-8")
    assert b"Traceback" not in body


def test_the_provider_health_page(site, browser, shots):
    served = site.settings
    open_page(browser, served, f"/provider-health?provider=google&sending_ip={SPIKY}&last=20")
    browser.save_screenshot(str(shots / "provider-health.png"))
    windows = browser.execute_script(ROWS_JS, "#windows tbody tr")
    status, _, body = fetch(served, f"/windows?provider=google&sending_ip={SPIKY}&last=20")
    live = json.loads(body)
    assert status == 200 and len(windows) == len(live) == 12
    assert [(w[0], int(w[1]), int(w[6])) for w in windows] == \
        [(j["window_start"].replace("T", " "), j["replies"], j["deferrals"]) for j in live]
    spike = next(w for w in windows if w[0].startswith("2026-01-01 13:03"))
    assert spike[-1] == "0.600"
    alerts = browser.execute_script(ROWS_JS, "#alerts tbody tr")
    assert [(a[1], a[2], a[3]) for a in alerts] == [("recovered", "google", SPIKY),
                                                    ("alert", "google", SPIKY)]
    assert browser.find_element(By.ID, "in-force").text == "Alerting now: none"
    deferrals = [v for _, kind, v, _ in browser.execute_script(BARS_JS, "#timeline", "height")
                 if kind == "deferrals"]
    assert deferrals == [j["deferrals"] for j in reversed(live)]


def test_bounceflow_serve_asks_for_its_token(site):
    """Last: it stops the worker, as `bounceflow serve` opens the same chDB data."""
    site.stop()
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "streams.cli", "serve", "--port", str(port)],
                             env={**worker_env(site.settings), "BOUNCEFLOW_WEB_TOKEN": "s3cret"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
                break
            except OSError:
                assert serve.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/reports/summary.csv?group_by=sending_ip&from="
            f"{FILTERS['from']}&to={FILTERS['to']}&account=1",
            headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(request, timeout=30) as page:
            body = page.read()
    finally:
        serve.terminate()
        assert serve.wait(30) == 0, serve.stdout.read().decode()[-2000:]
    assert body == site.files[("summary", "csv")].read_bytes()
