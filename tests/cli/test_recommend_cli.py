"""`omgml recommend`: the table, the --json shape, and clear errors (exit 2, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from omgml.cli.app import app

runner = CliRunner()


def test_table_lists_every_area_with_choice_and_drivers() -> None:
    result = runner.invoke(app, ["recommend", "--template", "fintech"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "fintech: target aws, profile production" in out
    for area, choice in (("framework", "pytorch"), ("serving", "triton"), ("orchestration", "kubeflow"),
                         ("feature_store", "feast-redis"), ("streaming", "kafka"), ("gpu_pools", "both"),
                         ("high_availability", "multi-az")):
        assert any(area in line and choice in line for line in out.splitlines()), area
    assert "flags.kubernetes_native" in out and "models.frameworks" in out
    # Lists in rationales are printed, not swallowed as rich markup.
    assert "models.count 12, models.frameworks [pytorch, xgboost, onnx]: several models" in out
    assert "foundation: msk, rds, s3, elasticache, mlflow, feast" in out
    assert "compliance controls" in out and "rough AWS cost" in out


def test_warnings_are_printed() -> None:
    result = runner.invoke(app, ["recommend", "--template", "enterprise"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "warning: high_availability: availability 99.9 cannot be met on target local" in result.output


def test_json_has_exactly_the_documented_shape() -> None:
    result = runner.invoke(app, ["recommend", "--template", "starter", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"decisions", "warnings", "phases"}
    assert [d["area"] for d in data["decisions"]] == [
        "framework", "serving", "orchestration", "feature_store", "streaming", "experiment_tracking",
        "monitoring", "drift", "gpu_pools", "high_availability"]
    for d in data["decisions"]:
        assert set(d) == {"area", "choice", "rationale", "drivers", "alternatives"}
        assert isinstance(d["drivers"], list)
        assert all(set(a) == {"choice", "why_not"} for a in d["alternatives"])
    assert data["warnings"] == []
    assert data["phases"] == {
        "foundation": ["postgres", "object-store", "redis", "mlflow", "feast"],
        "training": ["kubeflow-pipelines"],
        "serving": ["triton", "prometheus", "alertmanager", "pushgateway", "evidently"],
    }


def test_requirements_file_and_target_override(tmp_path: Path) -> None:
    path = tmp_path / "req.yaml"
    path.write_text("name: fraud\navailability: '99.99'\n")
    local = json.loads(runner.invoke(app, ["recommend", "--requirements", str(path), "--json"]).output)
    aws = json.loads(runner.invoke(app, ["recommend", "--requirements", str(path), "--target", "aws",
                                         "--json"]).output)
    ha = {d["area"]: d["choice"] for d in local["decisions"]}["high_availability"]
    assert ha == "single" and any("cannot be met on target local" in w for w in local["warnings"])
    assert {d["area"]: d["choice"] for d in aws["decisions"]}["high_availability"] == "multi-az"


def test_bad_requirements_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "req.yaml"
    path.write_text("name: x\nflags: [realtime]\nmodels: {count: 0}\n")
    result = runner.invoke(app, ["recommend", "--requirements", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{path}: 2 problem(s)" in result.output
    assert "flags[0]: must be one of 'research_heavy'" in result.output
    assert "models.count: must be ≥ 1, got 0" in result.output


def test_missing_requirements_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["recommend", "--requirements", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found: check the path" in result.output


def test_unknown_template() -> None:
    result = runner.invoke(app, ["recommend", "--template", "fintek"])
    assert result.exit_code == 2
    assert "unknown template 'fintek'; choose one of: batch, enterprise, fintech, research, starter" in result.output


def test_exactly_one_source(tmp_path: Path) -> None:
    neither = runner.invoke(app, ["recommend"])
    both = runner.invoke(app, ["recommend", "--template", "starter", "--requirements", str(tmp_path / "r.yaml")])
    for result in (neither, both):
        assert result.exit_code == 2
        assert "give exactly one of --template NAME or --requirements FILE" in result.output


def test_bad_target() -> None:
    result = runner.invoke(app, ["recommend", "--template", "starter", "--target", "gcp"])
    assert result.exit_code == 2 and "--target must be one of local, aws, got 'gcp'" in result.output
