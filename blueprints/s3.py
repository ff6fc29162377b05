"""Who reaches the managed object store (S3 on aws) and with which IRSA role.

On `target: aws` with `phases.foundation.object_store.managed: true` there are no static keys:
the foundation creates one IAM role per S3 consumer (a namespace:ServiceAccount pair, see
components/contracts.S3Consumer) before the training and serving phases exist, so the list is
a pure function of the spec here. Each component declares its own consumers (same naming as
the ServiceAccounts it creates); this module only picks the enabled ones and their buckets.
The foundation exports `s3_irsa_roles` (consumer name → role ARN); later phases hand each
component the ARNs of its consumers with `role_arns`.

Buckets: each consumer gets the bucket of its role only. The extra buckets of
`phases.foundation.object_store.extra_buckets` are for user code, so they go to the consumers
that run it (pipeline steps, Airflow tasks, Prefect flow runs), and to the drift job when its
dataset paths name them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pulumi

from omgml.backup import backup_s3_consumers
from omgml.blueprints.contracts import FoundationOutputs
from omgml.buckets import BACKUPS_ROLE
from omgml.components import airflow, data_quality, evidently, feast, kubeflow, mlflow, modelserver, prefect, spark
from omgml.components.contracts import S3Consumer
from omgml.spec import PlatformSpec

# Stack output of the foundation: consumer name → IRSA role ARN ({} unless S3 is managed).
ROLES_KEY = "s3_irsa_roles"


def uses_managed_s3(spec: PlatformSpec) -> bool:
    o = spec.phases.foundation.object_store
    return spec.target == "aws" and o.enabled and o.managed


def extra_roles(buckets: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted(role for role in buckets if role.startswith("extra:")))


def drift_bucket_roles(spec: PlatformSpec, buckets: Mapping[str, str]) -> tuple[str, ...]:
    """Bucket roles the drift job reads: `features` for relative dataset paths, and the bucket
    each full s3:// path names (platform_problems refuses a path outside the platform's buckets)."""
    e = spec.phases.serving.evidently
    by_name = {name: role for role, name in buckets.items()}
    roles = {"features"} if any(not p.startswith("s3://") for p in (e.reference_path, e.current_path)) else set()
    roles |= {by_name[b] for b in evidently.dataset_buckets(e.reference_path, e.current_path) if b in by_name}
    return tuple(sorted(roles))


def batch_bucket_roles(spec: PlatformSpec, buckets: Mapping[str, str]) -> tuple[str, ...]:
    """Bucket roles the batch scoring job reads and writes: `features` for relative paths, and
    the platform bucket each full s3:// path names."""
    b = spec.phases.serving.batch_scoring
    by_name = {name: role for role, name in buckets.items()}
    paths = (b.features_path, b.predictions_path)
    roles = {"features"} if any(not p.startswith("s3://") for p in paths) else set()
    roles |= {by_name[n] for n in evidently.dataset_buckets(*paths) if n in by_name}
    return tuple(sorted(roles))


def s3_consumers(spec: PlatformSpec, buckets: Mapping[str, str]) -> tuple[S3Consumer, ...]:
    """Every enabled workload of the spec that reads or writes the object store (pure)."""
    f = spec.phases.foundation
    t = spec.phases.training
    s = spec.phases.serving
    user_code: list[S3Consumer] = []
    out: list[S3Consumer] = []
    if f.mlflow.enabled:
        out += mlflow.s3_consumers(f.namespace, mlflow.DEFAULT_INSTANCE, "mlflow")
    if f.feast.enabled:
        out += feast.s3_consumers(f.namespace, feast.DEFAULT_INSTANCE, "features")
    if f.data_quality.enabled:
        out += data_quality.s3_consumers(f.namespace, data_quality.DEFAULT_INSTANCE)
    if t.enabled and t.kubeflow.enabled:
        user_code += kubeflow.s3_consumers(t.kubeflow.namespace, t.kubeflow.user_namespace, "pipelines")
    if t.orchestration_namespace_needed():
        ns = t.orchestration.namespace
        if t.airflow.enabled:
            user_code += airflow.s3_consumers(ns, airflow.DEFAULT_INSTANCE, "pipelines")
        if t.prefect.enabled:
            user_code += prefect.s3_consumers(ns, prefect.DEFAULT_INSTANCE, "pipelines")
    extras = extra_roles(buckets)
    # Writers in the namespaces where user code runs get the extra buckets too.
    user_namespaces = {t.kubeflow.user_namespace, t.orchestration.namespace}
    out += [replace(c, bucket_roles=(*c.bucket_roles, *extras))
            if extras and not c.read_only and c.namespace in user_namespaces else c
            for c in user_code]
    if s.enabled and s.server.enabled:
        out += modelserver.s3_consumers(s.namespace, spec.name, s.server.kind, "models")
        out += [modelserver.variant_s3_consumer(s.namespace, spec.name, s.server.kind,
                                                modelserver.ModelVariant(e.model, v.version), "models")
                for e in s.experiments for v in e.variants]
    if s.enabled and s.evidently.enabled:
        out += evidently.s3_consumers(s.namespace, spec.name, drift_bucket_roles(spec, buckets))
    if s.enabled and s.batch_scoring.enabled:
        out += spark.s3_consumers(s.namespace, spec.name, batch_bucket_roles(spec, buckets))
    if BACKUPS_ROLE in buckets:
        out += backup_s3_consumers(spec)
    names = [c.name for c in out]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"S3 consumers {duplicated} are declared twice; each component's s3_consumers must use "
                         "names unique in the platform")
    return tuple(out)


def role_arns(fnd: FoundationOutputs, consumers: Sequence[S3Consumer]) -> dict[str, pulumi.Output[str]]:
    """The foundation's role ARN for each consumer, as the component's `irsa_role_arns`."""
    roles = pulumi.Output.from_input(fnd.s3_irsa_roles)

    def pick(name: str) -> pulumi.Output[str]:
        def arn(exported: Any) -> str:
            if not isinstance(exported, Mapping) or not exported.get(name):
                raise ValueError(
                    f"the foundation stack exports no S3 role for {name!r} ({ROLES_KEY}={exported!r}); "
                    "deploy the foundation phase with this omgml.yaml first (`omgml up <project> --phase foundation`)")
            return str(exported[name])
        return roles.apply(arn)

    return {c.name: pick(c.name) for c in consumers}


def role_arn(fnd: FoundationOutputs, consumers: Sequence[S3Consumer]) -> pulumi.Output[str]:
    """`role_arns` for a component with a single consumer (the model server, the drift job)."""
    if len(consumers) != 1:
        raise ValueError(f"role_arn: expected one S3 consumer, got {[c.name for c in consumers]}; use role_arns")
    return role_arns(fnd, consumers)[consumers[0].name]
