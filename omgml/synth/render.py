"""Render a project: synthesize each phase in order and write manifests + inventory.json."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from omgml.errors import SynthError
from omgml.spec import PHASES, PhaseName, PlatformSpec
from omgml.synth.engine import SynthResult, synthesize
from omgml.synth.manifests import inventory_entries, manifests, object_collisions

if TYPE_CHECKING:
    from omgml.data_quality import Suite

RENDER_PREFIX = "render"


@dataclass
class PhaseRender:
    phase: PhaseName
    result: SynthResult
    manifests: list[dict[str, Any]]
    seconds: float


@dataclass
class PlatformRender:
    spec: PlatformSpec
    phases: list[PhaseRender] = field(default_factory=list)

    def all_manifests(self) -> list[dict[str, Any]]:
        return [m for p in self.phases for m in p.manifests]

    def inventory(self) -> dict[str, Any]:
        return {"resources": [e for p in self.phases for e in inventory_entries(p.result, p.phase)]}


def synth_phase(spec: PlatformSpec, phase: PhaseName, stack_outputs: dict[str, dict[str, Any]],
                prefix: str = RENDER_PREFIX, suites: dict[str, Suite] | None = None) -> SynthResult:
    from omgml.program import DEFAULT_ORG, build_phase, references_for

    refs = references_for(spec.name, prefix, phase, DEFAULT_ORG)
    return synthesize(
        lambda: _discard(build_phase(spec, phase, refs, suites)),
        project=spec.name,
        stack=f"{prefix}-{phase}",
        config={"omgml:phase": phase},
        stack_outputs=stack_outputs,
    )


def render_platform(spec: PlatformSpec, phases: list[PhaseName] | None = None,
                    project_dir: Path | None = None) -> PlatformRender:
    """Synthesize `phases` (default: all), feeding each phase's exports to the later ones.

    `project_dir`: the project whose data-quality suites to render (None: the starter suites)."""
    from omgml.data_quality import load_suites
    from omgml.naming import stack_reference_name
    from omgml.program import DEFAULT_ORG

    suites = load_suites(project_dir, spec) if project_dir is not None else None

    wanted = list(phases or PHASES)
    out = PlatformRender(spec=spec)
    stack_outputs: dict[str, dict[str, Any]] = {}
    last = max(PHASES.index(p) for p in wanted)
    for phase in PHASES[: last + 1]:
        start = time.perf_counter()
        result = synth_phase(spec, phase, stack_outputs, suites=suites)
        if result.collisions:
            raise SynthError(f"phase {phase}: " + "; ".join(result.collisions))
        items = manifests(result)
        clashes = object_collisions(items)
        if clashes:
            raise SynthError(f"phase {phase}: " + "; ".join(clashes))
        stack_outputs[stack_reference_name(DEFAULT_ORG, spec.name, RENDER_PREFIX, phase)] = result.exports
        if phase in wanted:
            out.phases.append(PhaseRender(phase, result, items, time.perf_counter() - start))
    return out


def dump_yaml_documents(items: list[dict[str, Any]]) -> str:
    """YAML any YAML 1.1 reader (kubectl's) reads back unchanged: PyYAML quotes the ambiguous
    scalars (yes/no/on/off, octal-looking numbers) itself."""
    return yaml.safe_dump_all(items, sort_keys=False, default_flow_style=False, width=4096, explicit_start=True)


def write_render(render: PlatformRender, out_dir: Path) -> list[Path]:
    """One YAML file per phase (`NN-<phase>.yaml`, apply order) plus inventory.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p in render.phases:
        path = out_dir / f"{PHASES.index(p.phase) + 1:02d}-{p.phase}.yaml"
        if not p.manifests:
            # kubectl refuses a file without objects; a phase that creates none gets no file,
            # and a stale file from an earlier render must not survive either.
            path.unlink(missing_ok=True)
            continue
        path.write_text(dump_yaml_documents(p.manifests), encoding="utf-8")
        written.append(path)
    inv = out_dir / "inventory.json"
    inv.write_text(json.dumps(render.inventory(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(inv)
    return written


def summary_rows(render: PlatformRender) -> tuple[Counter[str], Counter[str]]:
    """(Kubernetes objects per kind, resources per component) over the rendered phases."""
    kinds: Counter[str] = Counter()
    components: Counter[str] = Counter()
    for p in render.phases:
        kinds.update(m["kind"] for m in p.manifests)
        by_urn = p.result.by_urn()
        for r in p.result.resources:
            if not r.custom:
                continue
            owner = by_urn.get(r.parent_urn)
            # Attribute each resource to its nearest omgml component (not the generic helpers).
            while owner is not None and owner.type.startswith("omgml:core:"):
                owner = by_urn.get(owner.parent_urn)
            components[owner.type if owner else "(stack)"] += 1
    return kinds, components


def _discard(_: object) -> None:
    return None
