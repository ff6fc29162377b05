"""Projects whose files disagree with omgml.yaml are flagged; `omgml sync` brings them back in
line without touching the team's files or the Pulumi state; the pip spec and .gitignore."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.consistency import project_findings
from omgml.spec import load_spec

runner = CliRunner()


def _init(tmp_path: Path, *args: str, name: str = "demo") -> Path:
    target = tmp_path / name
    result = runner.invoke(app, ["init", str(target), *args])
    assert result.exit_code == 0, result.output
    return target


def _edit(project: Path, section: str, **values: Any) -> None:
    path = project / "omgml.yaml"
    data = yaml.safe_load(path.read_text())
    data[section].update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _stack(project: Path, phase: str = "foundation") -> dict[str, Any]:
    data = yaml.safe_load((project / "stacks" / f"Pulumi.dev-{phase}.yaml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(("template", "target"), [("starter", "local"), ("fintech", "aws"), ("enterprise", "aws")])
def test_a_fresh_project_is_consistent(tmp_path: Path, template: str, target: str) -> None:
    project = _init(tmp_path, "--template", template, "--target", target)
    assert project_findings(project, load_spec(project / "omgml.yaml")) == []


def test_a_changed_target_is_flagged_and_sync_fixes_it_keeping_state_and_own_files(tmp_path: Path) -> None:
    project = _init(tmp_path, "--template", "starter")
    stack = project / "stacks" / "Pulumi.dev-foundation.yaml"
    # What Pulumi and the team add to a stack config, and files omgml never wrote.
    stack.write_text(stack.read_text() + "encryptionsalt: v1:c2FsdA==:v1:abc\n")
    data = _stack(project)
    data["config"]["demo:owner"] = "ml-team"
    data["config"]["demo:token"] = {"secure": "v1:AAAA"}
    stack.write_text(yaml.safe_dump(data, sort_keys=False))
    (project / "notes.md").write_text("ours\n")
    (project / ".pulumi-state").mkdir()
    (project / ".pulumi-state" / "stack.json").write_text("{}")

    _edit(project, "platform", target="aws", profile="small")
    _edit(project, "requirements", target="aws")
    checked = runner.invoke(app, ["check", str(project), "--no-schema"])
    assert checked.exit_code == 1
    assert "stacks/Pulumi.dev-foundation.yaml config.aws:region" in checked.output
    assert "kubernetes:context is set but platform.target is 'aws'" in checked.output
    assert f"omgml sync {project}" in checked.output

    synced = runner.invoke(app, ["sync", str(project)])
    assert synced.exit_code == 0, synced.output
    assert "removed kind-config.yaml" in synced.output
    config = _stack(project)["config"]
    assert config["aws:region"] == "us-east-1" and "kubernetes:context" not in config
    assert _stack(project)["encryptionsalt"] == "v1:c2FsdA==:v1:abc"
    assert config["demo:owner"] == "ml-team" and config["demo:token"] == {"secure": "v1:AAAA"}
    assert (project / "notes.md").read_text() == "ours\n"
    assert (project / ".pulumi-state" / "stack.json").read_text() == "{}"
    assert not (project / "kind-config.yaml").exists()
    assert "preview" in yaml.safe_load((project / ".github/workflows/omgml.yml").read_text())["jobs"]
    assert project_findings(project, load_spec(project / "omgml.yaml")) == []
    again = runner.invoke(app, ["sync", str(project)])
    assert "0 file(s) rewritten" in again.output


def test_requirements_target_alone_is_a_warning_that_says_platform_wins(tmp_path: Path) -> None:
    project = _init(tmp_path, "--template", "starter")
    _edit(project, "requirements", target="aws")
    result = runner.invoke(app, ["check", str(project), "--no-schema", "-o", "json"])
    assert result.exit_code == 0, result.output
    [finding] = [f for f in json.loads(result.output)["findings"] if f["policy_id"] == "project-consistency"]
    assert finding["severity"] == "warning" and finding["field"] == "requirements.target"
    assert "omgml deploys the platform section, so this project deploys to 'local'" in finding["message"]
    assert "set platform.target: aws and run `omgml sync" in finding["fix"]
    synced = runner.invoke(app, ["sync", str(project)])
    assert "warning: requirements.target" in synced.output


def test_a_new_gpu_pool_makes_the_kind_config_stale(tmp_path: Path) -> None:
    project = _init(tmp_path, "--template", "starter")
    data = yaml.safe_load((project / "omgml.yaml").read_text())
    data["platform"]["phases"]["training"]["enabled"] = True
    data["platform"]["phases"]["training"]["gpu_pools"] = [{"name": "train-gpu"}]
    (project / "omgml.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    [finding] = project_findings(project, load_spec(project / "omgml.yaml"))
    assert (finding.resource, finding.severity) == ("kind-config.yaml", "error")
    assert "['train-gpu']" in finding.message
    assert runner.invoke(app, ["sync", str(project)]).exit_code == 0
    assert project_findings(project, load_spec(project / "omgml.yaml")) == []


def test_kwok_context_from_local_up_is_consistent_and_kept(tmp_path: Path) -> None:
    from omgml.deploy.local import set_stack_context

    project = _init(tmp_path, "--template", "starter")
    for phase in ("foundation", "training", "serving"):
        set_stack_context(project, f"dev-{phase}", "kwok-demo")
    assert project_findings(project, load_spec(project / "omgml.yaml")) == []
    set_stack_context(project, "dev-serving", "kind-other")
    [finding] = project_findings(project, load_spec(project / "omgml.yaml"))
    assert finding.field == "config.kubernetes:context" and "'kind-other'" in finding.message
    runner.invoke(app, ["sync", str(project)])
    assert _stack(project)["config"]["kubernetes:context"] == "kwok-demo"
    assert _stack(project, "serving")["config"]["kubernetes:context"] == "kind-demo"


def test_renamed_platform_is_flagged_in_render_too(tmp_path: Path) -> None:
    project = _init(tmp_path, "--template", "starter")
    _edit(project, "platform", name="renamed")
    result = runner.invoke(app, ["render", str(project), "--phase", "foundation", "--json"])
    assert result.exit_code == 0
    findings = json.loads(result.stdout)["project_findings"]
    assert {f["resource"] for f in findings} >= {"Pulumi.yaml", "stacks/Pulumi.dev-foundation.yaml"}
    text = runner.invoke(app, ["render", str(project), "--phase", "foundation"])
    assert "Pulumi.yaml name: the Pulumi project is 'demo' but platform.name is 'renamed'" in text.stderr


def test_init_force_keeps_the_stack_state(tmp_path: Path) -> None:
    project = _init(tmp_path, "--template", "starter")
    stack = project / "stacks" / "Pulumi.dev-training.yaml"
    stack.write_text(stack.read_text() + "encryptionsalt: v1:keep\n")
    assert runner.invoke(app, ["init", str(project), "--template", "batch", "--force"]).exit_code == 0
    assert _stack(project, "training")["encryptionsalt"] == "v1:keep"


def test_the_pip_spec_is_recorded_and_used_everywhere(tmp_path: Path) -> None:
    spec = "omgml[validate] @ file:///opt/dist/omgml-0.1.0-py3-none-any.whl"
    project = _init(tmp_path, "--template", "fintech", "--omgml-pip-spec", spec)
    assert yaml.safe_load((project / "omgml.yaml").read_text())["omgml"]["pip_spec"] == spec
    assert f'.venv/bin/pip install "{spec}"' in (project / "README.md").read_text()
    assert f'.venv/bin/pip install "{spec}"' in (project / "requirements.txt").read_text()
    workflow = yaml.safe_load((project / ".github/workflows/omgml.yml").read_text())
    for job in workflow["jobs"].values():
        assert job["env"]["OMGML_PIP_SPEC"] == "${{ vars.OMGML_PIP_SPEC || '" + spec + "' }}"
    # Changed in omgml.yaml, it reaches the README and the workflow with `omgml sync`.
    _edit(project, "omgml", pip_spec="omgml[validate] @ git+https://git.example/ml/omgml.git@v0.1.0")
    assert runner.invoke(app, ["sync", str(project)]).exit_code == 0
    assert "git+https://git.example/ml/omgml.git@v0.1.0" in (project / ".github/workflows/omgml.yml").read_text()
    assert "git+https://git.example/ml/omgml.git@v0.1.0" in (project / "README.md").read_text()


def test_the_default_pip_spec_is_this_version_from_an_index(tmp_path: Path) -> None:
    from omgml import __version__

    project = _init(tmp_path, "--template", "starter")
    assert yaml.safe_load((project / "omgml.yaml").read_text())["omgml"]["pip_spec"] == f"omgml[validate]=={__version__}"
    readme = (project / "README.md").read_text()
    assert "git+https://" in readme and "file:///" in readme  # how to point it elsewhere today


@pytest.mark.parametrize("bad", ["", "omgml'; rm -rf /", "requests==2.0", "omgml\nx"])
def test_a_bad_pip_spec_is_refused(tmp_path: Path, bad: str) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "p"), "--template", "starter", "--omgml-pip-spec", bad])
    assert result.exit_code == 2 and "--omgml-pip-spec" in result.output
    assert not (tmp_path / "p").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitignore_keeps_the_state_out_of_git(tmp_path: Path) -> None:
    from omgml.deploy.plan import STATE_DIR

    project = _init(tmp_path, "--template", "starter")
    (project / STATE_DIR).mkdir()
    (project / STATE_DIR / "stack.json").write_text("{}")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    ignored = subprocess.run(["git", "-C", str(project), "check-ignore", f"{STATE_DIR}/stack.json"],
                             capture_output=True, text=True)
    assert ignored.returncode == 0, f"{STATE_DIR}/ would be committed"
    assert subprocess.run(["git", "-C", str(project), "check-ignore", "omgml.yaml"]).returncode == 1
