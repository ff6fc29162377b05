"""Resource requests of a render, per phase and per workload (pure, over manifests)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEM_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
              "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_MEM = re.compile(r"^(\d+(?:\.\d+)?)([kMGT]i?|)$")

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def cpu_millicores(q: str | int | float) -> int:
    m = _CPU.match(str(q))
    if not m:
        raise ValueError(f"not a CPU quantity: {q!r}")
    value = float(m.group(1))
    return round(value if m.group(2) == "m" else value * 1000)


def memory_bytes(q: str | int | float) -> int:
    m = _MEM.match(str(q))
    if not m:
        raise ValueError(f"not a memory quantity: {q!r}")
    return int(float(m.group(1)) * _MEM_UNITS[m.group(2)])


@dataclass(frozen=True)
class WorkloadRequest:
    kind: str
    namespace: str
    name: str
    replicas: int
    cpu_m: int  # total over replicas (steady-state containers; init containers don't add up)
    memory_b: int
    gpus: int
    storage_b: int  # volumeClaimTemplates × replicas


def _pod_spec(m: dict[str, Any]) -> dict[str, Any]:
    spec = m.get("spec", {})
    if m["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return dict(spec.get("template", {}).get("spec", {}))


def workload_requests(m: dict[str, Any], daemonset_nodes: int = 1) -> WorkloadRequest | None:
    if m.get("kind") not in WORKLOAD_KINDS:
        return None
    ps = _pod_spec(m)
    if m["kind"] == "DaemonSet":
        replicas = daemonset_nodes
    elif m["kind"] in ("Job", "CronJob"):
        spec = m["spec"] if m["kind"] == "Job" else m["spec"].get("jobTemplate", {}).get("spec", {})
        replicas = int(spec.get("parallelism", 1))
    else:
        replicas = int(m["spec"].get("replicas", 1))
    cpu = mem = gpu = 0
    for c in ps.get("containers", []):
        req = c.get("resources", {}).get("requests", {})
        lim = c.get("resources", {}).get("limits", {})
        cpu += cpu_millicores(req.get("cpu", 0))
        mem += memory_bytes(req.get("memory", 0))
        gpu += int(lim.get("nvidia.com/gpu", req.get("nvidia.com/gpu", 0)))
    # Init containers run before the app containers: the pod reserves the larger of the two.
    for c in ps.get("initContainers", []):
        req = c.get("resources", {}).get("requests", {})
        cpu = max(cpu, cpu_millicores(req.get("cpu", 0)))
        mem = max(mem, memory_bytes(req.get("memory", 0)))
    storage = 0
    for vct in m.get("spec", {}).get("volumeClaimTemplates", []) or []:
        storage += memory_bytes(vct.get("spec", {}).get("resources", {}).get("requests", {}).get("storage", 0))
    meta = m.get("metadata", {})
    return WorkloadRequest(m["kind"], str(meta.get("namespace", "")), str(meta.get("name", "")), replicas,
                           cpu * replicas, mem * replicas, gpu * replicas, storage * replicas)


def total_requests(items: list[dict[str, Any]], include_batch: bool = False) -> tuple[int, int, int]:
    """(millicores, bytes, gpus) of the long-running workloads (Jobs/CronJobs only if asked)."""
    cpu = mem = gpu = 0
    for m in items:
        w = workload_requests(m)
        if w is None or (w.kind in ("Job", "CronJob") and not include_batch):
            continue
        cpu, mem, gpu = cpu + w.cpu_m, mem + w.memory_b, gpu + w.gpus
    return cpu, mem, gpu
