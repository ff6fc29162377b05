"""The layout of the ADRs `omgml init` writes into docs/adr/.

Every ADR (one per decided area, compliance, backups) has the same sections in the same order, so
a reader finds the rationale or the alternatives at the same place in each; the modules that decide
the content (omgml.project, omgml.backup) hand their lines to `adr_document`.
"""

from __future__ import annotations

from collections.abc import Sequence


def adr_document(title: str, *, status: str, context: Sequence[str], decision: Sequence[str],
                 rationale: Sequence[str], alternatives: Sequence[str], consequences: Sequence[str]) -> str:
    """The Markdown of one ADR: `# title`, then Status, Context, Decision, Rationale, Alternatives
    considered and Consequences, each a `##` section holding the given lines."""
    lines = [f"# {title}", ""]
    for heading, body in (("Status", [status]), ("Context", context), ("Decision", decision),
                          ("Rationale", rationale), ("Alternatives considered", alternatives),
                          ("Consequences", consequences)):
        lines += [f"## {heading}", "", *body, ""]
    return "\n".join(lines)
