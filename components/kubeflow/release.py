"""Facts of the Kubeflow Pipelines release omgml installs, and the sizing of its workloads.

Everything here was read from github.com/kubeflow/pipelines at tag 2.17.0
(manifests/kustomize/env/platform-agnostic and what it pulls in) and from
github.com/argoproj/argo-workflows at the tag KFP pins (manifests/base, namespace-install).
"""

from __future__ import annotations

from dataclasses import dataclass

from omgml import k8s as kube
from omgml import sizes
from omgml.spec.common import per_profile

KFP_VERSION = "2.17.0"
ARGO_VERSION = "v4.0.5"  # third-party/argo/installs/namespace at KFP 2.17.0
MLMD_VERSION = "1.14.0"


def kfp_image(name: str) -> str:
    return f"ghcr.io/kubeflow/{name}:{KFP_VERSION}"


IMAGES: dict[str, str] = {
    "api-server": kfp_image("kfp-api-server"),
    "persistence-agent": kfp_image("kfp-persistence-agent"),
    "scheduled-workflow": kfp_image("kfp-scheduled-workflow-controller"),
    "ui": kfp_image("kfp-frontend"),
    "metadata-envoy": kfp_image("kfp-metadata-envoy"),
    "metadata-grpc": f"gcr.io/tfx-oss-public/ml_metadata_store_server:{MLMD_VERSION}",
    "workflow-controller": f"quay.io/argoproj/workflow-controller:{ARGO_VERSION}",
    # Official image; KFP's MySQL manifest pins the same 8.4 line.
    "mysql": "mysql:8.4",
    # The wait-for-* init containers of the upstream manifests use this image for `nc -z`.
    "wait": "docker.io/alpine:3.23",
}
EXECUTOR_IMAGE = f"quay.io/argoproj/argoexec:{ARGO_VERSION}"
DRIVER_IMAGE = kfp_image("kfp-driver")
LAUNCHER_IMAGE = kfp_image("kfp-launcher")

# Every workload (Deployment/StatefulSet name) of the upstream standalone install
# env/platform-agnostic at 2.17.0, for the record and for the test that our list is a subset.
UPSTREAM_WORKLOADS: tuple[str, ...] = (
    "cache-deployer-deployment",
    "cache-server",
    "metadata-envoy-deployment",
    "metadata-grpc-deployment",
    "metadata-writer",
    "ml-pipeline",
    "ml-pipeline-persistenceagent",
    "ml-pipeline-scheduledworkflow",
    "ml-pipeline-ui",
    "ml-pipeline-viewer-crd",
    "ml-pipeline-visualizationserver",
    "mysql",
    "seaweedfs",
    "workflow-controller",
)


@dataclass(frozen=True)
class Workload:
    name: str  # Deployment/StatefulSet name (upstream's: KFP binaries find services by name)
    component: str  # app.kubernetes.io/component and the key into IMAGES/SIZING
    service_account: str
    needs_api: bool  # mounts a ServiceAccount token (talks to the Kubernetes API)


# What omgml installs, in start order. Names are upstream's: the driver and launcher address
# `ml-pipeline` and `metadata-grpc-service`, the UI `metadata-envoy-service`, by name.
WORKLOADS: tuple[Workload, ...] = (
    Workload("mysql", "mysql", "mysql", needs_api=False),
    Workload("metadata-grpc-deployment", "metadata-grpc", "metadata-grpc-server", needs_api=False),
    Workload("metadata-envoy-deployment", "metadata-envoy", "metadata-envoy", needs_api=False),
    Workload("workflow-controller", "workflow-controller", "argo", needs_api=True),
    Workload("ml-pipeline", "api-server", "ml-pipeline", needs_api=True),
    Workload("ml-pipeline-persistenceagent", "persistence-agent", "ml-pipeline-persistenceagent", needs_api=True),
    Workload("ml-pipeline-scheduledworkflow", "scheduled-workflow", "ml-pipeline-scheduledworkflow", needs_api=True),
    Workload("ml-pipeline-ui", "ui", "ml-pipeline-ui", needs_api=True),
)
# The component list of this install (asserted against the render by the tests).
COMPONENTS: tuple[str, ...] = tuple(w.name for w in WORKLOADS)


@dataclass(frozen=True)
class StoreAccess:
    """A ServiceAccount of this install whose pods open the object store themselves."""

    consumer: str  # S3Consumer name: unique in a platform, hence the "kfp-" prefix
    workload: str | None  # a WORKLOADS name (its ServiceAccount); None: the step pods (PIPELINE_RUNNER_SA)
    read_only: bool


