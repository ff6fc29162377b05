"""What a policy reports: one Finding per problem, naming the resource, the field and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
Manifest = dict[str, Any]
# A resource of the render's inventory (inventory.json): its Pulumi type, name and inputs.
Entry = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    policy_id: str
    severity: Severity
    resource: str  # "Kind/namespace/name" (cluster-scoped: "Kind/name"; AWS: "type/name")
    field: str  # dotted path inside the resource, "" when the problem is the resource's absence
    message: str
    fix: str

    def line(self) -> str:
        where = f"{self.resource} {self.field}".rstrip()
        return f"[{self.severity}] {self.policy_id}: {where}: {self.message} (fix: {self.fix})"


def resource_id(m: Manifest) -> str:
    meta = m.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{m.get('kind', '?')}/{ns}/{name}" if ns else f"{m.get('kind', '?')}/{name}"


def entry_id(e: Entry) -> str:
    return f"{e.get('type')}/{e.get('name')}"


def entry_inputs(e: Entry) -> dict[str, Any]:
    return dict(e.get("inputs") or {})


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]
