"""What one phase hands to the next: typed stack outputs, read back through a StackReference.

Each phase's outputs are a dataclass whose field names are the stack output keys, so the
exporting blueprint and the reading one share one definition and a rename breaks a type
check, not a deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from omgml.components.contracts import (
    AWS_FOUNDATION_KEYS,
    EksClusterOutputs,
    as_stack_outputs,
    output_keys,
    read_stack_outputs,
)


@dataclass(frozen=True)
class FoundationOutputs:
    """Exported by the foundation phase. A disabled component exports "" for its fields."""

    data_namespace: pulumi.Input[str]
    # Namespaces the foundation created (data + the enabled phases' namespaces): later phases
    # deploy into them but must not create them again.
    platform_namespaces: pulumi.Input[Sequence[str]]
    mlflow_tracking_uri: pulumi.Input[str]
    object_store_endpoint: pulumi.Input[str]  # "" on AWS S3
    object_store_region: pulumi.Input[str]
    # Name of the Secret (keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) in every platform namespace.
    object_store_secret: pulumi.Input[str]
    # One per omgml.buckets.BUCKET_ROLES (`<role>_bucket`).
    mlflow_bucket: pulumi.Input[str]
    features_bucket: pulumi.Input[str]
    models_bucket: pulumi.Input[str]
    pipelines_bucket: pulumi.Input[str]
    # S3 consumer name → IRSA role ARN (blueprints/s3.py); {} unless the object store is S3.
    s3_irsa_roles: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    redis_host: pulumi.Input[str]
    redis_port: pulumi.Input[str]  # a string ("6379"), ready for env vars and ConfigMap data
    # Name of the Secret (key `password`) in every platform namespace.
    redis_secret: pulumi.Input[str]
    redis_tls: pulumi.Input[str]  # "true" for ElastiCache (TLS required), "false" in-cluster
    kafka_bootstrap: pulumi.Input[str]
    feast_endpoint: pulumi.Input[str]
    # The lineage API's base URL (OpenLineage events go to <url>/api/v1/lineage); "" when off.
    lineage_url: pulumi.Input[str]
    # Postgres consumer Secrets (keys host, port, database, username, password) in
    # phases.training.orchestration.namespace; "" when Airflow / Prefect is off.
    airflow_db_secret: pulumi.Input[str]
    prefect_db_secret: pulumi.Input[str]
    # The HPO service's consumer Secret: Katib's in the KFP namespace, Optuna's in the orchestration
    # namespace; "" when phases.training.hpo is off or uses the other engine.
    katib_db_secret: pulumi.Input[str]
    optuna_db_secret: pulumi.Input[str]
    # Target aws only: the VPC and EKS cluster (components/aws), exported beside the rest.
    eks: EksClusterOutputs | None = None

    def exports(self) -> dict[str, Any]:
        """The stack outputs: one per field, the EKS ones flat beside the rest."""
        out = {key: getattr(self, key) for key in FOUNDATION_CORE_KEYS}
        if self.eks is not None:
            out.update(as_stack_outputs(self.eks))
        return out

    @classmethod
    def read(cls, get: Callable[[str], pulumi.Output[Any]], aws: bool) -> FoundationOutputs:
        """Read back from the foundation's stack (`get` is StackReference.get_output)."""
        eks = read_stack_outputs(EksClusterOutputs, get) if aws else None
        return cls(**{key: get(key) for key in FOUNDATION_CORE_KEYS}, eks=eks)

    def require_eks(self) -> EksClusterOutputs:
        if self.eks is None:
            raise ValueError("the foundation phase exported no EKS cluster (target local?); deploy the foundation "
                             "phase with target aws first (`omgml up <project> --phase foundation`)")
        return self.eks


FOUNDATION_CORE_KEYS = tuple(k for k in output_keys(FoundationOutputs) if k != "eks")
FOUNDATION_KEYS = (*FOUNDATION_CORE_KEYS, *AWS_FOUNDATION_KEYS)


@dataclass(frozen=True)
class TrainingOutputs:
    """Exported by the training phase."""

    training_enabled: bool
    # Kubeflow Pipelines ("" when disabled): control-plane namespace, the namespace pipeline
    # steps and training jobs run in, the API endpoint and the UI Service (port 80).
    kfp_namespace: pulumi.Input[str]
    training_namespace: pulumi.Input[str]
    kfp_endpoint: pulumi.Input[str]
    kfp_ui_service: pulumi.Input[str]
    # GPU compute of the whole platform (training and serving pools): pool names, each pool's
    # node labels, the taint every GPU node carries ({key, value, effect}), whether pods may
    # request nvidia.com/gpu (false on a local cluster without a GPU: CPU fallback), and the
    # device plugin's namespace ("" when none is installed).
    gpu_pools: pulumi.Input[Sequence[str]]
    gpu_pool_labels: pulumi.Input[Mapping[str, Mapping[str, str]]]
    gpu_taint: pulumi.Input[Mapping[str, str]]
    gpu_available: pulumi.Input[bool]
    device_plugin_namespace: pulumi.Input[str]
    # Pools that have Karpenter NodePools (aws; [] on local). The key keeps its name.
    gpu_node_groups: pulumi.Input[Sequence[str]]
    # Orchestrators ("" when off): Airflow's API server (UI + REST, port 8080) and Prefect's API URL.
    airflow_api_endpoint: pulumi.Input[str]
    prefect_api_url: pulumi.Input[str]
    # The HPO service's UI ("" when off): Katib's UI (port 80, /katib/) or optuna-dashboard (8080).
    hpo_ui_url: pulumi.Input[str]

    @classmethod
    def read(cls, get: Callable[[str], pulumi.Output[Any]]) -> TrainingOutputs:
        """Read back from the training stack (`get` is StackReference.get_output)."""
        return read_stack_outputs(cls, get)


TRAINING_KEYS = output_keys(TrainingOutputs)
