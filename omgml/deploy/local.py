"""Local clusters for `omgml local up|down|status`: kind where Docker is, kwok where it isn't."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from omgml.deploy.plan import DeployError

if TYPE_CHECKING:
    from omgml.daytwo.status import WorkloadState

Runtime = Literal["kind", "kwok"]
Run = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)


@dataclass(frozen=True)
class LocalCluster:
    runtime: Runtime
    name: str

    @property
    def context(self) -> str:
        # kind and kwokctl both name the kubeconfig context <runtime>-<cluster name>.
        return f"{self.runtime}-{self.name}"

    @property
    def simulated(self) -> bool:
        return self.runtime == "kwok"


def docker_works(which: Callable[[str], str | None] = shutil.which, run: Run = _run) -> bool:
    if which("docker") is None:
        return False
    return run(["docker", "info", "--format", "{{.ServerVersion}}"]).returncode == 0


def choose_runtime(which: Callable[[str], str | None] = shutil.which, run: Run = _run) -> Runtime:
    """kind with a working Docker engine; otherwise kwok (simulated pods) if kwokctl exists."""
    if which("kind") is not None and docker_works(which, run):
        return "kind"
    if which("kwokctl") is not None:
        return "kwok"
    raise DeployError(
        "no local cluster runtime: install Docker and kind (v0.32+) for real pods, or build kwok with "
        "scripts/toolchain.sh and put its bin/ on PATH for a simulated cluster"
    )


def cluster_exists(cluster: LocalCluster, run: Run = _run) -> bool:
    cmd = ["kind", "get", "clusters"] if cluster.runtime == "kind" else ["kwokctl", "get", "clusters"]
    out = run(cmd)
    return out.returncode == 0 and cluster.name in out.stdout.split()


def create_cluster(cluster: LocalCluster, kind_config: Path, run: Run = _run) -> None:
    if cluster.runtime == "kind":
        cmd = ["kind", "create", "cluster", "--name", cluster.name, "--config", str(kind_config)]
    else:
        cmd = kwok_create_command(cluster.name)
    out = run(cmd)
    if out.returncode != 0:
        raise DeployError(f"`{' '.join(cmd)}` failed:\n{out.stderr.strip() or out.stdout.strip()}")


# kwokctl flag → the binary it names. Without these flags kwokctl downloads release binaries
# from the internet; with them it runs the ones scripts/toolchain.sh put on PATH.
KWOK_BINARIES = {
    "--kube-apiserver-binary": "kube-apiserver",
    "--kube-controller-manager-binary": "kube-controller-manager",
    "--kube-scheduler-binary": "kube-scheduler",
    "--kwok-controller-binary": "kwok",
    "--etcd-binary": "etcd",
}


def kwok_create_command(name: str, which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """`kwokctl create cluster` on loopback with the local binaries (--runtime binary always:
    kwokctl would otherwise try Docker first)."""
    cmd = ["kwokctl", "create", "cluster", "--name", name, "--runtime", "binary", "--wait", "180s"]
    missing = []
    for flag, binary in KWOK_BINARIES.items():
        path = which(binary)
        if path is None:
            missing.append(binary)
        else:
            cmd += [flag, path]
    if which("kubectl") is None:
        missing.append("kubectl")  # kwokctl shells out to it and would otherwise download one
    if missing:
        raise DeployError(
            f"kwok needs {', '.join(missing)} on PATH; build them with scripts/toolchain.sh and add its bin/ "
            "to PATH"
        )
    return cmd


def delete_cluster(cluster: LocalCluster, run: Run = _run) -> None:
    cmd = (["kind", "delete", "cluster", "--name", cluster.name] if cluster.runtime == "kind"
           else ["kwokctl", "delete", "cluster", "--name", cluster.name])
    out = run(cmd)
    if out.returncode != 0:
        raise DeployError(f"`{' '.join(cmd)}` failed:\n{out.stderr.strip() or out.stdout.strip()}")


def set_stack_context(project: Path, stack: str, context: str) -> bool:
    """Point a phase stack's kubernetes:context at the local cluster. Returns True if changed."""
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    data: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = loaded if isinstance(loaded, dict) else {}
    config = data.setdefault("config", {})
    if config.get("kubernetes:context") == context:
        return False
    config["kubernetes:context"] = context
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return True


def workload_status(context: str) -> list[WorkloadState]:
    """Deployments and StatefulSets the platform created, with ready vs desired replicas, and its
    Jobs (not a CronJob's runs), with succeeded vs wanted completions."""
    from kubernetes import client, config

    from omgml.daytwo.status import WorkloadState

    api_client = config.new_client_from_config(context=context)
    apps = client.AppsV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    selector = "app.kubernetes.io/part-of=omgml"
    out: list[WorkloadState] = []
    for kind, items in (
        ("Deployment", apps.list_deployment_for_all_namespaces(label_selector=selector).items),
        ("StatefulSet", apps.list_stateful_set_for_all_namespaces(label_selector=selector).items),
    ):
        for obj in items:
            labels = obj.metadata.labels or {}
            ready = (obj.status.ready_replicas if kind == "StatefulSet" else obj.status.available_replicas) or 0
            out.append(WorkloadState(labels.get("app.kubernetes.io/name", "?"), kind, obj.metadata.namespace,
                                      obj.metadata.name, int(ready), int(obj.spec.replicas or 0)))
    for job in batch.list_job_for_all_namespaces(label_selector=selector).items:
        if any(o.kind == "CronJob" for o in job.metadata.owner_references or []):
            continue
        labels = job.metadata.labels or {}
        out.append(WorkloadState(labels.get("app.kubernetes.io/name", "?"), "Job", job.metadata.namespace,
                                  job.metadata.name, int(job.status.succeeded or 0), int(job.spec.completions or 1)))
    return sorted(out, key=lambda w: (w.component, w.namespace, w.name))
