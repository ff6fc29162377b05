"""Where the services are (checked against the render), the port-forward relay, status' verdict,
and the sample pipelines `omgml init` writes."""

from __future__ import annotations

import ast
import json
import socket
from pathlib import Path

import pytest

from omgml.daytwo.reach import PortForward, platform_endpoints
from omgml.daytwo.status import (
    Declared,
    JobState,
    Signals,
    StackState,
    StatusReport,
    WorkloadState,
    declared_workloads,
    problems,
    rendered_stacks,
)
from omgml.samples import sample_pipeline_files, training
from tests.daytwo.conftest import init_project, invoke
from tests.daytwo.fakes import serve


def _spec(root: Path) -> object:
    from omgml.cli.common import load_project_spec

    return load_project_spec(root)


@pytest.mark.parametrize("edit", [
    {},
    {"phases.training.airflow.enabled": True, "phases.training.prefect.enabled": True},
])
def test_every_endpoint_is_a_rendered_service_with_that_port(tmp_path: Path, edit: dict[str, object]) -> None:
    from omgml.synth.render import render_platform

    spec = _spec(init_project(tmp_path / "p", "enterprise", edit))
    services = {(m["metadata"]["namespace"], m["metadata"]["name"]): {p["port"] for p in m["spec"].get("ports", [])}
                for m in render_platform(spec).all_manifests() if m["kind"] == "Service"}  # type: ignore[arg-type]
    endpoints = platform_endpoints(spec)  # type: ignore[arg-type]
    expected = {"mlflow", "kfp", "prometheus", "alertmanager", "pushgateway", "evidently"}
    if edit:
        expected |= {"airflow", "prefect"}
    assert set(endpoints) == expected
    for e in endpoints.values():
        assert e.port in services.get((e.namespace, e.name), set()), f"{e.service}: {e.namespace}/{e.name}:{e.port}"


def test_port_forward_relays_http_both_ways() -> None:
    def app(method: str, path: str, query: object, body: object) -> tuple[int, object]:
        return 200, {"path": path, "echo": None if isinstance(body, bytes) else body}

    with serve(app) as (url, _):
        host, port = url.removeprefix("http://").split(":")
        with PortForward(lambda: socket.create_connection((host, int(port)))) as pf:
            from omgml.daytwo.http import JsonApi

            api = JsonApi("Echo", f"http://127.0.0.1:{pf.port}")
            assert api.post("x/y", {"a": 1}) == {"path": "/x/y", "echo": {"a": 1}}
            assert api.get("again")["path"] == "/again"  # a second connection


def _report(**kw: object) -> StatusReport:
    r = StatusReport("proj", "local", "kind-proj")
    r.stacks = [StackState("foundation", "dev-foundation", True, True, 40), StackState("training", "dev-training", False),
                StackState("serving", "dev-serving", True, True, 12)]
    r.workloads = [WorkloadState("mlflow", "Deployment", "omgml-data", "mlflow", 1, 1)]
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_a_healthy_platform_has_no_problems_and_each_fault_is_named() -> None:
    assert problems(_report()) == []
    undeployed = _report(stacks=[StackState("serving", "dev-serving", True, False)])
    assert problems(undeployed) == ["phase serving is not deployed (stack dev-serving); deploy it with "
                                    "`omgml up proj --phase serving`"]
    assert problems(_report(workloads=[WorkloadState("kafka", "StatefulSet", "omgml-data", "kafka", 0, 1)])) == [
        "StatefulSet omgml-data/kafka (kafka): 0/1 ready"]
    assert problems(_report(jobs=[JobState("evidently", "CronJob", "omgml-serving", "drift", "failed")]))
    alert = {"labels": {"alertname": "DataDriftDetected", "severity": "warning"}, "summary": "drift in churn"}
    assert problems(_report(signals=Signals(alerts=[alert]))) == [
        "alert DataDriftDetected firing (severity warning): drift in churn"]
    runs = [{"pipeline": "train-model", "run_id": "r1", "state": "failed"}]
    assert problems(_report(signals=Signals(pipeline_runs=runs))) == ["pipeline train-model: last run r1 failed"]
    # A signal that could not be read is a warning, not a problem.
    warned = _report(signals=Signals(warnings=["alerts: cannot reach Alertmanager"]))
    assert problems(warned) == [] and warned.to_json()["warnings"] == ["alerts: cannot reach Alertmanager"]


def test_status_without_a_deployment_says_so_and_exits_1(starter: Path) -> None:
    code, out, err = invoke("status", str(starter), "--json", "--no-signals", "--context", "no-such-context")
    assert code == 1, err
    data = json.loads(out)
    assert data["healthy"] is False
    assert any("not deployed" in p or "cannot read" in p for p in data["problems"]), data["problems"]
    assert "Traceback" not in err


