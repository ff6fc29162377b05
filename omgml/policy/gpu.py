"""GPU scheduling: GPU pods tolerate the GPU taint and select a GPU pool; nothing else does.

Convention (documented in docs/policies.md): GPU nodes carry the taint `nvidia.com/gpu` (NoSchedule)
and one of the GPU pool labels below. A pod selects a GPU pool through `nodeSelector` or a required
node affinity whose every term names a GPU pool. Pool-name labels (`omgml.dev/pool`, the EKS node
group label, Karpenter's node pool) count when the value is a GPU pool of the spec or contains "gpu".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omgml.policy.findings import Finding, Manifest, resource_id
from omgml.policy.pods import PodSpecAt, containers_at, pod_spec_at

POLICY_ID = "gpu-scheduling"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"
# Labels whose given value marks a GPU node, whatever the pool is called.
GPU_NODE_LABELS: dict[str, str] = {
    "accelerator": "nvidia",  # the kind worker that simulates a GPU pool
    "pool": "gpu",
    "nvidia.com/gpu.present": "true",  # GPU feature discovery
}
# Labels whose value is a pool name.
POOL_NAME_LABELS = ("omgml.dev/pool", "eks.amazonaws.com/nodegroup", "karpenter.sh/nodepool")


def is_gpu_label(key: str, value: str, gpu_pools: Iterable[str] = ()) -> bool:
    if GPU_NODE_LABELS.get(key) == value:
        return True
    return key in POOL_NAME_LABELS and (value in set(gpu_pools) or "gpu" in value)


def selects_gpu_pool(spec: dict[str, Any], gpu_pools: Iterable[str] = ()) -> bool:
    pools = tuple(gpu_pools)
    if any(is_gpu_label(str(k), str(v), pools) for k, v in (spec.get("nodeSelector") or {}).items()):
        return True
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    return bool(terms) and all(_term_selects_gpu(t, pools) for t in terms)


def _term_selects_gpu(term: dict[str, Any], pools: tuple[str, ...]) -> bool:
    for expr in term.get("matchExpressions") or []:
        values = [str(v) for v in expr.get("values") or []]
        if expr.get("operator") == "In" and values and all(is_gpu_label(str(expr.get("key")), v, pools)
                                                           for v in values):
            return True
    return False


def gpu_count(pod: PodSpecAt) -> int:
    total = 0
    for c in containers_at(pod):
        res = c.container.get("resources") or {}
        for section in ("limits", "requests"):
            value = (res.get(section) or {}).get(GPU_RESOURCE)
            if value is not None:
                total += int(value)
                break
    return total


def tolerates_gpu_taint(spec: dict[str, Any], *, explicit_only: bool = False) -> bool:
    for t in spec.get("tolerations") or []:
        if t.get("effect") not in (None, "", "NoSchedule"):
            continue
        if t.get("key") == GPU_TAINT_KEY and (t.get("operator") == "Exists" or t.get("value") is not None):
            return True
        if not explicit_only and not t.get("key") and t.get("operator") == "Exists":
            return True
    return False


def check_gpu_scheduling(m: Manifest, gpu_pools: Iterable[str] = ()) -> list[Finding]:
    pod = pod_spec_at(m)
    if pod is None:
        return []
    pools = tuple(gpu_pools)
    spec, rid, p = pod.spec, resource_id(m), pod.path
    wants_gpu = gpu_count(pod) > 0
    on_gpu_pool = selects_gpu_pool(spec, pools)
    out = []
    if (wants_gpu or on_gpu_pool) and not tolerates_gpu_taint(spec):
        out.append(Finding(POLICY_ID, "error", rid, f"{p}.tolerations",
                           "GPU pod does not tolerate the nvidia.com/gpu taint: it never schedules on a GPU node",
                           "add toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}"))
    # A wildcard toleration is how node agents (DaemonSets) run everywhere; only a pod that
    # names the GPU taint is clearly aiming at GPU nodes.
    if (wants_gpu or tolerates_gpu_taint(spec, explicit_only=True)) and not on_gpu_pool:
        what = "requests nvidia.com/gpu" if wants_gpu else "tolerates the nvidia.com/gpu taint"
        out.append(Finding(POLICY_ID, "error", rid, f"{p}.nodeSelector",
                           f"pod {what} but does not select a GPU pool: it may land on (or hold) the wrong nodes",
                           "add a nodeSelector for the GPU pool (e.g. omgml.dev/pool: <gpu pool name>)"))
    return out
