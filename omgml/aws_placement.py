"""In-cluster or managed, per data store: a pure rule the recommendation records in its ADR.

`managed_services(target, profile, availability, compliance)` answers `{service: managed?}` for
postgres, redis, kafka and object_store; `service_placements(...)` gives the same decisions with
the AWS service and a rationale each. The rules, first match wins:

1. target local → in-cluster: managed services exist only on AWS.
2. profile laptop → in-cluster: a throwaway platform; managed services bill by the hour even idle.
3. availability 99.95 / 99.99 → managed: an in-cluster store is one StatefulSet whose volume lives
   in one zone, so a zone outage is an outage; RDS Multi-AZ, ElastiCache Multi-AZ, MSK across
   zones and S3 (regional by design) survive it.
4. a regulated regime (pci-dss, soc2, hipaa) → managed: the stores then sit inside AWS's own
   audited scope (encryption with KMS, CloudTrail, patching, backups with evidence), instead of
   the team proving all of that for self-run databases.
5. profile production → managed: backups with point-in-time restore, failover and patching are
   operations a production team should not hand-roll.
6. profile small → object store managed, the rest in-cluster: S3 costs less than the EBS volume a
   self-run object store needs and is far more durable; a small RDS/ElastiCache/MSK costs more per
   month than the spare capacity an in-cluster twin uses on the system nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omgml.spec.common import Profile, Target

SERVICES: tuple[str, ...] = ("postgres", "redis", "kafka", "object_store")
AWS_SERVICE: dict[str, str] = {
    "postgres": "Amazon RDS for PostgreSQL",
    "redis": "Amazon ElastiCache (Valkey)",
    "kafka": "Amazon MSK",
    "object_store": "Amazon S3",
}
IN_CLUSTER: dict[str, str] = {
    "postgres": "Postgres StatefulSet",
    "redis": "Redis StatefulSet",
    "kafka": "Kafka (KRaft) StatefulSet",
    "object_store": "SeaweedFS StatefulSet",
}
HIGH_AVAILABILITY = frozenset({"99.95", "99.99"})
REGULATED = frozenset({"pci-dss", "soc2", "hipaa"})


@dataclass(frozen=True)
class Placement:
    service: str
    managed: bool
    runs_as: str  # the AWS service or the in-cluster workload
    rationale: str


def _rule(target: Target, profile: Profile, availability: str, compliance: Sequence[str],
          service: str) -> tuple[bool, str]:
    if target == "local":
        return False, "target local: managed services exist only on AWS, so it runs in the cluster"
    if profile == "laptop":
        return False, ("profile laptop: a throwaway platform, where a managed service would bill by the hour "
                       "even while idle")
    if availability in HIGH_AVAILABILITY:
        return True, (f"availability {availability} must survive a zone outage; an in-cluster store keeps its "
                      f"volume in one zone, {AWS_SERVICE[service]} replicates across zones")
    regimes = sorted(set(compliance) & REGULATED)
    if regimes:
        return True, (f"compliance {', '.join(regimes)}: {AWS_SERVICE[service]} brings KMS encryption, "
                      "CloudTrail audit, patching and backups inside AWS's audited scope")
    if profile == "production":
        return True, ("profile production: backups with point-in-time restore, failover and patching are run by "
                      f"{AWS_SERVICE[service]} instead of by hand")
    if service == "object_store":
        return True, ("profile small: S3 costs less than the EBS volume a self-run object store needs, is far more "
                      "durable and uses no node capacity")
    return False, (f"profile small: the smallest {AWS_SERVICE[service]} costs more per month than the spare "
                   "capacity an in-cluster twin uses on the system nodes")


def service_placements(target: Target, profile: Profile, availability: str,
                       compliance: Sequence[str] = ()) -> dict[str, Placement]:
    out: dict[str, Placement] = {}
    for service in SERVICES:
        managed, why = _rule(target, profile, availability, compliance, service)
        out[service] = Placement(service, managed, AWS_SERVICE[service] if managed else IN_CLUSTER[service], why)
    return out


def managed_services(target: Target, profile: Profile, availability: str,
                     compliance: Sequence[str] = ()) -> dict[str, bool]:
    """{postgres|redis|kafka|object_store: True when it runs as the AWS managed service}."""
    return {s: p.managed for s, p in service_placements(target, profile, availability, compliance).items()}


def placement_rationales(target: Target, profile: Profile, availability: str,
                         compliance: Sequence[str] = ()) -> dict[str, str]:
    """One sentence per service for the ADR: where it runs and why."""
    return {s: f"{p.runs_as}: {p.rationale}"
            for s, p in service_placements(target, profile, availability, compliance).items()}
