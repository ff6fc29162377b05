"""`omgml status` against a real (kwok) API server and the real Pulumi state (real-engine tier).

kwok's pods are simulated (no container runs), so the services' own signals (alerts, drift,
pipeline runs) are not read here (`--no-signals`); the conformance tier reads them from the real
servers. What this checks: the stacks as the Pulumi engine recorded them, the workloads and
endpoints as the API server reports them, the exit code, and the message for a phase that is
not deployed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omgml.cli.app import app
from tests.e2e.test_real_engine import (  # noqa: F401 (fixtures)
    _act,
    _prepare_kwok,
    _workloads_available,
    _write_project,
    engine_env,
    kwok_cluster,
)

pytestmark = pytest.mark.e2e


def _status(project: Path, context: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["status", str(project), "--json", "--no-signals", "--context", context])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def test_status_reports_stacks_workloads_endpoints_and_an_undeployed_phase(
        kwok_cluster: str, engine_env: None, tmp_path: Path) -> None:  # noqa: F811 (fixtures imported above)
    off = {"enabled": False}
    platform = {
        "name": "e2estatus",
        "phases": {
            "foundation": {k: off for k in ("kafka", "postgres", "object_store", "redis", "mlflow", "feast")},
            "training": off,
            "serving": {"server": off, "evidently": off, "prometheus": {"alertmanager": True, "pushgateway": True}},
        },
    }
    project = _write_project(tmp_path / "proj", platform, kwok_cluster)
    _prepare_kwok(project, kwok_cluster)
    try:
        _act("up", project)
        assert _workloads_available(kwok_cluster) == []
        code, report = _status(project, kwok_cluster)
        assert code == 0, report["problems"]
        stacks = {s["phase"]: s for s in report["stacks"]}  # type: ignore[attr-defined]
        assert stacks["foundation"]["deployed"] and stacks["serving"]["deployed"]
        assert stacks["serving"]["resources"] > 0 and stacks["serving"]["last_result"] == "succeeded"
        assert stacks["training"]["enabled"] is False
        workloads = {w["name"]: w for w in report["workloads"]}  # type: ignore[attr-defined]
        assert {"e2estatus-prometheus", "e2estatus-alertmanager", "e2estatus-pushgateway"} <= set(workloads)
        assert all(w["ready"] == w["desired"] for w in workloads.values())
        assert any(w["images"] and w["images"][0].startswith("prom/prometheus:") for w in workloads.values())
        endpoints = {e["service"]: e for e in report["endpoints"]}  # type: ignore[attr-defined]
        assert "port-forward svc/e2estatus-prometheus 9090:9090" in endpoints["e2estatus-prometheus"]["port_forward"]

        _act_phase(project, "destroy", "serving")
        code, report = _status(project, kwok_cluster)
        assert code == 1
        assert any("phase serving is not deployed (stack dev-serving)" in p for p in report["problems"])  # type: ignore[attr-defined]
    finally:
        _act("destroy", project)


def _act_phase(project: Path, action: str, phase: str) -> None:
    from omgml.cli.common import load_project_spec
    from omgml.deploy.runner import run_phases
    from tests.e2e.test_real_engine import _runner

    run_phases(action, project, load_project_spec(project), phase, "dev", _runner(project), lambda _: None)  # type: ignore[arg-type]
