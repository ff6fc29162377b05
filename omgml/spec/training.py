"""Settings of the training phase: pipelines and GPU pools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from omgml.spec.base import StrictModel
from omgml.spec.common import DNS_LABEL


class GpuPoolSpec(StrictModel):
    name: str = Field(pattern=DNS_LABEL, max_length=30)
    purpose: Literal["training", "inference"] = "training"
    instance_types: list[str] = Field(default_factory=lambda: ["g5.xlarge"], min_length=1)
    min_size: int = Field(default=0, ge=0)
    desired_size: int = Field(default=0, ge=0)
    max_size: int = Field(default=2, ge=1)
    spot: bool = False
    gpus_per_node: int = Field(default=1, ge=1, le=16)
    # Root volume of each node: CUDA training and Triton images are several GiB each, and the
    # EKS default (20 GiB) fills up after a few pulls.
    disk_size_gib: int = Field(default=100, ge=20, le=16384)

    @model_validator(mode="after")
    def _sizes_ordered(self) -> GpuPoolSpec:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"gpu pool {self.name!r}: need min_size ≤ desired_size ≤ max_size, got "
                f"{self.min_size} ≤ {self.desired_size} ≤ {self.max_size}; adjust the three sizes"
            )
        if self.purpose == "inference" and self.min_size == 0:
            raise ValueError(
                f"gpu pool {self.name!r}: inference pools cannot scale to zero (serving would have "
                "no node to start on); set min_size ≥ 1 or purpose: training"
            )
        return self


class KubeflowSpec(StrictModel):
    enabled: bool = True
    namespace: str = Field(default="kubeflow", pattern=DNS_LABEL)
    # The namespace where users run pipeline steps (gets the MLflow/object-store settings).
    user_namespace: str = Field(default="omgml-pipelines", pattern=DNS_LABEL)
    # MySQL volume for the pipeline database and ML Metadata (run history, lineage).
    mysql_storage_gib: int = Field(default=10, ge=1)
    # Pod Security level of the namespace pipeline steps run in. "baseline" (upstream's choice)
    # lets step images run as root, as most Python images and `pip install` at step start
    # expect; "restricted" makes KFP force a non-root uid on every step container.
    step_pod_security: Literal["baseline", "restricted"] = "baseline"
    # Whether pipeline steps may reach the internet (package indexes, public datasets).
    allow_external_egress: bool = True


class TrainingSpec(StrictModel):
    enabled: bool = True
    kubeflow: KubeflowSpec = Field(default_factory=KubeflowSpec)
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)
    # Namespace of the NVIDIA device plugin (Pod Security "privileged": it needs a hostPath).
    device_plugin_namespace: str = Field(default="omgml-gpu", pattern=DNS_LABEL)
