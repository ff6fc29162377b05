"""Render a project: synthesize each phase in order and write manifests + inventory.json."""

from __future__ import annotations

import gc
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
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
        lambda: _discard(build_phase(spec, phase, refs, suites, offline=True)),
        project=spec.name,
        stack=f"{prefix}-{phase}",
        config={"omgml:phase": phase},
        stack_outputs=stack_outputs,
    )


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a render.

    A render allocates millions of small long-lived objects (the typed Pulumi SDK modules it
    imports, the Outputs it resolves), so the collector keeps walking a heap that is almost all
    live: about a quarter of a render's CPU time. The few cycles a render leaves behind (tens of
    MB at most) are collected once the collector is back on; reference counting frees the rest
    as usual. Nested renders leave it to the outermost one.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_platform(spec: PlatformSpec, phases: list[PhaseName] | None = None,
                    project_dir: Path | None = None) -> PlatformRender:
    """Synthesize `phases` (default: all), feeding each phase's exports to the later ones.

    `project_dir`: the project whose data-quality suites to render (None: the starter suites)."""
    with _cyclic_gc_paused():
        return _render_platform(spec, phases, project_dir)


def _render_platform(spec: PlatformSpec, phases: list[PhaseName] | None, project_dir: Path | None) -> PlatformRender:
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


_YAML_OPTIONS: dict[str, Any] = {"sort_keys": False, "default_flow_style": False, "width": 4096,
                                 "explicit_start": True}
# libyaml's emitter writes the same bytes as PyYAML's pure-Python one (5-10x slower, the bulk of
# writing a render) except where a scalar's line runs past the width and gets folded; the two
# fold differently. Documents whose strings could come near the width (scripts, dashboards, with
# every escape counted at its longest) go through the Python emitter, so renders stay byte for
# byte the same (tests/test_synth.py compares the two on renders and on strings of every kind).
_FAST_EMIT_MAX_WIDTH = 3500  # of the 4096 allowed, leaving room for the key and the indentation


def _emitted_width_bound(text: str) -> int:
    """At least as long as the one-line quoted form of `text` (an escape is at most 10 chars)."""
    if text.isascii():
        return len(text) if text.isprintable() else 4 * len(text)
    return 10 * len(text)


def _fast_emit_safe(value: Any) -> bool:
    if isinstance(value, str):
        return _emitted_width_bound(value) <= _FAST_EMIT_MAX_WIDTH
    if isinstance(value, dict):
        return all(_fast_emit_safe(k) and _fast_emit_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_fast_emit_safe(v) for v in value)
    return True


def dump_yaml_documents(items: list[dict[str, Any]]) -> str:
    """YAML any YAML 1.1 reader (kubectl's) reads back unchanged: PyYAML quotes the ambiguous
    scalars (yes/no/on/off, octal-looking numbers) itself."""
    fast = getattr(yaml, "CSafeDumper", None)
    if fast is None:
        return str(yaml.safe_dump_all(items, **_YAML_OPTIONS))
    return "".join(
        str(yaml.dump_all([m], Dumper=fast, **_YAML_OPTIONS)) if _fast_emit_safe(m)
        else str(yaml.safe_dump_all([m], **_YAML_OPTIONS))
        for m in items
    )


def phase_file_name(phase: str) -> str:
    """`NN-<phase>.yaml`: the numbers keep `kubectl apply -f rendered/` in the phases' order."""
    return f"{PHASES.index(phase) + 1:02d}-{phase}.yaml"


def write_render(render: PlatformRender, out_dir: Path) -> list[Path]:
    """One YAML file per phase (`NN-<phase>.yaml`, apply order) plus inventory.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p in render.phases:
        path = out_dir / phase_file_name(p.phase)
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
