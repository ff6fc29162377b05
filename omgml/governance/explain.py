"""SHAP explanations of a model on a sample of its evaluation data (shap imported lazily).

The summary is the mean absolute SHAP value per feature: how far, on average, each feature
pushes a prediction away from the base value. For a classifier with probabilities the
positive class (the last column) is explained.
"""

from __future__ import annotations

from typing import Any


def mean_abs_importance(values: Any, features: list[str]) -> dict[str, float]:
    """Mean |SHAP| per feature from an (n, features) or (n, features, classes) array (pure numpy)."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if arr.ndim == 3:
        arr = arr[:, :, -1]
    if arr.ndim != 2 or arr.shape[1] != len(features):
        raise ValueError(f"SHAP values have shape {arr.shape}, expected (rows, {len(features)})")
    means = np.abs(arr).mean(axis=0)
    return {f: float(m) for f, m in zip(features, means, strict=True)}


def shap_importance(model: Any, sample: Any, background_rows: int = 100) -> dict[str, float]:
    """SHAP's auto-selected explainer (trees: TreeExplainer; anything else: a model-agnostic one
    over the predict function) on `sample`, a DataFrame of feature columns."""
    import shap

    background = sample.iloc[: min(background_rows, len(sample))]
    if hasattr(model, "predict_proba"):
        try:
            explainer = shap.Explainer(model, background)
        except Exception:  # a model shap has no dedicated explainer for: explain its probabilities
            explainer = shap.Explainer(lambda x: model.predict_proba(x)[:, -1], background)
    else:
        explainer = shap.Explainer(model.predict, background)
    explanation = explainer(sample)
    return mean_abs_importance(explanation.values, [str(c) for c in sample.columns])
