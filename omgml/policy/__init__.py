"""The platform's policies: plain, pure functions over a render (manifests + inventory).

`omgml check` runs them on a fresh render; the CrossGuard pack in policypack/ runs the same
functions on each resource of a real `pulumi preview`. Every policy returns Findings naming
the resource, the field and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from omgml.policy.aws import check_aws_inventory
from omgml.policy.backup import check_backups
from omgml.policy.containers import check_images, check_probes, check_resources
from omgml.policy.findings import Finding, Manifest, Severity, errors, resource_id
from omgml.policy.gpu import check_gpu_scheduling
from omgml.policy.network import check_network_policies
from omgml.policy.pod_security import Allowance, check_namespace, check_pod_security, namespace_allowances
from omgml.policy.secrets import check_secrets

# id → what it enforces (shown by `omgml check` and in docs/policies.md)
POLICIES: dict[str, str] = {
    "pod-security-restricted": "Pod Security 'restricted' outside namespaces allowed a weaker level with a reason",
    "image-pinned-tag": "every image has a pinned tag (not missing, not 'latest') or a digest",
    "container-resources": "cpu and memory requests and limits on every container (init containers too)",
    "container-probes": "readiness and liveness probes on every app container",
    "no-plaintext-secrets": "no secret value in a ConfigMap, an env literal or an annotation",
    "network-policy-per-namespace": "a NetworkPolicy in every namespace that runs workloads",
    "gpu-scheduling": "GPU pods tolerate the GPU taint and select a GPU pool; only they do",
    "aws-data-store-encryption": "encryption on RDS, ElastiCache, MSK, S3 and EBS (target aws)",
    "aws-no-open-ingress": "no 0.0.0.0/0 ingress except declared public load balancers (target aws)",
    "backup-configured": ("outside the laptop profile: a backup CronJob per database, versioned object-store "
                          "buckets; on aws RDS backups + deletion protection + final snapshot, versioned S3"),
}


@dataclass(frozen=True)
class PolicyContext:
    """What per-object policies need to know about the rest of the render."""

    allowances: dict[str, Allowance] = field(default_factory=dict)
    gpu_pools: tuple[str, ...] = ()


def context_for(items: Iterable[Manifest], gpu_pools: Iterable[str] = ()) -> PolicyContext:
    return PolicyContext(namespace_allowances(items), tuple(gpu_pools))


def check_object(m: Manifest, ctx: PolicyContext) -> list[Finding]:
    """Every per-object policy on one Kubernetes manifest."""
    return [
        *check_namespace(m),
        *check_pod_security(m, ctx.allowances),
        *check_images(m),
        *check_resources(m),
        *check_probes(m),
        *check_secrets(m),
        *check_gpu_scheduling(m, ctx.gpu_pools),
    ]


def check_manifests(items: list[Manifest], gpu_pools: Iterable[str] = ()) -> list[Finding]:
    ctx = context_for(items, gpu_pools)
    out = [f for m in items for f in check_object(m, ctx)]
    out.extend(check_network_policies(items))
    return out


def run_policies(items: list[Manifest], inventory: dict[str, Any] | None = None, *,
                 target: str = "local", gpu_pools: Iterable[str] = (), profile: str = "laptop") -> list[Finding]:
    """All policies over a render; the AWS ones only for target aws, the backup ones outside laptop."""
    out = check_manifests(items, gpu_pools)
    if target == "aws" and inventory is not None:
        out.extend(check_aws_inventory(inventory))
    out.extend(check_backups(items, inventory if target == "aws" else None, profile))
    return out


__all__ = [
    "POLICIES", "Finding", "PolicyContext", "Severity", "check_aws_inventory", "check_backups", "check_manifests",
    "check_object", "context_for", "errors", "resource_id", "run_policies",
]
