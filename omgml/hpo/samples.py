"""The hpo/ folder `omgml init` writes when phases.training.hpo is on (pure: {path: text}).

Katib: hpo/experiment.yaml (a ConfigMap with the trial code and an Experiment whose trials are
Jobs in the steps namespace, logging to MLflow), hpo/trial.py, hpo/model.py, hpo/README.md.
Optuna: hpo/study.py, hpo/model.py, hpo/README.md. The Python files are this package's modules,
copied as they are (they are linted, type-checked and tested here).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from omgml import k8s as kube
from omgml.components.katib.release import INJECTION_LABEL
from omgml.spec import PlatformSpec

TRIAL_CONFIG_MAP = "omgml-hpo-trial"
EXPERIMENT = "hpo-sample"
TRIAL_DIR = "/opt/trial"
# The platform's MLflow image carries mlflow, scikit-learn, pandas and numpy: all a trial needs.
TRIAL_UID = 1000
TRIAL_SIZE = kube.Size("250m", "512Mi", "1", "1Gi")


def _source(module: str) -> str:
    return resources.files("omgml.hpo").joinpath(f"{module}.py").read_text(encoding="utf-8")


def _mlflow_probe(spec: PlatformSpec) -> kube.JsonDict:
    """A trial has no port: its probe checks the MLflow server it logs to still answers."""
    from omgml.components.mlflow import PORT, service_account_name
    from omgml.k8s import tcp_exec_probe

    host = f"{service_account_name('mlflow')}.{spec.phases.foundation.namespace}.svc.cluster.local"
    return tcp_exec_probe(host, PORT, period=30, failures=6)


def katib_experiment(spec: PlatformSpec) -> list[kube.JsonDict]:
    """The ConfigMap holding the trial code and the Experiment (apply both with kubectl)."""
    from omgml.components.kubeflow import TRAINING_ENV_CONFIGMAP
    from omgml.components.mlflow import IMAGE as MLFLOW_IMAGE
    from omgml.components.wandb import CONFIG_MAP as WANDB_CONFIG_MAP

    t = spec.phases.training
    ns = t.kubeflow.user_namespace
    env_from: list[kube.JsonDict] = [{"configMapRef": {"name": TRAINING_ENV_CONFIGMAP}}]
    env: list[kube.JsonDict] = [{"name": "HOME", "value": "/tmp"}, {"name": "OMGML_HPO_EXPERIMENT", "value": EXPERIMENT}]
    if t.wandb.enabled:
        env_from.append({"configMapRef": {"name": WANDB_CONFIG_MAP}})
        env.append({"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {
            "name": t.wandb.api_key_secret, "key": t.wandb.api_key_key}}})
    command = ["python", f"{TRIAL_DIR}/trial.py", "--trial-name=${trialParameters.trialName}",
               "--n-estimators=${trialParameters.nEstimators}", "--max-depth=${trialParameters.maxDepth}",
               "--learning-rate=${trialParameters.learningRate}"]
    job: kube.JsonDict = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": 1800,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "katib-trial", "app.kubernetes.io/part-of": "omgml"}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": kube.restricted_pod_security_context(TRIAL_UID),
                    "containers": [{
                        "name": "trial",
                        "image": MLFLOW_IMAGE,
                        "command": command,
                        "env": env,
                        "envFrom": env_from,
                        "resources": TRIAL_SIZE.resources(),
                        "securityContext": kube.restricted_container_security_context(read_only_root=True),
                        "readinessProbe": _mlflow_probe(spec),
                        "livenessProbe": _mlflow_probe(spec),
                        "volumeMounts": [{"name": "trial", "mountPath": TRIAL_DIR, "readOnly": True},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "trial", "configMap": {"name": TRIAL_CONFIG_MAP}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "512Mi"}}],
                },
            },
        },
    }
    experiment: kube.JsonDict = {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": EXPERIMENT, "namespace": ns},
        "spec": {
            "objective": {"type": "maximize", "goal": 0.99, "objectiveMetricName": "accuracy",
                          "additionalMetricNames": ["roc_auc"]},
            "algorithm": {"algorithmName": "tpe"},
            "parallelTrialCount": 2,
            "maxTrialCount": 12,
            "maxFailedTrialCount": 3,
            "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
            "parameters": [
                {"name": "n_estimators", "parameterType": "int", "feasibleSpace": {"min": "20", "max": "200",
                                                                                  "step": "20"}},
                {"name": "max_depth", "parameterType": "int", "feasibleSpace": {"min": "2", "max": "6"}},
                {"name": "learning_rate", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.3"}},
            ],
            "trialTemplate": {
                "primaryContainerName": "trial",
                "trialParameters": [
                    {"name": "nEstimators", "reference": "n_estimators"},
                    {"name": "maxDepth", "reference": "max_depth"},
                    {"name": "learningRate", "reference": "learning_rate"},
                    {"name": "trialName", "reference": "${trialSpec.Name}"},
                ],
                "trialSpec": job,
            },
        },
    }
    config_map: kube.JsonDict = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": TRIAL_CONFIG_MAP, "namespace": ns},
        "data": {"trial.py": _source("trial"), "model.py": _source("model")},
    }
    return [config_map, experiment]


def _dump(docs: list[kube.JsonDict]) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False, width=100) for d in docs)


def _readme(spec: PlatformSpec, engine: str) -> str:
    t = spec.phases.training
    if engine == "katib":
        ns = t.kubeflow.user_namespace
        return "\n".join([
            "# Hyperparameter search with Katib", "",
            f"Katib (phases.training.hpo) runs in namespace `{t.kubeflow.namespace}`; experiments and their "
            f"trials run in `{ns}` (labelled `{INJECTION_LABEL}: enabled`, so each trial pod gets Katib's "
            "metrics collector).", "",
            "```sh",
            "kubectl apply -f hpo/experiment.yaml      # the trial code (ConfigMap) and the Experiment",
            f"kubectl get experiment,trials -n {ns}",
            f"kubectl port-forward -n {t.kubeflow.namespace} svc/katib-ui 8080:80   # http://localhost:8080/katib/",
            "```", "",
            "Each trial is a Job running `trial.py` in the platform's MLflow image: it trains `model.py` with the "
            "suggested parameters, logs a run to MLflow (experiment `hpo-sample`, tag `katib.trial`) and prints "
            "`accuracy=…`, which Katib reads as the objective. Put your training code in `model.py` "
            "(`train_and_score`), re-create the ConfigMap and run a new Experiment.", "",
        ])
    ns = t.orchestration.namespace
    return "\n".join([
        "# Hyperparameter search with Optuna", "",
        "Studies live in Optuna's RDB storage on the platform's Postgres (database `optuna`); every Airflow "
        f"task and Prefect flow-run pod in `{ns}` has `OPTUNA_STORAGE` and `MLFLOW_TRACKING_URI`, so the study "
        "code needs no configuration. Each trial is a nested MLflow run under the study's run.", "",
        "Run it from a task (the image needs `optuna==5.1.0` and scikit-learn), e.g. a Prefect flow:", "",
        "```python",
        "from prefect import flow",
        "import study",
        "",
        "@flow",
        "def tune() -> None:",
        "    study.main([\"--study\", \"sample\", \"--trials\", \"20\"])",
        "```", "",
        f"optuna-dashboard: `kubectl port-forward -n {ns} svc/optuna-dashboard 8080:8080`, then "
        "http://localhost:8080/dashboard.", "",
    ])


def hpo_files(spec: PlatformSpec) -> dict[str, str]:
    t = spec.phases.training
    if not (t.enabled and t.hpo.enabled):
        return {}
    engine = t.hpo.resolved_engine(t.kubeflow.enabled)
    files: dict[str, Any] = {"hpo/model.py": _source("model"), "hpo/README.md": _readme(spec, engine)}
    if engine == "katib":
        files["hpo/trial.py"] = _source("trial")
        files["hpo/experiment.yaml"] = ("# A sample Katib Experiment (written by `omgml init`): kubectl apply -f "
                                        "hpo/experiment.yaml\n" + _dump(katib_experiment(spec)))
    else:
        files["hpo/study.py"] = _source("study")
    return files
