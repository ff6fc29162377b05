"""`omgml check` on real renders (the current blueprints) and on a render with planted problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.cli.app import app
from omgml.policy.check import check_render, schema_finding
from tests.policy.fixtures import deployment, network_policy

runner = CliRunner()


def _project(tmp_path: Path, platform: dict[str, Any]) -> Path:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": platform}))
    return tmp_path


@pytest.mark.parametrize("target", ["local", "aws"])
def test_check_passes_on_the_default_platform(tmp_path: Path, target: str) -> None:
    project = _project(tmp_path, {"name": "demo", "target": target})
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 0, result.output
    assert "check passed" in result.output and "Requests per phase" in result.output


def test_check_reports_user_errors_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "no omgml.yaml" in result.output


def _planted(monkeypatch: pytest.MonkeyPatch, items: list[dict[str, Any]]) -> None:
    """Make the next render return `items` as the foundation phase's manifests."""
    import omgml.synth.render as render_mod

    real = render_mod.render_platform

    def fake(spec: Any, phases: Any = None, project_dir: Any = None) -> Any:
        out = real(spec, ["foundation"])
        out.phases[0].manifests = items
        return out

    monkeypatch.setattr(render_mod, "render_platform", fake)


def test_check_fails_with_resource_field_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = deployment("web", "apps")
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:latest"
    _planted(monkeypatch, [bad, network_policy("apps")])
    result = runner.invoke(app, ["check", str(_project(tmp_path, {"name": "demo"}))])
    assert result.exit_code == 1, result.output
    assert "image-pinned-tag" in result.output
    assert "Deployment/apps/web" in result.output
    assert "spec.template.spec.containers[0].image" in result.output
    assert "fix:" in result.output and "check failed" in result.output


def test_capacity_over_budget_fails_and_lists_top_consumers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _planted(monkeypatch, [deployment("web", "apps"), network_policy("apps")])
    project = _project(tmp_path, {"name": "demo"})
    ok = runner.invoke(app, ["check", str(project)])
    assert ok.exit_code == 0, ok.output
    assert "apps/Deployment/web" in ok.output  # top consumers table
    tight = runner.invoke(app, ["check", str(project), "--budget-cpu", "0.05"])
    assert tight.exit_code == 1
    assert "capacity-budget" in tight.output and "exceed the budget of 0.05 CPU" in tight.output


def test_schema_problems_become_findings() -> None:
    f = schema_finding("Deployment/apps/web: spec.template.spec.containers.0: Additional properties are not allowed")
    assert (f.policy_id, f.resource, f.field) == ("kubernetes-schema", "Deployment/apps/web",
                                                  "spec.template.spec.containers.0")
    assert f.severity == "error"


def test_check_render_flags_invalid_manifest_schema() -> None:
    from omgml.spec import spec_from_dict
    from omgml.synth.render import render_platform

    render = render_platform(spec_from_dict({"name": "demo"}), ["foundation"])
    bad = deployment("web", "apps")
    bad["spec"]["replicas"] = "three"
    render.phases[0].manifests = [bad, network_policy("apps")]
    result = check_render(render, None)
    assert result.failed
    assert [f.policy_id for f in result.findings] == ["kubernetes-schema", "capacity-budget"]
    assert "cannot total the requests" in result.findings[1].message


def _template_spec(name: str, target: str) -> Any:
    from omgml.recommend import recommend
    from omgml.spec.requirements import requirements_from_dict
    from omgml.templates import load_template

    data = load_template(name).model_dump(mode="json", exclude_unset=True)
    data["target"] = target
    if target == "local":
        data.pop("profile", None)  # local always means the laptop profile
    return recommend(requirements_from_dict(data, source=f"template {name}")).to_platform_spec()


def _template_cases() -> list[tuple[str, str]]:
    from omgml.templates import template_names

    return [(name, target) for name in template_names() for target in ("local", "aws")]


@pytest.mark.parametrize(("template", "target"), _template_cases())
def test_every_template_passes_check_on_both_targets(template: str, target: str) -> None:
    from omgml.capacity import budget_for
    from omgml.synth.render import render_platform

    spec = _template_spec(template, target)
    assert spec.target == target
    result = check_render(render_platform(spec), budget_for(spec.profile))
    assert not result.failed, "\n".join(f.line() for f in result.findings)


def test_check_json_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    bad = deployment("web", "apps")
    del bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    _planted(monkeypatch, [bad, network_policy("apps")])
    result = runner.invoke(app, ["check", str(_project(tmp_path, {"name": "demo"})), "-o", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["passed"] is False
    [finding] = data["findings"]
    assert finding["policy_id"] == "container-probes" and finding["field"].endswith("readinessProbe")
    assert data["capacity"]["total"]["cpu_m"] == 100 and data["capacity"]["budget"]["cpu_m"] == 4000


def test_check_markdown_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = deployment("web", "apps")
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx"
    _planted(monkeypatch, [bad, network_policy("apps")])
    result = runner.invoke(app, ["check", str(_project(tmp_path, {"name": "demo"})), "-o", "markdown"])
    assert result.exit_code == 1
    assert result.output.startswith("**omgml check failed**: 1 error(s)")
    assert "| error | image-pinned-tag | Deployment/apps/web | spec.template.spec.containers[0].image |" in result.output
    assert "| **total** | 0.1 CPU | 128 MiB | 0 |" in result.output
    assert "| budget | 4 CPU | 8.00 GiB | 0 | - |" in result.output
