"""The platform's buckets: which exist and what they are called (pure; the spec's rules use it too).

Role → name `<platform>-<role>`, deterministic and valid for S3 and DNS. The later phases read
each role's name back through the foundation's stack outputs (`<role>_bucket`).
"""

from __future__ import annotations

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
        "features": f.feast.enabled or (s.enabled and s.evidently.enabled),
        "models": s.enabled and s.server.enabled,
        # Kubeflow artifacts, Airflow task logs, Prefect results.
        "pipelines": t.enabled and (t.kubeflow.enabled or t.airflow.enabled or t.prefect.enabled),
    }
    buckets = {role: k8s_name(spec.name, role) for role in BUCKET_ROLES if wanted[role]}
    if spec.backups_on() and spec.backup.destination is None:
        buckets[BACKUPS_ROLE] = k8s_name(spec.name, BACKUPS_ROLE)
    for extra in f.object_store.extra_buckets:
        buckets[f"extra:{extra}"] = extra
    return buckets
