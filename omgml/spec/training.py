"""Settings of the training phase: pipelines (Kubeflow, Airflow, Prefect) and GPU pools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from omgml.spec.base import StrictModel
from omgml.spec.common import DNS_LABEL
from omgml.spec.training_addons import GovernanceSpec, HpoSpec, WandbSpec


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


class GitDagsSpec(StrictModel):
    """DAGs from a git repository (anonymous HTTPS), kept in sync by git-sync."""

    git_url: str = Field(pattern=r"^https://\S+$")
    ref: str = Field(default="main", pattern=r"^[^\s-]\S*$")
    # Folder inside the repository that holds the DAG files.
    path: str = "."
    period_seconds: int = Field(default=60, ge=10, le=3600)


class AirflowSpec(StrictModel):
    # Deploy Airflow 3 (KubernetesExecutor) in phases.training.orchestration.namespace.
    enabled: bool = False
    # For an Airflow the team already runs: the foundation writes an `airflow-connections`
    # Secret + ConfigMap (AIRFLOW_CONN_* for MLflow, the object store, Feast, Redis) into the
    # data namespace instead of deploying Airflow.
    connections_bundle: bool = False
    # DAGs from git (git-sync); None: from a PVC the team fills.
    dags_git: GitDagsSpec | None = None
    dags_storage_gib: int = Field(default=1, ge=1)
    # ReadWriteOnce works on one node (kind); task pods on several nodes need ReadWriteMany.
    dags_access_mode: Literal["ReadWriteOnce", "ReadWriteMany"] = "ReadWriteOnce"


class PrefectSpec(StrictModel):
    # Deploy the Prefect 3 server and a Kubernetes work-pool worker.
    enabled: bool = False
    work_pool: str = Field(default="kubernetes", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")


class OrchestrationSpec(StrictModel):
    """Where Airflow and Prefect (and the pods they launch) run; the foundation creates it."""

    namespace: str = Field(default="omgml-orchestration", pattern=DNS_LABEL)
    # Whether tasks and flow runs may reach the internet (package indexes, public datasets).
    allow_external_egress: bool = True


class TrainingSpec(StrictModel):
    enabled: bool = True
    kubeflow: KubeflowSpec = Field(default_factory=KubeflowSpec)
    airflow: AirflowSpec = Field(default_factory=AirflowSpec)
    prefect: PrefectSpec = Field(default_factory=PrefectSpec)
    orchestration: OrchestrationSpec = Field(default_factory=OrchestrationSpec)
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list)
    # Namespace of the NVIDIA device plugin (Pod Security "privileged": it needs a hostPath).
    device_plugin_namespace: str = Field(default="omgml-gpu", pattern=DNS_LABEL)
    # The add-ons of the training layer (omgml/spec/training_addons.py).
    hpo: HpoSpec = Field(default_factory=HpoSpec)
    wandb: WandbSpec = Field(default_factory=WandbSpec)
    governance: GovernanceSpec = Field(default_factory=GovernanceSpec)

    def orchestrators(self) -> list[str]:
        """The orchestrators this phase deploys (empty when the phase is off)."""
        if not self.enabled:
            return []
        return [n for n, on in (("kubeflow", self.kubeflow.enabled), ("airflow", self.airflow.enabled),
                                ("prefect", self.prefect.enabled)) if on]

    def orchestration_namespace_needed(self) -> bool:
        return self.enabled and (self.airflow.enabled or self.prefect.enabled)
