"""The deploy commands fail early, with a message, when something they need is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": {"name": "demo"}}))
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\nmain: stacks/\nstackConfigDir: stacks\n")
    return tmp_path


def test_up_without_passphrase(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    result = runner.invoke(app, ["up", str(project)])
    assert result.exit_code == 2
    assert "set PULUMI_CONFIG_PASSPHRASE" in result.output and "Traceback" not in result.output


def test_up_without_pulumi_cli(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    monkeypatch.setenv("PATH", str(project))  # nothing on PATH
    result = runner.invoke(app, ["preview", str(project), "--phase", "foundation"])
    assert result.exit_code == 2
    assert "Pulumi CLI is not on PATH" in result.output
    assert (project / ".pulumi-state").is_dir()


def test_bad_phase(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")
    result = runner.invoke(app, ["up", str(project), "--phase", "gpu"])
    assert result.exit_code == 2 and "--phase must be one of" in result.output


def test_local_refuses_aws_projects(tmp_path: Path) -> None:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": {"name": "demo", "target": "aws"}}))
    result = runner.invoke(app, ["local", "status", str(tmp_path)])
    assert result.exit_code == 2 and "`omgml local` is for target local" in result.output


def test_the_summary_prints_the_same_steps_as_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from omgml.cli.deploy import _summary
    from omgml.deploy.plan import PhaseStep
    from omgml.deploy.runner import StepResult

    results = [StepResult(PhaseStep("foundation", "dev-foundation"), "preview", {"create": 12, "same": 3}, 4.24),
               StepResult(PhaseStep("training", "dev-training"), "preview",
                          skipped="needs the outputs of foundation, not deployed yet")]
    _summary(results)
    text = capsys.readouterr().out.splitlines()
    assert text == ["preview  dev-foundation           12 create, 3 unchanged in 4.2s",
                    "preview  dev-training             skipped (needs the outputs of foundation, not deployed yet)"]
    _summary(results, as_json=True)
    [table] = json.loads(capsys.readouterr().out)["tables"]
    assert table["rows"] == [
        {"action": "preview", "stack": "dev-foundation", "phase": "foundation", "result": "12 create, 3 unchanged",
         "seconds": 4.2},
        {"action": "preview", "stack": "dev-training", "phase": "training",
         "result": "skipped (needs the outputs of foundation, not deployed yet)", "seconds": None},
    ]
