"""A namespace the platform owns: Pod Security labels and default-deny networking.

Every namespace starts closed (ingress and egress denied), then opens exactly DNS and traffic
between its own pods. Components add the cross-namespace allows they need on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.labels import standard_labels

TYPE_TOKEN = "omgml:core:Namespace"
PodSecurityLevel = Literal["restricted", "baseline", "privileged"]
EXTERNAL_EGRESS = "allow-external-egress"
EXTERNAL_EGRESS_REASON = ("the spec opens this namespace to the internet (allow_external_egress: true), e.g. for "
                          "package indexes and public datasets; set it to false to close it")


@dataclass(frozen=True)
class NamespaceArgs:
    name: str
    pod_security: PodSecurityLevel = "restricted"
    # Why a level below "restricted" is needed; required for anything weaker.
    pod_security_reason: str | None = None
    # Namespaces whose pods may reach any pod here (e.g. the serving phase reading features).
    allow_ingress_from: tuple[str, ...] = ()
    # Whether pods here may open connections outside the cluster (package mirrors, cloud APIs).
    allow_external_egress: bool = False
    # Further labels (key, value) tools select the namespace by (e.g. Katib's metrics-collector
    # injection); they may not touch the Pod Security or app.kubernetes.io labels.
    extra_labels: tuple[tuple[str, str], ...] = ()


def namespace_labels(args: NamespaceArgs) -> dict[str, str]:
    if args.pod_security != "restricted" and not args.pod_security_reason:
        raise ValueError(
            f"namespace {args.name!r}: pod_security {args.pod_security!r} is weaker than 'restricted'; "
            "give pod_security_reason saying why the workload needs it"
        )
    labels = standard_labels("namespace", args.name)
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = args.pod_security
    for key, value in args.extra_labels:
        if key in labels:
            raise ValueError(f"namespace {args.name!r}: extra label {key!r} would replace omgml's own; use another key")
        labels[key] = value
    return labels


def namespace_annotations(args: NamespaceArgs) -> dict[str, str]:
    """The stated reason for a weaker Pod Security level, where `omgml check` looks for it."""
    if args.pod_security != "restricted" and args.pod_security_reason:
        return {"omgml.dev/pod-security-reason": args.pod_security_reason}
    return {}


def network_policies(args: NamespaceArgs) -> list[tuple[str, kube.JsonDict]]:
    """(suffix, spec) of each NetworkPolicy for the namespace, default-deny first."""
    same_ns: list[kube.JsonDict] = [{"podSelector": {}}]
    dns_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    policies: list[tuple[str, kube.JsonDict]] = [
        ("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        ("allow-same-namespace", {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": same_ns}],
            "egress": [{"to": same_ns}],
        }),
        ("allow-dns", {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [dns_peer], "ports": [
                {"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}],
        }),
    ]
    if args.allow_ingress_from:
        policies.append(("allow-from-platform", {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                for ns in sorted(args.allow_ingress_from)
            ]}],
        }))
    if args.allow_external_egress:
        # Anything outside the cluster's private ranges; in-cluster peers stay governed by the
        # explicit allows above.
        policies.append((EXTERNAL_EGRESS, kube.egress_policy_spec({}, external_only=True)))
    return policies


def egress_to_namespaces(namespaces: list[str]) -> kube.JsonDict:
    """NetworkPolicy spec letting every pod of a namespace reach pods in `namespaces`."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
            for ns in sorted(namespaces)
        ]}],
    }


class PlatformNamespace(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: NamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        labels = namespace_labels(args)
        policies = network_policies(args)
        ns_meta: dict[str, object] = {"name": args.name, "labels": labels}
        annotations = namespace_annotations(args)
        if annotations:  # only with a reason: restricted namespaces render unchanged
            ns_meta["annotations"] = annotations
        ns = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=ns_meta,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for suffix, spec in policies:
            policy_meta: kube.JsonDict = {"name": suffix, "namespace": args.name,
                                     "labels": standard_labels("namespace", args.name)}
            if suffix == EXTERNAL_EGRESS:
                policy_meta = kube.with_egress_reason(policy_meta, EXTERNAL_EGRESS_REASON)
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{suffix}",
                metadata=policy_meta,
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
            )
        self.name = ns.metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)
        self.register_outputs({"name": self.name})
