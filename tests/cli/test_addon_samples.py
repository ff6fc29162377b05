"""What `omgml init` writes for the training add-ons: the HPO sample and the governance steps."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from omgml.governance.samples import MODULES, governance_files
from omgml.hpo.samples import hpo_files
from omgml.policy.containers import check_images, check_probes, check_resources
from omgml.policy.pod_security import check_pod_security
from omgml.project import project_files
from omgml.recommend import recommend
from omgml.spec.requirements import requirements_from_dict
from omgml.templates import load_template


def spec_for(**req: object):  # type: ignore[no-untyped-def]
    return recommend(requirements_from_dict({"name": "s", **req})).platform


def test_a_katib_platform_gets_an_experiment_whose_trials_pass_the_restricted_policies() -> None:
    files = hpo_files(spec_for(flags=["kubernetes_native"], training={"hpo": True}, tracking={"wandb": True}))
    assert set(files) == {"hpo/experiment.yaml", "hpo/trial.py", "hpo/model.py", "hpo/README.md"}
    config_map, experiment = yaml.safe_load_all(files["hpo/experiment.yaml"])
    assert experiment["kind"] == "Experiment" and experiment["apiVersion"] == "kubeflow.org/v1beta1"
    assert experiment["metadata"]["namespace"] == "omgml-pipelines" == config_map["metadata"]["namespace"]
    assert experiment["spec"]["metricsCollectorSpec"]["collector"]["kind"] == "StdOut"
    # Every trial parameter the command uses is declared, and every declared one is used.
    template = experiment["spec"]["trialTemplate"]
    job = template["trialSpec"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    used = {a.split("${trialParameters.")[1].rstrip("}") for a in container["command"] if "${trialParameters." in a}
    assert used == {p["name"] for p in template["trialParameters"]}
    assert {p["reference"] for p in template["trialParameters"]} - {"${trialSpec.Name}"} == {
        p["name"] for p in experiment["spec"]["parameters"]}
    assert template["primaryContainerName"] == container["name"]
    # The trial code in the ConfigMap is the module omgml ships, and it parses.
    assert config_map["data"]["trial.py"] == files["hpo/trial.py"]
    ast.parse(config_map["data"]["trial.py"])
    env = {e["name"]: e for e in container["env"]}
    assert env["WANDB_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "wandb-api-key", "key": "api-key"}}
    assert {"configMapRef": {"name": "omgml-training-env"}} in container["envFrom"]
    job_manifest = {**job, "metadata": {"name": "trial", "namespace": "omgml-pipelines"}}
    for check in (check_images, check_resources, check_probes):
        assert check(job_manifest) == [], check.__name__
    assert check_pod_security(job_manifest, {}) == []


def test_an_optuna_platform_gets_the_study() -> None:
    files = hpo_files(spec_for(training={"hpo": True}))
    assert set(files) == {"hpo/study.py", "hpo/model.py", "hpo/README.md"}
    assert "OPTUNA_STORAGE" in files["hpo/README.md"]
    ast.parse(files["hpo/study.py"])


def test_no_hpo_no_files() -> None:
    assert hpo_files(spec_for(flags=["kubernetes_native"])) == {}
    assert governance_files(spec_for(flags=["kubernetes_native"])) == {}


def test_the_fintech_project_gets_the_governance_steps_image_and_gate() -> None:
    spec = recommend(load_template("fintech")).platform
    files = governance_files(spec)
    for m in MODULES:
        ast.parse(files[f"governance/omgml_governance/{m}.py"])
    assert "$model_name" in files["governance/omgml_governance/model_card_template.md"]
    assert files["governance/requirements.txt"].splitlines() == ["shap==0.51.0", "fairlearn==0.15.0",
                                                                "scikit-learn==1.9.1"]
    dockerfile = files["governance/Dockerfile"]
    assert dockerfile.splitlines()[3] == "FROM ghcr.io/mlflow/mlflow:v3.17.0-full" and "USER 1000" in dockerfile
    readme = files["governance/README.md"]
    assert "age_band" in readme and "demographic_parity_difference ≤ 0.05" in readme
    assert "--require-tag omgml.governance.passed=true" in readme


def test_init_writes_them_beside_the_rest() -> None:
    rec = recommend(load_template("research"))
    files = project_files(rec, "template research", manifests=[])
    assert "hpo/experiment.yaml" in files
    # Numbered in decision order: HPO right after the data stores, governance next, compliance later.
    areas = [p.split("-", 1)[1] for p in sorted(files) if p.startswith("docs/adr/")]
    assert areas.index("hpo.md") == areas.index("data-stores.md") + 1
    assert areas.index("model-governance.md") == areas.index("hpo.md") + 1
    assert areas.index("compliance.md") > areas.index("model-governance.md")


def test_the_architecture_diagram_shows_the_add_ons() -> None:
    from omgml.project import architecture_mermaid

    text = architecture_mermaid(recommend(requirements_from_dict({
        "name": "s", "flags": ["kubernetes_native"], "training": {"hpo": True}, "compliance": ["soc2"]})))
    assert 'hpo["Katib (HPO service)"]' in text and 'hpo -->|"trials"| postgres' in text
    assert 'governance -->|"card, metrics, tags"| mlflow' in text
    plain = architecture_mermaid(recommend(requirements_from_dict({"name": "s"})))
    assert "hpo" not in plain and "governance" not in plain


def test_sync_adds_missing_samples_and_never_rewrites_edited_ones(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from omgml.cli.app import app
    from omgml.sync import sync_project

    project = tmp_path / "research"
    result = CliRunner().invoke(app, ["init", str(project), "--template", "research"])
    assert result.exit_code == 0, result.output
    experiment = project / "hpo" / "experiment.yaml"
    experiment.write_text("# our own search space\n")
    readme = project / "hpo" / "README.md"
    original = readme.read_text()
    readme.unlink()
    report = sync_project(project)
    assert experiment.read_text() == "# our own search space\n"
    assert readme.read_text() == original and "hpo/README.md" in report.written
    assert "hpo/experiment.yaml" not in report.written
