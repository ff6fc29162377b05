"""The platform's buckets: which exist and what they are called (pure; the spec's rules use it too).

Role → name `<platform>-<role>`, deterministic and valid for S3 and DNS. On AWS S3 the names of
the platform's own buckets get a suffix from the account and region (`aws_bucket_names`): S3
bucket names are one namespace shared by every AWS account, so `<platform>-<role>` alone would
collide with the same platform name deployed anywhere else. The later phases read each role's
name back through the foundation's stack outputs (`<role>_bucket`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from omgml.naming import k8s_name

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec

BUCKET_ROLES = ("mlflow", "features", "models", "pipelines")
# The backup dumps' bucket (`<platform>-backups`) when backups are on and no destination is named.
BACKUPS_ROLE = "backups"


def bucket_names(spec: PlatformSpec) -> dict[str, str]:
    """Role → bucket name: `<platform>-<role>`, deterministic and valid for S3 and DNS.

    Only the buckets an enabled consumer needs; spec extra_buckets are added under their own name."""
    f = spec.phases.foundation
    t = spec.phases.training
    s = spec.phases.serving
    wanted = {
        "mlflow": f.mlflow.enabled,
        # Feast's offline store, the drift job's datasets, the data-quality checks and their docs.
        "features": f.feast.enabled or (s.enabled and s.evidently.enabled) or f.data_quality.enabled,
        "models": s.enabled and s.server.enabled,
        # Kubeflow artifacts, Airflow task logs, Prefect results.
        "pipelines": t.enabled and (t.kubeflow.enabled or t.airflow.enabled or t.prefect.enabled),
    }
    buckets = {role: k8s_name(spec.name, role) for role in BUCKET_ROLES if wanted[role]}
    if spec.backups_on() and spec.backup.destination is None:
        buckets[BACKUPS_ROLE] = k8s_name(spec.name, BACKUPS_ROLE)
    for extra in f.object_store.extra_buckets:
        buckets[f"{EXTRA_PREFIX}{extra}"] = extra
    return buckets


EXTRA_PREFIX = "extra:"
_ACCOUNT = re.compile(r"^\d{12}$")


def account_suffix(account_id: str, region: str) -> str:
    """8 hex digits from the account and region: unique per deployment target, stable across
    deploys, and it does not publish the account ID in a bucket's public DNS name."""
    if not _ACCOUNT.match(account_id):
        raise ValueError(f"aws_bucket_names: account_id {account_id!r} is not a 12-digit AWS account ID")
    return hashlib.sha256(f"{account_id}/{region}".encode()).hexdigest()[:8]


def aws_bucket_names(buckets: Mapping[str, str], account_id: str, region: str) -> dict[str, str]:
    """`bucket_names` for AWS S3: the platform's buckets get `account_suffix`; the spec's
    extra_buckets keep the names their owners chose."""
    suffix = account_suffix(account_id, region)
    return {role: name if role.startswith(EXTRA_PREFIX) else k8s_name(name, suffix)
            for role, name in buckets.items()}
