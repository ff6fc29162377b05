"""`omgml init`: a complete project that renders out of the box; refusal, --force and atomicity."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.spec import load_requirements, load_spec
from omgml.synth.render import render_platform

runner = CliRunner()
TEMPLATES = ["batch", "enterprise", "fintech", "research", "starter"]


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_inits_and_renders(tmp_path: Path, name: str) -> None:
    target = tmp_path / f"{name}-platform"
    result = runner.invoke(app, ["init", str(target), "--template", name])
    assert result.exit_code == 0, result.output
    assert f"created {target}" in result.output
    spec = load_spec(target / "omgml.yaml")
    # A template's name is a placeholder: the platform is named after its folder.
    assert spec.name == f"{name}-platform"
    assert yaml.safe_load((target / "Pulumi.yaml").read_text())["name"] == spec.name
    render = render_platform(spec)
    assert render.all_manifests()
    for phase_file in (target / "stacks").glob("Pulumi.dev-*.yaml"):
        assert yaml.safe_load(phase_file.read_text())["config"]["omgml:phase"] in phase_file.name


def test_init_then_render_command_works(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    assert runner.invoke(app, ["init", str(target), "--template", "starter"]).exit_code == 0
    result = runner.invoke(app, ["render", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "rendered" / "01-foundation.yaml").exists()
    assert (target / "rendered" / "inventory.json").exists()


def test_requirements_file_and_target_override(tmp_path: Path) -> None:
    req = tmp_path / "req.yaml"
    req.write_text("name: fraud-scoring\nflags: [kubernetes_native, real_time]\n")
    target = tmp_path / "out"
    result = runner.invoke(app, ["init", str(target), "--requirements", str(req), "--target", "aws"])
    assert result.exit_code == 0, result.output
    spec = load_spec(target / "omgml.yaml")
    # A requirements file keeps its own name; --target is written into the requirements too.
    assert spec.name == "fraud-scoring" and spec.target == "aws"
    assert load_requirements(target / "omgml.yaml").target == "aws"
    config = yaml.safe_load((target / "stacks" / "Pulumi.dev-foundation.yaml").read_text())["config"]
    assert config["aws:region"] == spec.aws.region


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["init", str(tmp_path), "--template", "starter"])
    assert result.exit_code == 2
    assert "is not empty" in result.output and "--force" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_force_writes_into_a_non_empty_directory_and_keeps_other_files(tmp_path: Path) -> None:
    target = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(target), "--template", "starter"]).exit_code == 0
    (target / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["init", str(target), "--template", "batch", "--force"])
    assert result.exit_code == 0, result.output
    assert (target / "notes.txt").read_text() == "mine"
    assert load_requirements(target / "omgml.yaml").data.batch_only


def test_bad_requirements_leave_no_directory(tmp_path: Path) -> None:
    req = tmp_path / "req.yaml"
    req.write_text("name: x\navailability: 100\n")
    target = tmp_path / "out"
    result = runner.invoke(app, ["init", str(target), "--requirements", str(req)])
    assert result.exit_code == 2
    assert "availability: must be one of '99.0', '99.9', '99.95' or '99.99', got 100" in result.output
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["req.yaml"]


def test_unknown_template_and_usage_errors(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["init", str(tmp_path / "a"), "--template", "nope"])
    assert unknown.exit_code == 2 and "choose one of: batch, enterprise, fintech, research, starter" in unknown.output
    neither = runner.invoke(app, ["init", str(tmp_path / "b")])
    assert neither.exit_code == 2 and "give exactly one of --template NAME or --requirements FILE" in neither.output
    bad_target = runner.invoke(app, ["init", str(tmp_path / "c"), "--template", "starter", "--target", "gke"])
    assert bad_target.exit_code == 2 and "--target must be one of local, aws" in bad_target.output
    assert list(tmp_path.iterdir()) == []


def test_a_folder_name_that_is_not_a_valid_platform_name_keeps_the_templates(tmp_path: Path) -> None:
    target = tmp_path / "My_Project"
    assert runner.invoke(app, ["init", str(target), "--template", "starter"]).exit_code == 0
    assert load_spec(target / "omgml.yaml").name == "starter"


def test_strict_refuses_before_writing_anything(tmp_path: Path) -> None:
    req = tmp_path / "req.yaml"
    req.write_text("name: fraud\ncompliance: [pci-dss]\n")
    target = tmp_path / "out"
    result = runner.invoke(app, ["init", str(target), "--requirements", str(req), "--strict"])
    assert result.exit_code == 1
    assert "compliance: pci-dss cannot be met on target local" in " ".join(result.output.split())
    assert not target.exists()
    loose = runner.invoke(app, ["init", str(target), "--requirements", str(req)])
    assert loose.exit_code == 0 and "warning: compliance: pci-dss cannot be met" in " ".join(loose.output.split())


def test_init_writes_the_architects_pages_from_the_render(tmp_path: Path) -> None:
    target = tmp_path / "shop"
    assert runner.invoke(app, ["init", str(target), "--template", "starter"]).exit_code == 0
    docs = target / "docs"
    interfaces = (docs / "interfaces.md").read_text()
    assert "| `omgml-data/mlflow` | `omgml-data/postgres` | 5432 |" in interfaces
    assert "| `omgml-serving/shop-triton` |" in interfaces
    assert "| serving | triton |" in (docs / "operations.md").read_text()
    assert "## Risks and mitigations" in (docs / "roadmap.md").read_text()
    matrix = (docs / "decision-matrix.md").read_text()
    adr = (docs / "adr" / "0003-orchestration.md").read_text()
    assert matrix.startswith("# The decision matrix") and "(decision matrix, docs/decision-matrix.md)" in adr
    # No stated load: the HA minimum, with the reason.
    assert "| model-server replicas (HPA min … max) | 1 … 3 | target local: one replica" in (
        docs / "architecture.md").read_text()
