"""PlatformSpec: what a project deploys. Cross-field rules live here, next to the fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from omgml.aws_versions import (
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_NODE_AMI_RELEASE,
    addon_version_problems,
    kubernetes_version_problems,
)
from omgml.errors import SpecError
from omgml.spec.backup import BackupSpec
from omgml.spec.base import StrictModel, load_model, parse_model, raise_problems, repeated
from omgml.spec.common import DNS_LABEL, CredentialSource, Profile, Target
from omgml.spec.data import DataSourceSpec, DataSpec
from omgml.spec.experiments import experiment_problems
from omgml.spec.foundation import FoundationSpec
from omgml.spec.serving import ServingSpec
from omgml.spec.training import GpuPoolSpec, TrainingSpec
from omgml.spec.training_addons import addon_problems


class PhasesSpec(StrictModel):
    foundation: FoundationSpec = Field(default_factory=FoundationSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    serving: ServingSpec = Field(default_factory=ServingSpec)


def _check_cidr(cidr: str, what: str) -> str:
    import ipaddress

    try:
        net = ipaddress.ip_network(cidr)
    except ValueError:
        raise ValueError(f"{cidr!r} is not a CIDR block; write e.g. 203.0.113.0/24") from None
    if net.prefixlen == 0:
        raise ValueError(f"{cidr} opens {what} to the whole internet; list your office/VPN/CI ranges")
    return cidr


class AwsIngressSpec(StrictModel):
    """How the model server is reached from outside the cluster (an ALB made by the AWS Load
    Balancer Controller from the model server's Ingress)."""

    # internal: an ALB with private addresses only (the VPC, and networks peered or connected
    # to it); internet-facing: a public ALB, reachable only from allowed_cidrs.
    scheme: Literal["internal", "internet-facing"] = "internal"
    # Source ranges the ALB admits. Empty: the VPC's own range (internal only).
    allowed_cidrs: list[str] = Field(default_factory=list)
    # An ACM certificate for HTTPS on 443 (HTTP then redirects to it). Without one the ALB
    # listens on HTTP 80 only, which an internet-facing ALB refuses.
    certificate_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$")

    @field_validator("allowed_cidrs")
    @classmethod
    def _closed_cidrs(cls, v: list[str]) -> list[str]:
        return [_check_cidr(c, "the model server") for c in v]

    @model_validator(mode="after")
    def _public_needs_tls_and_sources(self) -> AwsIngressSpec:
        if self.scheme == "internet-facing" and not self.allowed_cidrs:
            raise ValueError("scheme internet-facing needs allowed_cidrs (the networks that may call the model "
                             "server); list them, or use scheme: internal")
        if self.scheme == "internet-facing" and self.certificate_arn is None:
            raise ValueError("scheme internet-facing needs certificate_arn (an ACM certificate): the model server "
                             "would be served in plain HTTP on the internet; add one or use scheme: internal")
        return self


class AwsSpec(StrictModel):
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    availability_zones: int = Field(default=2, ge=2, le=3)
    # The newest minor with a known end of EKS standard support (omgml/aws_versions.py).
    kubernetes_version: str = Field(default=DEFAULT_KUBERNETES_VERSION, pattern=r"^1\.\d{2}$")
    # Control-plane audit logging and encryption everywhere (set from compliance requirements).
    audit_logging: bool = False
    # The VPC's range: a private IPv4 /16 to /20 that does not overlap the networks it must
    # reach (peered VPCs, the office over VPN).
    vpc_cidr: str = "10.0.0.0/16"
    # How `pulumi up` reaches the Kubernetes API (docs/aws-first-deploy.md). Every deploy needs
    # one of: api_public_cidrs (the public endpoint, open to these networks only: the
    # deployer's egress, the CI runners), or api_private_only: true (no public endpoint; every
    # deploy runs from inside the VPC, which only exists after a first deploy).
    api_public_cidrs: list[str] = Field(default_factory=list)
    api_private_only: bool = False
    # IAM roles/users given cluster admin through EKS access entries, besides the identity
    # running `pulumi up` (listing it here too is fine).
    admin_principal_arns: list[str] = Field(default_factory=list)
    # EKS add-on versions, e.g. {"vpc-cni": "v1.20.4-eksbuild.1"}. An add-on not listed is
    # resolved at deploy time to EKS's default for kubernetes_version (exported as
    # eks_addon_versions); pin those here so the next deploy cannot move them.
    addon_versions: dict[str, str] = Field(default_factory=dict)
    # The EKS-optimized AL2023 AMI release the GPU nodes run (awslabs/amazon-eks-ami tags);
    # Karpenter resolves the NVIDIA variant of that release for kubernetes_version.
    node_ami_release: str = Field(default=DEFAULT_NODE_AMI_RELEASE, pattern=r"^v\d{8}$")
    ingress: AwsIngressSpec = Field(default_factory=AwsIngressSpec)

    @field_validator("api_public_cidrs")
    @classmethod
    def _closed_cidrs(cls, v: list[str]) -> list[str]:
        for cidr in v:
            try:
                _check_cidr(cidr, "the Kubernetes API")
            except ValueError as exc:
                raise ValueError(f"{exc}, or set api_private_only: true and deploy from inside the VPC") from None
        return v

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, v: str) -> str:
        import ipaddress

        try:
            net = ipaddress.ip_network(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a CIDR block; use e.g. 10.0.0.0/16") from None
        if not isinstance(net, ipaddress.IPv4Network) or not 16 <= net.prefixlen <= 20 or not net.is_private:
            raise ValueError(f"{v}: use a private (RFC 1918) IPv4 block from /16 to /20, e.g. 10.0.0.0/16 (EKS "
                             "pods take VPC addresses, so smaller VPCs run out)")
        return v

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, v: str) -> str:
        raise_problems([p.removeprefix("aws.kubernetes_version: ") for p in kubernetes_version_problems(v)], "; ")
        return v

    @field_validator("addon_versions")
    @classmethod
    def _addon_versions(cls, v: dict[str, str]) -> dict[str, str]:
        raise_problems(addon_version_problems(v), "; ")
        return v

    @field_validator("admin_principal_arns")
    @classmethod
    def _iam_arns(cls, v: list[str]) -> list[str]:
        import re

        for arn in v:
            if not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$", arn):
                raise ValueError(f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)")
        return v

    @model_validator(mode="after")
    def _one_api_path(self) -> AwsSpec:
        if self.api_private_only and self.api_public_cidrs:
            raise ValueError("api_private_only: true and api_public_cidrs both set; the endpoint is either private "
                             "only or public for those networks: clear one of them")
        return self

    def api_access_problem(self) -> str | None:
        """Why `pulumi up` could not reach the Kubernetes API, or None (checked before a deploy)."""
        if self.api_public_cidrs or self.api_private_only:
            return None
        return ("aws.api_public_cidrs is empty and aws.api_private_only is false: `pulumi up` creates Kubernetes "
                "objects right after the cluster, and nothing outside the VPC could reach a private endpoint. "
                "List the deployer's egress range (e.g. `curl -s https://checkip.amazonaws.com`/32) in "
                "aws.api_public_cidrs, or set aws.api_private_only: true when deploying from inside the VPC "
                "(docs/aws-first-deploy.md)")


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
    data: DataSpec = Field(default_factory=DataSpec)
    backup: BackupSpec = Field(default_factory=BackupSpec)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> PlatformSpec:
        raise_problems(platform_problems(self))
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

    def snowflake_source(self) -> DataSourceSpec | None:
        """The warehouse Feast's offline store reads (offline_store snowflake), when it resolves."""
        feast = self.phases.foundation.feast
        if feast.offline_store != "snowflake":
            return None
        warehouses = [s for s in self.data.sources if s.kind == "snowflake"]
        if feast.snowflake_source is not None:
            return next((s for s in warehouses if s.name == feast.snowflake_source), None)
        return warehouses[0] if len(warehouses) == 1 else None

    def lineage_namespace(self) -> str:
        """The OpenLineage namespace of the platform's own jobs."""
        return self.phases.foundation.lineage.namespace or self.name


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
    dupes = repeated(names)
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
    if (spec.target == "aws" and f.kafka.enabled and f.kafka.managed and s.enabled and s.server.enabled
            and s.inference_logging and not managed_s3):
        out.append(
            f"{pf}.kafka.managed: the model server writes the inference log to MSK with its IAM role, which the "
            f"foundation creates with its S3 access; set {pf}.object_store.managed: true too, or "
            "phases.serving.inference_logging: false"
        )
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
    out += _data_layer_problems(spec)
    if spec.target == "local":
        for name in ("kafka", "postgres", "object_store", "redis"):
            if getattr(f, name).managed:
                out.append(
                    f"{pf}.{name}.managed: managed services exist only on target aws; "
                    "set managed: false or target: aws"
                )
    out += addon_problems(spec)
    return out


