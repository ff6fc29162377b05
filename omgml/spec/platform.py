"""PlatformSpec: what a project deploys. Cross-field rules live here, next to the fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from omgml.errors import SpecError
from omgml.spec.backup import BackupSpec
from omgml.spec.base import StrictModel, load_model, parse_model
from omgml.spec.common import DNS_LABEL, CredentialSource, Profile, Target
from omgml.spec.experiments import experiment_problems
from omgml.spec.foundation import FoundationSpec
from omgml.spec.serving import ServingSpec
from omgml.spec.training import GpuPoolSpec, TrainingSpec


class PhasesSpec(StrictModel):
    foundation: FoundationSpec = Field(default_factory=FoundationSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    serving: ServingSpec = Field(default_factory=ServingSpec)


class AwsSpec(StrictModel):
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    availability_zones: int = Field(default=2, ge=2, le=3)
    kubernetes_version: str = Field(default="1.34", pattern=r"^1\.\d{2}$")
    # Control-plane audit logging and encryption everywhere (set from compliance requirements).
    audit_logging: bool = False
    # Networks allowed to reach the EKS API server's public endpoint (office, VPN, CI egress).
    # Empty: no public endpoint; `pulumi up` then runs from inside the VPC.
    api_public_cidrs: list[str] = Field(default_factory=list)
    # IAM roles/users given cluster admin through EKS access entries (besides the identity
    # that creates the cluster).
    admin_principal_arns: list[str] = Field(default_factory=list)

    @field_validator("api_public_cidrs")
    @classmethod
    def _closed_cidrs(cls, v: list[str]) -> list[str]:
        import ipaddress

        for cidr in v:
            try:
                net = ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR block; write e.g. 203.0.113.0/24") from None
            if net.prefixlen == 0:
                raise ValueError(f"{cidr} opens the Kubernetes API to the whole internet; list your "
                                 "office/VPN/CI ranges, or leave api_public_cidrs empty for a private endpoint")
        return v

    @field_validator("admin_principal_arns")
    @classmethod
    def _iam_arns(cls, v: list[str]) -> list[str]:
        import re

        for arn in v:
            if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$", arn):
                raise ValueError(f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
        return v


class LocalSpec(StrictModel):
    # Whether the local cluster has a real NVIDIA GPU. Without one, GPU workloads keep their
    # toleration and node selector (so scheduling rules are exercised on the tainted kind
    # worker) but drop the nvidia.com/gpu limit, which nothing would advertise.
    gpu: Literal["none", "nvidia"] = "none"


class PlatformSpec(StrictModel):
    name: str = Field(pattern=DNS_LABEL, max_length=40)
    target: Target = "local"
    profile: Profile = "laptop"
    # generated | existing (see omgml.spec.common.CredentialSource; `omgml secrets template` lists
    # the Secrets an `existing` platform needs).
    credentials: CredentialSource = "generated"
    phases: PhasesSpec = Field(default_factory=PhasesSpec)
    aws: AwsSpec = Field(default_factory=AwsSpec)
    local: LocalSpec = Field(default_factory=LocalSpec)
    backup: BackupSpec = Field(default_factory=BackupSpec)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> PlatformSpec:
        problems = platform_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # --- derived facts the blueprints need -------------------------------------------------
    def all_gpu_pools(self) -> list[GpuPoolSpec]:
        pools = list(self.phases.training.gpu_pools) if self.phases.training.enabled else []
        if self.phases.serving.enabled:
            pools += list(self.phases.serving.gpu_pools)
        return pools

    def backups_on(self) -> bool:
        """Whether the platform backs up its stores: `backup.enabled`, by default on outside laptop."""
        if self.backup.enabled is not None:
            return self.backup.enabled
        return self.profile != "laptop"

    def logs_inferences(self) -> bool:
        """Whether model containers log requests and predictions to Kafka."""
        s = self.phases.serving
        on = s.inference_logging if s.inference_logging is not None else True
        return on and self.phases.foundation.kafka.enabled and s.enabled and s.server.enabled

    def gpu_available(self) -> bool:
        """Whether pods may request nvidia.com/gpu (false on a local cluster without a GPU)."""
        return self.target == "aws" or self.local.gpu == "nvidia"


def platform_problems(spec: PlatformSpec) -> list[str]:
    """Every cross-field rule, each returning a message that names the fields and the fix."""
    f = spec.phases.foundation
    t = spec.phases.training
    s = spec.phases.serving
    out: list[str] = []
    pf = "phases.foundation"
    if f.feast.enabled and f.feast.online_store == "redis" and not f.redis.enabled:
        out.append(
            f"{pf}.feast.online_store: 'redis' needs {pf}.redis.enabled: true; "
            "enable Redis or set online_store: none"
        )
    for user, needs in (("feast", ("postgres", "object_store")), ("mlflow", ("postgres", "object_store"))):
        if getattr(f, user).enabled:
            for dep in needs:
                if not getattr(f, dep).enabled:
                    out.append(
                        f"{pf}.{user}.enabled: {user} stores its data in {dep}, but {pf}.{dep}.enabled "
                        f"is false; enable {dep} or disable {user}"
                    )
    if t.enabled and t.kubeflow.enabled and not f.object_store.enabled:
        out.append(
            "phases.training.kubeflow.enabled: Kubeflow Pipelines keeps artifacts in the foundation's "
            f"object store, but {pf}.object_store.enabled is false; enable the object store"
        )
    for tool in ("airflow", "prefect"):
        if t.enabled and getattr(t, tool).enabled:
            for dep, why in (("postgres", "its metadata database"), ("object_store", "task logs and data")):
                if not getattr(f, dep).enabled:
                    out.append(
                        f"phases.training.{tool}.enabled: {tool} keeps {why} on the foundation's {dep}, but "
                        f"{pf}.{dep}.enabled is false; enable {dep} or disable {tool}"
                    )
    if t.enabled and t.orchestration_namespace_needed():
        taken = {f.namespace: f"{pf}.namespace", t.device_plugin_namespace: "phases.training.device_plugin_namespace"}
        if t.kubeflow.enabled:
            taken[t.kubeflow.namespace] = "phases.training.kubeflow.namespace"
            taken[t.kubeflow.user_namespace] = "phases.training.kubeflow.user_namespace"
        if s.enabled:
            taken[s.namespace] = "phases.serving.namespace"
        clash = taken.get(t.orchestration.namespace)
        if clash:
            out.append(
                f"phases.training.orchestration.namespace: {t.orchestration.namespace!r} is also {clash}; "
                "Airflow and Prefect get a namespace of their own, choose another name"
            )
    if s.inference_logging and not f.kafka.enabled:
        out.append(
            "phases.serving.inference_logging: true logs predictions to Kafka, but "
            f"{pf}.kafka.enabled is false, so it would do nothing; enable Kafka or remove inference_logging"
        )
    if s.enabled and s.evidently.enabled and not (s.prometheus.enabled and s.prometheus.pushgateway):
        out.append(
            "phases.serving.evidently.enabled: drift metrics reach Prometheus through the Pushgateway; "
            "set phases.serving.prometheus.enabled and .pushgateway to true, or disable evidently"
        )
    if s.enabled and s.evidently.enabled and not f.object_store.enabled:
        out.append(
            "phases.serving.evidently.enabled: the drift job reads datasets from the object store; "
            f"enable {pf}.object_store"
        )
    if s.enabled and s.server.enabled and not f.object_store.enabled:
        out.append(
            "phases.serving.server.enabled: the model repository lives on the object store; "
            f"enable {pf}.object_store"
        )
    pools = spec.all_gpu_pools()
    names = [p.name for p in pools]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        out.append(f"gpu_pools: pool names must be unique across phases, {dupes} repeat; rename them")
    if s.enabled and s.server.enabled and s.server.gpu:
        if not pools:
            out.append(
                "phases.serving.server.gpu: true needs a GPU pool in phases.training.gpu_pools or "
                "phases.serving.gpu_pools; add a pool or set gpu: false"
            )
        elif s.server.gpu_pool is not None and s.server.gpu_pool not in names:
            out.append(
                f"phases.serving.server.gpu_pool: no pool named {s.server.gpu_pool!r}; "
                f"choose one of {names}"
            )
    if s.enabled:
        out += experiment_problems(list(s.experiments), s.server.enabled, s.server.kind, list(s.server.models))
        out += _batch_scoring_problems(spec)
    managed_s3 = spec.target == "aws" and f.object_store.enabled and f.object_store.managed
    if managed_s3 and s.enabled and s.evidently.enabled:
        out += _drift_paths_outside_platform(spec)
    if managed_s3 and f.feast.enabled and f.feast.offline_store == "delta":
        out.append(
            f"{pf}.feast.offline_store: 'delta' cannot read S3 through IRSA (DuckDB's delta extension takes "
            "S3 credentials only from static keys, and S3 on aws has none); use offline_store: file, or "
            f"{pf}.object_store.managed: false"
        )
    if spec.backup.destination is not None:
        from omgml.buckets import bucket_names

        taken = {b: r for r, b in bucket_names(spec).items() if r != "backups"}
        if spec.backup.destination in taken:
            out.append(f"backup.destination: {spec.backup.destination!r} is the platform's {taken[spec.backup.destination]!r} "
                       "bucket; backups need a bucket of their own (leave destination unset for <platform>-backups)")
    o = f.object_store
    if spec.backups_on() and spec.backup.destination is not None and spec.target == "aws" and o.enabled and o.managed:
        out.append("backup.destination: on aws with S3 the backup Jobs reach only the bucket the platform creates "
                   "for them (their IAM roles name it); leave backup.destination unset")
    if spec.credentials == "existing" and t.airflow.connections_bundle:
        out.append(
            "phases.training.airflow.connections_bundle: the bundle is a Secret made of the store keys and "
            "the Redis password, which omgml never sees with credentials: existing; set "
            "connections_bundle: false and give your Airflow those values from your vault, or use "
            "credentials: generated"
        )
    if spec.target == "local":
        for name in ("kafka", "postgres", "object_store", "redis"):
            if getattr(f, name).managed:
                out.append(
                    f"{pf}.{name}.managed: managed services exist only on target aws; "
                    "set managed: false or target: aws"
                )
    return out


def _batch_scoring_problems(spec: PlatformSpec) -> list[str]:
    """Batch scoring loads its model from MLflow and reads and writes the object store."""
    f = spec.phases.foundation
    b = spec.phases.serving.batch_scoring
    path = "phases.serving.batch_scoring"
    if not b.enabled:
        return []
    out = []
    for dep, why in (("mlflow", "loads the model from MLflow's registry"),
                     ("object_store", "reads features from and writes predictions to the object store")):
        if not getattr(f, dep).enabled:
            out.append(f"{path}.enabled: the scoring job {why}, but phases.foundation.{dep}.enabled is false; "
                       f"enable {dep} or disable batch_scoring")
    return out


def _drift_paths_outside_platform(spec: PlatformSpec) -> list[str]:
    """On S3 the drift job's IRSA role names only the platform's own buckets."""
    from omgml.buckets import bucket_names

    own = set(bucket_names(spec).values())
    e = spec.phases.serving.evidently
    out = []
    for fld in ("reference_path", "current_path"):
        path: str = getattr(e, fld)
        bucket = path.removeprefix("s3://").split("/", 1)[0] if path.startswith("s3://") else None
        if bucket is not None and bucket not in own:
            out.append(f"phases.serving.evidently.{fld}: bucket {bucket!r} is not one of the platform's buckets "
                       f"{sorted(own)}; on S3 the drift job's IAM role reaches only those. Add it to "
                       "phases.foundation.object_store.extra_buckets or use a prefix inside the features bucket")
    return out


def load_spec(path: Path) -> PlatformSpec:
    """Load omgml.yaml's `platform:` section (or a bare spec file)."""
    from omgml.spec.base import read_yaml

    data = read_yaml(path)
    if isinstance(data, dict) and "platform" in data:
        data = data["platform"]
        if data is None:
            raise SpecError(str(path), ["platform: the section is empty; it needs at least `name: <platform name>`"])
    return parse_model(PlatformSpec, data, str(path))


def spec_from_dict(data: dict[str, Any], source: str = "spec") -> PlatformSpec:
    return parse_model(PlatformSpec, data, source)


__all__ = ["AwsSpec", "BackupSpec", "LocalSpec", "PhasesSpec", "PlatformSpec", "load_model", "load_spec", "spec_from_dict"]
