"""Real-engine tier: the real Pulumi CLI and Kubernetes provider against a kwok API server.

Run with `scripts/e2e.sh` (it builds or reuses the toolchain and a matching venv). Each test
prints the wall time of every step. Nothing here runs in the default suite (`-m "not e2e"`).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

CLUSTER = "omgml-e2e"
CONTEXT = f"kwok-{CLUSTER}"
TOOLS = ("pulumi", "pulumi-resource-kubernetes", "kwokctl", "kwok", "kube-apiserver",
         "kube-controller-manager", "kube-scheduler", "etcd", "kubectl")


def _missing(tools: tuple[str, ...]) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


class Steps:
    """Times each step and prints it, so the run's log carries the numbers."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    def run(self, label: str, fn: Any, *args: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args)
        took = time.perf_counter() - start
        self.times.append((label, took))
        print(f"[e2e] {label}: {took:.1f}s", flush=True)
        return result


@pytest.fixture(scope="module")
def kwok_cluster() -> Iterator[str]:
    missing = _missing(TOOLS)
    if missing:
        pytest.skip(f"toolchain missing {missing}; run scripts/e2e.sh (it builds them with scripts/toolchain.sh)")
    from omgml.deploy.local import kwok_create_command

    subprocess.run(["kwokctl", "delete", "cluster", "--name", CLUSTER], capture_output=True, check=False)
    start = time.perf_counter()
    out = subprocess.run(kwok_create_command(CLUSTER), capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    print(f"[e2e] kwok cluster up: {time.perf_counter() - start:.1f}s", flush=True)
    try:
        yield CONTEXT
    finally:
        subprocess.run(["kwokctl", "delete", "cluster", "--name", CLUSTER], capture_output=True, check=False)


@pytest.fixture
def engine_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "e2e-only-passphrase")
    monkeypatch.setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))


def _write_project(root: Path, platform: dict[str, Any], context: str) -> Path:
    """An omgml project by hand (the same files `omgml init` writes that the engine reads)."""
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "omgml.yaml").write_text(yaml.safe_dump({"platform": platform}))
    (root / "Pulumi.yaml").write_text(
        f"name: {platform['name']}\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n")
    for phase in ("foundation", "training", "serving"):
        (root / "stacks" / f"Pulumi.dev-{phase}.yaml").write_text(yaml.safe_dump(
            {"config": {"omgml:phase": phase, "kubernetes:context": context}}))
    return root


def _runner(project: Path) -> Any:
    from omgml.cli.common import load_project_spec
    from omgml.cli.deploy import engine_env as env_for
    from omgml.deploy.runner import AutomationRunner

    return AutomationRunner(project, load_project_spec(project), "dev", env_for(project), echo=lambda _: None)


def _act(action: str, project: Path) -> dict[str, dict[str, int]]:
    from omgml.cli.common import load_project_spec
    from omgml.deploy.runner import run_phases

    spec = load_project_spec(project)
    results = run_phases(action, project, spec, "all", "dev", _runner(project), lambda _: None)  # type: ignore[arg-type]
    return {r.step.stack: r.changes for r in results}


def _prepare_kwok(project: Path, context: str) -> None:
    from omgml.cli.common import load_project_spec
    from omgml.deploy.kwok import apply_objects, kwok_nodes, kwok_storage
    from omgml.synth.render import render_platform

    spec = load_project_spec(project)
    apply_objects(context, kwok_nodes(spec) + kwok_storage(render_platform(spec).all_manifests()))


def _workloads_available(context: str, timeout: float = 180) -> list[str]:
    """Wait until every platform Deployment/StatefulSet is Available; return the ones that are not."""
    from omgml.deploy.local import workload_status

    deadline = time.monotonic() + timeout
    while True:
        rows = workload_status(context)
        pending = [f"{w.kind}/{w.namespace}/{w.name} {w.ready}/{w.desired}" for w in rows if not w.available]
        if (rows and not pending) or time.monotonic() > deadline:
            return pending if rows else ["no platform workloads found"]
        time.sleep(2)


