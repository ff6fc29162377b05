"""What a kwok cluster needs before the platform can land on it (pure builders + one apply).

kwok simulates nodes and pods on a real API server: it creates no nodes by itself and has no
volume provisioner. So omgml adds nodes shaped like the kind config (a CPU worker, one tainted
worker per GPU pool, with the same labels) and, for every claim the platform will make, a
pre-created PersistentVolume of a default StorageClass that the real PV controller binds.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import yaml

from omgml.capacity import memory_bytes
from omgml.deploy.plan import DeployError
from omgml.spec import PlatformSpec

JsonDict = dict[str, Any]
STORAGE_CLASS = "kwok-standard"
# The laptop budget (4 CPU / 8 GiB) is what the CPU worker offers, so a platform that fits the
# capacity check also schedules here.
CPU_NODE_CAPACITY = {"cpu": "4", "memory": "8Gi", "pods": "110"}
GPU_NODE_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110"}


def _node(name: str, labels: dict[str, str], taints: list[JsonDict], capacity: dict[str, str]) -> JsonDict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            # kwok's controller manages (heartbeats, runs pods on) nodes carrying this annotation.
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "type": "kwok", **labels},
        },
        "spec": {"taints": taints} if taints else {},
        "status": {"allocatable": dict(capacity), "capacity": dict(capacity)},
    }


def kwok_nodes(spec: PlatformSpec) -> list[JsonDict]:
    """A CPU worker and one worker per GPU pool, labelled and tainted like the kind config."""
    from omgml.components.gpupool import CPU_POOL, POOL_LABEL, gpu_pool_labels, pool_taints

    nodes = [_node("kwok-cpu-0", {POOL_LABEL: CPU_POOL}, [], CPU_NODE_CAPACITY)]
    for pool in spec.all_gpu_pools():
        capacity = dict(GPU_NODE_CAPACITY)
        if spec.gpu_available():
            capacity["nvidia.com/gpu"] = str(pool.gpus_per_node)
        taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool_taints(pool)]
        nodes.append(_node(f"kwok-{pool.name}-0", gpu_pool_labels(pool), taints, capacity))
    return nodes


def _claims(manifests: list[JsonDict]) -> list[tuple[str, int, list[str]]]:
    """(name, bytes, access modes) of every claim: standalone PVCs and volumeClaimTemplates × replicas."""
    claims: list[tuple[str, int, list[str]]] = []
    for m in manifests:
        if m.get("kind") == "PersistentVolumeClaim":
            s = m["spec"]
            claims.append((m["metadata"]["name"], memory_bytes(s["resources"]["requests"]["storage"]),
                           list(s.get("accessModes", ["ReadWriteOnce"]))))
        elif m.get("kind") == "StatefulSet":
            for t in m["spec"].get("volumeClaimTemplates", []) or []:
                for i in range(int(m["spec"].get("replicas", 1))):
                    claims.append((f"{t['metadata']['name']}-{m['metadata']['name']}-{i}",
                                   memory_bytes(t["spec"]["resources"]["requests"]["storage"]),
                                   list(t["spec"].get("accessModes", ["ReadWriteOnce"]))))
    return claims


def kwok_storage(manifests: list[JsonDict]) -> list[JsonDict]:
    """A default StorageClass without a provisioner and one matching PersistentVolume per claim."""
    objects: list[JsonDict] = [{
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain",
    }]
    for i, (name, size, modes) in enumerate(sorted(_claims(manifests))):
        objects.append({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"kwok-pv-{i:03d}", "labels": {"omgml.dev/kwok-claim": name[:63].rstrip("-.")}},
            "spec": {
                "capacity": {"storage": str(size)},
                "accessModes": modes,
                "storageClassName": STORAGE_CLASS,
                "persistentVolumeReclaimPolicy": "Retain",
                # Never mounted: kwok runs no container.
                "hostPath": {"path": f"/tmp/kwok-pv-{i:03d}"},
            },
        })
    return objects


def apply_objects(context: str, objects: list[JsonDict],
                  run: Callable[[list[str], str], subprocess.CompletedProcess[str]] | None = None) -> None:
    """`kubectl apply` the objects (server-side, idempotent) against `context`."""
    text = yaml.safe_dump_all(objects, sort_keys=False)
    cmd = ["kubectl", "--context", context, "apply", "--server-side", "--force-conflicts", "-f", "-"]
    runner = run or (lambda c, stdin: subprocess.run(c, input=stdin, capture_output=True, text=True,
                                                      check=False, timeout=120))
    out = runner(cmd, text)
    if out.returncode != 0:
        raise DeployError(f"`{' '.join(cmd)}` failed:\n{out.stderr.strip() or out.stdout.strip()}")
