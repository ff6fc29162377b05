"""Facts of the Katib release omgml installs, and the sizing of its workloads.

Read from github.com/kubeflow/katib at tag v0.19.0 (manifests/v1beta1/components/*, the
installs/katib-standalone-postgres overlay, cmd/ and pkg/), the same sources as the Go module
v0.19.0 the Go module proxy serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from omgml import k8s as kube
from omgml import sizes

VERSION = "v0.19.0"
APP = "katib"


def katib_image(name: str) -> str:
    return f"ghcr.io/kubeflow/katib/{name}:{VERSION}"


IMAGES: dict[str, str] = {
    "controller": katib_image("katib-controller"),
    "db-manager": katib_image("katib-db-manager"),
    "ui": katib_image("katib-ui"),
}
# What the upstream manifests run the three images as.
UID = 1000

# Names the binaries rely on: the webhook certificate's DNS name is <controller service>.<ns>.svc,
# the secret and webhook configuration names are the cert generator's, and trials' metrics
# collectors dial katib-db-manager.<ns>:6789 (pkg/common/v1beta1 GetDBManagerAddr).
CONTROLLER = "katib-controller"
DB_MANAGER = "katib-db-manager"
UI = "katib-ui"
CONFIG_MAP = "katib-config"
WEBHOOK_SECRET = "katib-webhook-cert"
WEBHOOK_CONFIGURATION = "katib.kubeflow.org"  # pkg/certgenerator/v1beta1 Webhook
CERT_DIR = "/tmp/cert"  # consts.CertDir
WEBHOOK_PORT = 8443
METRICS_PORT = 8080
HEALTHZ_PORT = 18080
DB_MANAGER_PORT = 6789
UI_PORT = 8080
SUGGESTION_PORT = 6789  # every suggestion service's gRPC port (consts.DefaultSuggestionPort)
# The label the pod mutating webhook selects namespaces by (metrics-collector injection).
INJECTION_LABEL = "katib.kubeflow.org/metrics-collector-injection"

# Trials are plain Kubernetes Jobs: the platform installs no training operator (TFJob, PyTorchJob,
# …), so the controller watches and creates nothing else (fewer rights than upstream's list).
TRIAL_RESOURCES: tuple[str, ...] = ("Job.v1.batch",)


@dataclass(frozen=True)
class Algorithm:
    name: str  # algorithmName in an Experiment
    image: str


# Upstream's katib-config at v0.19.0 minus three: enas and darts (neural architecture search,
# GPU-sized suggestion services) and pbt (needs a ReadWriteMany volume per experiment).
ALGORITHMS: tuple[Algorithm, ...] = (
    Algorithm("random", katib_image("suggestion-hyperopt")),
    Algorithm("tpe", katib_image("suggestion-hyperopt")),
    Algorithm("grid", katib_image("suggestion-optuna")),
    Algorithm("multivariate-tpe", katib_image("suggestion-optuna")),
    Algorithm("hyperband", katib_image("suggestion-hyperband")),
    Algorithm("bayesianoptimization", katib_image("suggestion-skopt")),
    Algorithm("cmaes", katib_image("suggestion-goptuna")),
    Algorithm("sobol", katib_image("suggestion-goptuna")),
)
OMITTED_ALGORITHMS: dict[str, str] = {
    "enas": "neural architecture search (a GPU-sized TensorFlow suggestion service)",
    "darts": "neural architecture search (differentiable), the same",
    "pbt": "population-based training needs a ReadWriteMany volume per experiment",
}
EARLY_STOPPING_IMAGE = katib_image("earlystopping-medianstop")
METRICS_COLLECTORS: dict[str, str] = {
    "StdOut": katib_image("file-metrics-collector"),
    "File": katib_image("file-metrics-collector"),
    "TensorFlowEvent": katib_image("tfevent-metrics-collector"),
}
# Suggestion images are python:3.11-slim with their folder group 0 and group-writable (the
# arbitrary-uid convention), so they run as this uid under the restricted container context.
SUGGESTION_UID = 1000


@dataclass(frozen=True)
class KatibSizing:
    controller: kube.Size
    db_manager: kube.Size
    ui: kube.Size
    suggestion: kube.Size  # each experiment's suggestion service
    collector: kube.Size  # the metrics-collector sidecar in each trial pod


SIZING = sizes.rows("katib", KatibSizing)
