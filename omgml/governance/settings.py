"""The settings the governance steps read: one JSON document, from the platform spec.

The training phase writes it into ConfigMap omgml-governance (key governance.json) of every
pipeline namespace; Airflow tasks and Prefect flow runs get it as env OMGML_GOVERNANCE, KFP steps
through `kubernetes.use_config_map_as_env` (the sample pipeline does). This module has no
dependencies beyond the standard library: it runs inside the step image.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

CONFIG_MAP = "omgml-governance"
CONFIG_KEY = "governance.json"
ENV = "OMGML_GOVERNANCE"


class SettingsError(ValueError):
    """The governance settings are unusable; the message names the field and the fix."""


@dataclass(frozen=True)
class GovernanceSettings:
    model_cards: bool = True
    explainability: bool = True
    sensitive_features: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    explain_sample_rows: int = 200

    def to_json(self) -> str:
        return json.dumps({
            "model_cards": self.model_cards,
            "explainability": self.explainability,
            "fairness": {"sensitive_features": list(self.sensitive_features), "thresholds": dict(self.thresholds)},
            "explain_sample_rows": self.explain_sample_rows,
        }, sort_keys=True)


def parse_settings(text: str, source: str = ENV) -> GovernanceSettings:
    """The settings from their JSON text, checked: a threshold outside [0, 1] is refused."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{source}: not JSON ({exc.msg}); it comes from ConfigMap {CONFIG_MAP}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: must be a JSON object")
    fairness = data.get("fairness") or {}
    thresholds = fairness.get("thresholds") or {}
    checked: dict[str, float] = {}
    for metric, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
                or not 0 <= value <= 1:
            raise SettingsError(f"{source}: fairness.thresholds.{metric}: {value!r} is outside [0, 1]; set "
                                f"phases.training.governance.fairness.thresholds.{metric} to e.g. 0.1")
        checked[str(metric)] = float(value)
    rows = data.get("explain_sample_rows", 200)
    if not isinstance(rows, int) or rows < 1:
        raise SettingsError(f"{source}: explain_sample_rows: {rows!r} must be a positive integer")
    return GovernanceSettings(
        model_cards=bool(data.get("model_cards", True)),
        explainability=bool(data.get("explainability", True)),
        sensitive_features=tuple(str(c) for c in fairness.get("sensitive_features") or ()),
        thresholds=checked,
        explain_sample_rows=rows,
    )


def settings_from_env(env: dict[str, str] | None = None) -> GovernanceSettings:
    env = dict(os.environ) if env is None else env
    text = env.get(ENV)
    if not text:
        raise SettingsError(f"{ENV} is not set; run the step in a pipeline namespace (ConfigMap {CONFIG_MAP}) or "
                            "pass --settings FILE")
    return parse_settings(text)
