"""In-cluster or managed, per data store: the pure rule the recommendation engine applies.

`service_placements(...)` answers, for postgres, redis, kafka and object_store, where it runs
(the AWS managed service or its in-cluster StatefulSet) with a rationale each. The rules, first
match wins:

1. target local → in-cluster: managed services exist only on AWS.
2. `requirements.in_cluster` lists the store → in-cluster: the team asked.
3. profile laptop → in-cluster: a throwaway platform; managed services bill by the hour even idle.
4. object_store → S3, on every other aws platform: regional (survives a zone outage), eleven nines
   of durability, no volume to size or grow and no node capacity used. Except under a Delta Lake
   offline store, whose reader (DuckDB's delta extension) takes static S3 keys only, while S3 here
   has none (IRSA). What it costs next to the in-cluster store is priced from both renders
   (omgml.recommend.pricing), NAT-gateway processing of its traffic included.
5. kafka → in-cluster: Amazon MSK is not recommended yet. MSK here listens with IAM auth only
   (SASL/IAM on 9098). omgml creates its topics (MSK's topic API) and gives the model containers
   the SASL settings and a topic-scoped IAM role, but the inference log is written by the team's
   model code, whose image needs an MSK IAM signer library omgml cannot put there (the official
   Kafka image has none either).
   Three in-cluster brokers spread over the nodes (one per zone on the production profile) with
   replication factor 3 and two in-sync replicas survive a node or zone outage.
   `phases.foundation.kafka.managed: true` in omgml.yaml still selects MSK.
6. availability 99.95 / 99.99 → managed: an in-cluster store is one pod whose volume lives in one
   zone, so a zone outage is an outage; RDS Multi-AZ and ElastiCache Multi-AZ fail over.
7. a regulated regime (pci-dss, soc2, hipaa) → managed: the store sits inside AWS's own audited
   scope (KMS encryption, CloudTrail, patching, backups with evidence).
8. availability 99.9 → managed: failover to a standby in about a minute, where an in-cluster
   store waits for its pod to be rescheduled and its volume re-attached.
9. profile production → managed: backups with point-in-time restore, failover and patching are
   run by AWS instead of by hand.
10. otherwise (profile small, 99.0) → in-cluster: the smallest RDS or ElastiCache costs more per
    month than the spare capacity an in-cluster twin uses on the system nodes.

Rules 8 and 9 are conveniences, not requirements: `movable` marks them, and the engine moves those
stores in-cluster when the estimate exceeds `budget_usd_month` (omgml.recommend.pricing).
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
MSK_NOT_YET = (
    "Amazon MSK is not recommended yet: MSK here accepts IAM-authenticated clients only (SASL/IAM); omgml "
    "creates the topics and gives the model containers the SASL settings and an IAM role, but the inference "
    "log is written by the team's model code, whose image needs an MSK IAM signer library "
    "(aws-msk-iam-sasl-signer-python) that omgml cannot add. Three in-cluster brokers with replication factor 3 and two "
    "in-sync replicas survive a node or zone outage; phases.foundation.kafka.managed: true selects MSK anyway"
)


@dataclass(frozen=True)
class Placement:
    service: str
    managed: bool
    runs_as: str  # the AWS service or the in-cluster workload
    rationale: str
    # Managed for convenience only (rules 8 and 9): a budget may move it in-cluster.
    movable: bool = False


def _rule(target: Target, profile: Profile, availability: str, compliance: Sequence[str],
          service: str, in_cluster: Sequence[str], delta_offline: bool) -> tuple[bool, str, bool]:
    if target == "local":
        return False, "target local: managed services exist only on AWS, so it runs in the cluster", False
    if service in in_cluster:
        return False, f"in_cluster lists {service}: it runs in the cluster as asked", False
    if profile == "laptop":
        return False, ("profile laptop: a throwaway platform, where a managed service would bill by the hour "
                       "even while idle"), False
    if service == "object_store":
        if delta_offline:
            return False, ("the Delta Lake feature tables are read by DuckDB's delta extension, which takes static "
                           "S3 keys only, and S3 here has none (IRSA): the object store stays in the cluster"), False
        return True, ("S3 is regional (survives a zone outage), eleven nines durable, has no volume to size or "
                      "grow and uses no node capacity; each workload reaches it through its own IRSA role"), False
    if service == "kafka":
        return False, MSK_NOT_YET, False
    if availability in HIGH_AVAILABILITY:
        return True, (f"availability {availability} must survive a zone outage; an in-cluster store keeps its "
                      f"volume in one zone, {AWS_SERVICE[service]} Multi-AZ fails over to another"), False
    regimes = sorted(set(compliance) & REGULATED)
    if regimes:
        return True, (f"compliance {', '.join(regimes)}: {AWS_SERVICE[service]} brings KMS encryption, "
                      "CloudTrail audit, patching and backups inside AWS's audited scope"), False
    if availability == "99.9":
        return True, (f"availability 99.9: {AWS_SERVICE[service]} fails over to a standby in about a minute, where "
                      "an in-cluster store waits for its pod to be rescheduled and its volume re-attached"), True
    if profile == "production":
        return True, ("profile production: backups with point-in-time restore, failover and patching are run by "
                      f"{AWS_SERVICE[service]} instead of by hand"), True
    return False, (f"profile {profile} at availability {availability}: the smallest {AWS_SERVICE[service]} costs more "
                   "per month than the spare capacity an in-cluster twin uses on the system nodes"), False


def service_placements(target: Target, profile: Profile, availability: str, compliance: Sequence[str] = (),
                       in_cluster: Sequence[str] = (), delta_offline: bool = False) -> dict[str, Placement]:
    out: dict[str, Placement] = {}
    for service in SERVICES:
        managed, why, movable = _rule(target, profile, availability, compliance, service, in_cluster,
                                      delta_offline)
        out[service] = Placement(service, managed, AWS_SERVICE[service] if managed else IN_CLUSTER[service], why,
                                 movable)
    return out


def managed_services(target: Target, profile: Profile, availability: str, compliance: Sequence[str] = (),
                     in_cluster: Sequence[str] = (), delta_offline: bool = False) -> dict[str, bool]:
    """{postgres|redis|kafka|object_store: True when it runs as the AWS managed service}."""
    placements = service_placements(target, profile, availability, compliance, in_cluster, delta_offline)
    return {s: p.managed for s, p in placements.items()}


def placement_rationales(target: Target, profile: Profile, availability: str,
                         compliance: Sequence[str] = ()) -> dict[str, str]:
    """One sentence per service for the ADR: where it runs and why."""
    return {s: f"{p.runs_as}: {p.rationale}"
            for s, p in service_placements(target, profile, availability, compliance).items()}