def test_init_writes_a_sample_per_orchestrator_and_its_code_parses(tmp_path: Path) -> None:
    spec = _spec(init_project(tmp_path / "all", "enterprise", {"phases.training.airflow.enabled": True,
                                                               "phases.training.prefect.enabled": True}))
    files = sample_pipeline_files(spec)  # type: ignore[arg-type]
    assert {"pipelines/airflow/omgml_train_model.py", "pipelines/airflow/omgml_training.py",
            "pipelines/prefect/flow.py", "pipelines/prefect/omgml_training.py",
            "pipelines/kfp/train_model.py", "pipelines/README.md"} <= set(files)
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, path)
    mlflow = platform_endpoints(spec)["mlflow"]  # type: ignore[arg-type]
    assert f'MLFLOW_TRACKING_URI = "{mlflow.in_cluster_url}"' in files["pipelines/kfp/train_model.py"]
    # init wrote the template's own sample (enterprise: Kubeflow Pipelines) before the edit above
    written = tmp_path / "all" / "pipelines" / "kfp" / "train_model.py"
    assert written.read_text() == files["pipelines/kfp/train_model.py"]
    none = _spec(init_project(tmp_path / "none", "starter", {"phases.training.kubeflow.enabled": False}))
    assert sample_pipeline_files(none) == {}  # type: ignore[arg-type]


def test_the_sample_model_learns() -> None:
    good, poor = training.train(epochs=300), training.train(epochs=1)
    assert good["metrics"]["accuracy"] > 0.8 > poor["metrics"]["accuracy"] - 0.0 or \
        good["metrics"]["log_loss"] < poor["metrics"]["log_loss"]
    assert good["metrics"]["log_loss"] < poor["metrics"]["log_loss"]
    assert good["dataset"]["digest"] == training.train(epochs=300)["dataset"]["digest"]  # same data, same digest


def test_from_render_judges_each_phase_by_the_workloads_its_render_declares() -> None:
    manifests = {
        "foundation": [{"kind": "Deployment", "metadata": {"name": "mlflow", "namespace": "omgml-data"}},
                       {"kind": "Service", "metadata": {"name": "mlflow", "namespace": "omgml-data"}},
                       {"kind": "Job", "metadata": {"name": "buckets", "namespace": "omgml-data"}}],
        "training": [{"kind": "StatefulSet", "metadata": {"name": "mysql", "namespace": "kubeflow"}}],
        "serving": [],
    }
    declared = declared_workloads(manifests)
    assert declared == [Declared("foundation", "Deployment", "omgml-data", "mlflow"),
                        Declared("foundation", "Job", "omgml-data", "buckets"),
                        Declared("training", "StatefulSet", "kubeflow", "mysql")]  # Services are not workloads
    files = {"foundation": "01-foundation.yaml", "training": "02-training.yaml", "serving": "03-serving.yaml"}
    report = StatusReport("proj", "local", None)
    report.workloads = [WorkloadState("mlflow", "Deployment", "omgml-data", "mlflow", 1, 1)]
    report.stacks = rendered_stacks(report, declared, ["foundation", "training", "serving"], files)
    foundation, training, serving = report.stacks
    assert (foundation.deployed, foundation.resources, foundation.missing) == (True, 1, ["Job omgml-data/buckets"])
    assert not training.deployed and training.missing == ["StatefulSet kubeflow/mysql"]
    assert not serving.enabled  # nothing declared: nothing to apply
    assert problems(report) == [
        "Job omgml-data/buckets (foundation) is declared by the render but not in the cluster; apply it: "
        "`omgml render proj --phase foundation`, then `kubectl apply -f rendered/01-foundation.yaml`",
        "phase training is not applied: none of its 1 workloads is in the cluster; apply it: "
        "`omgml render proj --phase training`, then `kubectl apply -f rendered/02-training.yaml`"]
    report.jobs = [JobState("objectstore", "Job", "omgml-data", "buckets", "complete")]
    report.stacks = rendered_stacks(report, declared, ["foundation", "training"], files)
    assert report.stacks[0].missing == [] and len(problems(report)) == 1
    # The cluster could not be read: its error is the problem, not every workload "missing".
    report.cluster_error = "cannot read the cluster (kind-proj): connection refused"
    assert problems(report) == [report.cluster_error]


def test_from_render_with_preview_is_refused_in_one_line(starter: Path) -> None:
    code, _out, err = invoke("status", str(starter), "--from-render", "--preview")
    assert code == 2 and "--preview needs the Pulumi stacks" in err and "Traceback" not in err


def test_from_render_reads_no_pulumi_state(starter: Path) -> None:
    """No stack, no Pulumi CLI needed: the stacks come from the render (and the unreachable
    cluster is the one problem, not a phase "not deployed")."""
    code, out, err = invoke("status", str(starter), "--json", "--no-signals", "--from-render",
                            "--context", "no-such-context")
    assert code == 1, err
    data = json.loads(out)
    assert {s["source"] for s in data["stacks"]} == {"render"}
    assert next(s["stack"] for s in data["stacks"] if s["enabled"]) == "01-foundation.yaml"
    assert len(data["problems"]) == 1 and data["problems"][0].startswith("cannot read the cluster"), data["problems"]
