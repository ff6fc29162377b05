"""`omgml status` against a real (kwok) API server and the real Pulumi state (real-engine tier).

kwok's pods are simulated (no container runs), so the services' own signals (alerts, drift,
pipeline runs) are not read here (`--no-signals`); the conformance tier reads them from the real
servers. What this checks: the stacks as the Pulumi engine recorded them, the workloads and
endpoints as the API server reports them, the exit code, and the message for a phase that is
not deployed. Run with `scripts/e2e.sh -k status`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.test_real_engine import (  # noqa: F401 (fixtures and the e2e mark)
    Steps,
    cleanup,
    engine_env,
    minimal_project,
    ok,
    omgml,
    pytestmark,
    toolchain,
)

CONTEXT = "kwok-e2estatus"


def status(project: Path) -> tuple[int, dict[str, Any]]:
    out = omgml("status", str(project), "--json", "--no-signals", "--context", CONTEXT)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


def test_status_reports_stacks_workloads_endpoints_and_an_undeployed_phase(
        tmp_path: Path, engine_env: dict[str, str], cleanup: list[str]) -> None:  # noqa: F811 (fixtures)
    steps = Steps("status")
    project = minimal_project(tmp_path / "status", "e2estatus", cleanup)
    steps.run("local up", ok, "local", "up", str(project))

    code, report = steps.run("status", status, project)
    assert code == 0, report["problems"]
    stacks = {s["phase"]: s for s in report["stacks"]}
    assert stacks["foundation"]["deployed"] and stacks["serving"]["deployed"]
    assert stacks["serving"]["resources"] > 0 and stacks["serving"]["last_result"] == "succeeded"
    assert stacks["training"]["enabled"] is False
    workloads = {w["name"]: w for w in report["workloads"]}
    assert {"e2estatus-prometheus", "e2estatus-alertmanager", "e2estatus-pushgateway"} <= set(workloads)
    assert all(w["ready"] == w["desired"] for w in workloads.values())
    assert any(w["images"] and w["images"][0].startswith("prom/prometheus:") for w in workloads.values())
    endpoints = {e["service"]: e for e in report["endpoints"]}
    assert "port-forward svc/e2estatus-prometheus 9090:9090" in endpoints["e2estatus-prometheus"]["port_forward"]

    steps.run("destroy serving", ok, "destroy", str(project), "--phase", "serving", "--yes")
    code, report = steps.run("status, serving destroyed", status, project)
    assert code == 1
    assert any("phase serving is not deployed (stack dev-serving)" in p for p in report["problems"])
    steps.run("local down", ok, "local", "down", str(project), "--yes")
    steps.summary()
