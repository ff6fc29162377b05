"""The orchestrators run for real: the sample pipeline on the rendered Airflow and Prefect
(conformance tier), driven by `omgml pipeline`, and its model handled by `omgml registry`.

Each orchestrator is a project variant (the starter template with that orchestrator, Kafka,
Feast, Redis, Kubeflow and the serving phase off) brought up as a second platform for this
module. Airflow's KubernetesExecutor and Prefect's Kubernetes worker launch task pods and
flow-run Jobs through the Kubernetes API: the tier's API server (harness/apiserver.py) takes
those calls — authorized by the rendered RBAC — and the tier runs the pods they create like any
other. The day-two commands run in a pod of the orchestration namespace (`--in-cluster`), under
the platform's NetworkPolicies; `omgml status` runs there as the team's operator account (a
read-only ClusterRole, harness/fixtures.py) and reads the running platform through the tier's API
server, which serves the rendered workloads with the status the tier's runs give them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conformance.harness.runner import Platform
from tests.conformance.helpers import eventually

pytestmark = pytest.mark.conformance

ORCH = "omgml-orchestration"
MODEL = "omgml-sample-model"
RUN_ROOT = Path(os.environ.get("OMGML_CONFORMANCE_RUN_DIR", "/tmp/omgml-conformance"))


def variant_project(root: Path, orchestrator: str) -> Path:
    omgml = Path(sys.executable).parent / "omgml"
    out = subprocess.run([str(omgml), "init", str(root), "--template", "starter"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load((root / "omgml.yaml").read_text())
    phases = data["platform"]["phases"]
    for component in ("kafka", "feast", "redis"):
        phases["foundation"].setdefault(component, {})["enabled"] = False
    training = phases.setdefault("training", {})
    training["enabled"] = True
    training.setdefault("kubeflow", {})["enabled"] = False
    training.setdefault(orchestrator, {})["enabled"] = True
    phases.setdefault("serving", {})["enabled"] = False
    (root / "omgml.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    # init wrote the template's sample; the variant's orchestrator gets its own, as a fresh init would.
    from omgml.cli.common import load_project_spec
    from omgml.samples import sample_pipeline_files

    for path, text in sample_pipeline_files(load_project_spec(root)).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, float]]:
    return []


def bring_up(project: Path, repo_files: dict[str, str], before_up: Any = None) -> Iterator[Platform]:
    from tests.conformance.harness.adapters import runtime_for
    from tests.conformance.harness.fixtures import (
        api_server_cert,
        ca_bundle,
        operator_access,
        outside_manifests,
        outside_tls,
    )
    from tests.conformance.harness.network import HUB_IP
    from tests.conformance.harness.render import conformance_render
    from tests.conformance.harness.software import cache_root

    render = conformance_render(project)
    prefix = "omgc" + secrets.token_hex(2)
    run_dir = RUN_ROOT / prefix
    tls = outside_tls(run_dir / "tls")
    render.add_fixtures(outside_manifests(repo_files, tls))
    render.add_fixtures(operator_access(ORCH, HUB_IP))
    # Airflow's parts start slowly (each probe is an `airflow` CLI start) and their startup probes
    # allow 600 s (components/airflow.py): the tier waits as long as the render lets the kubelet wait.
    timeout = max(float(os.environ.get("OMGML_CONFORMANCE_TIMEOUT", "300")), 660.0)
    plat = Platform(render, run_dir, runtime_for, prefix, cache_root(), timeout=timeout, ca_bundle=ca_bundle(tls),
                    ca_pem=tls.ca_pem)
    try:
        plat.start()
        plat.start_api_server(*api_server_cert(run_dir / "tls", HUB_IP))
        if before_up is not None:
            before_up(plat)
        plat.up(["fixtures", *render.phases])
        yield plat
    finally:
        plat.down()
        from tests.conformance.harness.report import summary_markdown

        (run_dir / "summary.md").write_text(summary_markdown(plat, plat.step_times))
        if os.environ.get("OMGML_CONFORMANCE_KEEP_RUN_DIR") != "1":
            for sub in ("pods", "claims", "tls"):
                shutil.rmtree(run_dir / sub, ignore_errors=True)


def omgml(platform: Platform, project: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 900, operator: bool = False) -> tuple[int, str]:
    """An omgml command in a pod of the orchestration namespace (a user's shell in the cluster);
    `operator`: as the team's operator account (harness/fixtures.py's operator_access)."""
    from tests.conformance.harness.adapters import OMGML_CLI_IMAGE
    from tests.conformance.harness.fixtures import OPERATOR

    spec_path = "/project/omgml.yaml"
    argv = ["omgml", *(spec_path if a == "PROJECT" else a for a in args)]
    code, out = platform.client(ORCH, OMGML_CLI_IMAGE, argv, env={"HOME": "/tmp", **(env or {})},
                                files={spec_path: (project / "omgml.yaml").read_text()}, timeout=timeout,
                                service_account=OPERATOR if operator else None,
                                labels={"app.kubernetes.io/name": OPERATOR} if operator else None)
    return code, out.split("\n", 2)[-1] if out.startswith("\n=====") else out


def last_json(output: str) -> Any:
    start = min((i for i in (output.find("{"), output.find("[")) if i >= 0), default=-1)
    assert start >= 0, output[-3000:]
    return json.loads(output[start:])


def all_ready(platform: Platform, phase: str) -> None:
    bad = [f"{o.key}: {o.status} {o.detail}" for o in platform.outcomes.values()
           if o.phase == phase and o.status not in ("ready", "complete", "skipped")]
    assert not bad, "\n".join(bad)


def registry_golden_path(platform: Platform, project: Path, runner: str) -> None:
    code, out = omgml(platform, project, "registry", "list", "PROJECT", MODEL, "--in-cluster", "--json")
    assert code == 0, out
    versions = last_json(out)["rows"]
    assert versions, out
    version = versions[-1]["version"]
    code, out = omgml(platform, project, "registry", "show", "PROJECT", MODEL, version, "--in-cluster", "--json")
    assert code == 0, out
    shown = last_json(out)
    assert shown["run_name"] == f"{runner}-train-model" and shown["run_status"] == "FINISHED"
    assert shown["metrics"]["accuracy"] > 0.7, shown["metrics"]
    assert shown["datasets"][0]["name"] == "synthetic-churn"
    assert [c["name"] for c in shown["signature"]["inputs"]] == ["tenure_months", "monthly_spend", "support_tickets"]
    code, out = omgml(platform, project, "registry", "promote", "PROJECT", MODEL, version, "--alias", "production",
                      "--metric", "accuracy", "--threshold", "0.7", "--in-cluster")
    assert code == 0, out
    assert f"alias production → version {version}" in out
    code, out = omgml(platform, project, "registry", "promote", "PROJECT", MODEL, version, "--alias", "audited",
                      "--require-tag", "model_card", "--in-cluster")
    assert code == 1 and "gate not met" in out and "Traceback" not in out
    code, out = omgml(platform, project, "registry", "list", "PROJECT", "--in-cluster", "--json")
    assert code == 0, out
    [row] = [r for r in last_json(out)["rows"] if r["model"] == MODEL]
    assert f"production→{version}" in row["aliases"]


def status_golden_path(platform: Platform, project: Path) -> None:
    """`omgml status --from-render --json` on the running platform (applied from its render, as
    the tier does): every declared workload found and ready, every Job complete, each Service's
    port-forward line, the last pipeline run; then one workload down → exit 1 naming it."""
    from tests.conformance.harness.cluster_view import WORKLOADS
    from tests.conformance.helpers import workload_name

    def status() -> tuple[int, dict[str, Any], str]:
        code, out = omgml(platform, project, "status", "PROJECT", "--in-cluster", "--from-render", "--json",
                          operator=True, timeout=300)
        assert "Traceback" not in out, out[-3000:]
        return code, last_json(out), out

    started = time.monotonic()
    code, report, out = status()
    assert code == 0 and report["healthy"], f"{report['problems']}\n{out[-3000:]}"
    assert report["cluster_error"] is None
    mine = [o for o in platform.render.objects if o.phase != "fixtures"]
    declared = {o.key for o in mine if o.kind in WORKLOADS}
    seen = {f"{w['kind']}/{w['namespace']}/{w['name']}" for w in report["workloads"] + report["jobs"]}
    assert seen == declared, f"missing {declared - seen}, extra {seen - declared}"
    assert all(w["ready"] == w["desired"] >= 1 and w["images"] for w in report["workloads"]), report["workloads"]
    assert all(j["state"] == "complete" for j in report["jobs"] if j["kind"] == "Job"), report["jobs"]
    stacks = {s["phase"]: s for s in report["stacks"]}
    for phase in ("foundation", "training"):
        assert stacks[phase]["source"] == "render" and stacks[phase]["deployed"] and not stacks[phase]["missing"]
    assert not stacks["serving"]["enabled"]
    services = {(o.namespace, o.name) for o in mine if o.kind == "Service" and o.manifest["spec"].get("clusterIP") != "None"}
    assert {(e["namespace"], e["service"]) for e in report["endpoints"]} == services
    assert all(f"-n {e['namespace']} port-forward svc/{e['service']} " in e["port_forward"] for e in report["endpoints"])
    runs = report["signals"]["pipeline_runs"]
    assert runs and runs[0]["orchestrator"] == "prefect" and runs[0]["state"] == "success", report["signals"]
    # MLflow goes down: status names it and exits 1.
    mlflow = platform.render.find("Deployment", workload_name(platform, "Deployment", "mlflow"))
    for r in [r for r in platform.pods.values() if r.pod.owner_kind == "Deployment" and r.pod.owner_name == mlflow.name]:
        r.stop(10)
    code, report, out = status()
    want = int(mlflow.manifest["spec"].get("replicas", 1))
    assert code == 1 and not report["healthy"], out[-3000:]
    assert report["problems"] == [f"Deployment {mlflow.namespace}/{mlflow.name} (mlflow): 0/{want} ready"], \
        report["problems"]
    platform.step_times.append((f"omgml status --from-render: {len(declared)} workloads and Jobs ready/complete, "
                                f"{len(services)} endpoints, last run success (exit 0); MLflow down (exit 1)",
                                time.monotonic() - started))


# --- Prefect --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prefect_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Path]]:
    project = variant_project(tmp_path_factory.mktemp("prefect") / "team", "prefect")
    sample = project / "pipelines" / "prefect"
    repo = {"flow.py": (sample / "flow.py").read_text(), "omgml_training.py": (sample / "omgml_training.py").read_text()}
    for plat in bring_up(project, repo):
        yield plat, project


def test_prefect_server_and_worker_run_the_sample_flow_which_registers_a_model(
        prefect_platform: tuple[Platform, Path]) -> None:
    from tests.conformance.harness.fixtures import git_url

    platform, project = prefect_platform
    all_ready(platform, "training")
    started = time.monotonic()
    code, out = omgml(platform, project, "pipeline", "deploy", "PROJECT", "--source", git_url(), "--ref", "main",
                      "--entrypoint", "flow.py:train_model", "--in-cluster")
    assert code == 0, out
    code, out = omgml(platform, project, "pipeline", "run", "PROJECT", "train-model/train-model", "--param",
                      "epochs=150", "--watch", "--timeout", "600", "--in-cluster", "--json")
    jobs = [r.pod.key for r in platform.pods.values() if r.pod.owner_kind == "Job"]
    assert code == 0, f"{out[-4000:]}\nflow-run pods: {jobs}\nAPI calls: {platform.api.requests[-30:]}"
    run = last_json(out)
    assert run["state"] == "success" and run["raw_state"] == "COMPLETED"
    # The flow run was a Job the worker created through the API, authorized by the rendered Role.
    assert jobs, "the worker created no flow-run Job"
    created = [r for r in platform.api.requests if r[1] == "create" and "/jobs" in r[2]]
    assert created and all(r[3] == 200 for r in created)
    code, out = omgml(platform, project, "pipeline", "logs", "PROJECT", "train-model/train-model", run["run_id"],
                      "--in-cluster")
    assert code == 0 and "registered omgml-sample-model version" in out, out[-3000:]
    registry_golden_path(platform, project, "prefect")
    status_golden_path(platform, project)
    platform.step_times.append(("prefect: sample flow + registry + status", time.monotonic() - started))


# --- Airflow --------------------------------------------------------------------------------------
def _place_dags(project: Path) -> Any:
    """Fill the DAGs volume before Airflow starts, as a team would (kubectl cp or a CI job)."""

    def place(plat: Platform) -> None:
        claim = next(o for o in plat.render.of_kind("PersistentVolumeClaim") if o.name.endswith("-dags"))
        target = plat.run_dir / "claims" / claim.namespace / claim.name
        target.mkdir(parents=True, exist_ok=True)
        for f in (project / "pipelines" / "airflow").glob("*.py"):
            shutil.copy(f, target / f.name)
        for p in [target, *target.iterdir()]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)

    return place


@pytest.fixture(scope="module")
def airflow_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Path]]:
    project = variant_project(tmp_path_factory.mktemp("airflow") / "team", "airflow")
    for plat in bring_up(project, {"README": "no repository is used by this variant\n"}, _place_dags(project)):
        yield plat, project


def test_airflow_runs_the_sample_dag_through_the_kubernetes_executor(airflow_platform: tuple[Platform, Path]) -> None:
    from tests.conformance.helpers import secret

    platform, project = airflow_platform
    all_ready(platform, "training")
    started = time.monotonic()
    password = secret(platform, "airflow-secrets", "admin-password", ORCH)
    env = {"OMGML_AIRFLOW_PASSWORD": password}
    code, out = 1, ""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # the dag-processor parses the DAG folder at start
        code, out = omgml(platform, project, "pipeline", "list", "PROJECT", "--in-cluster", "--json", env=env)
        if code == 0 and any(r["pipeline"] == "train-model" for r in last_json(out)["rows"]):
            break
        time.sleep(10)
    assert code == 0 and "train-model" in out, out[-3000:]
    code, out = omgml(platform, project, "pipeline", "run", "PROJECT", "train-model", "--param", "epochs=150",
                      "--watch", "--timeout", "600", "--in-cluster", "--json", env=env)
    tasks = [r.pod.key for r in platform.pods.values() if r.pod.owner_kind == "ApiPod"]
    assert code == 0, f"{out[-4000:]}\ntask pods: {tasks}\nAPI calls: {platform.api.requests[-30:]}"
    run = last_json(out)
    assert run["state"] == "success"
    assert len(tasks) >= 2, f"each task should be a pod the executor created: {tasks}"
    # A task's log reaches the remote log bucket when its pod uploads it at the end; right after
    # the run, the last task's may not be there yet (Airflow then tries the ended pod's log server).
    seen: list[str] = []

    def logs() -> bool:
        rc, text = omgml(platform, project, "pipeline", "logs", "PROJECT", "train-model", run["run_id"],
                         "--in-cluster", env=env)
        seen.append(text)
        return rc == 0 and "registered omgml-sample-model version" in text

    try:
        eventually("the register task's log", logs, timeout=120)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{seen[-1][-3000:] if seen else ''}") from None
    registry_golden_path(platform, project, "airflow")
    platform.step_times.append(("airflow: sample DAG + registry", time.monotonic() - started))