def _data_layer_problems(spec: PlatformSpec) -> list[str]:
    """Data quality, lineage and the Snowflake offline store: what each needs from the rest."""
    f = spec.phases.foundation
    s = spec.phases.serving
    pf = "phases.foundation"
    out: list[str] = []
    dq = f.data_quality
    if dq.enabled and not f.object_store.enabled:
        out.append(f"{pf}.data_quality.enabled: the checks read datasets from the object store and write the data "
                   f"docs there, but {pf}.object_store.enabled is false; enable the object store")
    if dq.enabled and not (s.enabled and s.prometheus.enabled and s.prometheus.pushgateway):
        out.append(f"{pf}.data_quality.enabled: suite results reach Prometheus (and the 'suite failed' alert) "
                   "through the Pushgateway; set phases.serving.enabled, phases.serving.prometheus.enabled and "
                   ".pushgateway to true, or disable data_quality")
    if f.lineage.enabled and not f.postgres.enabled:
        out.append(f"{pf}.lineage.enabled: the lineage server keeps events in its own database on Postgres, but "
                   f"{pf}.postgres.enabled is false; enable Postgres or disable lineage")
    feast = f.feast
    warehouses = [src.name for src in spec.data.sources if src.kind == "snowflake"]
    if feast.enabled and feast.offline_store == "snowflake":
        if feast.snowflake_source is not None and feast.snowflake_source not in warehouses:
            out.append(f"{pf}.feast.snowflake_source: no snowflake source named {feast.snowflake_source!r} in "
                       f"data.sources (snowflake sources: {warehouses}); add it or name one of them")
        elif feast.snowflake_source is None and len(warehouses) != 1:
            out.append(f"{pf}.feast.offline_store: 'snowflake' reads the warehouse of data.sources, which lists "
                       f"{len(warehouses)} snowflake sources {warehouses}; "
                       + ("add one (kind: snowflake)" if not warehouses else
                          f"name the one to use in {pf}.feast.snowflake_source"))
    elif feast.snowflake_source is not None:
        out.append(f"{pf}.feast.snowflake_source: only read with offline_store: snowflake; set it or remove "
                   "snowflake_source")
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
    """On S3 the drift job's IRSA role names only the platform's own buckets, whose real names
    carry an account suffix known at deploy time (omgml.buckets.aws_bucket_names): a full
    s3:// path may name an extra bucket only; the platform's buckets are reached by a path
    relative to the features bucket."""
    extras = set(spec.phases.foundation.object_store.extra_buckets)
    e = spec.phases.serving.evidently
    out = []
    for fld in ("reference_path", "current_path"):
        path: str = getattr(e, fld)
        bucket = path.removeprefix("s3://").split("/", 1)[0] if path.startswith("s3://") else None
        if bucket is not None and bucket not in extras:
            out.append(f"phases.serving.evidently.{fld}: bucket {bucket!r} is not one of "
                       f"phases.foundation.object_store.extra_buckets {sorted(extras)}; on S3 the drift job's IAM role "
                       "reaches only the platform's buckets. Add it to extra_buckets, or, for data in the platform's "
                       "features bucket, use a relative path (e.g. 'reference/')")
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


__all__ = ["AwsIngressSpec", "AwsSpec", "BackupSpec", "LocalSpec", "PhasesSpec", "PlatformSpec", "load_model",
           "load_spec", "spec_from_dict"]
