"""What the spec's `backup` section means for a platform (pure): which stores are backed up and
how, where the dumps go, the alerts, and the decision record.

| store | in-cluster | aws (managed) |
|---|---|---|
| Postgres (MLflow, Feast, Airflow, Prefect) | nightly pg_dump per database → backup bucket | RDS automated backups (PITR), deletion protection, final snapshot |
| MySQL (Kubeflow Pipelines) | nightly mysqldump → backup bucket | (always in-cluster) |
| object store | SeaweedFS bucket versioning; old versions pruned after the retention | S3 versioning + lifecycle |
| Redis | not backed up: Feast's online store is rebuilt by materialisation | ElastiCache snapshots |
| Kafka | not backed up: replication + topic retention | MSK replication |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from omgml.adr import adr_document
from omgml.buckets import BACKUPS_ROLE, bucket_names
from omgml.naming import k8s_name

if TYPE_CHECKING:
    from omgml.components.backup.jobs import BackupSettings
    from omgml.components.contracts import S3Consumer
    from omgml.components.prometheus.rules import AlertRule
    from omgml.spec import PlatformSpec

# How long after the schedule's longest gap a missing backup alerts: a dump of a large database
# and its upload take a while.
GRACE_SECONDS = 3600
PUSHGATEWAY_PORT = 9091
# Component ids in the bucket (the backup id prefix) and in the metrics' `component` label.
POSTGRES = "postgres"
KFP_MYSQL = "kfp-mysql"
OBJECT_STORE = "objectstore"
RDS_MAX_RETENTION_DAYS = 35  # the longest automated-backup retention RDS accepts


@dataclass(frozen=True)
class Pushgateway:
    url: str
    namespace: str
    selector: dict[str, str]


def backup_bucket(spec: PlatformSpec) -> str:
    """Where the dumps go: `backup.destination`, or the platform's own `<platform>-backups`."""
    if spec.backup.destination is not None:
        return spec.backup.destination
    return bucket_names(spec).get(BACKUPS_ROLE) or k8s_name(spec.name, BACKUPS_ROLE)


def pushgateway(spec: PlatformSpec) -> Pushgateway | None:
    """The serving phase's Pushgateway, when the spec deploys one (the backups push there)."""
    s = spec.phases.serving
    if not (s.enabled and s.prometheus.enabled and s.prometheus.pushgateway):
        return None
    name = k8s_name(spec.name, "pushgateway")
    return Pushgateway(url=f"http://{name}.{s.namespace}.svc.cluster.local:{PUSHGATEWAY_PORT}", namespace=s.namespace,
                       selector={"app.kubernetes.io/name": "pushgateway", "app.kubernetes.io/instance": spec.name,
                                 "app.kubernetes.io/component": "monitoring"})


def max_backup_age_seconds(spec: PlatformSpec) -> int:
    from omgml.cron import max_gap_seconds

    return max_gap_seconds(spec.backup.schedule) + GRACE_SECONDS


def dumped_stores(spec: PlatformSpec) -> list[str]:
    """The stores whose data a backup Job dumps (in-cluster databases only)."""
    if not spec.backups_on():
        return []
    f, t = spec.phases.foundation, spec.phases.training
    out = []
    if f.postgres.enabled and not (spec.target == "aws" and f.postgres.managed):
        out.append(POSTGRES)
    if t.enabled and t.kubeflow.enabled:
        out.append(KFP_MYSQL)
    return out


def versioned_buckets(spec: PlatformSpec) -> tuple[str, ...]:
    """The in-cluster object store's data buckets the backups version and prune (S3 versions
    its buckets itself)."""
    o = spec.phases.foundation.object_store
    if not spec.backups_on() or not o.enabled or (spec.target == "aws" and o.managed):
        return ()
    return tuple(sorted(b for role, b in bucket_names(spec).items() if role != BACKUPS_ROLE))


def rds_backup_retention_days(spec: PlatformSpec, profile_default: int) -> int:
    """RDS automated backups (and so the point-in-time window): the spec's retention when backups
    are on (RDS keeps at most 35 days), the profile's default otherwise."""
    if not spec.backups_on():
        return profile_default
    return min(spec.backup.retention_days, RDS_MAX_RETENTION_DAYS)


