"""Real-engine tier: the real Pulumi CLI and Kubernetes provider against kwok API servers.

Run with `scripts/e2e.sh` (it builds or reuses the toolchain and runs this with pyproject's
pinned SDKs). The commands run as a user runs them (`omgml ...` in a subprocess); each test prints
the wall time of every step. Nothing here runs in the default suite (`-m "not e2e"`), and nothing
here skips: a missing tool is a failure.
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

pytestmark = pytest.mark.e2e

TOOLS = ("pulumi", "pulumi-resource-kubernetes", "kwokctl", "kwok", "kube-apiserver",
         "kube-controller-manager", "kube-scheduler", "etcd", "kubectl")
OMGML = str(Path(sys.executable).with_name("omgml"))
PART_OF = "app.kubernetes.io/part-of=omgml"
STATEFUL_TYPES = ("kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:PersistentVolumeClaim")


@pytest.fixture(scope="session", autouse=True)
def toolchain() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"toolchain missing {missing}: run scripts/e2e.sh (it builds them with scripts/toolchain.sh)")


@pytest.fixture
def engine_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"PULUMI_CONFIG_PASSPHRASE": "e2e-only-passphrase", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
           "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_HOME": str(tmp_path / "pulumi-home")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


class Steps:
    """Times each step and prints it, so the run's log carries the numbers."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.times: list[tuple[str, float]] = []

    def run(self, label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        took = time.perf_counter() - start
        self.times.append((label, took))
        print(f"[e2e {self.title}] {label}: {took:.1f}s", flush=True)
        return result

    def summary(self) -> None:
        print(f"[e2e {self.title}] " + ", ".join(f"{label} {t:.1f}s" for label, t in self.times), flush=True)


def omgml(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OMGML, *args], capture_output=True, text=True, timeout=timeout, check=False)


def ok(*args: str, timeout: float = 1500) -> str:
    out = omgml(*args, timeout=timeout)
    assert out.returncode == 0, f"omgml {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr}"
    return out.stdout


def refused(*args: str) -> list[str]:
    """A command that must fail with omgml's own error (exit 2, no traceback): its error lines."""
    out = omgml(*args)
    assert out.returncode == 2, f"omgml {' '.join(args)}: expected a refusal, got {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr
    return [line.strip() for line in out.stderr.splitlines() if line.strip()]


def kubectl(context: str, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(["kubectl", "--context", context, *args], input=stdin, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out.stdout


def leftovers(context: str) -> list[str]:
    out = kubectl(context, "get", "all,cm,secret,pvc,networkpolicy,ns,role,rolebinding,sa,pdb,hpa,cronjob",
                  "-A", "-l", PART_OF, "-o", "name")
    return [line for line in out.splitlines() if line.strip()]


def set_setting(project: Path, path: tuple[str, ...], value: Any) -> None:
    spec_file = project / "omgml.yaml"
    data = yaml.safe_load(spec_file.read_text())
    node = data["platform"]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))


def init(tmp_path: Path, name: str, *args: str) -> Path:
    project = tmp_path / name
    ok("init", str(project), *args)
    return project


def cluster_name(project: Path) -> str:
    return str(yaml.safe_load((project / "omgml.yaml").read_text())["platform"]["name"])


def delete_cluster(name: str) -> None:
    subprocess.run(["kwokctl", "delete", "cluster", "--name", name], capture_output=True, check=False, timeout=120)


class Clusters(list[str]):
    def append(self, name: str) -> None:
        delete_cluster(name)  # left over by an earlier run that was killed
        super().append(name)


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """kwok clusters a test uses start fresh and are deleted even when it fails."""
    names = Clusters()
    yield names
    for name in names:
        delete_cluster(name)


