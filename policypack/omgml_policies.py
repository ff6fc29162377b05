"""Adapters from CrossGuard's callbacks to omgml's pure policy functions.

This module does not import pulumi_policy, so the callbacks are tested without the engine:
each takes an `args` object with the attributes CrossGuard gives (resource_type, props, urn,
name; a stack's args has `.resources`) and a `report_violation(message, urn=None)` function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omgml.policy import PolicyContext, check_object
from omgml.policy.aws import bucket_findings, encryption_findings, ingress_findings
from omgml.policy.backup import check_backups
from omgml.policy.containers import check_images, check_probes, check_resources
from omgml.policy.findings import Finding, resource_id
from omgml.policy.gpu import check_gpu_scheduling
from omgml.policy.network import check_network_policies
from omgml.policy.pod_security import check_namespace, check_pod_security, namespace_allowances
from omgml.policy.secrets import check_secrets

try:  # present inside the pack's virtualenv; the tests run without it
    from pulumi_policy.proxy import UnknownValueError as _Unknown  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    class _Unknown(Exception):  # type: ignore[no-redef]
        pass

Report = Callable[..., None]
Manifest = dict[str, Any]


def plain(value: Any) -> Any:
    """Props as plain dicts and lists. Values unknown during preview are left out: a policy
    judges what is known, and the real update runs the policies again with every value known."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k in list(value):
            try:
                out[str(k)] = plain(value[k])
            except _Unknown:
                continue
        return out
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except _Unknown:
                continue
        return items
    return value


def manifest_of(resource_type: str, props: Any) -> Manifest | None:
    """A Kubernetes resource's props are its manifest (camelCase, apiVersion/kind included)."""
    if not resource_type.startswith("kubernetes:"):
        return None
    m = plain(props)
    return m if isinstance(m, dict) and "kind" in m else None


def _message(f: Finding) -> str:
    where = f"{f.resource} {f.field}".strip()
    return f"{where}: {f.message}. Fix: {f.fix}"


def _report_all(findings: list[Finding], report_violation: Report, urn: str | None = None) -> None:
    for f in findings:
        if urn is None:
            report_violation(_message(f))
        else:
            report_violation(_message(f), urn)


# --- per-resource policies --------------------------------------------------------------------

ManifestCheck = Callable[[Manifest], list[Finding]]
KUBERNETES_RESOURCE_POLICIES: dict[str, ManifestCheck] = {
    "image-pinned-tag": check_images,
    "container-resources": check_resources,
    "container-probes": check_probes,
    "no-plaintext-secrets": check_secrets,
    "gpu-scheduling": check_gpu_scheduling,
}
EntryCheck = Callable[[dict[str, Any]], list[Finding]]
AWS_RESOURCE_POLICIES: dict[str, EntryCheck] = {
    "aws-data-store-encryption": encryption_findings,
    "aws-no-open-ingress": ingress_findings,
}


def kubernetes_validator(policy_id: str) -> Callable[[Any, Report], None]:
    check = KUBERNETES_RESOURCE_POLICIES[policy_id]

    def validate(args: Any, report_violation: Report) -> None:
        m = manifest_of(str(args.resource_type), args.props)
        if m is not None:
            _report_all(check(m), report_violation)

    return validate


def aws_validator(policy_id: str) -> Callable[[Any, Report], None]:
    check = AWS_RESOURCE_POLICIES[policy_id]

    def validate(args: Any, report_violation: Report) -> None:
        if str(args.resource_type).startswith("aws:"):
            entry = {"type": str(args.resource_type), "name": str(args.name), "inputs": plain(args.props)}
            _report_all(check(entry), report_violation)

    return validate


# --- stack policies: the rules that need the other resources ----------------------------------

def _stack_manifests(args: Any) -> list[tuple[Manifest, str]]:
    out = []
    for r in args.resources:
        m = manifest_of(str(r.resource_type), r.props)
        if m is not None:
            out.append((m, str(r.urn)))
    return out


def validate_pod_security(args: Any, report_violation: Report) -> None:
    pairs = _stack_manifests(args)
    allowances = namespace_allowances([m for m, _ in pairs])
    for m, urn in pairs:
        _report_all(check_namespace(m) + check_pod_security(m, allowances), report_violation, urn)


def validate_network_policies(args: Any, report_violation: Report) -> None:
    _report_all(check_network_policies([m for m, _ in _stack_manifests(args)]), report_violation)


def validate_bucket_encryption(args: Any, report_violation: Report) -> None:
    entries = [{"type": str(r.resource_type), "name": str(r.name), "inputs": plain(r.props),
                "parent": str(getattr(getattr(r, "parent", None), "urn", "") or "") or None}
               for r in args.resources if str(r.resource_type).startswith("aws:")]
    _report_all(bucket_findings(entries), report_violation)


def validate_backups(args: Any, report_violation: Report) -> None:
    """The pack does not see the spec's profile; data resources are protected outside the laptop
    profile (omgml.components.options.keeps_data), so a stack with a protected resource keeps data."""
    keeps = any(bool(getattr(getattr(r, "opts", None), "protect", False)) for r in args.resources)
    entries = [{"type": str(r.resource_type), "name": str(r.name), "inputs": plain(r.props),
                "parent": str(getattr(getattr(r, "parent", None), "urn", "") or "") or None}
               for r in args.resources if str(r.resource_type).startswith("aws:")]
    findings = check_backups([m for m, _ in _stack_manifests(args)], {"resources": entries},
                             "small" if keeps else "laptop")
    _report_all(findings, report_violation)


STACK_POLICIES: dict[str, Callable[[Any, Report], None]] = {
    "backup-configured": validate_backups,
    "pod-security-restricted": validate_pod_security,
    "network-policy-per-namespace": validate_network_policies,
    "aws-s3-bucket-encryption": validate_bucket_encryption,
}


def check_everything(manifests: list[Manifest]) -> list[Finding]:
    """What the pack reports for a set of manifests (used by the tests to compare with `omgml check`)."""
    ctx = PolicyContext(namespace_allowances(manifests))
    return [f for m in manifests for f in check_object(m, ctx)] + check_network_policies(manifests)


__all__ = [
    "AWS_RESOURCE_POLICIES", "KUBERNETES_RESOURCE_POLICIES", "STACK_POLICIES", "aws_validator",
    "check_everything", "kubernetes_validator", "manifest_of", "plain", "resource_id",
]
