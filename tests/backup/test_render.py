"""What a platform with backups renders: the dump CronJobs (restricted, read-only role), the
versioned buckets, the alerts; what `omgml check` says when they are missing; and aws's
managed backups (RDS PITR, S3 versioning and lifecycle)."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.backup import backup_alert_rules, dumped_stores, max_backup_age_seconds
from omgml.cli.app import app
from omgml.components.backup.stores import MYSQL_DUMP_SCRIPT, MYSQL_RESTORE_SCRIPT, PG_DUMP_SCRIPT, PG_RESTORE_SCRIPT
from omgml.components.kubeflow.pipelines import mysql_backup_cronjob, mysql_restore_job
from omgml.policy import run_policies
from omgml.policy.backup import inventory_findings, manifest_findings
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.synth_helpers import one, pod_spec

runner = CliRunner()


@lru_cache(maxsize=4)
def _render(profile: str, enabled: bool | None = None, target: str = "local") -> PlatformRender:
    backup: dict[str, Any] = {"retention_days": 14}
    if enabled is not None:
        backup["enabled"] = enabled
    platform: dict[str, Any] = {"name": "demo", "profile": profile, "target": target, "backup": backup}
    if target == "aws":
        platform["phases"] = {"foundation": {s: {"managed": True} for s in ("postgres", "object_store")}}
    return render_platform(spec_from_dict(platform), ["foundation"])


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_the_postgres_backup_dumps_as_the_read_only_role_in_a_restricted_pod() -> None:
    items = _render("small").all_manifests()
    cron = one(items, "CronJob", "postgres-backup")
    assert cron["spec"]["schedule"] == "0 2 * * *" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = pod_spec(cron)
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    [dump] = pod["initContainers"]
    env = _env(dump)
    assert env["PGUSER"] == "omgml_backup" and env["DATABASES"] == "mlflow feast"
    assert env["PGPASSWORD"] == {"secretKeyRef": {"name": "postgres-backup-role", "key": "password"}}
    [upload] = pod["containers"]
    assert _env(upload)["BACKUP_BUCKET"] == "demo-backups" and _env(upload)["RETENTION_DAYS"] == "14"
    for c in (dump, upload):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["readOnlyRootFilesystem"] is True and c["resources"]["limits"]["memory"]
    # The role can read every table and connect, nothing more (the provisioning Job creates it).
    provision = one(items, "Job", "postgres-provision")
    sql = _env(pod_spec(provision)["containers"][0])["PROVISION_SQL"]
    assert "GRANT pg_read_all_data TO \"omgml_backup\";" in sql
    assert "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION" in sql
    assert "pg_write_all_data" not in sql and "GRANT ALL" not in sql.replace("GRANT ALL PRIVILEGES ON DATABASE", "")


def test_the_object_store_versions_every_data_bucket_but_not_the_backup_bucket() -> None:
    items = _render("small").all_manifests()
    [job] = [m for m in items if m["kind"] == "Job"
             and m["metadata"]["labels"].get("app.kubernetes.io/component") == "buckets"]
    versioned = _env(pod_spec(job)["containers"][0])["VERSIONED_BUCKETS"].split()
    assert "demo-mlflow" in versioned and "demo-backups" not in versioned
    # The Postgres backup prunes the old versions of those buckets after the retention.
    upload = pod_spec(one(items, "CronJob", "postgres-backup"))["containers"][0]
    assert _env(upload)["VERSIONED_BUCKETS"].split() == versioned


def test_the_laptop_profile_renders_no_backups_unless_asked() -> None:
    assert not [m for m in _render("laptop").all_manifests() if m["kind"] == "CronJob"]
    assert one(_render("laptop", True).all_manifests(), "CronJob", "postgres-backup")


@pytest.mark.parametrize("script", [PG_DUMP_SCRIPT, PG_RESTORE_SCRIPT, MYSQL_DUMP_SCRIPT, MYSQL_RESTORE_SCRIPT])
def test_the_step_scripts_are_valid_posix_shell(script: str, tmp_path: Path) -> None:
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell is not None
    (tmp_path / "step.sh").write_text(script)
    out = subprocess.run([shell, "-n", str(tmp_path / "step.sh")], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_kfp_mysql_is_dumped_consistently_by_kfps_own_user() -> None:
    # MySQL 8.4 cannot run in the conformance tier (no registry here has it): its Job's shape is
    # checked here instead.
    spec = spec_from_dict({"name": "demo", "profile": "small"})
    assert dumped_stores(spec) == ["postgres", "kfp-mysql"]
    from omgml.backup_ops import _store_settings

    cron = mysql_backup_cronjob("demo", _store_settings(spec))
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    [dump] = pod["initContainers"]
    assert dump["image"].startswith("mysql:8.4") and dump["command"][:2] == ["sh", "-c"]
    script = dump["command"][2]
    assert "mysqldump --defaults-extra-file=/tmp/client.cnf --single-transaction" in script
    assert "--databases $DATABASES" in script and "MYSQL_PASSWORD" not in " ".join(dump["command"][:2])
    env = _env(dump)
    assert env["DATABASES"] == "mlpipeline metadb" and env["MYSQL_USER"] == "kfp"
    assert "secretKeyRef" in env["MYSQL_PASSWORD"]
    restore = mysql_restore_job("demo", _store_settings(spec), f"kfp-mysql/{'20261206T020000Z'}", dry_run=False,
                                force=False)
    loader = restore["template"]["spec"]["containers"][0]
    assert _env(loader)["FORCE"] == "0" and "exit 3" in loader["command"][2]


def test_the_alert_fires_when_the_last_good_backup_is_older_than_the_schedule_allows() -> None:
    spec = spec_from_dict({"name": "demo", "profile": "small", "backup": {"schedule": "0 2 * * 1-5"}})
    limit = max_backup_age_seconds(spec)
    assert limit == 3 * 86400 + 3600  # Friday → Monday, plus an hour for the dump itself
    too_old, never = backup_alert_rules(spec)
    assert too_old.name == "BackupTooOld" and f"> {limit}" in too_old.expr
    assert 'component=~"postgres|kfp-mysql"' in too_old.expr
    assert never.expr.startswith("absent(omgml_backup_last_success_timestamp_seconds")
    # Without a Pushgateway nothing pushes, so no alert pretends to watch.
    quiet = spec_from_dict({"name": "demo", "profile": "small",
                            "phases": {"serving": {"prometheus": {"pushgateway": False},
                                                   "evidently": {"enabled": False}}}})
    assert backup_alert_rules(quiet) == []


# --- omgml check --------------------------------------------------------------------------------
def test_check_fails_a_small_platform_without_backups_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": {
        "name": "demo", "profile": "small", "backup": {"enabled": False}}}))
    result = runner.invoke(app, ["check", str(tmp_path), "--no-schema"])
    assert result.exit_code != 0, result.output
    assert "backup-configured" in result.output and "backup.enabled" in result.output


def test_the_backup_policy_passes_with_backups_and_names_each_gap_without() -> None:
    on = _render("small").all_manifests()
    assert run_policies(on, profile="small") == [] or not [
        f for f in run_policies(on, profile="small") if f.policy == "backup-configured"]
    off = _render("small", False).all_manifests()
    found = manifest_findings(off)
    assert {f.resource.split("/")[-1] for f in found} == {"postgres", "objectstore"}, found
    assert all("backup.enabled" in f.fix for f in found)
    assert [f for f in run_policies(off, profile="laptop") if f.policy == "backup-configured"] == []


def _entry(typ: str, name: str, parent: str = "", **inputs: Any) -> dict[str, Any]:
    return {"type": typ, "name": name, "parent": parent, "inputs": inputs}


def test_the_inventory_policy_names_each_unsafe_aws_setting() -> None:
    rds = _entry("aws:rds/instance:Instance", "pg", backupRetentionPeriod=0, deletionProtection=False,
                 skipFinalSnapshot=True)
    bucket = _entry("aws:s3/bucket:Bucket", "data")
    cache = _entry("aws:elasticache/replicationGroup:ReplicationGroup", "redis", snapshotRetentionLimit=0)
    found = {(f.field, f.severity) for f in inventory_findings({"resources": [rds, bucket, cache]})}
    assert found == {("backupRetentionPeriod", "error"), ("deletionProtection", "error"),
                     ("skipFinalSnapshot", "error"), ("versioning", "error"), ("snapshotRetentionLimit", "warning")}
    versioning = _entry("aws:s3/bucketVersioning:BucketVersioning", "data-versioning", parent="data",
                        versioningConfiguration={"status": "Enabled"})
    assert not [f for f in inventory_findings({"resources": [bucket, versioning]})]


# --- aws: managed backups ------------------------------------------------------------------------
def _aws(retention: int) -> PlatformSpec:
    return spec_from_dict({"name": "demo", "target": "aws", "profile": "small",
                           "backup": {"retention_days": retention},
                           "phases": {"foundation": {s: {"managed": True} for s in ("postgres", "object_store")}}})


@pytest.mark.parametrize(("retention", "window"), [(14, 14), (90, 35)])
def test_rds_keeps_point_in_time_backups_for_the_retention(retention: int, window: int) -> None:
    from omgml.backup import rds_backup_retention_days

    assert rds_backup_retention_days(_aws(retention), 7) == window


def test_aws_platform_has_pitr_versioned_buckets_and_an_expiring_backup_bucket() -> None:
    render = _render("small", target="aws")
    resources = render.inventory()["resources"]

    def of(typ: str) -> list[dict[str, Any]]:
        return [e for e in resources if e["type"] == typ]

    [rds] = of("aws:rds/instance:Instance")
    assert rds["inputs"]["backupRetentionPeriod"] == 14
    assert rds["inputs"]["deletionProtection"] is True and rds["inputs"]["skipFinalSnapshot"] is False
    buckets = {e["name"] for e in of("aws:s3/bucket:Bucket")}
    lifecycles = {e["parent"].rsplit("::", 1)[-1]: e["inputs"]["rules"]
                  for e in of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")}
    assert set(lifecycles) == buckets
    backup_bucket = next(b for b in buckets if b.endswith("backups"))
    expiring = [r for r in lifecycles[backup_bucket] if "expiration" in r]
    assert [r["expiration"]["days"] for r in expiring] == [14]
    assert not [r for b, rules in lifecycles.items() if b != backup_bucket for r in rules if "expiration" in r]
    assert [f for f in inventory_findings(render.inventory())] == []
    # The in-cluster Postgres is not there, so nothing dumps: RDS's own backups stand.
    assert not [m for m in render.all_manifests() if m["kind"] == "CronJob"]