def minimal_project(project: Path, name: str, cleanup: list[str]) -> Path:
    """A project at `project` holding the smallest platform, `name`: namespaces, policies,
    StackReferences and monitoring (Prometheus with Alertmanager and the Pushgateway), every store,
    app and the training phase off. Its kwok cluster (named after the platform) starts fresh and is
    deleted after the test."""
    off = {"enabled": False}
    project.mkdir()
    platform = {"name": name, "phases": {
        "foundation": {k: off for k in ("kafka", "postgres", "object_store", "redis", "mlflow", "feast")},
        "training": off,
        "serving": {"server": off, "evidently": off, "prometheus": {"alertmanager": True, "pushgateway": True}},
    }}
    (project / "omgml.yaml").write_text(yaml.safe_dump({"platform": platform}))
    (project / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n")
    cleanup.append(name)
    return project


# --- the engine, through the library: exact change sets -----------------------------------------

def preview_ops(project: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per stack, every (op, type, name) a preview plans except `same` and the StackReference `read`s."""
    from omgml.cli.common import load_project_spec
    from omgml.cli.deploy import engine_env as env_for
    from omgml.deploy.plan import phase_steps
    from omgml.deploy.runner import AutomationRunner

    spec = load_project_spec(project)
    runner = AutomationRunner(project, spec, "dev", env_for(project), echo=lambda _: None)
    out: dict[str, list[tuple[str, str, str]]] = {}
    for step in phase_steps(spec, "preview", "all", "dev"):
        ops: list[tuple[str, str, str]] = []

        def collect(event: Any, ops: list[tuple[str, str, str]] = ops) -> None:
            pre = getattr(event, "resource_pre_event", None)
            if pre is not None and pre.metadata.op.value not in ("same", "read"):
                ops.append((pre.metadata.op.value, pre.metadata.type, pre.metadata.urn.rsplit("::", 1)[-1]))

        runner._stack(step.stack, step.phase, create=False).preview(on_event=collect)
        out[step.stack] = ops
    return out


def uids(context: str, kind: str, selector: str) -> dict[str, str]:
    out = kubectl(context, "get", kind, "-A", "-l", selector, "-o",
                  "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.metadata.uid}{'\\n'}{end}")
    return dict(line.split("=", 1) for line in out.splitlines() if line)


def status_rows(project: Path) -> list[dict[str, Any]]:
    """`local status --json`'s workloads (Deployments, StatefulSets, Jobs); exit 1 means one is not
    available, which the callers assert on through the rows."""
    out = omgml("local", "status", str(project), "--json")
    assert out.returncode in (0, 1), f"omgml local status failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
    tables = {t["title"]: t["rows"] for t in json.loads(out.stdout)["tables"]}
    return list(tables["Workloads"])


def not_available(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{r['kind']}/{r['namespace']}/{r['name']} {r['ready']}/{r['desired']}" for r in rows if not r["available"]]


# --- tests ---------------------------------------------------------------------------------------

def test_enterprise_platform_with_existing_credentials(tmp_path: Path, engine_env: dict[str, str],
                                                        cleanup: list[str]) -> None:
    """The newcomer's path on kwok, whole enterprise template, credentials from the team's Secrets:
    refusals first (missing Secret, wrong key, phase out of order, unreachable cluster: one line
    each, nothing created), then up / status / no-diff / one change / stateful safety / down."""
    steps = Steps("enterprise")
    project = steps.run("init", init, tmp_path, "ent", "--template", "enterprise")
    set_setting(project, ("credentials",), "existing")
    name = cluster_name(project)
    cleanup.append(name)
    context = f"kwok-{name}"
    p = str(project)

    # No Secrets yet: `local up` makes the cluster, then stops before the engine creates anything.
    lines = steps.run("local up without Secrets (refused)", refused, "local", "up", p)
    required = ok("secrets", "template", p).count("kind: Secret")
    missing = [line for line in lines if line.startswith("Secret ") and " is missing " in line]
    assert len(missing) == required > 10, lines
    assert leftovers(context) == [], "something was created before the Secrets check"

    script = tmp_path / "secrets.sh"
    script.write_text(ok("secrets", "template", p, "--format", "commands"))
    steps.run("create the Secrets (template commands)", subprocess.run, ["sh", str(script)], check=True,
              env={**os.environ, "KUBECTL_CONTEXT": context}, capture_output=True, timeout=300)

    # A wrong key: one line naming the Secret and the key.
    good = kubectl(context, "-n", "omgml-data", "get", "secret", "redis-auth", "-o", "yaml")
    kubectl(context, "-n", "omgml-data", "delete", "secret", "redis-auth")
    kubectl(context, "-n", "omgml-data", "create", "secret", "generic", "redis-auth", "--from-literal=passwd=x")
    lines = steps.run("preview with a wrong key (refused)", refused, "preview", p)
    problems = [line for line in lines if line.startswith("Secret ")]
    assert problems == ["Secret omgml-data/redis-auth has no key 'password' (needed by redis); add it"], lines
    kubectl(context, "-n", "omgml-data", "delete", "secret", "redis-auth")
    restored = yaml.safe_load(good)
    restored["metadata"] = {"name": "redis-auth", "namespace": "omgml-data"}
    kubectl(context, "apply", "-f", "-", stdin=yaml.safe_dump(restored))

    # A phase out of order: refused before anything runs.
    lines = steps.run("up serving first (refused)", refused, "up", p, "--phase", "serving")
    assert any("phase 'serving' reads the outputs of foundation" in line for line in lines), lines
    assert leftovers(context) == []

    # A cluster that is down: one line.
    subprocess.run(["kwokctl", "stop", "cluster", "--name", name], check=True, capture_output=True, timeout=120)
    lines = steps.run("preview with the cluster stopped (refused)", refused, "preview", p)
    assert len(lines) == 1 and f"the cluster of context {context} is unreachable" in lines[0], lines
    subprocess.run(["kwokctl", "start", "cluster", "--name", name], check=True, capture_output=True, timeout=300)

    out = steps.run("local up (all phases)", ok, "local", "up", p)
    assert "SIMULATED" in out
    rows = steps.run("local status", status_rows, project)
    assert rows and not_available(rows) == [], rows
    assert any(r["kind"] == "Job" for r in rows), rows
    print(f"[e2e enterprise] {len(rows)} workloads and Jobs available/complete", flush=True)

    again = steps.run("second preview", preview_ops, project)
    assert all(ops == [] for ops in again.values()), f"perpetual diff: {again}"

    # One routine setting: exactly Redis's config and its StatefulSet change. The config Secret is
    # replaced (the provider replaces Secrets whose data changes, so pods roll); the StatefulSet
    # and its volume are updated in place.
    before = {**uids(context, "statefulset", PART_OF), **uids(context, "pvc", "app.kubernetes.io/name")}
    set_setting(project, ("phases", "foundation", "redis", "max_memory_mib"), 200)
    changed = steps.run("preview after one setting changed", preview_ops, project)
    touched = {(kind, res) for _, kind, res in changed["dev-foundation"]}
    assert touched == {("kubernetes:apps/v1:StatefulSet", "foundation-redis-statefulset"),
                       ("kubernetes:core/v1:Secret", "foundation-redis-config")}, changed
    stateful = [op for op in changed["dev-foundation"] if op[1] in STATEFUL_TYPES]
    assert stateful == [("update", "kubernetes:apps/v1:StatefulSet", "foundation-redis-statefulset")], changed
    assert all(ops == [] for s, ops in changed.items() if s != "dev-foundation"), changed
    steps.run("up the change", ok, "up", p, "--phase", "foundation")
    # A volume size change on a stateful store is not a replacement either.
    set_setting(project, ("phases", "foundation", "postgres", "storage_gib"), 40)
    grown = steps.run("preview after a volume size change", preview_ops, project)
    assert not [op for ops in grown.values() for op in ops if op[1] in STATEFUL_TYPES and op[0] != "update"], grown
    after = {**uids(context, "statefulset", PART_OF), **uids(context, "pvc", "app.kubernetes.io/name")}
    assert before and after == before, "a StatefulSet or volume was replaced by a routine change"

    steps.run("local down", ok, "local", "down", p, "--yes")
    clusters = subprocess.run(["kwokctl", "get", "clusters"], capture_output=True, text=True, check=True).stdout
    assert name not in clusters.split()
    lines = refused("preview", p)
    assert len(lines) == 1 and f"no kubeconfig context {context}" in lines[0], lines
    steps.summary()


def test_fintech_kubernetes_side_creates_its_own_secrets(tmp_path: Path, engine_env: dict[str, str],
                                                          cleanup: list[str]) -> None:
    """fintech's requirements on a local target (its Kubernetes side: Kafka, Redis, Postgres,
    SeaweedFS, Kubeflow, Triton on a GPU pool node, monitoring), credentials existing because of
    its compliance, Secrets made by `local up --create-secrets`."""
    steps = Steps("fintech")
    project = steps.run("init", init, tmp_path, "ft", "--template", "fintech", "--target", "local")
    assert yaml.safe_load((project / "omgml.yaml").read_text())["platform"]["credentials"] == "existing"
    name = cluster_name(project)
    cleanup.append(name)
    # The platform's own Secrets are made here; the Snowflake warehouse's credentials (data.sources)
    # are the team's, which omgml names but never invents: refused until they exist.
    first = steps.run("local up --create-secrets (warehouse Secret missing)", omgml, "local", "up", str(project),
                      "--create-secrets")
    assert first.returncode == 2, f"{first.stdout[-3000:]}\n{first.stderr}"
    assert "missing Secret(s) with fresh values" in first.stdout
    missing = [line for line in first.stderr.splitlines() if "Secret snowflake-credentials does not exist" in line]
    namespaces = sorted({line.split(" in namespace ")[1].split(";")[0] for line in missing})
    assert "omgml-data" in namespaces, first.stderr
    for ns in namespaces:
        kubectl(f"kwok-{name}", "-n", ns, "create", "secret", "generic", "snowflake-credentials",
                "--from-literal=user=e2e", f"--from-literal=password={secrets.token_hex(12)}")
    steps.run("local up --create-secrets", ok, "local", "up", str(project), "--create-secrets")
    rows = steps.run("local status", status_rows, project)
    assert rows and not_available(rows) == [], rows
    again = steps.run("second preview", preview_ops, project)
    assert all(ops == [] for ops in again.values()), f"perpetual diff: {again}"
    steps.run("local down", ok, "local", "down", str(project), "--yes")
    steps.summary()


def test_minimal_platform_lifecycle(tmp_path: Path, engine_env: dict[str, str], cleanup: list[str]) -> None:
    """The smallest platform (namespaces, policies, StackReferences, monitoring) with generated
    credentials' default: up / no-diff / one change / destroy, through `omgml up|destroy`."""
    steps = Steps("minimal")
    project = minimal_project(tmp_path / "min", "e2emin", cleanup)
    steps.run("local up", ok, "local", "up", str(project))
    rows = status_rows(project)
    assert rows and not_available(rows) == [], rows
    assert all(ops == [] for ops in preview_ops(project).values())
    set_setting(project, ("phases", "serving", "prometheus", "retention_days"), 3)
    changed = steps.run("preview after one setting changed", preview_ops, project)
    assert [op[0] for op in changed["dev-serving"]] == ["update"], changed
    steps.run("destroy", ok, "destroy", str(project), "--yes")
    assert leftovers("kwok-e2emin") == []
    steps.run("local down", ok, "local", "down", str(project), "--yes")
    steps.summary()


def test_toolchain_versions_serve_the_sdks() -> None:
    from omgml.deploy.preflight import check_pulumi_cli, sdk_version

    # Raises (with what to install) when the CLI is older than the installed SDK.
    assert check_pulumi_cli().endswith("pulumi")
    assert sdk_version("pulumi").startswith("3.272.")
    assert sdk_version("pulumi-kubernetes").startswith("4.34.")
