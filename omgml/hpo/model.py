"""The model both samples tune: gradient-boosted trees on a small synthetic classification set.

Replace `train_and_score` with the team's training code; the tuning around it stays the same.
Runs in the trial pods (scikit-learn only).
"""

from __future__ import annotations

from typing import Any


def train_and_score(params: dict[str, Any], seed: int = 0) -> dict[str, float]:
    """Train on a fixed synthetic dataset and return validation accuracy and ROC AUC."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=600, n_features=12, n_informative=6, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=seed)
    model = GradientBoostingClassifier(n_estimators=int(params["n_estimators"]), max_depth=int(params["max_depth"]),
                                       learning_rate=float(params["learning_rate"]), random_state=seed)
    model.fit(x_train, y_train)
    return {"accuracy": float(accuracy_score(y_val, model.predict(x_val))),
            "roc_auc": float(roc_auc_score(y_val, model.predict_proba(x_val)[:, 1]))}
