"""Everything `omgml check` runs on a render: schema validation, policies, capacity budget."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from omgml.capacity import Budget, CapacityReport, capacity_report
from omgml.policy import run_policies
from omgml.policy.findings import Finding, errors

if TYPE_CHECKING:
    from omgml.synth.render import PlatformRender

SCHEMA_POLICY = "kubernetes-schema"
CAPACITY_POLICY = "capacity-budget"


@dataclass(frozen=True)
class CheckResult:
    findings: list[Finding]
    capacity: CapacityReport

    @property
    def failed(self) -> bool:
        return bool(errors(self.findings))


def schema_finding(problem: str) -> Finding:
    """validate_manifests' "Kind/ns/name: path: message" as a Finding."""
    resource, _, rest = problem.partition(": ")
    path, _, message = rest.partition(": ")
    if not message:
        path, message = "", rest
    return Finding(SCHEMA_POLICY, "error", resource, "" if path == "(root)" else path, message,
                   "fix the builder that writes this field (strict Kubernetes schema: no unknown fields)")


def check_render(render: PlatformRender, budget: Budget | None, *, schema: bool = True) -> CheckResult:
    items = render.all_manifests()
    findings: list[Finding] = []
    spec = render.spec
    if schema:
        from omgml.validate import schema_version, validate_manifests

        # Against the project's own Kubernetes version (EKS's or the kind node's), not a fixed one.
        findings.extend(schema_finding(p) for p in validate_manifests(items, strict=True,
                                                                       version=schema_version(spec)))
    findings.extend(run_policies(items, render.inventory(), target=spec.target,
                                 gpu_pools=[p.name for p in spec.all_gpu_pools()], profile=spec.profile))
    try:
        report = capacity_report(render, budget)
    except ValueError as exc:  # a malformed quantity; the schema findings say where
        findings.append(Finding(CAPACITY_POLICY, "error", f"Platform/{spec.name}", "requests",
                                f"cannot total the requests: {exc}", "fix the quantity the schema check names"))
        report = CapacityReport([], budget)
    for message in report.over_budget():
        findings.append(Finding(CAPACITY_POLICY, "error", f"Platform/{spec.name}", "requests", message,
                                "shrink the biggest consumers' sizes, disable components, or raise the budget "
                                "(--budget-cpu / --budget-memory-gib) if the cluster really has more"))
    return CheckResult(findings, report)


def result_json(result: CheckResult) -> dict[str, Any]:
    """A machine-readable check result (for CI comments and other tools)."""
    report = result.capacity
    budget = report.budget
    return {
        "passed": not result.failed,
        "findings": [asdict(f) for f in result.findings],
        "capacity": {
            "per_phase": {p: asdict(t) for p, t in report.per_phase().items()},
            "total": asdict(report.total),
            "batch": asdict(report.batch),
            "budget": asdict(budget) if budget else None,
            "top": [{"component": r.component, "phase": r.phase, **asdict(r.totals)} for r in report.top(5)],
        },
    }


def check_markdown(result: CheckResult) -> str:
    """The check result as GitHub-flavoured Markdown (a pull-request comment section)."""
    from omgml.capacity import format_bytes, format_cpu

    errs = [f for f in result.findings if f.severity == "error"]
    head = "**omgml check passed**" if not result.failed else f"**omgml check failed**: {len(errs)} error(s)"
    lines = [head, ""]
    if result.findings:
        lines += ["| severity | policy | resource | field | problem | fix |", "|---|---|---|---|---|---|"]
        for f in result.findings:
            cells = [f.severity, f.policy_id, f.resource, f.field, f.message, f.fix]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    report = result.capacity
    lines += ["Requests (steady state):", "", "| phase | CPU | memory | GPU | storage |", "|---|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join((phase, *t.formatted())) + " |" for phase, t in report.phase_totals("**total**")]
    b = report.budget
    if b is not None:
        cpu = format_cpu(b.cpu_m) if b.cpu_m is not None else "-"
        mem = format_bytes(b.memory_b) if b.memory_b is not None else "-"
        lines.append(f"| budget | {cpu} | {mem} | {b.gpus if b.gpus is not None else '-'} | - |")
    top = report.top(5)
    if top:
        lines += ["", "Top consumers: " + ", ".join(
            f"`{r.component}` ({format_cpu(r.totals.cpu_m)}, {format_bytes(r.totals.memory_b)})" for r in top)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
