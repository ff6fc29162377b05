"""Backups of the platform's stores: when they run, how long they are kept, where they go."""

from __future__ import annotations

from pydantic import Field, field_validator

from omgml.spec.base import CronSchedule, StrictModel

# A bucket name as S3 and SeaweedFS accept it (omgml.naming.require_bucket_name checks the rest).
BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class BackupSpec(StrictModel):
    # None: on outside the laptop profile (a laptop platform is throwaway), off on it.
    enabled: bool | None = None
    # When the backup Jobs run (cron, cluster time zone): the RPO. The alert fires when the last
    # good backup is older than the longest gap of this schedule plus an hour.
    schedule: CronSchedule = "0 2 * * *"
    # Days a backup is kept (older ones are deleted by the next run; the newest is always kept).
    retention_days: int = 14
    # Bucket the dumps go to. None: `<platform>-backups`, created by the platform on its own
    # object store (S3 on aws: versioned, KMS-encrypted, expiring after retention_days). A named
    # bucket must already exist; the platform does not create it.
    destination: str | None = Field(default=None, pattern=BUCKET_NAME)

    @field_validator("retention_days")
    @classmethod
    def _keeps_something(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"must be ≥ 1, got {v}: a retention of {v} days keeps no backup; set the number of days "
                             "to keep (e.g. 14), or backup.enabled: false to run no backups")
        if v > 3650:
            raise ValueError(f"must be ≤ 3650 (ten years), got {v}; lower it")
        return v

    @field_validator("schedule")
    @classmethod
    def _often_enough(cls, v: str) -> str:
        from omgml.cron import max_gap_seconds

        gap = max_gap_seconds(v)
        if gap > 31 * 86400:
            raise ValueError(f"{v!r} leaves up to {gap // 86400} days between backups; run at least monthly")
        return v