def _leftovers(context: str) -> list[str]:
    out = subprocess.run(
        ["kubectl", "--context", context, "get", "all,cm,secret,pvc,networkpolicy,ns,role,rolebinding,sa",
         "-A", "-l", "app.kubernetes.io/part-of=omgml", "-o", "name"],
        capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


def _only_changes(changes: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in changes.items() if k != "same" and v}


def _lifecycle(project: Path, context: str, change: tuple[str, ...], value: Any, changed_stack: str) -> None:
    steps = Steps()
    steps.run("prepare kwok nodes and volumes", _prepare_kwok, project, context)
    ups = steps.run("up (all phases)", _act, "up", project)
    assert all(_only_changes(c).get("create", 0) > 0 for c in ups.values()), ups
    pending = steps.run("workloads available", _workloads_available, context)
    assert pending == [], pending
    again = steps.run("second preview", _act, "preview", project)
    assert all(_only_changes(c) == {} for c in again.values()), f"perpetual diff: {again}"

    spec_file = project / "omgml.yaml"
    data = yaml.safe_load(spec_file.read_text())
    node = data["platform"]
    for key in change[:-1]:
        node = node.setdefault(key, {})
    node[change[-1]] = value
    spec_file.write_text(yaml.safe_dump(data))
    changed = steps.run("preview after one setting changed", _act, "preview", project)
    assert _only_changes(changed[changed_stack]) == {"update": 1}, changed
    assert all(_only_changes(c) == {} for s, c in changed.items() if s != changed_stack), changed

    steps.run("destroy (all phases)", _act, "destroy", project)
    left = steps.run("leftover check", _leftovers, context)
    assert left == [], left
    print("[e2e] " + ", ".join(f"{label} {t:.1f}s" for label, t in steps.times), flush=True)


def test_minimal_platform_lifecycle(kwok_cluster: str, engine_env: None, tmp_path: Path) -> None:
    """Namespaces, NetworkPolicies, StackReferences and the monitoring stack (no generated
    credentials, so no random provider needed) through up / no-diff / one-change / destroy."""
    off = {"enabled": False}
    platform = {
        "name": "e2emin",
        "phases": {
            "foundation": {k: off for k in ("kafka", "postgres", "object_store", "redis", "mlflow", "feast")},
            "training": off,
            "serving": {"server": off, "evidently": off, "prometheus": {"alertmanager": True, "pushgateway": True}},
        },
    }
    project = _write_project(tmp_path / "proj", platform, kwok_cluster)
    _lifecycle(project, kwok_cluster, ("phases", "serving", "prometheus", "retention_days"), 3, "dev-serving")


def test_enterprise_template_lifecycle(kwok_cluster: str, engine_env: None, tmp_path: Path) -> None:
    """The enterprise template on the laptop profile: every phase, every component."""
    if shutil.which("pulumi-resource-random") is None:
        pytest.skip("the random provider plugin (pulumi-resource-random) is not on PATH: every generated "
                    "credential needs it; see docs/toolchain.md for why it cannot be built here")
    from typer.testing import CliRunner

    from omgml.cli.app import app

    project = tmp_path / "enterprise"
    result = CliRunner().invoke(app, ["init", str(project), "--template", "enterprise"])
    assert result.exit_code == 0, result.output
    for cfg in (project / "stacks").glob("Pulumi.dev-*.yaml"):
        data = yaml.safe_load(cfg.read_text())
        data["config"]["kubernetes:context"] = kwok_cluster
        cfg.write_text(yaml.safe_dump(data))
    _lifecycle(project, kwok_cluster, ("phases", "serving", "server", "replicas"), 2, "dev-serving")


def test_toolchain_versions_match_the_sdks() -> None:
    if _missing(("pulumi",)):
        pytest.skip("pulumi CLI not on PATH")
    from omgml.deploy.preflight import check_pulumi_cli

    # Raises (with what to install) when the CLI's minor differs from the installed SDK's.
    assert check_pulumi_cli().endswith("pulumi")
