"""The files `omgml init` writes (pure builders) and the atomic writer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from omgml import project
from omgml.project import ProjectError, project_files, write_project
from omgml.recommend import priced_recommendation, recommend
from omgml.spec import load_requirements, load_spec
from omgml.spec.requirements import requirements_from_dict
from omgml.templates import load_template

ADR_SECTIONS = ["## Status", "## Context", "## Decision", "## Rationale", "## Alternatives considered",
                "## Consequences"]


def files_for(**data: object) -> dict[str, str]:
    # No manifests: the pages read from a render (interfaces, failure modes) have their own tests.
    return project_files(priced_recommendation(requirements_from_dict({"name": "proj", **data})), "a test",
                         manifests=[])


def test_the_project_layout() -> None:
    files = files_for(flags=["kubernetes_native"], training={"gpu": True})
    assert set(files) == {
        "omgml.yaml", "Pulumi.yaml", "stacks/__main__.py", "stacks/Pulumi.dev-foundation.yaml",
        "stacks/Pulumi.dev-training.yaml", "stacks/Pulumi.dev-serving.yaml",
        *[f"docs/adr/{i:04d}-{a}.md" for i, a in enumerate(
            ["framework", "serving", "orchestration", "feature-store", "streaming", "experiment-tracking",
             "monitoring", "drift", "gpu-pools", "high-availability", "data-stores", "hpo", "model-governance",
             "data-quality", "lineage", "experiments", "compliance", "backup"], start=1)],
        "docs/architecture.md", "docs/decision-matrix.md", "docs/interfaces.md", "docs/operations.md",
        "docs/roadmap.md", "README.md", "requirements.txt", ".gitignore", ".github/workflows/omgml.yml",
        "kind-config.yaml",
        # kubernetes_native picks Kubeflow Pipelines: its sample training pipeline (omgml.samples).
        "pipelines/README.md", "pipelines/kfp/train_model.py",
    }
    aws = project_files(priced_recommendation(requirements_from_dict({"name": "proj", "target": "aws"})), "a test",
                        "# cost\n")
    assert "kind-config.yaml" not in aws and aws["docs/cost.md"] == "# cost\n"


def test_kind_config_carries_the_gpu_pool_taint() -> None:
    files = files_for(flags=["kubernetes_native"], training={"gpu": True})
    cfg = yaml.safe_load(files["kind-config.yaml"])
    gpu_workers = [n for n in cfg["nodes"] if "kubeadmConfigPatches" in n]
    assert gpu_workers and "nvidia.com/gpu=present:NoSchedule" in gpu_workers[0]["kubeadmConfigPatches"][0]


def test_cost_doc_on_both_targets() -> None:
    local = project.cost_markdown_for(recommend(requirements_from_dict({"name": "proj"})))
    assert local.startswith("# Footprint") and "| **total** |" in local
    rec = priced_recommendation(requirements_from_dict({"name": "proj", "target": "aws", "budget_usd_month": 1000}))
    assert rec.cost is not None
    aws = project.cost_markdown_for(rec)
    assert aws.startswith("# Cost estimate") and f"**{rec.cost.total:,.2f}**" in aws
    # Each phase against the seed's estimate, and every line item.
    assert "| foundation |" in aws and "| 15,000 |" in aws and "## Every line item" in aws
    assert "Budget 1,000.00/month" in aws
    with pytest.raises(ValueError, match="needs its cost"):
        project.cost_markdown_for(recommend(requirements_from_dict({"name": "proj", "target": "aws"})))


def test_a_phase_that_deploys_nothing_is_not_in_the_deploy_steps() -> None:
    files = files_for(orchestration={"existing": "airflow"})  # the team's Airflow, no GPU → empty training
    assert "stacks/Pulumi.dev-training.yaml" in files  # a fixed file set: --force leaves nothing stale
    assert "| training | `dev-training` | (nothing; skip this stack) |" in files["README.md"]
    assert "pulumi up -s dev-training" not in files["README.md"]
    assert "pulumi up -s dev-serving" in files["README.md"]


def test_omgml_yaml_holds_requirements_and_the_loadable_platform(tmp_path: Path) -> None:
    req = load_template("fintech")
    rec = recommend(req)
    path = tmp_path / "omgml.yaml"
    path.write_text(project_files(rec, "t")["omgml.yaml"])
    assert set(yaml.safe_load(path.read_text())) == {"requirements", "platform", "omgml"}
    assert load_spec(path) == rec.platform
    again = load_requirements(path)
    assert again == req
    # Only stated fields are written, so the engine sees the same facts on a re-run.
    assert recommend(again).to_json() == rec.to_json()


def test_pulumi_project_mirrors_the_reference_project() -> None:
    data = yaml.safe_load(files_for()["Pulumi.yaml"])
    assert data["name"] == "proj"
    assert data["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert data["main"] == "stacks/" and data["stackConfigDir"] == "stacks"


def test_program_entry_is_the_repository_one() -> None:
    repo_main = Path(__file__).resolve().parents[2] / "stacks" / "__main__.py"
    assert files_for()["stacks/__main__.py"] == repo_main.read_text()


def test_stack_configs_name_the_phase_and_the_cluster() -> None:
    local = yaml.safe_load(files_for()["stacks/Pulumi.dev-serving.yaml"])
    assert local == {"config": {"omgml:phase": "serving", "omgml:specFile": "omgml.yaml",
                                "omgml:stackPrefix": "dev", "kubernetes:context": "kind-proj"}}
    aws = yaml.safe_load(files_for(target="aws")["stacks/Pulumi.dev-foundation.yaml"])
    assert aws["config"]["aws:region"] == "us-east-1" and "kubernetes:context" not in aws["config"]


def test_every_adr_has_the_sections_in_order() -> None:
    files = files_for(target="aws", flags=["pytorch_only"], compliance=["pci-dss"])
    adrs = sorted(p for p in files if p.startswith("docs/adr/"))
    assert len(adrs) == 18
    for path in adrs:
        text = files[path]
        positions = [text.index(s) for s in ADR_SECTIONS]
        assert positions == sorted(positions), path
    serving = files["docs/adr/0002-serving.md"]
    assert serving.startswith("# 2. Model serving: triton")
    assert "Use **triton**." in serving and "- **torchserve**: serves PyTorch only" in serving
    assert "- `compliance`: [pci-dss]" in serving
    [compliance_adr] = [p for p in adrs if p.endswith("-compliance.md")]
    compliance = files[compliance_adr]
    assert "audit logging (pci-dss)" in compliance and "`aws.audit_logging: true`" in compliance
    experiments = files["docs/adr/0016-experiments.md"]
    assert experiments.startswith("# 16. A/B tests and canaries: haproxy-router")
    assert "- **gateway-api**: weighted HTTPRoute backends need a gateway controller" in experiments
    assert "add phases.serving.experiments" in experiments


def test_prefect_is_deployed_and_its_adr_says_where() -> None:
    adr = files_for()["docs/adr/0003-orchestration.md"]
    assert "Use **prefect**." in adr
    assert "cannot deploy" not in adr
    assert "phases.training.prefect: the Prefect 3 server and a Kubernetes worker" in adr


def test_the_existing_airflow_path_is_explicit_in_adr_readme_and_architecture() -> None:
    files = files_for(orchestration={"existing": "airflow"})
    adr = files["docs/adr/0003-orchestration.md"]
    assert "Use **airflow**." in adr
    assert "No Airflow is deployed: the team keeps its own" in adr
    assert "AIRFLOW_CONN_OBJECT_STORE" in adr and "phases.training.airflow.enabled: true" in adr
    readme = files["README.md"]
    assert "## Your existing Airflow" in readme and "envFrom" in readme
    assert "## Used but not deployed" in files["docs/architecture.md"]


def _mermaid(text: str) -> str:
    match = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert match
    return match.group(1)


def test_architecture_diagram_shows_the_layers_and_only_deployed_components() -> None:
    rec = recommend(load_template("enterprise"))
    diagram = _mermaid(project_files(rec, "t")["docs/architecture.md"])
    assert diagram.startswith("flowchart LR\n")
    for layer in ("data", "training", "serving", "monitoring"):
        assert f'subgraph {layer}["' in diagram
    for node in ("kafka", "postgres", "objectstore", "redis", "feast", "mlflow", "kfp", "server", "prometheus",
                 "evidently", "gputrain", "gpuserve"):
        assert re.search(rf"^    {node}[\[(]", diagram, re.M), node
    assert 'server -->|"model repository"| objectstore' in diagram
    assert 'kfp -->|"tracking"| mlflow' in diagram
    # Every edge joins two declared nodes.
    declared = set(re.findall(r"^    (\w+)[\[(]", diagram, re.M))
    for a, b in re.findall(r"^  (\w+) -\.?->\|[^|]*\| (\w+)$", diagram, re.M):
        assert a in declared and b in declared

    batch = _mermaid(project_files(recommend(load_template("batch")), "t")["docs/architecture.md"])
    assert "kafka" not in batch and "redis" not in batch and "grafana" not in batch


def test_architecture_draws_the_deployed_orchestrator_and_marks_an_existing_one() -> None:
    text = files_for()["docs/architecture.md"]
    assert 'prefect["Prefect server + Kubernetes worker"]' in text
    assert 'prefect -->|"tracking"| mlflow' in text
    assert "not deployed" not in text
    existing = files_for(orchestration={"existing": "airflow"})["docs/architecture.md"]
    assert 'orchestrator("Your existing Airflow (airflow-connections; not deployed by omgml)")' in existing


def test_readme_explains_phases_and_next_commands() -> None:
    readme = files_for(flags=["kubernetes_native"])["README.md"]
    for text in ("omgml render .", "kind create cluster --config kind-config.yaml", "pulumi up -s dev-foundation",
                 "pulumi up -s dev-training", "pulumi up -s dev-serving", "pulumi login \"file://$PWD/.pulumi-state\"", "omgml local up .",
                 "PULUMI_CONFIG_PASSPHRASE", "| foundation | `dev-foundation` |"):
        assert text in readme
    assert readme.index("dev-foundation\n") < readme.index("pulumi up -s dev-training")


def test_aws_readme_has_the_rendered_cost_per_phase_to_the_cent() -> None:
    rec = priced_recommendation(requirements_from_dict({"name": "proj", "target": "aws"}))
    assert rec.cost is not None
    readme = project_files(rec, "t")["README.md"]
    assert "## Monthly cost on AWS" in readme
    for phase, usd in rec.cost.per_phase().items():
        assert f"| {phase} | {usd:,.2f} |" in readme
    assert f"| **total** | **{rec.cost.total:,.2f}** |" in readme


def test_requirements_txt_pins_the_runtime_dependencies() -> None:
    lines = [x for x in project.requirements_txt().splitlines() if x and not x.startswith("#")]
    names = {re.split(r"[<>=!~]", x)[0].lower() for x in lines}
    assert {"pulumi", "pulumi-kubernetes", "pulumi-random", "pydantic", "pyyaml"} <= names
    assert all(re.search(r"[<>=]=?", x) for x in lines)
    assert not any(n in names for n in ("pytest", "ruff", "mypy"))


# --- the writer ---------------------------------------------------------------------------------
FILES = {"a.txt": "a\n", "sub/b.txt": "b\n"}


def test_writes_a_new_directory_and_leaves_no_staging(tmp_path: Path) -> None:
    target = tmp_path / "new"
    assert write_project(target, FILES) == ["a.txt", "sub/b.txt"]
    assert (target / "sub" / "b.txt").read_text() == "b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]


def test_an_empty_directory_is_fine(tmp_path: Path) -> None:
    write_project(tmp_path, FILES)
    assert (tmp_path / "a.txt").exists()


def test_refuses_a_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(ProjectError, match=r"is not empty; .* --force"):
        write_project(tmp_path, FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_force_replaces_omgml_files_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    (tmp_path / "a.txt").write_text("old")
    write_project(tmp_path, FILES, force=True)
    assert (tmp_path / "a.txt").read_text() == "a\n" and (tmp_path / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}")) == []


def test_a_failure_while_staging_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = project._write_tree

    def half_then_fail(root: Path, files: dict[str, str]) -> None:
        real(root, dict(list(files.items())[:1]))
        raise OSError("disk full")

    monkeypatch.setattr(project, "_write_tree", half_then_fail)
    with pytest.raises(ProjectError, match=r"\(disk full\); nothing was written"):
        write_project(tmp_path / "new", FILES)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_during_force_restores_the_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("old b")
    real_replace = os.replace
    calls = {"n": 0}

    def fail_on_fourth(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # a.txt saved + replaced, b.txt saved, then its replacement fails
            raise OSError("device busy")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", fail_on_fourth)
    with pytest.raises(ProjectError, match=r"\(device busy\); its previous files were restored"):
        write_project(tmp_path, FILES, force=True)
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert (tmp_path / "sub" / "b.txt").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}")) == []


def test_a_folder_where_a_file_goes_is_refused_before_writing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(ProjectError, match="is a directory, but omgml writes a file there"):
        write_project(tmp_path, FILES, force=True)


def test_a_file_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ProjectError, match="exists and is not a directory"):
        write_project(tmp_path / "f", FILES)
