"""Compliance controls, written from the PlatformSpec so each names only what is deployed.

A control either points at a setting the spec carries and the components act on (the stores
that exist, the namespaces that exist, the orchestrator that runs), or at what the team must
still do itself (an AWS agreement, an account setting omgml does not manage).
"""

from __future__ import annotations

from omgml.spec import PlatformSpec
from omgml.spec.requirements import Requirements

Notes = list[tuple[str, str]]
AWS_NAMES: dict[str, str] = {"postgres": "RDS", "redis": "ElastiCache", "kafka": "MSK", "object_store": "S3"}
IN_CLUSTER_NAMES: dict[str, str] = {"postgres": "Postgres", "redis": "Redis", "kafka": "Kafka",
                                    "object_store": "the SeaweedFS object store"}


def platform_namespaces(spec: PlatformSpec) -> list[str]:
    """Every namespace the platform creates (each gets a default-deny NetworkPolicy)."""
    t, s = spec.phases.training, spec.phases.serving
    out = [spec.phases.foundation.namespace]
    if t.enabled and t.kubeflow.enabled:
        out += [t.kubeflow.namespace, t.kubeflow.user_namespace]
    if t.orchestration_namespace_needed():
        out.append(t.orchestration.namespace)
    if s.enabled:
        out.append(s.namespace)
    return out


def _stores(spec: PlatformSpec, managed: bool) -> list[str]:
    f = spec.phases.foundation
    names = AWS_NAMES if managed else IN_CLUSTER_NAMES
    return [names[s] for s in AWS_NAMES if getattr(f, s).enabled and getattr(f, s).managed == managed]


def compliance_controls(req: Requirements, spec: PlatformSpec) -> tuple[list[str], Notes]:
    """(controls the platform applies or leaves to the team, warnings) for the stated regimes."""
    controls: list[str] = []
    notes: Notes = []
    regulated = req.regulated()
    aws = spec.target == "aws"
    if regulated:
        regimes = ", ".join(regulated)
        if aws:
            managed, local = _stores(spec, True), _stores(spec, False)
            parts = ["Kubernetes Secrets are envelope-encrypted with a customer-managed KMS key"]
            if managed:
                parts.append(f"{', '.join(managed)} encrypt with their own customer-managed KMS keys")
            if local:
                parts.append(f"the volumes of {', '.join(local)} are gp3 EBS volumes from the encrypted default "
                             "StorageClass")
            controls.append(f"encryption at rest ({regimes}): {'; '.join(parts)}. Node root volumes follow the "
                            "account's EBS encryption by default (omgml sets no launch template): turn it on in "
                            "the account")
            logs = ["the EKS control-plane api, audit and authenticator logs go to CloudWatch, kept 365 days"]
            if spec.phases.foundation.postgres.enabled and spec.phases.foundation.postgres.managed:
                logs.append("RDS logs every connection and disconnection and exports its log to CloudWatch")
            if spec.phases.foundation.kafka.enabled and spec.phases.foundation.kafka.managed:
                logs.append("MSK broker logs go to CloudWatch, kept 365 days")
            controls.append(f"audit logging ({regimes}): aws.audit_logging: true; {'; '.join(logs)}")
        controls.append(f"network policies ({regimes}): namespaces {', '.join(platform_namespaces(spec))} each get a "
                        "default-deny NetworkPolicy with explicit allows; they hold only where the network plugin "
                        "enforces NetworkPolicy" + (" (the VPC CNI does, with network policy enforcement on)"
                                                    if aws else ""))
        controls.append(f"no public endpoints ({regimes}): the platform creates no Ingress and no LoadBalancer "
                        "Service; reach it through kubectl port-forward or a private load balancer you add")
        t = spec.phases.training
        if t.enabled and t.kubeflow.enabled:
            controls.append(f"closed pipeline steps ({regimes}): phases.training.kubeflow.step_pod_security: "
                            f"{t.kubeflow.step_pod_security} and allow_external_egress: "
                            f"{str(t.kubeflow.allow_external_egress).lower()}, so steps run as non-root and cannot "
                            "reach the internet (bake their dependencies into the step images)")
        tools = [n for n in ("airflow", "prefect") if t.enabled and getattr(t, n).enabled]
        if tools:
            controls.append(f"closed {' and '.join(tools)} tasks ({regimes}): phases.training.orchestration."
                            f"allow_external_egress: {str(t.orchestration.allow_external_egress).lower()}")
        if t.airflow.connections_bundle:
            controls.append(f"your existing Airflow ({regimes}): it is outside this platform; its own controls "
                            "(encryption, audit, egress) are yours to show")
        if "hipaa" in regulated:
            controls.append("hipaa: sign AWS's Business Associate Addendum before protected health information "
                            "reaches the platform")
        if not aws:
            notes.append(("compliance", (
                f"compliance: {regimes} cannot be met on target local: a kind cluster has no encryption at rest "
                "and no audit log. Use it to try the platform, never for regulated data; use target aws.")))
    if "gdpr" in req.compliance:
        if aws:
            controls.append(f"gdpr: personal data stays in aws.region ({spec.aws.region}); choose an EU region in "
                            "omgml.yaml if your data-processing agreement requires it")
        else:
            controls.append("gdpr: personal data stays on this machine; on target aws it stays in aws.region")
    return controls, notes


__all__ = ["compliance_controls", "platform_namespaces"]
