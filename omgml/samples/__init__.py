"""The sample training pipeline `omgml init` writes for the platform's orchestrator(s).

The sources are real modules of this package (linted and type-checked): `training.py` (the
standard-library training + MLflow logging the Airflow and Prefect samples share),
`airflow_dag.py`, `prefect_flow.py`, `kfp_pipeline.py`. `sample_pipeline_files` copies the ones
the spec needs under pipelines/ in the new project.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec

SAMPLE_NAME = "train-model"
PREFECT_ENTRYPOINT = "pipelines/prefect/flow.py:train_model"
KFP_TRACKING_PLACEHOLDER = "{mlflow_tracking_uri}"


def _source(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def sample_orchestrators(spec: PlatformSpec) -> list[str]:
    """Which orchestrators get a sample: the ones deployed, and a team's own Airflow."""
    t = spec.phases.training
    out = []
    if t.enabled and t.kubeflow.enabled:
        out.append("kfp")
    if (t.enabled and t.airflow.enabled) or t.airflow.connections_bundle:
        out.append("airflow")
    if t.enabled and t.prefect.enabled:
        out.append("prefect")
    return out


def _readme(spec: PlatformSpec, kinds: list[str]) -> str:
    lines = [
        "# Sample training pipeline",
        "",
        "`train-model` trains a small model, logs the run to the platform's MLflow (params, metrics, the",
        "dataset it used, the model with its signature) and registers a new version of",
        "`omgml-sample-model`. Afterwards:",
        "",
        "```bash",
        "omgml registry list . omgml-sample-model      # the new version",
        "omgml registry promote . omgml-sample-model 1 --alias production --metric accuracy",
        "```",
        "",
    ]
    if "airflow" in kinds:
        a = spec.phases.training.airflow
        where = (f"the repository git-sync pulls ({a.dags_git.git_url}, folder `{a.dags_git.path}`)"
                 if a.dags_git else "Airflow's DAGs volume (PVC); with a team's own Airflow, its DAG folder")
        lines += ["## Airflow", "", f"Copy `airflow/*.py` into {where}. Once the dag-processor has parsed it:", "",
                  "```bash", "omgml pipeline run . train-model --param epochs=300 --watch",
                  "omgml pipeline logs . train-model RUN_ID", "```", ""]
    if "prefect" in kinds:
        lines += ["## Prefect", "", "Push this project to git, then create the deployment (its flow runs clone the",
                  "repository) and run it:", "", "```bash",
                  f"omgml pipeline deploy . --source https://git.example.com/team/{spec.name}.git",
                  "omgml pipeline run . train-model/train-model --param epochs=300 --watch", "```", ""]
    if "kfp" in kinds:
        lines += ["## Kubeflow Pipelines", "", "```bash", "pip install kfp==2.17.0",
                  "python pipelines/kfp/train_model.py               # writes pipelines/kfp/train_model.yaml",
                  "omgml pipeline deploy . --package pipelines/kfp/train_model.yaml",
                  "omgml pipeline run . train-model --param max_iter=300 --watch", "```", ""]
    lines += ["Every command also takes `--url` (a service you reach yourself) or `--in-cluster` (run from a pod);",
              "by default it port-forwards through the project's cluster.", ""]
    return "\n".join(lines)


def sample_pipeline_files(spec: PlatformSpec) -> dict[str, str]:
    """pipelines/… files for the orchestrators of `spec` (none without an orchestrator)."""
    kinds = sample_orchestrators(spec)
    if not kinds:
        return {}
    files = {"pipelines/README.md": _readme(spec, kinds)}
    training = _source("training.py")
    if "airflow" in kinds:
        files["pipelines/airflow/omgml_train_model.py"] = _source("airflow_dag.py")
        files["pipelines/airflow/omgml_training.py"] = training
    if "prefect" in kinds:
        files["pipelines/prefect/flow.py"] = _source("prefect_flow.py")
        files["pipelines/prefect/omgml_training.py"] = training
    if "kfp" in kinds:
        from omgml.daytwo.reach import platform_endpoints

        mlflow = platform_endpoints(spec).get("mlflow")
        uri = mlflow.in_cluster_url if mlflow else ""
        files["pipelines/kfp/train_model.py"] = _source("kfp_pipeline.py").replace(KFP_TRACKING_PLACEHOLDER, uri)
    return files
