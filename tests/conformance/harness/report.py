"""The tier's summary: per workload how it ran (exact / adapted / skipped with the reason), the
version that ran, its status and time; then each step's wall time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conformance.harness.runner import Outcome, Platform

PHASE_ORDER = {"foundation": 0, "training": 1, "serving": 2}


def _rows(platform: Platform) -> list[Outcome]:
    return sorted(platform.outcomes.values(), key=lambda o: (PHASE_ORDER.get(o.phase, 9), o.key))


def _what(o: Outcome) -> str:
    if o.how == "skipped" or o.status == "skipped":
        return f"skipped: {o.detail}"
    if o.status == "blocked":
        return f"blocked: {o.detail}" if o.detail else "blocked"
    return o.how or "-"


def summary_text(platform: Platform, steps: list[tuple[str, float]]) -> str:
    lines = [f"{'workload':58} {'ran':9} {'status':9} {'time':>7}  version", "-" * 110]
    for o in _rows(platform):
        ran = "skipped" if o.status == "skipped" else (o.how or "-")
        lines.append(f"{o.key:58} {ran:9} {o.status:9} {o.seconds:6.1f}s  {', '.join(o.versions)}")
        if o.status in ("skipped", "blocked", "failed"):
            first = o.detail.splitlines()[0] if o.detail else ""
            lines.append(f"{'':58}   └ {first}")
    lines += ["", "step wall times:"]
    lines += [f"  {name:50} {secs:7.1f}s" for name, secs in [*steps, *platform.step_times]]
    notes = sorted({n for o in platform.outcomes.values() for n in o.notes})
    if notes:
        lines += ["", "differences from the images:"] + [f"  - {n}" for n in notes]
    return "\n".join(lines)


def summary_markdown(platform: Platform, steps: list[tuple[str, float]]) -> str:
    lines = ["| workload | phase | ran | version | status | time |", "|---|---|---|---|---|---|"]
    for o in _rows(platform):
        lines.append(f"| {o.key} | {o.phase} | {_what(o)} | {', '.join(o.versions)} | {o.status} | {o.seconds:.1f}s |")
    lines += ["", "| step | wall time |", "|---|---|"]
    lines += [f"| {name} | {secs:.1f}s |" for name, secs in [*steps, *platform.step_times]]
    return "\n".join(lines) + "\n"
