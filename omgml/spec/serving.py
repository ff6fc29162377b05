"""Settings of the serving and observability phase."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from omgml.spec.base import StrictModel
from omgml.spec.common import DNS_LABEL
from omgml.spec.training import GpuPoolSpec


class ModelServerSpec(StrictModel):
    enabled: bool = True
    kind: Literal["triton", "torchserve", "tf-serving"] = "triton"
    replicas: int = Field(default=1, ge=1, le=100)
    max_replicas: int = Field(default=3, ge=1, le=100)
    model_control_mode: Literal["none", "poll", "explicit"] = "poll"
    # GPU scheduling; needs a GPU pool in the training or serving phase.
    gpu: bool = False
    # Which pool to land on; None picks the first inference pool (or any pool).
    gpu_pool: str | None = None

    @model_validator(mode="after")
    def _replicas_ordered(self) -> ModelServerSpec:
        if self.max_replicas < self.replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) must be ≥ replicas ({self.replicas}); "
                "raise max_replicas or lower replicas"
            )
        return self


class AlertReceiverSpec(StrictModel):
    name: str = Field(pattern=DNS_LABEL)
    kind: Literal["webhook", "pagerduty", "slack"]
    # For webhook and slack: the URL (a Slack URL is a secret; it is stored in a Secret).
    url: str | None = None


class PrometheusSpec(StrictModel):
    enabled: bool = True
    # None: from the sizing profile.
    retention_days: int | None = Field(default=None, ge=1)
    storage_gib: int = Field(default=10, ge=1)
    alertmanager: bool = True
    receivers: list[AlertReceiverSpec] = Field(default_factory=list)
    grafana: bool = False
    pushgateway: bool = True


class EvidentlySpec(StrictModel):
    enabled: bool = True
    schedule: str = Field(default="0 * * * *", min_length=9)
    reference_path: str = "s3://omgml-features/reference/"
    current_path: str = "s3://omgml-features/current/"
    storage_gib: int = Field(default=5, ge=1)


class ServingSpec(StrictModel):
    enabled: bool = True
    namespace: str = Field(default="omgml-serving", pattern=DNS_LABEL)
    server: ModelServerSpec = Field(default_factory=ModelServerSpec)
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)
    prometheus: PrometheusSpec = Field(default_factory=PrometheusSpec)
    evidently: EvidentlySpec = Field(default_factory=EvidentlySpec)