def backup_alert_rules(spec: PlatformSpec) -> list[AlertRule]:
    """BackupTooOld per dumped store: the last good backup is older than the schedule allows."""
    from omgml.components.prometheus.rules import AlertRule

    stores = dumped_stores(spec)
    if not stores or pushgateway(spec) is None:
        return []
    limit = max_backup_age_seconds(spec)
    hours = limit / 3600
    regex = "|".join(stores)
    return [
        AlertRule("BackupTooOld",
                  f'time() - max by (component) (omgml_backup_last_success_timestamp_seconds{{component=~"{regex}"}}) '
                  f"> {limit}",
                  "10m", "critical", "The last good backup is older than the schedule allows",
                  f"{{{{ $labels.component }}}}: the last successful backup finished {{{{ $value | humanizeDuration }}}} "
                  f"ago; the schedule ({spec.backup.schedule}) allows {hours:g} h. Check the backup CronJob's "
                  "last Jobs and their logs."),
        AlertRule("BackupNeverSucceeded",
                  f'absent(omgml_backup_last_success_timestamp_seconds{{component=~"{regex}"}})',
                  f"{limit // 60}m", "critical", "No backup has succeeded since the platform started",
                  f"No backup of {', '.join(stores)} has reported success for {hours:g} h; check the backup "
                  "CronJobs' Jobs and their logs."),
    ]


def backup_adr(number: int, spec: PlatformSpec) -> str:
    """docs/adr/NNNN-backup.md: what is backed up, how, and what is not (and why)."""
    on = spec.backups_on()
    b = spec.backup
    aws = spec.target == "aws"
    f = spec.phases.foundation
    if on:
        decision = [
            f"Back up every store that holds state nobody can rebuild, on `{b.schedule}` (the RPO), keeping "
            f"{b.retention_days} days, into bucket `{backup_bucket(spec)}`:",
            "",
        ]
        for store in dumped_stores(spec):
            what = {POSTGRES: "Postgres (MLflow, Feast and orchestrator metadata): a custom-format `pg_dump` "
                              "of each database as the read-only role `omgml_backup`",
                    KFP_MYSQL: "Kubeflow Pipelines' MySQL: `mysqldump --single-transaction` of its two databases"}
            decision.append(f"- {what[store]}, uploaded with a checksummed manifest by the backup agent.")
        if aws and f.postgres.enabled and f.postgres.managed:
            decision.append(f"- RDS: automated backups kept {rds_backup_retention_days(spec, 7)} days with "
                            "point-in-time restore, deletion protection and a final snapshot.")
        if versioned_buckets(spec):
            decision.append("- Object store: versioning on every data bucket; versions that stopped being current "
                            f"more than {b.retention_days} days ago are pruned by the backup runs, so any point "
                            "inside the retention can be restored (`omgml restore objectstore`).")
        if aws and f.object_store.enabled and f.object_store.managed:
            decision.append("- S3: versioning and a lifecycle rule on every data bucket; the backup bucket expires "
                            f"backups after {b.retention_days} days.")
        decision += [
            "- Redis: not backed up. It holds Feast's online store, which `feast materialize` rebuilds from the "
            "offline store; on aws ElastiCache keeps its own snapshots.",
            "- Kafka: not backed up. Topics are replicated across brokers (three outside the laptop profile) and "
            "kept for their retention; producers replay from their sources. Mirror to a second cluster with "
            "MirrorMaker 2 if the team needs the log itself to survive a cluster loss.",
        ]
        push = pushgateway(spec)
        metrics = (f"Each run pushes `omgml_backup_last_success_timestamp_seconds` to the Pushgateway; "
                   f"`BackupTooOld` fires when the last good backup is older than {max_backup_age_seconds(spec) // 3600} h."
                   if push else "No Pushgateway is deployed (serving phase or prometheus.pushgateway off): the backups "
                                "push no metrics and no alert watches them; watch the CronJobs' Jobs instead.")
        consequences = [
            metrics,
            "`omgml backup list|now` and `omgml restore COMPONENT --from ID` drive backups and restores through "
            "Jobs in the cluster; a restore refuses a database that holds tables without `--force`.",
            "The default backup bucket lives on the platform's own object store: it survives a lost database volume "
            "or a bad change, not the loss of the object store's own volume. Point `backup.destination` at a bucket "
            "replicated elsewhere when that matters.",
        ]
    else:
        decision = [f"No backups (`backup.enabled: {str(b.enabled).lower() if b.enabled is not None else 'unset'}`"
                    f" on the `{spec.profile}` profile): the platform's data is throwaway."]
        consequences = ["A lost volume loses MLflow's runs and registry, Feast's registry and pipeline history. "
                        "`omgml check` fails any profile other than laptop without backups."]
    return adr_document(
        f"{number}. Backups and restores",
        status="Accepted. Recorded by `omgml init` from `backup` in `omgml.yaml`.",
        context=[
            "The platform keeps the team's most valuable state: MLflow's runs and registry, Feast's registry, "
            "pipeline history, orchestrator metadata and the object store's artifacts. A node or volume loss, or a "
            "bad change, must not lose it.",
            "",
            f"- `profile`: {spec.profile}; `backup`: enabled {on}, schedule `{b.schedule}`, retention "
            f"{b.retention_days} days, destination `{b.destination or 'unset (the platform creates <platform>-backups)'}`",
        ],
        decision=decision,
        rationale=[
            "- Logical dumps restore into a fresh server of the same or a newer major version, need nothing in the "
            "database's own pod, and are read with a role that cannot write; the platform's databases are small "
            "(metadata, not training data), so a nightly dump takes seconds to minutes.",
            "- The schedule is the recovery point objective: a missed run is caught by an alert sized from the "
            "schedule itself, not by someone noticing.",
            "- Off on the laptop profile only: there the data is throwaway and the dumps would cost the laptop's "
            "memory and disk.",
        ],
        alternatives=[
            "- **WAL archiving (continuous archiving, PITR) for the in-cluster Postgres**: a smaller RPO, but it needs "
            "an archiver in the server's pod and base backups; nightly logical dumps restore across major versions "
            "and are enough for a platform whose writers (MLflow, Feast) can re-log a day. On aws RDS gives PITR.",
            "- **Volume snapshots (CSI VolumeSnapshot)**: depend on the cluster's storage driver (kind has none) and "
            "copy a live database's files, which is only crash-consistent.",
            "- **Backing up Redis and Kafka**: both hold data rebuilt from elsewhere (see above).",
        ],
        consequences=[f"- {c}" for c in consequences],
    )


