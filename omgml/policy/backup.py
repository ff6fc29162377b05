"""Nothing lost: outside the laptop profile every store that keeps state has a backup.

In-cluster: each database StatefulSet (Postgres, Kubeflow's MySQL) has a backup CronJob in its
namespace (label `omgml.dev/backup-of`), and the object store versions its buckets. On aws (the
render's inventory): RDS keeps automated backups (point-in-time restore), is deletion-protected
and takes a final snapshot; every S3 bucket is versioned; ElastiCache keeps snapshots (a
warning only: it holds Feast's online store, which materialisation rebuilds).
"""

from __future__ import annotations

from typing import Any

from omgml.policy.findings import Finding, Manifest, resource_id

POLICY = "backup-configured"
BACKUP_OF_LABEL = "omgml.dev/backup-of"  # components/backup/jobs.py
FIX = ("leave backup.enabled unset or set it to true in omgml.yaml (platform.backup): backups are on by default "
       "outside the laptop profile")
BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")


def _labels(m: Manifest) -> dict[str, str]:
    return dict((m.get("metadata") or {}).get("labels") or {})


def _is_database(m: Manifest) -> bool:
    labels = _labels(m)
    return m.get("kind") == "StatefulSet" and (
        (labels.get("app.kubernetes.io/name") == "postgres" and labels.get("app.kubernetes.io/component") == "database")
        or labels.get("app.kubernetes.io/component") == "mysql")


def _namespace(m: Manifest) -> str:
    return str((m.get("metadata") or {}).get("namespace", ""))


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or []}


def manifest_findings(items: list[Manifest]) -> list[Finding]:
    backed_up = {_namespace(m) for m in items if m.get("kind") == "CronJob" and BACKUP_OF_LABEL in _labels(m)}
    out = [Finding(POLICY, "error", resource_id(m), "", "this database has no backup CronJob: a lost volume loses "
                   "its data", FIX)
           for m in items if _is_database(m) and _namespace(m) not in backed_up]
    stores = [m for m in items if m.get("kind") == "StatefulSet" and _labels(m).get("app.kubernetes.io/name") == "seaweedfs"]
    for store in stores:
        jobs = [m for m in items if m.get("kind") == "Job" and _namespace(m) == _namespace(store)
                and _labels(m).get("app.kubernetes.io/component") == "buckets"]
        versioned = any(_env(c).get("VERSIONED_BUCKETS") for j in jobs
                        for c in j["spec"]["template"]["spec"].get("containers", []))
        if not versioned:
            out.append(Finding(POLICY, "error", resource_id(store), "", "the object store's buckets are not "
                               "versioned: a deleted or overwritten artifact cannot be restored", FIX))
    return out


def _entry_id(e: dict[str, Any]) -> str:
    return f"{e.get('type')}/{e.get('name')}"


def inventory_findings(inventory: dict[str, Any]) -> list[Finding]:
    entries = [e for e in inventory.get("resources", []) if str(e.get("type", "")).startswith("aws:")]
    out: list[Finding] = []
    for e in entries:
        i = dict(e.get("inputs") or {})
        t = e.get("type")
        if t == "aws:rds/instance:Instance":
            if int(i.get("backupRetentionPeriod") or 0) < 1:
                out.append(Finding(POLICY, "error", _entry_id(e), "backupRetentionPeriod", "no automated backups, "
                                   "so no point-in-time restore", "set backup_retention_period to 1-35 days; " + FIX))
            if i.get("deletionProtection") is not True:
                out.append(Finding(POLICY, "error", _entry_id(e), "deletionProtection", "the database can be "
                                   "deleted by one call", "set deletion_protection=True"))
            if i.get("skipFinalSnapshot") is True or not i.get("finalSnapshotIdentifier"):
                out.append(Finding(POLICY, "error", _entry_id(e), "skipFinalSnapshot", "deleting the instance "
                                   "takes no final snapshot", "set skip_final_snapshot=False and a final_snapshot_identifier"))
        if t == "aws:elasticache/replicationGroup:ReplicationGroup" and int(i.get("snapshotRetentionLimit") or 0) < 1:
            out.append(Finding(POLICY, "warning", _entry_id(e), "snapshotRetentionLimit", "no snapshots: a lost "
                               "cache is rebuilt by `feast materialize` only", "set snapshot_retention_limit ≥ 1"))
    # The inventory names a parent by its logical name, the policy pack by its URN (…::name).
    versioned_parents = {str(e.get("parent")).rsplit("::", 1)[-1] for e in entries if e.get("type") in VERSIONING
                         and ((e.get("inputs") or {}).get("versioningConfiguration") or {}).get("status") == "Enabled"}
    for e in entries:
        if e.get("type") == BUCKET and str(e.get("name")) not in versioned_parents:
            out.append(Finding(POLICY, "error", _entry_id(e), "versioning", "the bucket is not versioned: a deleted "
                               "or overwritten object is gone", "add an aws.s3.BucketVersioning with status Enabled"))
    return out


def check_backups(items: list[Manifest], inventory: dict[str, Any] | None, profile: str) -> list[Finding]:
    """Every backup finding of a render; none on the laptop profile (its data is throwaway)."""
    if profile == "laptop":
        return []
    out = manifest_findings(items)
    if inventory is not None:
        out += inventory_findings(inventory)
    return out
