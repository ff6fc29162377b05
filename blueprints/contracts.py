"""What one phase hands to the next: stack outputs, read back through a StackReference.

Keys are plain strings shared by the exporting blueprint and the reading one, so a rename
breaks a test here rather than a deployment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

# Exported by the foundation phase. A disabled component exports "" for its keys.
FOUNDATION_KEYS: tuple[str, ...] = (
    "data_namespace",
    # Namespaces the foundation created (data + the enabled phases' namespaces): later phases
    # deploy into them but must not create them again.
    "platform_namespaces",
    "mlflow_tracking_uri",
    "object_store_endpoint",
    "object_store_region",
    # Name of the Secret (keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) in every platform namespace.
    "object_store_secret",
    "mlflow_bucket",
    "features_bucket",
    "models_bucket",
    "pipelines_bucket",
    # S3 consumer name → IRSA role ARN (blueprints/s3.py); {} unless the object store is S3.
    "s3_irsa_roles",
    "redis_host",
    "redis_port",  # a string ("6379"), ready for env vars and ConfigMap data
    # Name of the Secret (key `password`) in every platform namespace.
    "redis_secret",
    "redis_tls",  # "true" for ElastiCache (TLS required), "false" in-cluster
    "kafka_bootstrap",
    "feast_endpoint",
    # Postgres consumer Secrets (keys host, port, database, username, password) in
    # phases.training.orchestration.namespace; "" when Airflow / Prefect is off.
    "airflow_db_secret",
    "prefect_db_secret",
    # Target aws only (components/aws/platform.py AWS_FOUNDATION_KEYS; a test keeps the two equal):
    # the VPC, the EKS cluster (its kubeconfig rebuilds the Kubernetes provider in later phases)
    # and what GPU node groups join.
    "aws_region",
    "vpc_id",
    "vpc_cidr",
    "eks_cluster_name",
    "eks_kubeconfig",
    "eks_node_role_arn",
    "eks_node_security_group_id",
    "eks_private_subnet_ids",
    "eks_oidc_provider_arn",
    "eks_oidc_issuer",
)
# Exported by the training phase.
TRAINING_KEYS: tuple[str, ...] = (
    "training_enabled",
    # Kubeflow Pipelines ("" when disabled): control-plane namespace, the namespace pipeline
    # steps and training jobs run in, the API endpoint and the UI Service (port 80).
    "kfp_namespace",
    "training_namespace",
    "kfp_endpoint",
    "kfp_ui_service",
    # GPU compute of the whole platform (training and serving pools): pool names, each pool's
    # node labels, the taint every GPU node carries ({key, value, effect}), whether pods may
    # request nvidia.com/gpu (false on a local cluster without a GPU: CPU fallback), and the
    # device plugin's namespace ("" when none is installed).
    "gpu_pools",
    "gpu_pool_labels",
    "gpu_taint",
    "gpu_available",
    "device_plugin_namespace",
    # Pools that have EKS node groups (aws, once the cluster's outputs exist; [] on local).
    "gpu_node_groups",
    # Orchestrators ("" when off): Airflow's API server (UI + REST, port 8080) and Prefect's API URL.
    "airflow_api_endpoint",
    "prefect_api_url",
)


class PhaseOutputs:
    """Outputs of an earlier phase, from a StackReference (real engine or the synth's mock)."""

    def __init__(self, values: Mapping[str, pulumi.Output[Any]]) -> None:
        self._values = dict(values)

    @classmethod
    def from_reference(cls, ref: pulumi.StackReference, keys: tuple[str, ...]) -> PhaseOutputs:
        return cls({k: ref.get_output(k) for k in keys})

    def get(self, key: str) -> pulumi.Output[Any]:
        if key not in self._values:
            raise KeyError(f"the earlier phase exports no {key!r}; known: {sorted(self._values)}")
        return self._values[key]
