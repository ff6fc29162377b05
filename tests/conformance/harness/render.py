"""A fresh render of a project, as the tier runs it: real credentials, phases in order, and the
order Pulumi would create things in.

The render is the same `omgml.synth.render.render_platform` that `omgml render` runs; only the
masking step is replaced by `secrets.reveal` (fresh values, never written to the repository).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omgml.synth.engine import RecordedResource
from omgml.synth.manifests import is_kubernetes_object
from tests.conformance.harness.secrets import GeneratedValue, generated_values, reveal

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


@dataclass
class RenderedObject:
    """One Kubernetes object with real values, and the URNs Pulumi would wait for before it."""

    urn: str
    phase: str
    manifest: dict[str, Any]
    waits_for: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.manifest["metadata"].get("namespace", ""))

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass
class ConformanceRender:
    project: Path
    platform_name: str
    phases: list[str]
    objects: list[RenderedObject]
    generated: list[GeneratedValue]

    def add_fixtures(self, manifests: list[dict[str, Any]]) -> None:
        """Objects the tier brings (an outside system the platform reaches): the phase
        "fixtures", brought up before the platform's own."""
        for m in manifests:
            ns = m["metadata"].get("namespace", "")
            self.objects.append(RenderedObject(f"fixture:{m['kind']}/{ns}/{m['metadata']['name']}", "fixtures", m))

    def of_kind(self, *kinds: str, phase: str | None = None) -> list[RenderedObject]:
        return [o for o in self.objects if o.kind in kinds and (phase is None or o.phase == phase)]

    def get(self, kind: str, namespace: str, name: str) -> RenderedObject:
        for o in self.objects:
            if o.kind == kind and o.namespace == namespace and o.name == name:
                return o
        raise KeyError(f"{kind} {namespace}/{name} is not in the render")

    def find(self, kind: str, name: str) -> RenderedObject:
        found = [o for o in self.objects if o.kind == kind and o.name == name]
        if len(found) != 1:
            raise KeyError(f"expected one {kind} named {name!r} in the render, found {len(found)}")
        return found[0]


def _descendants(resources: list[RecordedResource]) -> dict[str, set[str]]:
    """URN → the URNs of every custom resource below it (a component waits for all of them)."""
    children: dict[str, list[str]] = {}
    for r in resources:
        children.setdefault(r.parent_urn, []).append(r.urn)
    by_urn = {r.urn: r for r in resources}
    out: dict[str, set[str]] = {}

    def walk(urn: str) -> set[str]:
        if urn in out:
            return out[urn]
        found: set[str] = set()
        res = by_urn.get(urn)
        if res is not None and res.custom:
            found.add(urn)
        for child in children.get(urn, []):
            found |= walk(child)
        out[urn] = found
        return found

    for r in resources:
        walk(r.urn)
    return out


def waits_for(res: RecordedResource, below: dict[str, set[str]]) -> set[str]:
    """The custom resources Pulumi creates before `res`: its dependencies, and for a dependency on
    a component, everything inside that component (Pulumi waits for a component's children).
    `below` is `_descendants` of the same synth."""
    out: set[str] = set()
    for dep in res.dependencies:
        out |= below.get(dep, {dep})
    out.discard(res.urn)
    return out


def conformance_render(project: Path) -> ConformanceRender:
    """Render every phase of the project in-process and reveal real credentials."""
    from omgml.cli.common import load_project_spec
    from omgml.synth.render import render_platform

    spec = load_project_spec(project)
    render = render_platform(spec)
    all_resources = [r for p in render.phases for r in p.result.resources]
    table = generated_values(all_resources)
    objects: list[RenderedObject] = []
    for p in render.phases:
        below = _descendants(p.result.resources)
        for res in p.result.resources:
            if not is_kubernetes_object(res):
                continue
            manifest = reveal(res.inputs, table)
            objects.append(RenderedObject(res.urn, p.phase, manifest, waits_for(res, below)))
    return ConformanceRender(project, spec.name, [p.phase for p in render.phases], objects, table)
