"""Kubeflow Pipelines, standalone (installed as ``omgml.components.kubeflow``).

- pipelines: the component (`KubeflowPipelines`), its args, resolution and S3 consumers;
- release: facts of the KFP 2.17.0 / Argo v4.0.5 release and the sizing of its workloads;
- workloads: pod templates of the KFP Deployments and MySQL (pure);
- config: configuration files (Argo, launcher, Envoy, MySQL, the steps' env; pure);
- rbac: the Roles of the install (pure);
- crds: the CustomResourceDefinitions it needs (pure).
"""

from omgml.components.kubeflow.pipelines import (
    TRAINING_ENV_CONFIGMAP,
    TYPE_TOKEN,
    KubeflowPipelines,
    KubeflowPipelinesArgs,
    s3_consumers,
)

__all__ = ["TRAINING_ENV_CONFIGMAP", "TYPE_TOKEN", "KubeflowPipelines", "KubeflowPipelinesArgs", "s3_consumers"]
