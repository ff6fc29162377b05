"""The fairness check: fairlearn's group metrics across the sensitive features, against thresholds.

`group_metrics` computes (fairlearn imported lazily: the pure parts run without it); `judge` is
the decision, a pure function of the computed values and the thresholds: a metric passes when
its value is at most its threshold (each metric is a difference between the best- and the
worst-treated group, 0 for identical treatment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# fairlearn.metrics functions by the names the spec uses.
METRICS = ("demographic_parity_difference", "equalized_odds_difference", "equal_opportunity_difference")


def judge(values: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[bool, list[dict[str, Any]]]:
    """(passed, one row per thresholded metric). A metric the step did not compute fails: a gate
    must not pass on a check that never ran."""
    rows: list[dict[str, Any]] = []
    for name, limit in sorted(thresholds.items()):
        value = values.get(name)
        ok = value is not None and value <= limit
        rows.append({"name": name, "value": float("nan") if value is None else float(value),
                     "threshold": float(limit), "passed": ok})
    return all(r["passed"] for r in rows), rows


def group_key(row: Sequence[Any]) -> str:
    return "/".join(str(v) for v in row)


def group_metrics(y_true: Any, y_pred: Any, sensitive: Any, metrics: Sequence[str] = METRICS
                  ) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """fairlearn's differences for `metrics`, and selection rate / accuracy / count per group.
    `sensitive` is a DataFrame of the sensitive columns (several columns: intersectional groups)."""
    import fairlearn.metrics as fm
    from sklearn.metrics import accuracy_score

    values: dict[str, float] = {}
    for name in metrics:
        if name not in METRICS:
            raise ValueError(f"fairness metric {name!r} is unknown; use one of {list(METRICS)}")
        values[name] = float(getattr(fm, name)(y_true, y_pred, sensitive_features=sensitive))
    frame = fm.MetricFrame(metrics={"selection_rate": fm.selection_rate, "accuracy": accuracy_score,
                                    "count": fm.count},
                           y_true=y_true, y_pred=y_pred, sensitive_features=sensitive)
    by_group: dict[str, dict[str, Any]] = {}
    for key, row in frame.by_group.iterrows():
        label = group_key(key if isinstance(key, tuple) else (key,))
        by_group[label] = {"selection_rate": float(row["selection_rate"]), "accuracy": float(row["accuracy"]),
                           "count": int(row["count"])}
    return values, by_group


def fairness_result(sensitive_features: Sequence[str], values: Mapping[str, float],
                    thresholds: Mapping[str, float], by_group: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    passed, rows = judge(values, thresholds)
    return {"sensitive_features": list(sensitive_features), "passed": passed, "metrics": rows,
            "by_group": {k: dict(v) for k, v in by_group.items()}}
