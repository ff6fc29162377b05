"""Phase command logic with a fake runner: order, dependencies, StackReference wiring, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from omgml.deploy.plan import DeployError, phase_steps
from omgml.deploy.runner import AutomationRunner, format_changes, run_phases
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.engine import synthesize


class FakeRunner:
    def __init__(self, deployed: set[str] | None = None) -> None:
        self.stacks = set(deployed or ())
        self.calls: list[tuple[str, str]] = []

    def deployed(self, stack: str) -> bool:
        return stack in self.stacks

    def run(self, action: str, step, diff: bool) -> dict[str, int]:  # type: ignore[no-untyped-def]
        self.calls.append((action, step.stack))
        if action == "up":
            self.stacks.add(step.stack)
        elif action == "destroy":
            self.stacks.discard(step.stack)
        return {"create": 3} if action != "destroy" else {"delete": 3}


SPEC = spec_from_dict({"name": "demo"})
P = Path("proj")


def run(action: str, phase: str, runner: FakeRunner, spec: PlatformSpec = SPEC) -> list[str]:
    echo: list[str] = []
    run_phases(action, P, spec, phase, "dev", runner, echo.append)  # type: ignore[arg-type]
    return echo


def test_up_runs_phases_in_order() -> None:
    r = FakeRunner()
    run("up", "all", r)
    assert r.calls == [("up", "dev-foundation"), ("up", "dev-training"), ("up", "dev-serving")]


def test_destroy_runs_in_reverse() -> None:
    r = FakeRunner({"dev-foundation", "dev-training", "dev-serving"})
    run("destroy", "all", r)
    assert r.calls == [("destroy", "dev-serving"), ("destroy", "dev-training"), ("destroy", "dev-foundation")]


def test_phase_before_its_upstream_is_refused() -> None:
    with pytest.raises(DeployError) as info:
        run("up", "serving", FakeRunner())
    assert str(info.value) == (
        "phase 'serving' reads the outputs of foundation, training, whose stack 'dev-foundation' is not "
        "deployed; run `omgml up proj --phase foundation` first (or --phase all)")


def test_serving_without_training_phase_needs_only_foundation() -> None:
    spec = spec_from_dict({"name": "demo", "phases": {"training": {"enabled": False}}})
    r = FakeRunner({"dev-foundation"})
    run("up", "serving", r, spec)
    assert r.calls == [("up", "dev-serving")]
    assert [s.phase for s in phase_steps(spec, "up", "all", "dev")] == ["foundation", "serving"]


def test_destroying_a_phase_still_read_by_another_is_refused() -> None:
    r = FakeRunner({"dev-foundation", "dev-training"})
    with pytest.raises(DeployError, match=r"still read by the deployed training phase\(s\); destroy them first"):
        run("destroy", "foundation", r)
    assert r.calls == []


def test_preview_of_a_fresh_project_skips_phases_waiting_for_outputs() -> None:
    r = FakeRunner()
    echo = run("preview", "all", r)
    assert r.calls == [("preview", "dev-foundation")]
    assert any("dev-training: skipped" in line for line in echo)


def test_preview_of_a_deployed_platform_covers_every_phase() -> None:
    r = FakeRunner({"dev-foundation", "dev-training", "dev-serving"})
    run("preview", "all", r)
    assert [c[1] for c in r.calls] == ["dev-foundation", "dev-training", "dev-serving"]


def test_bad_and_disabled_phase_names() -> None:
    with pytest.raises(DeployError, match="--phase must be one of foundation, training, serving, all"):
        phase_steps(SPEC, "up", "gpu", "dev")
    spec = spec_from_dict({"name": "demo", "phases": {"training": {"enabled": False}}})
    with pytest.raises(DeployError, match=r"phase 'training' is disabled in the spec"):
        phase_steps(spec, "up", "training", "dev")


def test_format_changes() -> None:
    assert format_changes({"same": 4, "update": 1}) == "1 update, 4 unchanged"
    assert format_changes({}) == "no changes"


def test_inline_program_reads_upstream_stacks_of_the_project(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: myproj\nruntime: python\n")
    runner = AutomationRunner(tmp_path, SPEC, "prod", {}, echo=lambda _: None)
    fnd = synthesize(runner._program("foundation"), project="myproj", stack="prod-foundation")
    outputs = {"organization/myproj/prod-foundation": fnd.exports,
               "organization/myproj/prod-training": {"training_enabled": True}}
    result = synthesize(runner._program("serving"), project="myproj", stack="prod-serving", stack_outputs=outputs)
    refs = sorted(r.inputs["name"] for r in result.resources if r.type == "pulumi:pulumi:StackReference")
    assert refs == ["organization/myproj/prod-foundation", "organization/myproj/prod-training"]


def test_project_without_pulumi_yaml(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"no Pulumi\.yaml"):
        AutomationRunner(tmp_path, SPEC, "dev", {}, echo=print)
