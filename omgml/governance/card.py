"""The model card: a markdown page rendered from MLflow run and registry metadata (pure).

`card_fields` turns the metadata (plain dicts, as MLflow's REST API returns them) and the other
steps' results into the template's fields; `render_card` fills the template (string.Template,
`$name`), refusing one that names a field the step does not provide.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from . import contract

TEMPLATE_FILE = "model_card_template.md"


class CardError(ValueError):
    """The template cannot be filled; the message names the field and the fix."""


def default_template() -> str:
    return resources.files(__package__).joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")


def _table(rows: Mapping[str, Any], head: tuple[str, str]) -> str:
    if not rows:
        return "None logged."
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| `{k}` | {_fmt(v)} |" for k, v in sorted(rows.items())]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _time(ms: Any) -> str:
    if not isinstance(ms, (int, float)) or ms <= 0:
        return "unknown"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def explainability_section(importance: Mapping[str, float] | None, top: int = 10) -> str:
    if importance is None:
        return "Not run (phases.training.governance.explainability: false)."
    if not importance:
        return "Run, but the model explained no feature."
    ranked = sorted(importance.items(), key=lambda kv: -kv[1])[:top]
    lines = ["Mean absolute SHAP value per feature (the average size of its push on a prediction), largest first:",
             "", "| feature | mean \\|SHAP\\| |", "|---|---|"]
    lines += [f"| `{f}` | {v:.6g} |" for f, v in ranked]
    return "\n".join(lines)


def fairness_section(result: Mapping[str, Any] | None) -> str:
    if result is None:
        return "Not run (no sensitive features are configured: phases.training.governance.fairness.sensitive_features)."
    lines = [f"Sensitive features: {', '.join(f'`{f}`' for f in result['sensitive_features'])}. "
             f"Result: **{'passed' if result['passed'] else 'failed'}**.", "",
             "| metric | value | threshold | within |", "|---|---|---|---|"]
    for m in result["metrics"]:
        lines.append(f"| {m['name']} | {m['value']:.4g} | {m['threshold']:.4g} | {'yes' if m['passed'] else 'no'} |")
    groups = result.get("by_group") or {}
    if groups:
        lines += ["", "Selection rate and accuracy per group:", "", "| group | selection rate | accuracy | rows |",
                  "|---|---|---|---|"]
        for g, row in sorted(groups.items()):
            lines.append(f"| {g} | {row['selection_rate']:.4g} | {row['accuracy']:.4g} | {row['count']} |")
    return "\n".join(lines)


def card_fields(model_name: str, version: Mapping[str, Any], run: Mapping[str, Any],
                importance: Mapping[str, float] | None, fairness: Mapping[str, Any] | None,
                governance_passed: bool | None, now: datetime | None = None) -> dict[str, str]:
    """The template's fields. `version`: MLflow's model-version dict (version, description,
    aliases, source, creation_timestamp, and flavors when known); `run`: {info: {run_id, run_name,
    user_id, start_time}, data: {params, metrics, tags}} with params/metrics/tags as key → value maps."""
    info = run.get("info", {})
    data = run.get("data", {})
    tags = data.get("tags", {})
    # MLflow 3 reads them from the logged model (version["flavors"]); MLflow 2 runs carry a tag.
    flavors = version.get("flavors") or tags.get("omgml.flavors") or _flavors(tags.get("mlflow.log-model.history"))
    status = ("passed: every configured step passed" if governance_passed
              else "failed: see the sections above" if governance_passed is not None else "not evaluated yet")
    return {
        "model_name": model_name,
        "model_version": str(version.get("version", "?")),
        "aliases": ", ".join(f"`{a}`" for a in version.get("aliases") or []) or "none",
        "run_id": str(info.get("run_id", "?")),
        "run_name": str(info.get("run_name") or "unnamed"),
        "user": str(info.get("user_id") or tags.get("mlflow.user") or "unknown"),
        "trained_at": _time(info.get("start_time")),
        "source": str(version.get("source", "?")),
        "flavors": flavors or "unknown",
        "description": str(version.get("description") or "*(team)* No description on the model version yet."),
        "params": _table(data.get("params", {}), ("parameter", "value")),
        "metrics": _table({k: v for k, v in data.get("metrics", {}).items()
                           if not k.startswith((contract.SHAP_METRIC_PREFIX, contract.FAIRNESS_METRIC_PREFIX))},
                          ("metric", "value")),
        "explainability": explainability_section(importance),
        "fairness": fairness_section(fairness),
        "governance": f"`{contract.GOVERNANCE_PASSED_TAG}`: {status}.",
        "generated_at": (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _flavors(history: Any) -> str:
    import json

    try:
        entries: Sequence[Mapping[str, Any]] = json.loads(history) if isinstance(history, str) else []
    except ValueError:
        return ""
    names: list[str] = []
    for e in entries:
        names += [f for f in (e.get("flavors") or {}) if f not in names]
    return ", ".join(names)


def render_card(template: str, fields: Mapping[str, str]) -> str:
    try:
        return string.Template(template).substitute(fields)
    except KeyError as exc:
        raise CardError(f"model card template: ${exc.args[0]} is not a field the card step fills; use one of "
                        f"{', '.join('$' + k for k in sorted(fields))} (or $$ for a literal $)") from None
    except ValueError as exc:
        raise CardError(f"model card template: {exc}; write $$ for a literal $") from None
