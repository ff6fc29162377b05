"""`omgml recommend`: the engine's decisions for a template or a requirements file.

The text output is plain, wrapped to the terminal (80 columns when piped), so nothing is cut off
in a narrow terminal or a CI log; `--json` carries the same content (and the consequences the
ADRs hold). `--strict` exits 1 when a stated requirement cannot be met on the target.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omgml.cli.common import fail, user_errors

if TYPE_CHECKING:
    from omgml.recommend import Recommendation
    from omgml.spec.requirements import Requirements

TARGETS = ("local", "aws")
MIN_WIDTH, MAX_WIDTH = 40, 120

TemplateOption = Annotated[str | None, typer.Option(
    "--template", metavar="NAME", help="A shipped preset: starter, enterprise, fintech, research or batch.")]
RequirementsOption = Annotated[Path | None, typer.Option(
    "--requirements", metavar="FILE", help="A requirements YAML file (or a project's omgml.yaml).")]
TargetOption = Annotated[str | None, typer.Option(
    "--target", metavar="TARGET", help="Override the requirements' target: local or aws.")]
StrictOption = Annotated[bool, typer.Option(
    "--strict", help="Exit 1 when a stated requirement cannot be met on the target (capacity, availability, "
                     "budget, compliance).")]


def load_requirements_from(template: str | None, requirements: Path | None, target: str | None) -> Requirements:
    """Exactly one of --template / --requirements, plus an optional --target override.

    Raises typer.Exit (code 2, with a message) for bad usage and OmgmlError for bad content.
    """
    if (template is None) == (requirements is None):
        raise fail("give exactly one of --template NAME or --requirements FILE")
    if target is not None and target not in TARGETS:
        raise fail(f"--target must be one of {', '.join(TARGETS)}, got {target!r}")
    from omgml.spec.requirements import load_requirements, requirements_from_dict

    if template is not None:
        from omgml.templates import load_template

        req = load_template(template)
    else:
        assert requirements is not None
        req = load_requirements(requirements)
    if target is not None and target != req.target:
        # Re-validate (model_copy would not), keeping which fields were stated.
        req = requirements_from_dict({**req.model_dump(mode="json", exclude_unset=True), "target": target})
    return req


def strict_refusal(rec: Recommendation) -> typer.Exit:
    """The `--strict` exit: every unmet requirement on stderr, exit code 1."""
    lines = [f"--strict: {len(rec.unmet)} stated requirement(s) cannot be met on target {rec.platform.target}:"]
    lines += [f"  - {u}" for u in rec.unmet]
    return fail("\n".join(lines), code=1)


def recommend(
    template: TemplateOption = None,
    requirements: RequirementsOption = None,
    target: TargetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print everything the text shows as JSON.")] = False,
    strict: StrictOption = False,
) -> None:
    """Recommend a platform: one explained decision per area, sizing, availability, cost and warnings."""
    with user_errors():
        req = load_requirements_from(template, requirements, target)
        from omgml.recommend import priced_recommendation

        rec = priced_recommendation(req)
    if as_json:
        typer.echo(json.dumps(rec.to_json(), indent=2))
    else:
        typer.echo(recommendation_text(rec, _width()), nl=False)
    if strict and rec.unmet:
        raise strict_refusal(rec)


def _width() -> int:
    columns = shutil.get_terminal_size((80, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


def _wrap(text: str, width: int, indent: str, first: str | None = None) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_on_hyphens=False, break_long_words=True) or [indent.rstrip()]


def recommendation_text(rec: Recommendation, width: int = 80) -> str:
    """The recommendation as plain text wrapped to `width` columns."""
    spec = rec.platform
    out: list[str] = [f"{spec.name}: target {spec.target}, profile {spec.profile}", ""]
    for d in rec.decisions:
        out.append(f"{d.area}: {d.choice}")
        out += _wrap("drivers: " + (", ".join(d.drivers) or "(documented default)"), width, "    ", "  ")
        out += _wrap(d.rationale, width, "  ")
        for a in d.alternatives:
            out += _wrap(f"not {a.choice}: {a.why_not}", width, "      ", "    ")
        out.append("")
    if rec.sizing:
        out.append("sizing:")
        for s in rec.sizing:
            out += _wrap(f"{s.item}: {s.value}", width, "    ", "  ")
            out += _wrap(s.arithmetic, width, "      ", "    = ")
        out.append("")
    stores = next((d for d in rec.decisions if d.area == "data_stores"), None)
    costs = [c for c in (stores.consequences if stores else ()) if "/month vs " in c]
    if costs:
        out.append("data stores, managed vs in the cluster:")
        for c in costs:
            out += _wrap(c, width, "    ", "  ")
        out.append("")
    out.append("components per phase:")
    for phase, ids in rec.phases.items():
        out += _wrap(f"{phase}: {', '.join(ids) or '(nothing)'}", width, "    ", "  ")
    out.append("")
    if rec.controls:
        out.append("compliance controls:")
        for c in rec.controls:
            out += _wrap(c, width, "    ", "  - ")
        out.append("")
    if rec.cost is not None:
        from omgml.cost import SEED_PHASE_ESTIMATES

        est, p = rec.cost, rec.cost.prices
        out += _wrap(f"monthly cost on aws: ${est.total:,.2f} ({p.get('region')} list prices as of "
                     f"{p.get('as_of')})", width, "  ", "")
        for phase, usd in est.per_phase().items():
            seed = SEED_PHASE_ESTIMATES.get(phase)
            out += _wrap(f"{phase:<11} ${usd:>11,.2f}" + (f"   (seed estimate ${seed:,.0f})" if seed else ""),
                         width, "      ", "  ")
        for i in est.drivers(3):
            out += _wrap(f"{i.resource}: ${i.monthly_usd:,.2f} ({i.description})", width, "      ", "    biggest: ")
        if est.budget_left is not None:
            out.append(f"  budget ${est.budget_usd_month:,.2f}: ${est.budget_left:,.2f} left")
        out += _wrap("`omgml cost` prices the same render line by line; docs/cost.md after `omgml init`.",
                     width, "  ")
        out.append("")
    for w in rec.warnings:
        label = "warning (unmet): " if w in rec.unmet else "warning: "
        out += _wrap(w, width, "    ", label)
    return "\n".join(out).rstrip("\n") + "\n"
