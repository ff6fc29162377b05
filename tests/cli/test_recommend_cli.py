"""`omgml recommend`: the table, the --json shape, and clear errors (exit 2, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from omgml.cli.app import app

runner = CliRunner()


def test_text_lists_every_area_with_choice_drivers_and_alternatives() -> None:
    result = runner.invoke(app, ["recommend", "--template", "fintech"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("fintech: target aws, profile production\n")
    for area, choice in (("framework", "pytorch"), ("serving", "triton"), ("orchestration", "kubeflow"),
                         ("feature_store", "feast-redis"), ("streaming", "kafka"), ("gpu_pools", "both"),
                         ("high_availability", "multi-az"), ("data_stores", "mixed")):
        assert f"\n{area}: {choice}\n" in out, area
    assert "  drivers: flags.kubernetes_native" in out and "    not tf-serving: " in out
    # Lists in rationales are printed as written.
    assert "models.count 12, models.frameworks [pytorch, xgboost, onnx]: several models" in " ".join(out.split())
    assert "foundation: kafka, rds, s3, elasticache, mlflow, feast" in out
    assert "compliance controls:" in out and "sizing:" in out
    assert "model-server replicas (HPA min … max): 3 … 5" in out
    assert "monthly cost on aws: $" in out and "(seed estimate $15,000)" in out


def test_every_line_fits_80_columns_when_piped() -> None:
    for name in ("fintech", "batch", "starter"):
        result = runner.invoke(app, ["recommend", "--template", name], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert max(len(line) for line in result.output.splitlines()) <= 80, name
    narrow = runner.invoke(app, ["recommend", "--template", "fintech"], env={"COLUMNS": "50"})
    assert max(len(line) for line in narrow.output.splitlines()) <= 50


def test_warnings_are_printed_and_unmet_ones_marked() -> None:
    result = runner.invoke(app, ["recommend", "--template", "enterprise"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "warning (unmet): high_availability: availability 99.9 cannot be met on target local" in result.output
    assert "warning: settings: budget_usd_month is checked on target aws only" in result.output


def test_strict_refuses_what_the_target_cannot_meet(tmp_path: Path) -> None:
    path = tmp_path / "req.yaml"
    path.write_text("name: fraud\nserving: {peak_rps: 10000, latency_p99_ms: 50}\n")
    loose = runner.invoke(app, ["recommend", "--requirements", str(path)])
    assert loose.exit_code == 0
    strict = runner.invoke(app, ["recommend", "--requirements", str(path), "--strict"])
    assert strict.exit_code == 1
    assert "--strict: 1 stated requirement(s) cannot be met on target local:" in strict.output
    # 0.25 vCPU per laptop replica × 100 requests/s per vCPU = 25; 10,000 ÷ (25 × 0.7) → 572.
    assert "serving.peak_rps 10,000 needs 572 CPU replicas of 25 requests/s" in " ".join(strict.output.split())
    ok = runner.invoke(app, ["recommend", "--template", "starter", "--strict"])
    assert ok.exit_code == 0, ok.output


def test_json_carries_everything_the_text_shows() -> None:
    result = runner.invoke(app, ["recommend", "--template", "fintech", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"platform", "decisions", "sizing", "availability", "warnings", "compliance_controls",
                         "cost", "phases"}
    assert data["platform"] == {"name": "fintech", "target": "aws", "profile": "production"}
    assert [d["area"] for d in data["decisions"]] == [
        "framework", "serving", "orchestration", "feature_store", "streaming", "experiment_tracking",
        "monitoring", "drift", "gpu_pools", "high_availability", "data_stores", "hpo", "model_governance",
        "data_quality", "lineage", "experiments"]
    for d in data["decisions"]:
        assert set(d) == {"area", "choice", "rationale", "drivers", "alternatives", "consequences"}
        assert d["alternatives"] and all(set(a) == {"choice", "why_not"} for a in d["alternatives"])
    stores = next(d for d in data["decisions"] if d["area"] == "data_stores")
    assert any("/month vs " in c for c in stores["consequences"])
    assert {"item": "model-server replicas (HPA min … max)", "value": "3 … 5"}.items() <= data["sizing"][4].items()
    assert data["availability"]["achievable"] == 99.99 and data["availability"]["asked"] == 99.99
    assert data["compliance_controls"] and data["warnings"] == []
    cost = data["cost"]
    assert set(cost["per_phase"]) == {"foundation", "training", "serving"}
    assert cost["total_usd_month"] == round(sum(cost["per_phase"].values()), 2)
    assert data["phases"]["foundation"] == ["kafka", "rds", "s3", "elasticache", "mlflow", "feast",
                                         "great-expectations", "lineage"]
    text = runner.invoke(app, ["recommend", "--template", "fintech"]).output
    assert f"monthly cost on aws: ${cost['total_usd_month']:,.2f}" in text


def test_json_on_a_laptop_has_no_cost_and_lists_the_phases() -> None:
    data = json.loads(runner.invoke(app, ["recommend", "--template", "starter", "--json"]).output)
    assert data["cost"] is None and data["warnings"] == []
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
    assert ha == "single"
    assert any("cannot be met on target local" in w["text"] and w["unmet"] for w in local["warnings"])
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
