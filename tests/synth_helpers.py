"""Helpers for synth tests: run a snippet or a whole phase under the recording mock engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from omgml.synth.engine import SynthResult, synthesize
from omgml.synth.manifests import manifests
from omgml.validate import validate_manifests


def synth(program: Callable[[], None], project: str = "test", stack: str = "test") -> SynthResult:
    result = synthesize(program, project=project, stack=stack)
    assert not result.collisions, result.collisions
    return result


def synth_manifests(program: Callable[[], None]) -> list[dict[str, Any]]:
    return manifests(synth(program))


T = TypeVar("T")


def synth_built(build: Callable[[], T]) -> tuple[list[dict[str, Any]], T, SynthResult]:
    """Synthesize what `build` creates: the manifests, what `build` returned (the component, whose
    outputs a test reads) and the synth result."""
    built: list[T] = []
    result = synth(lambda: built.append(build()))
    return manifests(result), built[0], result


def assert_valid(items: list[dict[str, Any]]) -> None:
    problems = validate_manifests(items, strict=True)
    assert not problems, "\n".join(problems)


def find(items: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [m for m in items if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def one(items: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(items, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment/StatefulSet/DaemonSet/Job/CronJob manifest."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def containers(workload: dict[str, Any], init: bool = True) -> list[dict[str, Any]]:
    ps = pod_spec(workload)
    return list(ps.get("containers", [])) + (list(ps.get("initContainers", [])) if init else [])
