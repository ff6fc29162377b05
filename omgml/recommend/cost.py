"""A rough monthly AWS cost model, good enough to tell a budget it obviously cannot hold.

This runs before anything is rendered, from the PlatformSpec alone. It is deliberately coarse:
list prices for us-east-1 (on-demand, Linux, rounded, as published in 2026), 730 hours a month,
and a few stated assumptions. `omgml cost` (guardrails issue) prices the rendered inventory
in detail; this model only has to find the few items that dominate a bill.

Assumptions:
- CPU nodes per profile (system + CPU workloads): small = 3 × m6i.large, production = 6 × m6i.xlarge.
- Training GPU pools scale to zero between runs; they are counted at max_size for
  TRAINING_UTILISATION of the month, at SPOT_FACTOR of the on-demand price when spot.
- Inference GPU pools run min_size nodes all month, on demand.
- One NAT gateway per availability zone (fixed hourly charge only).
- In-cluster stores pay EBS gp3 per GiB; managed ones pay the instance prices below (Multi-AZ
  where the service has it). Object storage holds DATA_RETENTION_DAYS of data.daily_volume_gb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omgml.spec import PlatformSpec

HOURS_PER_MONTH = 730
TRAINING_UTILISATION = 0.25
SPOT_FACTOR = 0.4
DATA_RETENTION_DAYS = 30

# USD per hour, us-east-1 on-demand list prices (rounded).
INSTANCE_HOURLY: dict[str, float] = {
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g5.12xlarge": 5.672,
    "g5.48xlarge": 16.288,
    "g6.xlarge": 0.805,
}
# Used when a pool names an instance type the table does not know.
UNKNOWN_GPU_HOURLY = 2.0
EKS_CONTROL_PLANE_HOURLY = 0.10
NAT_GATEWAY_HOURLY = 0.045
EBS_GP3_GIB_MONTH = 0.08
S3_GIB_MONTH = 0.023
CPU_NODES: dict[str, tuple[str, int]] = {
    "laptop": ("m6i.large", 2),
    "small": ("m6i.large", 3),
    "production": ("m6i.xlarge", 6),
}
# Managed services: (description, USD per hour) at the size the production profile implies.
MANAGED_HOURLY: dict[str, tuple[str, float]] = {
    "postgres": ("RDS PostgreSQL db.m6g.large, Multi-AZ", 0.304),
    "redis": ("ElastiCache cache.m6g.large, primary + replica", 0.298),
    "kafka": ("MSK 3 × kafka.m7g.large", 0.612),
}


@dataclass(frozen=True)
class CostLine:
    item: str
    usd_month: float
    note: str


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> float:
        return sum(line.usd_month for line in self.lines)

    def biggest(self, n: int = 3) -> list[CostLine]:
        return sorted(self.lines, key=lambda line: (-line.usd_month, line.item))[:n]


def _monthly(hourly: float) -> float:
    return hourly * HOURS_PER_MONTH


def estimate_aws_monthly(spec: PlatformSpec, daily_volume_gb: float) -> CostEstimate:
    """Rough monthly USD for `spec` on AWS (the spec's target is not consulted)."""
    lines = [
        CostLine("eks-control-plane", _monthly(EKS_CONTROL_PLANE_HOURLY), "EKS cluster fee"),
        CostLine("nat-gateways", _monthly(NAT_GATEWAY_HOURLY) * spec.aws.availability_zones,
                 f"one per availability zone ({spec.aws.availability_zones})"),
    ]
    node_type, nodes = CPU_NODES[spec.profile]
    lines.append(CostLine("cpu-nodes", _monthly(INSTANCE_HOURLY[node_type]) * nodes,
                          f"{nodes} × {node_type} ({spec.profile} profile)"))
    for pool in spec.all_gpu_pools():
        hourly = INSTANCE_HOURLY.get(pool.instance_types[0], UNKNOWN_GPU_HOURLY)
        if pool.purpose == "training":
            factor = SPOT_FACTOR if pool.spot else 1.0
            usd = _monthly(hourly) * pool.max_size * TRAINING_UTILISATION * factor
            note = (f"{pool.max_size} × {pool.instance_types[0]} busy {TRAINING_UTILISATION:.0%} of the month"
                    + (", spot" if pool.spot else ""))
        else:
            usd = _monthly(hourly) * pool.min_size
            note = f"{pool.min_size} × {pool.instance_types[0]} always on"
        lines.append(CostLine(f"gpu-pool:{pool.name}", usd, note))
    f = spec.phases.foundation
    ebs_gib = 0
    for name in ("postgres", "redis", "kafka"):
        store = getattr(f, name)
        if not store.enabled:
            continue
        if store.managed:
            label, hourly = MANAGED_HOURLY[name]
            lines.append(CostLine(f"managed-{name}", _monthly(hourly), label))
        else:
            copies = (f.kafka.brokers or 3) if name == "kafka" else 1
            ebs_gib += store.storage_gib * copies
    data_gib = math.ceil(daily_volume_gb * DATA_RETENTION_DAYS)
    if f.object_store.enabled:
        if f.object_store.managed:
            lines.append(CostLine("s3", data_gib * S3_GIB_MONTH, f"{data_gib} GiB ({DATA_RETENTION_DAYS} days of data)"))
        else:
            ebs_gib += max(f.object_store.storage_gib, data_gib)
    if ebs_gib:
        lines.append(CostLine("ebs-volumes", ebs_gib * EBS_GP3_GIB_MONTH, f"{ebs_gib} GiB gp3"))
    return CostEstimate(tuple(lines))
