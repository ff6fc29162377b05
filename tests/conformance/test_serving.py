"""Serving and observability on the real software: drift → metric → alert (conformance tier).

The monitoring golden path: datasets land where the rendered drift CronJob reads them; its own
container runs as the CronJob would; the report reaches the Evidently UI, the drift metrics the
Pushgateway; Prometheus — with the rendered prometheus.yml and rules — scrapes them and the drift
alert fires for drifted data only; Alertmanager — with the rendered config — delivers it to the
team's webhook. Plus: every scrape target that runs is up, every rule and dashboard query
evaluates, and the rendered Alertmanager/Prometheus configs pass the projects' own checkers.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import pytest

from tests.conformance.harness.fixtures import OUTSIDE, SINK_SERVICE, host
from tests.conformance.harness.runner import Platform
from tests.conformance.helpers import env_of, eventually, http_json, run_client, s3_env, workload_name

pytestmark = pytest.mark.conformance

SERVING = "omgml-serving"
SERVING_REQUIRED = ("prometheus", "alertmanager", "pushgateway", "evidently")


def base_url(platform: Platform, suffix: str, port: int) -> str:
    return f"http://{workload_name(platform, 'Deployment', suffix)}.{SERVING}.svc.cluster.local:{port}"


def prom(platform: Platform, path: str, **params: str) -> Any:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    body = http_json(platform, SERVING, f"{base_url(platform, 'prometheus', 9090)}{path}{query}")
    assert body["status"] == "success", body
    return body["data"]


def drift_value(platform: Platform, project: str) -> float | None:
    result = prom(platform, "/api/v1/query", query=f'evidently_drift_detected{{project="{project}"}}')["result"]
    return float(result[0]["value"][1]) if result else None


def firing(platform: Platform, alert: str) -> list[dict[str, Any]]:
    return [a for a in prom(platform, "/api/v1/alerts")["alerts"] if a["labels"].get("alertname") == alert]


def rfc3339(text: str) -> float:
    """Prometheus' timestamps (nanosecond fractions, `Z`) as epoch seconds."""
    from datetime import UTC, datetime

    whole, _, rest = text.rstrip("Z").partition(".")
    fraction = "".join(c for c in rest if c.isdigit())[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{whole}.{fraction}").replace(tzinfo=UTC).timestamp()


def rule_evaluated_after(platform: Platform, name: str, since: float) -> bool:
    for group in prom(platform, "/api/v1/rules")["groups"]:
        for rule in group["rules"]:
            if rule["name"] == name and rule.get("lastEvaluation", "").startswith("20"):
                return rfc3339(rule["lastEvaluation"]) > since
    return False


def received(platform: Platform) -> list[dict[str, Any]]:
    """What the team's webhook got (asked from outside the platform, where the receiver lives)."""
    code, out = run_client(platform, OUTSIDE, "mlflow", ["curl", "-sS", "--max-time", "10",
                                                          f"https://{host(SINK_SERVICE)}/received"])
    assert code == 0, out
    return list(json.loads(out.strip().splitlines()[-1]))


def run_drift(platform: Platform, mode: str) -> dict[str, Any]:
    """Put datasets in place and run the CronJob's job as the CronJob would; its pushed metrics."""
    cronjob = platform.render.find("CronJob", workload_name(platform, "CronJob", "evidently-drift"))
    env = env_of(platform, "CronJob", cronjob.name)
    code, out = run_client(platform, SERVING, "mlflow", ["python", "/omgml-conformance/scripts/drift_data.py"],
                           env={**s3_env(platform), "MODE": mode, "REFERENCE_URL": env["REFERENCE_PATH"],
                                "CURRENT_URL": env["CURRENT_PATH"]})
    assert code == 0, out
    run = platform.wait_job(platform.run_job(cronjob))
    log = run.main_runs[0].log.read_text() if run.main_runs else run.message
    assert run.phase == "Succeeded", log[-3000:]
    return {"log": log, "project": env["EVIDENTLY_PROJECT"]}


def test_every_serving_workload_runs_or_says_why_not(platform: Platform) -> None:
    rows = [o for o in platform.outcomes.values() if o.phase == "serving"]
    assert rows
    bad = [f"{o.key}: {o.status} {o.detail}" for o in rows if o.status in ("failed", "blocked", "pending")]
    assert not bad, "\n".join(bad)
    for name in SERVING_REQUIRED:
        row = next(o for o in rows if o.kind == "Deployment" and o.key.endswith(f"-{name}"))
        assert row.status == "ready", f"{row.key}: {row.status} {row.detail}"
    skipped = [o for o in rows if o.status == "skipped"]
    assert all(o.detail for o in skipped), "a skipped workload must say why"


def test_rendered_configs_pass_the_projects_own_checkers(platform: Platform) -> None:
    am = workload_name(platform, "Deployment", "alertmanager")
    out = platform.exec("Deployment", am, ["amtool", "check-config", "/etc/alertmanager/config/alertmanager.yml"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout and "3 receivers" not in out.stderr
    pr = workload_name(platform, "Deployment", "prometheus")
    out = platform.exec("Deployment", pr, ["promtool", "check", "config", "/etc/prometheus/config/prometheus.yml"])
    assert out.returncode == 0, out.stdout + out.stderr
    out = platform.exec("Deployment", pr, ["sh", "-c", "promtool check rules /etc/prometheus/rules/*.yml"])
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_scrape_target_that_runs_is_up(platform: Platform) -> None:
    def all_up() -> list[dict[str, Any]] | None:
        targets = prom(platform, "/api/v1/targets")["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = eventually("every active scrape target up", all_up, timeout=120)
    jobs = {t["labels"]["job"] for t in targets}
    # What the render scrapes and the tier runs; the model server (Triton) and the kubelets do not run here.
    assert {"prometheus", "pushgateway", "alertmanager"} <= jobs, jobs


def test_rules_and_dashboard_queries_evaluate_against_prometheus(platform: Platform) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in prom(platform, "/api/v1/rules")["groups"] for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules) else None

    rules = eventually("every rule evaluated once", evaluated, timeout=120)
    broken = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
    assert not broken, broken
    dashboards = [cm for (ns, _), cm in platform.objects.configmaps.items() if ns == SERVING
                  and any(k.endswith(".json") for k in cm)]
    queries = [t["expr"] for cm in dashboards for k, v in cm.items() if k.endswith(".json")
               for panel in json.loads(v).get("panels", []) for t in panel.get("targets", []) if t.get("expr")]
    assert queries, "the render has Grafana dashboards with queries (grafana: true in the tier's project)"
    for expr in queries:
        prom(platform, "/api/v1/query", query=expr)  # a parse or evaluation error fails the call


def test_drift_alert_fires_for_drifted_data_and_not_for_clean_data(platform: Platform) -> None:
    clean = run_drift(platform, "clean")
    project = clean["project"]
    assert eventually("the clean run's metric in Prometheus", lambda: drift_value(platform, project) == 0.0,
                      timeout=150)
    # The rule evaluated after the clean value was in: the alert stays inactive.
    seen = time.time()
    eventually("a DataDriftDetected evaluation after the clean run",
               lambda: rule_evaluated_after(platform, "DataDriftDetected", seen), timeout=120)
    assert not firing(platform, "DataDriftDetected"), "the drift alert fired for clean data"
    assert not [a for body in received(platform) for a in body.get("alerts", [])
                if a["labels"].get("alertname") == "DataDriftDetected"]

    run_drift(platform, "drift")
    assert eventually("the drifted run's metric in Prometheus", lambda: drift_value(platform, project) == 1.0,
                      timeout=150)
    alerts = eventually("DataDriftDetected firing", lambda: [a for a in firing(platform, "DataDriftDetected")
                                                               if a["state"] == "firing"], timeout=150)
    assert alerts[0]["labels"]["project"] == project
    delivered = eventually(
        "the alert delivered to the team's webhook",
        lambda: [a for body in received(platform) for a in body.get("alerts", [])
                 if a["labels"].get("alertname") == "DataDriftDetected" and a["status"] == "firing"],
        timeout=180)
    assert delivered[0]["labels"]["project"] == project

    # Both reports reached the Evidently UI (read back through its HTTP API) ...
    ui = base_url(platform, "evidently", 8000)
    found = [p for p in http_json(platform, SERVING, f"{ui}/api/projects") if p["name"] == project]
    assert found, f"no Evidently project {project!r}"
    snapshots = http_json(platform, SERVING, f"{ui}/api/projects/{found[0]['id']}/snapshots")
    assert len(snapshots) >= 2, snapshots
    # ... and the Pushgateway holds the last run's metrics for the project.
    code, out = run_client(platform, SERVING, "mlflow", ["curl", "-sS", "--max-time", "10",
                                                         f"{base_url(platform, 'pushgateway', 9091)}/metrics"])
    assert code == 0, out
    pushed = {line.split("{")[0]: line for line in out.splitlines()
              if line.startswith("evidently_drift") and f'project="{project}"' in line}
    assert pushed["evidently_drift_detected"].endswith(" 1"), pushed
    assert "evidently_drift_share" in pushed
