"""Every namespace that runs workloads has at least one NetworkPolicy (default-deny first)."""

from __future__ import annotations

from collections.abc import Iterable

from omgml.policy.findings import Finding, Manifest
from omgml.policy.pod_security import SYSTEM_NAMESPACES
from omgml.policy.pods import namespace_of, pod_spec_at

POLICY_ID = "network-policy-per-namespace"


def check_network_policies(items: Iterable[Manifest]) -> list[Finding]:
    items = list(items)
    covered = {namespace_of(m) for m in items if m.get("kind") == "NetworkPolicy"}
    workloads: dict[str, list[str]] = {}
    for m in items:
        if pod_spec_at(m) is not None:
            workloads.setdefault(namespace_of(m), []).append(f"{m['kind']}/{m.get('metadata', {}).get('name')}")
    out = []
    for ns, names in sorted(workloads.items()):
        if ns in covered or ns in SYSTEM_NAMESPACES:
            continue
        out.append(Finding(
            POLICY_ID, "error", f"Namespace/{ns}", "",
            f"namespace runs {len(names)} workload(s) ({', '.join(sorted(names)[:3])}"
            f"{', …' if len(names) > 3 else ''}) but has no NetworkPolicy: every pod accepts any traffic",
            "create the namespace with components.namespace.PlatformNamespace (default-deny + explicit allows)",
        ))
    return out