# Who opens the object store, checked in the 2.17.0 sources (only backend/src/apiserver and
# backend/src/v2 link an S3 client; the persistence agent, scheduler and ML Metadata do not, and
# Argo v4.0.5 uses its artifact drivers in argoexec only, never in the workflow controller).
STORE_ACCESS: tuple[StoreAccess, ...] = (
    # The API server only reads: GetFileReader for pipeline specs older releases kept in the store,
    # archived step logs and v1 run artifacts, plus HeadBucket at start (client_manager.go
    # ensureBucketExists, a warning when it fails). 2.17 keeps new pipeline specs in the database.
    StoreAccess("kfp-api", "ml-pipeline", read_only=True),
    # The UI server reads artifact previews and archived logs (frontend/server/minio-helper.ts).
    StoreAccess("kfp-ui", "ml-pipeline-ui", read_only=True),
    # Step pods: the launcher uploads and downloads artifacts, argoexec's wait container archives
    # logs, and user code reads and writes data.
    StoreAccess("kfp-runner", None, read_only=False),
)

# Upstream workloads left out, and why. Checked in the 2.17.0 sources:
OMITTED: dict[str, str] = {
    # backend/src/cache/server/mutation.go: "KFP v2 handles caching by its driver" — the
    # mutating webhook only acts on v1 pods. Leaving it out also drops the webhook TLS cert that
    # cache-deployer makes through the CSR API and its ClusterRole (approve on kubernetes.io/*
    # signers, create mutatingwebhookconfigurations): the only cluster-wide rights of the install.
    "cache-server": "v1-only pipeline step cache (v2 caches in the driver through the API server)",
    "cache-deployer-deployment": "only issues the cache-server webhook certificate",
    # backend/metadata_writer/src/metadata_writer.py: "Skip KFP v2 pods - they have their own
    # metadata writers" (the v2 launcher writes to MLMD itself).
    "metadata-writer": "v1-only: v2 launchers record to ML Metadata themselves",
    "ml-pipeline-viewer-crd": "v1 TFX/TensorBoard viewers (Viewer CRD); the v2 UI does not use them",
    "ml-pipeline-visualizationserver": "v1 Python visualizations; disabled in the UI here",
    "seaweedfs": "the foundation's S3-compatible object store is reused (no second store)",
}

# Service names the binaries expect.
API_SERVICE = "ml-pipeline"
API_HTTP_PORT = 8888
API_GRPC_PORT = 8887
UI_SERVICE = "ml-pipeline-ui"
UI_PORT = 3000
METADATA_GRPC_SERVICE = "metadata-grpc-service"
METADATA_GRPC_PORT = 8080
METADATA_ENVOY_SERVICE = "metadata-envoy-service"
METADATA_ENVOY_PORT = 9090
MYSQL_SERVICE = "mysql"
MYSQL_PORT = 3306
SWF_METRICS_PORT = 9090
ARGO_METRICS_PORT = 9090
ARGO_HEALTH_PORT = 6060

PIPELINE_RUNNER_SA = "pipeline-runner"  # config.json DEFAULTPIPELINERUNNERSERVICEACCOUNT
LAUNCHER_CONFIGMAP = "kfp-launcher"  # read by driver and launcher from their own namespace
ARGO_CONFIGMAP = "workflow-controller-configmap"
PUBLIC_CONFIGMAP = "kubeflow-pipelines-public"
MYSQL_SECRET = "mysql-secret"
# Generated key that signs the UI's TensorBoard proxy paths (frontend/server/configs.ts
# TENSORBOARD_PROXY_SIGNING_SECRET; upstream defaults it to MINIO_SECRET_KEY).
UI_SECRET = "ml-pipeline-ui-secrets"
UI_SIGNING_KEY = "tensorboard_proxy_signing_secret"
MYSQL_USER = "kfp"
PIPELINE_DB = "mlpipeline"
MLMD_DB = "metadb"
# Argo's artifact key layout from KFP's workflow-controller-configmap patch; the UI's
# ARGO_KEYFORMAT must be the same or archived logs are not found.
ARTIFACT_KEY_FORMAT = (
    "private-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/"
    "{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{pod.name}}"
)

# --- sizing -----------------------------------------------------------------------------
SIZING = sizes.parts("kubeflow")
# The wait-for-* init containers (upstream's numbers).
WAIT_SIZE = kube.Size("10m", "16Mi", "100m", "64Mi")
# InnoDB buffer pool per profile: the bulk of MySQL's memory, kept well under the limit.
MYSQL_BUFFER_POOL = per_profile(laptop="64M", small="256M", production="1G")
