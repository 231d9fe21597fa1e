"""deploy/: the Grafana dashboard, its provisioning and Prometheus' scrape configuration cannot
run here (no Docker); read them and keep them in line with the code: the dashboard's fields are
the ones Grafana's dashboard schema defines, every metric a panel queries is one /metrics
exposes, every ClickHouse panel's SQL runs on the tables the workers create, and the services
agree on ports, names and credentials."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from sinks.clickhouse import connect
from sinks.ddl import health_views, statements
from streams.alerts.machine import SENDER_PUSHBACK
from streams.runtime.engine import SINK_TABLES
from streams.runtime.health import Health
from streams.settings import Settings
from streams.web.http import Auth, check_exposure
from streams.web.metrics import exposition

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Grafana's dashboard JSON model (schemaVersion 39): the fields this dashboard uses, their types
DASHBOARD_FIELDS = {"uid": str, "title": str, "tags": list, "timezone": str,
                    "schemaVersion": int, "version": int, "editable": bool, "graphTooltip": int,
                    "refresh": str, "time": dict, "annotations": dict, "templating": dict,
                    "panels": list}
PANEL_FIELDS = {"id": int, "type": str, "title": str, "datasource": dict, "gridPos": dict,
                "fieldConfig": dict, "options": dict, "targets": list, "description": str}
PANEL_TYPES = {"timeseries", "stat", "table", "bargauge", "gauge"}


def dashboard() -> dict:
    return json.loads((DEPLOY / "grafana" / "dashboards" / "bounceflow.json").read_text())


def datasources() -> dict[str, dict]:
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "bounceflow.yml").read_text())
    return {d["uid"]: d for d in provisioned["datasources"]}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def targets(kind: str) -> list[dict]:
    return [t for p in dashboard()["panels"] for t in p["targets"]
            if t["datasource"]["type"] == kind]


def test_the_dashboard_has_grafanas_fields():
    board = dashboard()
    assert set(board) <= set(DASHBOARD_FIELDS)
    for name, kind in DASHBOARD_FIELDS.items():
        assert isinstance(board.get(name), kind), name
    assert set(board["time"]) == {"from", "to"}
    sources = datasources()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert set(panel) <= set(PANEL_FIELDS), panel["title"]
        for name, kind in PANEL_FIELDS.items():
            assert name == "description" or isinstance(panel[name], kind), (panel["title"], name)
        assert panel["type"] in PANEL_TYPES
        grid = panel["gridPos"]
        assert set(grid) == {"x", "y", "w", "h"} and grid["x"] + grid["w"] <= 24
        assert sources[panel["datasource"]["uid"]]["type"] == panel["datasource"]["type"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_every_metric_a_panel_queries_is_exposed():
    # one of each labelled figure: an empty family has no samples
    health = Health(dead_letter_reasons={"empty message": 1}, hook_types={"deliv": 1},
                    sink_rows={"replies": 1}, sink_table_failures={"replies": 1},
                    lag={"smtp-replies": {"0": 1}}, last_commit_at=1.0,
                    delivery=lambda: {"crm": {"sent": 1, "failed": 0, "retrying": False,
                                              "dead_lettered": 0}}).as_dict()
    merged = {**health, "processes": 1}
    body, _ = exposition(lambda: merged, {"replies": "smtp-replies",
                                          "repartitioned": "bounceflow-classified-repartition"})()
    exposed = {s.name for f in text_string_to_metric_families(body.decode()) for s in f.samples}
    queried = {m for t in targets("prometheus")
               for m in re.findall(r"\bbounceflow_[a-z_]+", t["expr"])}
    assert queried - exposed == set()
    # and every family is on the dashboard
    families = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in exposed}
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in queried}
    assert families - shown == set()


def test_the_clickhouse_panels_run_on_the_workers_tables(tmp_path):
    client, db = connect(f"chdb://{tmp_path}/chdb")
    try:
        for table in SINK_TABLES:
            for statement in statements(db, table):
                client.command(statement)
        for statement in health_views(db, SENDER_PUSHBACK):
            client.command(statement)
        for target in targets("grafana-clickhouse-datasource"):
            sql = re.sub(r"\$__timeFilter\((\w+)\)", r"\1 >= now() - INTERVAL 1 DAY",
                         target["rawSql"])
            sql = re.sub(r"\$__timeInterval\((\w+)\)", r"toStartOfMinute(\1)", sql)
            assert "$" not in sql
            client.query(sql.replace("bounceflow.", f"`{db}`."))
    finally:
        client.close()


def test_grafana_is_provisioned_from_the_repository():
    grafana = compose()["services"]["grafana"]
    mounts = {m.split(":")[1]: ROOT / m.split(":")[0] for m in grafana["volumes"]
              if m.startswith("./")}
    assert mounts["/etc/grafana/provisioning"].is_dir()
    provider = yaml.safe_load((mounts["/etc/grafana/provisioning"] / "dashboards" /
                               "bounceflow.yml").read_text())["providers"][0]
    assert (mounts[provider["options"]["path"]] / "bounceflow.json").is_file()
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    ch = datasources()["clickhouse"]
    server = compose()["services"]["clickhouse"]["environment"]
    assert (ch["jsonData"]["host"], ch["jsonData"]["username"], ch["secureJsonData"]["password"],
            ch["jsonData"]["defaultDatabase"]) == ("clickhouse", server["CLICKHOUSE_USER"],
                                                   server["CLICKHOUSE_PASSWORD"],
                                                   server["CLICKHOUSE_DB"])
    prometheus = datasources()["prometheus"]["url"]
    assert any(p.endswith(":" + prometheus.rsplit(":", 1)[1])
               for p in compose()["services"]["prometheus"]["ports"])


def test_prometheus_scrapes_every_worker_with_its_token():
    services = compose()["services"]
    mount = next(m for m in services["prometheus"]["volumes"] if m.startswith("./"))
    source, target = mount.split(":")[:2]
    assert target == "/etc/prometheus/prometheus.yml"
    config = yaml.safe_load((ROOT / source).read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "bounceflow-worker")
    worker = Settings.load(env=services["worker"]["environment"])
    check_exposure(worker.web_host, Auth.of(worker))  # beyond loopback, so with a token
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials": worker.web_token}
    assert job["dns_sd_configs"] == [{"names": ["worker"], "type": "A", "port": worker.web_port,
                                      "refresh_interval": "30s"}]


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yml")))
def test_deploy_files_are_yaml(path):
    assert yaml.safe_load(path.read_text())
