"""Availability: the tier the requirements need, and the SLO the resulting design can reach.

The tier (`ha_tier`) comes from the stated availability, and from criticality plus compliance:
real-time scoring of regulated data (pci-dss, soc2, hipaa) must survive a zone outage whatever
availability is stated, because a failed authorisation path is itself a compliance incident.

The achievable SLO (`achievable_slo`) is bounded by the weakest component on the path the stated
availability is about, each counted at its AWS SLA:
- real-time: the request path (model server, Feast feature server and the Redis online store
  when features are looked up online). Kafka is off it (inference logging is asynchronous), and so
  is the Kubernetes API: running pods keep serving while it is away;
- batch and none: the platform services jobs need (the Kubernetes API, Postgres, the object store,
  MLflow).
Each component counts as: EC2 across zones 99.99 (two or more replicas spread over nodes in
several zones), EC2 single instance 99.5 (one replica, or an in-cluster store's one volume in one
zone), the EKS API 99.95, RDS Multi-AZ 99.95, ElastiCache Multi-AZ 99.99, S3 99.9. The bound is the
minimum; when components fail independently the product is lower still, and the rationale says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omgml.spec import PlatformSpec
from omgml.spec.requirements import Requirements

# AWS service level agreements (monthly uptime, %): EC2 region-level and instance-level, EKS
# (Kubernetes endpoint), RDS Multi-AZ, ElastiCache Multi-AZ, S3 Standard.
SLA: dict[str, float] = {
    "ec2-multi-az": 99.99,
    "ec2-single": 99.5,
    "eks-api": 99.95,
    "rds-multi-az": 99.95,
    "elasticache-multi-az": 99.99,
    "s3": 99.9,
}
SLA_WHAT: dict[str, str] = {
    "ec2-multi-az": "EC2 across zones",
    "ec2-single": "EC2 single instance",
    "eks-api": "EKS API",
    "rds-multi-az": "RDS Multi-AZ",
    "elasticache-multi-az": "ElastiCache Multi-AZ",
    "s3": "S3",
}
HIGH = ("99.95", "99.99")
MINUTES_PER_MONTH = 30 * 24 * 60


@dataclass(frozen=True)
class Tier:
    choice: str  # single | multi-replica | multi-az
    zones: int
    drivers: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class Slo:
    asked: float
    achievable: float | None  # None: no SLO (one machine)
    path: str  # which path the number is about
    components: tuple[tuple[str, str, float], ...]  # (component, SLA name, %)
    bound_by: str

    @property
    def gap(self) -> float:
        return 0.0 if self.achievable is None else max(0.0, self.asked - self.achievable)

    def arithmetic(self) -> str:
        if self.achievable is None:
            return "target local: one machine, no SLO"
        parts = ", ".join(f"{c} {pct:g} ({SLA_WHAT[s]})" for c, s, pct in self.components)
        product = math.prod(p / 100 for _, _, p in self.components) * 100
        return (f"{self.path}: {parts}; bounded by {self.bound_by} at {self.achievable:g} % "
                f"(all failing independently: {product:.2f} %)")

    def to_json(self) -> dict[str, object]:
        return {"asked": self.asked, "achievable": self.achievable, "path": self.path, "bound_by": self.bound_by,
                "components": [{"component": c, "sla": s, "percent": p} for c, s, p in self.components],
                "arithmetic": self.arithmetic()}


def ha_tier(req: Requirements, real_time: bool) -> Tier:
    a = req.availability
    if req.target == "local":
        why = ("target local: one machine runs the whole platform, so replicas cannot add availability; "
               "single replicas keep it inside the laptop budget.")
        if a != "99.0":
            why += f" availability {a} cannot be met locally."
        return Tier("single", 2, ("target", "availability"), why)
    regulated = req.regulated()
    if a in HIGH:
        return Tier("multi-az", 3, ("availability", "target"),
                    f"availability {a} on aws must survive a zone outage: three availability zones.")
    if regulated and real_time:
        return Tier("multi-az", 3, ("compliance", "serving.mode", "target"), (
            f"compliance {', '.join(regulated)} with real-time scoring: a zone outage must not stop the scoring "
            f"path (availability {a} alone would allow it), so three availability zones."))
    if a == "99.9":
        return Tier("multi-replica", 2, ("availability", "target"),
                    "availability 99.9 on aws: two replicas of every service over two zones, so a failed node "
                    "is not an outage.")
    return Tier("single", 2, ("availability", "target"),
                "availability 99.0 on aws: single replicas; a failed node means a short outage while Kubernetes "
                "reschedules.")


def _replicated(n: int, zones: int) -> str:
    return "ec2-multi-az" if n >= 2 and zones >= 2 else "ec2-single"


def achievable_slo(req: Requirements, spec: PlatformSpec, mode: str) -> Slo:
    asked = float(req.availability)
    if spec.target == "local":
        return Slo(asked, None, "the platform", (), "one machine")
    f, s = spec.phases.foundation, spec.phases.serving
    zones = spec.aws.availability_zones
    comps: list[tuple[str, str]] = []
    if mode == "real-time" and s.server.enabled:
        path = "the real-time request path"
        comps.append(("model server", _replicated(s.server.replicas, zones)))
        if f.feast.enabled and f.feast.online_store == "redis":
            comps.append(("Feast feature server", _replicated(f.feast.replicas, zones)))
            comps.append(("Redis online store", "elasticache-multi-az" if f.redis.managed else "ec2-single"))
    else:
        path = "the platform services pipelines need"
        comps.append(("Kubernetes API", "eks-api"))
        if f.postgres.enabled:
            comps.append(("Postgres", "rds-multi-az" if f.postgres.managed else "ec2-single"))
        if f.object_store.enabled:
            comps.append(("object store", "s3" if f.object_store.managed else "ec2-single"))
        if f.mlflow.enabled:
            comps.append(("MLflow", _replicated(f.mlflow.replicas, zones)))
    rated = tuple((c, sla, SLA[sla]) for c, sla in comps)
    weakest = min(rated, key=lambda x: x[2])
    return Slo(asked, weakest[2], path, rated, f"{weakest[0]} ({SLA_WHAT[weakest[1]]})")


def downtime_minutes(percent: float) -> float:
    return (100 - percent) / 100 * MINUTES_PER_MONTH


__all__ = ["SLA", "Slo", "Tier", "achievable_slo", "downtime_minutes", "ha_tier"]
