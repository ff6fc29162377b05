"""`omgml render` and the CLI's import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.validate import validate_manifests

runner = CliRunner()


def test_help_does_not_import_pulumi() -> None:
    code = (
        "import sys\n"
        "from omgml.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'render' in r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_kubernetes', 'pulumi_aws')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("omgml ")


def _project(tmp_path: Path, platform: dict) -> Path:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": platform}))
    return tmp_path


def test_render_writes_phase_files_and_inventory(tmp_path: Path) -> None:
    project = _project(tmp_path, {"name": "demo"})
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", str(project), "--out", str(out), "--validate"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "Namespace" in result.output
    docs = list(yaml.safe_load_all((out / "01-foundation.yaml").read_text()))
    assert docs and all("apiVersion" in d and "kind" in d for d in docs)
    assert validate_manifests(docs) == []
    inventory = json.loads((out / "inventory.json").read_text())
    assert {"type", "name", "parent", "inputs"} <= set(inventory["resources"][0])


def test_render_default_output_folder(tmp_path: Path) -> None:
    project = _project(tmp_path, {"name": "demo"})
    result = runner.invoke(app, ["render", str(project), "--phase", "foundation"])
    assert result.exit_code == 0, result.output
    assert (project / "rendered" / "01-foundation.yaml").exists()
    assert not (project / "rendered" / "03-serving.yaml").exists()


def test_render_reports_spec_problems_without_traceback(tmp_path: Path) -> None:
    project = _project(tmp_path, {"name": "demo", "phases": {"serving": {"server": {"replicas": 0}}}})
    result = runner.invoke(app, ["render", str(project)])
    assert result.exit_code == 2
    assert "phases.serving.server.replicas: must be ≥ 1, got 0" in result.output
    assert "Traceback" not in result.output


def test_render_missing_project_and_bad_phase(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(tmp_path)])
    assert result.exit_code == 2 and "no omgml.yaml here" in result.output
    result = runner.invoke(app, ["render", str(tmp_path), "--phase", "everything"])
    assert result.exit_code == 2 and "--phase must be one of" in result.output
