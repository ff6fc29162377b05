"""The platform spec (what a project deploys) and, from the recommendation issue, Requirements."""

from omgml.spec.backup import BackupSpec
from omgml.spec.common import PHASES, CredentialSource, PhaseName, Profile, Target
from omgml.spec.foundation import (
    FeastSpec,
    FoundationSpec,
    KafkaSpec,
    MlflowSpec,
    ObjectStoreSpec,
    PostgresSpec,
    RedisSpec,
    TopicSpec,
)
from omgml.spec.platform import AwsSpec, LocalSpec, PhasesSpec, PlatformSpec, load_spec, spec_from_dict
from omgml.spec.requirements import Requirements, load_requirements
from omgml.spec.serving import EvidentlySpec, ModelServerSpec, PrometheusSpec, ServingSpec
from omgml.spec.training import GpuPoolSpec, KubeflowSpec, TrainingSpec

__all__ = [
    "PHASES",
    "AwsSpec",
    "BackupSpec",
    "CredentialSource",
    "EvidentlySpec",
    "FeastSpec",
    "FoundationSpec",
    "GpuPoolSpec",
    "KafkaSpec",
    "KubeflowSpec",
    "LocalSpec",
    "MlflowSpec",
    "ModelServerSpec",
    "ObjectStoreSpec",
    "PhaseName",
    "PhasesSpec",
    "PlatformSpec",
    "PostgresSpec",
    "Profile",
    "PrometheusSpec",
    "RedisSpec",
    "Requirements",
    "ServingSpec",
    "Target",
    "TopicSpec",
    "TrainingSpec",
    "load_requirements",
    "load_spec",
    "spec_from_dict",
]
