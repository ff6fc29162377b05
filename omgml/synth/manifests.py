"""From recorded resources to Kubernetes manifests and an inventory (pure functions)."""

from __future__ import annotations

from typing import Any

from omgml.synth.engine import RecordedResource, SynthResult, is_secret_wrapper

MASK = "<secret: generated at deploy time>"

# Apply order for `kubectl apply -f`: things others depend on first.
KIND_ORDER = [
    "Namespace", "CustomResourceDefinition", "PriorityClass", "StorageClass", "ServiceAccount",
    "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "NetworkPolicy", "ResourceQuota",
    "LimitRange", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "DaemonSet", "Deployment",
    "StatefulSet", "Job", "CronJob", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
]


def normalise(value: Any) -> tuple[Any, bool]:
    """Masked, provider-shaped copy of an input value; also reports whether a secret was found.

    The wire format carries every number as a float; Kubernetes wants integers, so integral
    floats become ints again. Secret values are replaced by MASK.
    """
    if is_secret_wrapper(value):
        return _mask_leaves(value["value"]), True
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        found = False
        # The wire format does not keep key order; sorting makes renders byte-stable.
        for k, v in sorted(value.items()):
            if v is None:
                continue
            nv, s = normalise(v)
            out[k] = nv
            found = found or s
        return out, found
    if isinstance(value, list):
        items = [normalise(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    if isinstance(value, float) and value.is_integer():
        return int(value), False
    return value, False


def _mask_leaves(value: Any) -> Any:
    """Mask every scalar but keep the shape: a Secret's keys stay reviewable, its values don't."""
    if is_secret_wrapper(value):
        return _mask_leaves(value["value"])
    if isinstance(value, dict):
        return {k: _mask_leaves(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, list):
        return [_mask_leaves(v) for v in value]
    return MASK


def is_kubernetes_object(res: RecordedResource) -> bool:
    return res.custom and res.type.startswith("kubernetes:") and "apiVersion" in res.inputs


def to_manifest(res: RecordedResource) -> dict[str, Any]:
    body, _ = normalise(res.inputs)
    # Keep the conventional key order so the YAML reads like a hand-written manifest.
    ordered: dict[str, Any] = {}
    for key in ("apiVersion", "kind", "metadata", "type", "spec", "data", "stringData"):
        if key in body:
            ordered[key] = body.pop(key)
    ordered.update(body)
    return ordered


def _sort_key(m: dict[str, Any]) -> tuple[int, str, str]:
    kind = m.get("kind", "")
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    meta = m.get("metadata", {})
    return rank, str(meta.get("namespace", "")), str(meta.get("name", ""))


def manifests(result: SynthResult) -> list[dict[str, Any]]:
    """Every Kubernetes object the program registered, in apply order."""
    return sorted((to_manifest(r) for r in result.resources if is_kubernetes_object(r)), key=_sort_key)


def object_collisions(items: list[dict[str, Any]]) -> list[str]:
    """Two objects with the same kind, namespace and name would overwrite each other on apply."""
    seen: set[tuple[str, str, str, str]] = set()
    problems = []
    for m in items:
        meta = m.get("metadata", {})
        key = (m.get("apiVersion", ""), m.get("kind", ""), str(meta.get("namespace", "")), str(meta.get("name", "")))
        if key in seen:
            problems.append(f"two {key[1]} objects named {key[3]!r} in namespace {key[2] or '(cluster)'!r}")
        seen.add(key)
    return problems


def inventory_entries(result: SynthResult, phase: str) -> list[dict[str, Any]]:
    """Every resource (Kubernetes, AWS, random, components) with masked, camelCase inputs."""
    by_urn = result.by_urn()
    entries = []
    for r in result.resources:
        inputs, _ = normalise(r.inputs)
        parent = by_urn.get(r.parent_urn)
        entries.append({
            "type": r.type,
            "name": r.name,
            "parent": parent.name if parent else None,
            "parent_type": parent.type if parent else None,
            "phase": phase,
            "custom": r.custom,
            "protect": r.protect,
            "retain_on_delete": r.retain_on_delete,
            "inputs": inputs,
        })
    return entries
