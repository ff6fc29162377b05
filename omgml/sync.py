"""`omgml sync`: rewrite a project's derived files from its omgml.yaml.

Derived files are the ones `omgml init` writes besides omgml.yaml (omgml.project.derived_files).
Everything else in the folder (the team's own files, rendered/, the Pulumi state) is left alone,
and inside the stack configs only omgml's own keys change (Pulumi's encryptionsalt and the
stack's secrets stay). omgml.yaml itself is never rewritten: it is the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from omgml.project import (
    KIND_CONFIG,
    PROJECT_SECTION,
    SPEC_FILE,
    STACK_PREFIX,
    ProjectError,
    cost_markdown_for,
    derived_files,
    read_pip_spec,
    stack_config,
    write_project,
)
from omgml.spec import PHASES, PlatformSpec


@dataclass
class SyncReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def keep_stack_state(directory: Path, files: dict[str, str], spec: PlatformSpec) -> dict[str, str]:
    """`files` with each stack config merged into the one on disk: omgml's keys for `spec`,
    everything else (encryptionsalt, secrets, the team's own config) from the existing file."""
    out = dict(files)
    for phase in PHASES:
        rel = f"stacks/Pulumi.{STACK_PREFIX}-{phase}.yaml"
        path = directory / rel
        if rel in out and path.is_file():
            out[rel] = stack_config(spec, phase, path.read_text(encoding="utf-8"))
    return out


def sync_project(directory: Path) -> SyncReport:
    """Rewrite the derived files of the project in `directory` from its omgml.yaml."""
    from omgml.recommend import recommend
    from omgml.recommend.mapping import phase_components
    from omgml.spec import load_requirements, load_spec
    from omgml.spec.base import read_yaml

    spec_file = directory / SPEC_FILE
    if not spec_file.is_file():
        raise ProjectError(f"{directory}: no {SPEC_FILE} here; `omgml sync` updates a project made by `omgml init`")
    spec = load_spec(spec_file)
    req = load_requirements(spec_file)
    pip_spec = read_pip_spec(spec_file)
    data = read_yaml(spec_file)
    section = data.get(PROJECT_SECTION) if isinstance(data, dict) else None
    source = section.get("source") if isinstance(section, dict) else None
    # The decisions (ADRs) follow from the requirements; everything about the platform from its
    # own section, which wins where the two disagree (omgml check warns about that).
    from omgml.synth.render import render_platform

    render = render_platform(spec)
    cost = None
    if spec.target == "aws":
        from omgml.cost import render_cost, usage_from_requirements

        # Priced like `omgml init` and `omgml cost` do: this render, the requirements' usage.
        cost = render_cost(render, usage_from_requirements(req, f"the requirements in {spec_file}"), None,
                           req.budget_usd_month)
    rec = replace(recommend(req), platform=spec, phases=phase_components(spec), cost=cost, render=render)
    files = keep_stack_state(directory, derived_files(rec, str(source) if source else f"`{SPEC_FILE}`",
                                                      cost_markdown_for(rec, render), render.all_manifests(),
                                                      pip_spec), spec)
    report = SyncReport()
    changed = {}
    for rel, text in files.items():
        path = directory / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            report.unchanged.append(rel)
        else:
            changed[rel] = text
    if changed:
        report.written = write_project(directory, changed, force=True)
    stale = directory / KIND_CONFIG
    if spec.target != "local" and stale.is_file():
        stale.unlink()
        report.removed.append(KIND_CONFIG)
    return report
