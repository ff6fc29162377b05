"""The Secrets the team provides (the W&B API key): listed from the spec, checked before training."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from omgml.deploy.plan import DeployError
from omgml.deploy.runner import run_phases
from omgml.deploy.team_secrets import check_team_secrets, secret_problems, team_secrets
from omgml.spec import spec_from_dict
from tests.deploy.test_phases import FakeRunner

WANDB = spec_from_dict({"name": "demo", "phases": {"training": {
    "prefect": {"enabled": True}, "wandb": {"enabled": True}}}})


def reader(existing: Mapping[tuple[str, str], set[str]]):  # type: ignore[no-untyped-def]
    def read(namespace: str, name: str) -> Mapping[str, str] | None:
        keys = existing.get((namespace, name))
        return None if keys is None else dict.fromkeys(keys, "")
    return read


def test_every_namespace_that_runs_training_code_needs_the_key() -> None:
    assert [(s.namespace, s.name, s.key) for s in team_secrets(WANDB)] == [
        ("omgml-pipelines", "wandb-api-key", "api-key"), ("omgml-orchestration", "wandb-api-key", "api-key")]
    assert team_secrets(spec_from_dict({"name": "demo"})) == []


def test_a_missing_secret_names_the_field_and_the_command_that_creates_it() -> None:
    problems = secret_problems(team_secrets(WANDB), reader({("omgml-pipelines", "wandb-api-key"): {"api-key"}}))
    assert problems == [
        "phases.training.wandb.api_key_secret: Secret 'wandb-api-key' does not exist in namespace "
        "'omgml-orchestration'; create it: kubectl create secret generic wandb-api-key -n omgml-orchestration "
        "--from-literal=api-key=<your W&B API key>"]


def test_a_secret_without_the_key_names_the_key_field() -> None:
    existing = {("omgml-pipelines", "wandb-api-key"): {"token"}, ("omgml-orchestration", "wandb-api-key"): {"api-key"}}
    (problem,) = secret_problems(team_secrets(WANDB), reader(existing))
    assert problem.startswith("phases.training.wandb.api_key_key: Secret omgml-pipelines/wandb-api-key has no key "
                              "'api-key' (it has: token)")


def test_all_present_is_quiet() -> None:
    existing = {(s.namespace, s.name): {s.key} for s in team_secrets(WANDB)}
    check_team_secrets(WANDB, reader(existing))


def test_up_stops_before_the_training_phase_creates_anything() -> None:
    runner = FakeRunner()
    seen: list[str] = []

    def before(step) -> None:  # type: ignore[no-untyped-def]
        seen.append(step.phase)
        if step.phase == "training":
            check_team_secrets(WANDB, reader({}))

    with pytest.raises(DeployError, match=r"phases\.training\.wandb\.api_key_secret: Secret 'wandb-api-key' does not"):
        run_phases("up", Path("proj"), WANDB, "all", "dev", runner, lambda _: None, before=before)  # type: ignore[arg-type]
    # The foundation ran (it creates the namespaces the Secret goes into); training never started.
    assert runner.calls == [("up", "dev-foundation")]
    assert seen == ["foundation", "training"]