def backup_settings(spec: PlatformSpec, *, endpoint_url: object, region: object, key_secret: object | None,
                    irsa_role_arn: object | None = None, versioned: tuple[str, ...] = (),
                    scratch_gib: int = 10) -> BackupSettings:
    """The BackupSettings of one store's backup Job from the spec (Outputs allowed for the store's
    endpoint, region, key Secret and role)."""
    from omgml.components.backup.jobs import BackupSettings

    push = pushgateway(spec)
    return BackupSettings(
        schedule=spec.backup.schedule, retention_days=spec.backup.retention_days, bucket=backup_bucket(spec),
        endpoint_url=endpoint_url, region=region, key_secret=key_secret,  # type: ignore[arg-type]
        pushgateway_url=push.url if push else None, versioned_buckets=versioned,
        irsa_role_arn=irsa_role_arn,  # type: ignore[arg-type]
        scratch_gib=scratch_gib,
        pushgateway_namespace=push.namespace if push else None, pushgateway_selector=push.selector if push else {},
    )


def backup_s3_consumers(spec: PlatformSpec) -> list[S3Consumer]:
    """On aws with S3: the backup Jobs' own IRSA roles, on the backup bucket only."""
    from omgml.components.contracts import S3Consumer

    stores = dumped_stores(spec)
    out = []
    if POSTGRES in stores:
        out.append(S3Consumer(name="postgres-backup", namespace=spec.phases.foundation.namespace,
                              service_account=k8s_name("postgres", "backup"), bucket_roles=(BACKUPS_ROLE,)))
    if KFP_MYSQL in stores:
        out.append(S3Consumer(name="kfp-mysql-backup", namespace=spec.phases.training.kubeflow.namespace,
                              service_account=k8s_name(spec.name, "mysql-backup"), bucket_roles=(BACKUPS_ROLE,)))
    return out
