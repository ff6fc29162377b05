"""What the governance steps leave on an MLflow model version, for a promotion gate to require.

The contract is MLflow's own vocabulary: model-version tags (strings) and run metrics.

| step | model-version tags | run metrics / artifacts |
|---|---|---|
| card | `omgml.model_card=<artifact path>` | artifact `governance/model_card.md` |
| explain | `omgml.explainability=logged` | `shap_mean_abs.<feature>`; artifact `governance/shap_importance.json` |
| fairness | `omgml.fairness.passed=true\\|false`, `omgml.fairness.<metric>=<value>` | `fairness.<metric>`, `fairness.<metric>.threshold`; artifact `governance/fairness.json` |
| all run | `omgml.governance.passed=true\\|false` (true only when every configured step passed) | |

A gate then reads, e.g.:
`omgml registry promote PROJECT MODEL VERSION --require-tag omgml.governance.passed=true`
(or `--require-tag omgml.fairness.passed=true --require-tag omgml.model_card`).
"""

from __future__ import annotations

PREFIX = "omgml"
MODEL_CARD_TAG = f"{PREFIX}.model_card"
EXPLAINABILITY_TAG = f"{PREFIX}.explainability"
FAIRNESS_PASSED_TAG = f"{PREFIX}.fairness.passed"
GOVERNANCE_PASSED_TAG = f"{PREFIX}.governance.passed"
ARTIFACT_DIR = "governance"
MODEL_CARD_ARTIFACT = f"{ARTIFACT_DIR}/model_card.md"
SHAP_ARTIFACT = f"{ARTIFACT_DIR}/shap_importance.json"
FAIRNESS_ARTIFACT = f"{ARTIFACT_DIR}/fairness.json"
SHAP_METRIC_PREFIX = "shap_mean_abs."
FAIRNESS_METRIC_PREFIX = "fairness."


def fairness_tag(metric: str) -> str:
    return f"{PREFIX}.fairness.{metric}"


def bool_tag(value: bool) -> str:
    """Tags are strings; a gate compares `KEY=true` exactly."""
    return "true" if value else "false"


def promote_gate_args() -> list[str]:
    """The `omgml registry promote` arguments that require a governed, passing version."""
    return ["--require-tag", f"{GOVERNANCE_PASSED_TAG}=true"]
