"""The governance/ folder `omgml init` writes when phases.training.governance is on ({path: text}).

- omgml_governance/: this package's step modules and the model card template, copied as they
  are (the step image runs the code the tests run);
- requirements.txt and Dockerfile: the step image, on the platform's MLflow image (its client
  matches the server) plus the pinned governance libraries;
- README.md: how to run the steps from the platform's orchestrator and how a promotion gate
  reads their tags.
"""

from __future__ import annotations

from importlib import resources

from omgml.governance import contract
from omgml.spec import PlatformSpec

PACKAGE = "omgml_governance"
MODULES = ("__init__", "contract", "settings", "card", "fairness", "explain", "steps")
# The libraries the steps import besides what the MLflow image has (mlflow, scikit-learn, pandas,
# numpy). scikit-learn is pinned to the release the platform's tier tests with.
REQUIREMENTS = ("shap==0.51.0", "fairlearn==0.15.0", "scikit-learn==1.9.1")


def _read(name: str) -> str:
    return resources.files("omgml.governance").joinpath(name).read_text(encoding="utf-8")


def dockerfile() -> str:
    from omgml.components.mlflow import IMAGE

    return "\n".join([
        "# The governance steps' image (written by `omgml init`): the platform's MLflow image, whose",
        "# client matches the tracking server, plus the pinned governance libraries. Build and push it",
        "# to your registry and name it in the pipeline step that runs the governance steps.",
        f"FROM {IMAGE}",
        "COPY requirements.txt /opt/governance/requirements.txt",
        "RUN pip install --no-cache-dir -r /opt/governance/requirements.txt",
        f"COPY {PACKAGE} /opt/governance/{PACKAGE}",
        "ENV PYTHONPATH=/opt/governance HOME=/tmp MPLCONFIGDIR=/tmp",
        "# Any non-root uid: the steps write only to /tmp.",
        "USER 1000",
        f'ENTRYPOINT ["python", "-m", "{PACKAGE}.steps"]',
        "",
    ])


def readme(spec: PlatformSpec) -> str:
    t = spec.phases.training
    g = t.governance
    steps = [f"- `card`: the model card from `{PACKAGE}/model_card_template.md`, filled from the MLflow run and "
             f"registry metadata, logged as `{contract.MODEL_CARD_ARTIFACT}`; tag `{contract.MODEL_CARD_TAG}`."
             if g.model_cards else "- `card`: off (phases.training.governance.model_cards: false).",
             f"- `explain`: SHAP, mean |SHAP| per feature as metrics `{contract.SHAP_METRIC_PREFIX}<feature>` and "
             f"`{contract.SHAP_ARTIFACT}`; tag `{contract.EXPLAINABILITY_TAG}=logged`."
             if g.explainability else "- `explain`: off (phases.training.governance.explainability: false)."]
    if g.fairness.sensitive_features:
        limits = ", ".join(f"{k} ≤ {v:g}" for k, v in sorted(g.fairness.thresholds.items()))
        steps.append(f"- `fairness`: fairlearn across {', '.join(g.fairness.sensitive_features)}; {limits}; metrics "
                     f"`{contract.FAIRNESS_METRIC_PREFIX}<metric>`, tag `{contract.FAIRNESS_PASSED_TAG}=true|false`.")
    else:
        steps.append("- `fairness`: off until phases.training.governance.fairness.sensitive_features names the "
                     "sensitive columns of the evaluation data.")
    return "\n".join([
        "# Model governance steps", "",
        "Written by `omgml init` from omgml.yaml (phases.training.governance). The settings (which steps run, "
        "the sensitive features, the thresholds) reach the steps from ConfigMap `omgml-governance` (env "
        "`OMGML_GOVERNANCE`), so changing a threshold is an omgml.yaml edit and `omgml up`.", "",
        "## Steps", "", *steps, "",
        "`python -m omgml_governance.steps all --model NAME --version N` runs the configured steps on a registered "
        "version and sets `omgml.governance.passed`; it reads the evaluation data (CSV with a `label` column) "
        "from `runs:/<the version's run>/eval/eval.csv` unless `--data` says otherwise. Exit 0: passed; 1: the "
        "fairness check failed (the version is tagged failed); 2: bad input.", "",
        "## The image", "",
        "`docker build -t <registry>/omgml-governance:<tag> governance/`, push it, and use it as the step's "
        "image (`IMAGE` below). Without an image of your own, a step can start from the "
        "platform's MLflow image and `pip install -r requirements.txt` first, where the namespace allows "
        "egress to a package index (not under pci-dss, soc2 or hipaa).", "",
        "## In a pipeline", "",
        "Kubeflow Pipelines (kfp 2.17 + kfp-kubernetes): a container component with the image, and the settings "
        "from the ConfigMap:", "",
        "```python",
        "from kfp import dsl, kubernetes",
        "",
        "@dsl.container_component",
        "def governance(model: str, version: str):",
        "    return dsl.ContainerSpec(image=IMAGE, command=['python', '-m', 'omgml_governance.steps'],",
        "                             args=['all', '--model', model, '--version', version])",
        "",
        "task = governance(model='fraud', version=register.output)",
        "kubernetes.use_config_map_as_env(task, config_map_name='omgml-governance',",
        "                                 config_map_key_to_env={'governance.json': 'OMGML_GOVERNANCE'})",
        "kubernetes.use_config_map_as_env(task, config_map_name='omgml-training-env',",
        "                                 config_map_key_to_env={'MLFLOW_TRACKING_URI': 'MLFLOW_TRACKING_URI'})",
        "```", "",
        "Airflow (KubernetesExecutor) and Prefect (Kubernetes work pool): every task and flow-run pod already has "
        "`OMGML_GOVERNANCE` and `MLFLOW_TRACKING_URI`; run the task in the governance image and call "
        "`omgml_governance.steps.main(['all', '--model', name, '--version', version])`.", "",
        "## Promotion gate", "",
        "`omgml registry promote . MODEL VERSION --require-tag omgml.governance.passed=true` refuses a version "
        "the steps did not pass (docs/governance.md in omgml explains the tags).", "",
    ])


def governance_files(spec: PlatformSpec) -> dict[str, str]:
    t = spec.phases.training
    if not (t.enabled and t.governance.enabled):
        return {}
    files = {f"governance/{PACKAGE}/{m}.py": _read(f"{m}.py") for m in MODULES}
    files[f"governance/{PACKAGE}/model_card_template.md"] = _read("model_card_template.md")
    files["governance/requirements.txt"] = "\n".join(REQUIREMENTS) + "\n"
    files["governance/Dockerfile"] = dockerfile()
    files["governance/README.md"] = readme(spec)
    return files
