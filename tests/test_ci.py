"""The workflow `omgml init` writes for a project: valid YAML, the expected jobs, real CLI flags."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.ci import COMMENT_MARKER, ci_workflow
from omgml.cli.app import app
from omgml.spec import spec_from_dict


def workflow(target: str) -> dict[str, Any]:
    text = ci_workflow(spec_from_dict({"name": "demo", "target": target}), "omgml[validate]==0.1.0")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def test_runs_on_pull_requests_with_one_guardrails_job_on_local() -> None:
    wf = workflow("local")
    assert "pull_request" in wf["on"]
    assert list(wf["jobs"]) == ["guardrails"]  # no cloud preview for a kind cluster
    job = wf["jobs"]["guardrails"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert job["steps"][0]["with"]["fetch-depth"] == 0  # the base revision must be there to diff
    script = next(s for s in job["steps"] if s.get("id") == "guardrails")["run"]
    for command in ("omgml check", "omgml diff", "omgml cost"):
        assert command in script
    comment = next(s for s in job["steps"] if "github-script" in s.get("uses", ""))
    assert COMMENT_MARKER in comment["with"]["script"]
    last = job["steps"][-1]
    assert last["if"] == "steps.guardrails.outputs.status != '0'" and "exit 1" in last["run"]


def test_aws_previews_the_phases_in_order_when_cloud_access_is_configured() -> None:
    wf = workflow("aws")
    preview = wf["jobs"]["preview"]
    assert preview["needs"] == "guardrails" and "vars.AWS_ROLE_ARN" in preview["if"]
    # One job, no matrix: a later phase reads its upstream stacks, so they can't run side by side.
    assert "strategy" not in preview
    assert preview["permissions"]["id-token"] == "write"
    run = preview["steps"][-1]["run"]
    assert run == ".venv/bin/omgml preview . --phase all --diff"
    aws = next(s for s in preview["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert aws["with"]["aws-region"] == "us-east-1"


def _preview_phases(wf: dict[str, Any]) -> list[str]:
    """The --phase of every `omgml preview` the workflow runs (matrix values expanded)."""
    phases = []
    for job in wf["jobs"].values():
        matrix = job.get("strategy", {}).get("matrix", {})
        for step in job["steps"]:
            for m in re.finditer(r"omgml preview \S+ --phase (\$\{\{[^}]*\}\}|\S+)", str(step.get("run", ""))):
                value = m.group(1)
                phases += matrix.get("phase", []) if "matrix.phase" in value else [value]
    return phases


def test_every_preview_works_on_a_new_platform() -> None:
    """No foundation stack yet (a first pull request): each preview the workflow runs must not
    refuse; later phases are skipped with the reason."""
    from pathlib import Path

    from omgml.deploy.preflight import check_passphrase
    from omgml.deploy.runner import run_phases

    class NothingDeployed:
        def __init__(self) -> None:
            self.previewed: list[str] = []

        def deployed(self, stack: str) -> bool:
            return False

        def run(self, action: str, step: Any, diff: bool) -> dict[str, int]:
            self.previewed.append(step.phase)
            return {"create": 1}

    wf = workflow("aws")
    spec = spec_from_dict({"name": "demo", "target": "aws"})
    phases = _preview_phases(wf)
    assert phases
    for phase in phases:
        runner = NothingDeployed()
        echo: list[str] = []
        run_phases("preview", Path("."), spec, phase, "dev", runner, echo.append)
        assert runner.previewed == ["foundation"]
    assert any("skipped" in line for line in echo)
    # `omgml preview` refuses to start without a passphrase for the stacks' secrets.
    check_passphrase(wf["jobs"]["preview"]["env"])


def _omgml_calls(wf: dict[str, Any]) -> list[tuple[str, list[str]]]:
    calls = []
    for job in wf["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                for m in re.finditer(r"\.venv/bin/omgml (\w+)([^>|;]*)", line):
                    calls.append((m.group(1), re.findall(r"(--[a-z-]+)", m.group(2))))
    return calls


@pytest.mark.parametrize("target", ["local", "aws"])
def test_every_omgml_call_uses_real_commands_and_flags(target: str) -> None:
    calls = _omgml_calls(workflow(target))
    assert {c for c, _ in calls} >= {"check", "diff", "cost"}
    runner = CliRunner()
    for command, flags in calls:
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "250", "TERM": "dumb", "NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        for flag in flags:
            assert flag in result.output, f"omgml {command} has no {flag}"


def test_requirement_cannot_break_out_of_the_expression() -> None:
    with pytest.raises(ValueError, match="quotes"):
        ci_workflow(spec_from_dict({"name": "demo"}), "omgml' }}")
