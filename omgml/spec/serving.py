"""Settings of the serving and observability phase."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from omgml.spec.base import CronSchedule, StrictModel
from omgml.spec.batch import BatchScoringSpec
from omgml.spec.common import DNS_LABEL
from omgml.spec.experiments import ExperimentSpec
from omgml.spec.training import GpuPoolSpec

# What the model servers accept as a model (directory) name.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# A path inside a bucket: no leading slash, no "..", no scheme.
BUCKET_PREFIX = r"^([A-Za-z0-9_.=-]+/)*([A-Za-z0-9_.=-]+/?)?$"
# Where the drift job reads a dataset: s3://bucket[/prefix], or a prefix inside the platform's
# features bucket.
DATASET_PATH = r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?|[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/?)$"


def check_server_scaling(kind: str, replicas: int, max_replicas: int, model_control_mode: str) -> None:
    """The replica range and control mode a model server can run with, checked once for the spec
    (phases.serving.server) and again by the ModelServer component, whose args callers may fill
    without a spec."""
    if replicas < 1 or max_replicas < replicas:
        raise ValueError(
            f"replicas={replicas}, max_replicas={max_replicas}: need 1 ≤ replicas ≤ max_replicas; "
            "raise max_replicas or lower replicas (phases.serving.server)"
        )
    if kind == "torchserve" and model_control_mode == "poll":
        raise ValueError(
            "model_control_mode: 'poll' is not available with kind 'torchserve' (TorchServe does "
            "not watch its model store); use 'none' (load every archive at start) or 'explicit' "
            "(register models through the management API)"
        )


class ModelServerSpec(StrictModel):
    enabled: bool = True
    kind: Literal["triton", "torchserve", "tf-serving"] = "triton"
    replicas: int = Field(default=1, ge=1, le=100)
    max_replicas: int = Field(default=3, ge=1, le=100)
    # Default "poll"; TorchServe cannot watch its model store, so it defaults to "none" there.
    model_control_mode: Literal["none", "poll", "explicit"] = "poll"
    # GPU scheduling; needs a GPU pool in the training or serving phase.
    gpu: bool = False
    # Which pool to land on; None picks the first inference pool (or any pool).
    gpu_pool: str | None = None
    # Models loaded at start (Triton explicit mode) or served (TF Serving, which has to be told
    # its model names). Empty: Triton and TorchServe serve everything in the repository, TF
    # Serving serves one model called "model" (the official image's default name).
    models: list[str] = Field(default_factory=list)
    # Where the model repository starts inside the models bucket ("" = the bucket root).
    repository_prefix: str = Field(default="", pattern=BUCKET_PREFIX)

    @model_validator(mode="before")
    @classmethod
    def _torchserve_control_default(cls, data: Any) -> Any:
        if (isinstance(data, dict) and data.get("kind") == "torchserve"
                and "model_control_mode" not in data):
            return {**data, "model_control_mode": "none"}
        return data

    @model_validator(mode="after")
    def _replicas_ordered(self) -> ModelServerSpec:
        check_server_scaling(self.kind, self.replicas, self.max_replicas, self.model_control_mode)
        bad = [m for m in self.models if not _matches(MODEL_NAME, m)]
        if bad:
            raise ValueError(
                f"models: {bad} are not model directory names (letters, digits, '_', '.', '-'); "
                "rename them"
            )
        return self


def _matches(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


class AlertReceiverSpec(StrictModel):
    name: str = Field(pattern=DNS_LABEL)
    kind: Literal["webhook", "pagerduty", "slack"]
    # For webhook and slack: the URL. It is never put in a ConfigMap: omgml stores it in a Secret
    # that Alertmanager reads as a file.
    url: str | None = None
    # Instead of `url` (and always for pagerduty's routing key): an existing Secret in the
    # serving namespace holding the value, so it stays out of omgml.yaml.
    secret_name: str | None = Field(default=None, pattern=DNS_LABEL)
    secret_key: str = Field(default="value", pattern=r"^[-._a-zA-Z0-9]+$")

    @model_validator(mode="after")
    def _one_source(self) -> AlertReceiverSpec:
        if self.kind == "pagerduty":
            if self.url is not None or self.secret_name is None:
                raise ValueError(
                    f"receiver {self.name!r}: a pagerduty routing key is a secret; set secret_name "
                    "(an existing Secret in the serving namespace) and secret_key, not url"
                )
            return self
        if (self.url is None) == (self.secret_name is None):
            raise ValueError(
                f"receiver {self.name!r} ({self.kind}): set exactly one of url or secret_name"
            )
        if self.url is not None and not self.url.startswith(("https://", "http://")):
            raise ValueError(
                f"receiver {self.name!r}: url must start with https:// (or http://); fix the url"
            )
        return self


class PrometheusSpec(StrictModel):
    enabled: bool = True
    # None: from the sizing profile.
    retention_days: int | None = Field(default=None, ge=1)
    storage_gib: int = Field(default=10, ge=1)
    alertmanager: bool = True
    receivers: list[AlertReceiverSpec] = Field(default_factory=list)
    grafana: bool = False
    pushgateway: bool = True
    scrape_interval_seconds: int = Field(default=30, ge=5, le=300)
    # Scrape the kubelets (volume stats, cAdvisor container starts) for the "PVC nearly full"
    # and "container restarting" alerts. Needs a ClusterRole on nodes and nodes/metrics.
    kubelet_metrics: bool = True


class EvidentlySpec(StrictModel):
    enabled: bool = True
    schedule: CronSchedule = "0 * * * *"
    # s3://bucket/prefix, or a prefix inside the platform's features bucket (<name>-features).
    reference_path: str = Field(default="drift/reference/", pattern=DATASET_PATH)
    current_path: str = Field(default="drift/current/", pattern=DATASET_PATH)
    storage_gib: int = Field(default=5, ge=1)
    # Evidently project the drift snapshots land in (created on the first run).
    project: str = Field(default="model-drift", min_length=1, max_length=100)
    # Share of drifted columns from which the dataset counts as drifted.
    drift_share: float = Field(default=0.5, gt=0, le=1)
    dataset_format: Literal["parquet", "csv"] = "parquet"


class ServingSpec(StrictModel):
    enabled: bool = True
    namespace: str = Field(default="omgml-serving", pattern=DNS_LABEL)
    server: ModelServerSpec = Field(default_factory=ModelServerSpec)
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)
    prometheus: PrometheusSpec = Field(default_factory=PrometheusSpec)
    evidently: EvidentlySpec = Field(default_factory=EvidentlySpec)
    # Model containers get the Kafka bootstrap address and this topic to log requests and
    # predictions; add the topic to phases.foundation.kafka.topics. None: on whenever the
    # foundation runs Kafka. true without Kafka would do nothing, so it is an error
    # (omgml.spec.platform).
    inference_logging: bool | None = None
    inference_log_topic: str = Field(default="inference-logs", pattern=r"^[a-zA-Z0-9._-]{1,249}$")
    # A/B tests and canaries between versions of a model (omgml.spec.experiments).
    experiments: list[ExperimentSpec] = Field(default_factory=list)
    # Scheduled batch predictions with Spark (omgml.spec.batch).
    batch_scoring: BatchScoringSpec = Field(default_factory=BatchScoringSpec)
