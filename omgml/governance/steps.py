"""The governance steps, run inside a pipeline step: `python -m omgml_governance.steps STEP ...`.

    STEP: card | explain | fairness | all
    --model NAME --version N       the registered model version (MLflow registry)
    --data URI                     evaluation data, CSV with the label column: a path or any MLflow
                                   artifact URI (default: runs:/<the version's run>/eval/eval.csv,
                                   which the sample training step logs)
    --label COLUMN                 the label column (default: label)
    --template FILE                the model card template (default: the packaged one)
    --settings FILE                the settings JSON (default: env OMGML_GOVERNANCE)

Each step logs to the model version's run (metrics, artifacts under governance/) and tags the
version (omgml.governance.contract); `all` runs the configured steps and sets
omgml.governance.passed. Exit status: 0 when every step that ran passed, 1 when the fairness
check failed (the version is tagged failed, so a gate refuses it), 2 on bad input.
MLFLOW_TRACKING_URI (set in every pipeline pod) says where MLflow is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import contract
from .card import card_fields, default_template, render_card
from .settings import GovernanceSettings, SettingsError, parse_settings, settings_from_env


class StepError(RuntimeError):
    """Bad input: the message names what and the fix."""


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def _version(client: Any, name: str, version: str) -> Any:
    try:
        return client.get_model_version(name, version)
    except Exception as exc:
        raise StepError(f"--model {name} --version {version}: not in the registry ({exc}); register the model "
                        "first (the sample training step does)") from None


def _run_dict(client: Any, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    return {"info": {"run_id": run.info.run_id, "run_name": run.info.run_name, "user_id": run.info.user_id,
                     "start_time": run.info.start_time},
            "data": {"params": dict(run.data.params), "metrics": dict(run.data.metrics), "tags": dict(run.data.tags)}}


def load_data(uri: str, label: str) -> tuple[Any, Any]:
    """(features DataFrame, labels) from a CSV path or MLflow artifact URI."""
    import mlflow
    import pandas as pd

    path = uri if Path(uri).exists() else mlflow.artifacts.download_artifacts(artifact_uri=uri)
    frame = pd.read_csv(path)
    if label not in frame.columns:
        raise StepError(f"--label {label}: no such column in {uri} (columns: {', '.join(map(str, frame.columns))})")
    return frame.drop(columns=[label]), frame[label]


def load_model(name: str, version: str) -> Any:
    """The scikit-learn estimator when the version has that flavor (SHAP and predict_proba need
    it), else the pyfunc model."""
    import mlflow

    uri = f"models:/{name}/{version}"
    try:
        return mlflow.sklearn.load_model(uri)
    except Exception:
        return mlflow.pyfunc.load_model(uri)


def run_explain(client: Any, model: Any, features: Any, settings: GovernanceSettings, run_id: str,
                name: str, version: str) -> dict[str, float]:
    from .explain import shap_importance

    usable = features.drop(columns=[c for c in settings.sensitive_features if c in features.columns])
    sample = usable.iloc[: settings.explain_sample_rows]
    importance = shap_importance(model, sample)
    for feature, value in importance.items():
        client.log_metric(run_id, f"{contract.SHAP_METRIC_PREFIX}{_metric_key(feature)}", value)
    client.log_text(run_id, json.dumps(importance, indent=2, sort_keys=True), contract.SHAP_ARTIFACT)
    client.set_model_version_tag(name, version, contract.EXPLAINABILITY_TAG, "logged")
    return importance


def run_fairness(client: Any, model: Any, features: Any, labels: Any, settings: GovernanceSettings, run_id: str,
                 name: str, version: str) -> dict[str, Any]:
    from .fairness import fairness_result, group_metrics

    missing = [c for c in settings.sensitive_features if c not in features.columns]
    if missing:
        raise StepError(f"phases.training.governance.fairness.sensitive_features: {missing} are not columns of the "
                        f"evaluation data ({', '.join(map(str, features.columns))}); name its columns")
    sensitive = features[list(settings.sensitive_features)]
    predictions = model.predict(features.drop(columns=list(settings.sensitive_features))
                                if _drops_sensitive(model, features, settings) else features)
    values, by_group = group_metrics(labels, predictions, sensitive, tuple(settings.thresholds))
    result = fairness_result(settings.sensitive_features, values, settings.thresholds, by_group)
    for row in result["metrics"]:
        client.log_metric(run_id, f"{contract.FAIRNESS_METRIC_PREFIX}{row['name']}", row["value"])
        client.log_metric(run_id, f"{contract.FAIRNESS_METRIC_PREFIX}{row['name']}.threshold", row["threshold"])
        client.set_model_version_tag(name, version, contract.fairness_tag(row["name"]), f"{row['value']:.6g}")
    client.log_text(run_id, json.dumps(result, indent=2, sort_keys=True), contract.FAIRNESS_ARTIFACT)
    client.set_model_version_tag(name, version, contract.FAIRNESS_PASSED_TAG, contract.bool_tag(result["passed"]))
    return result


def _drops_sensitive(model: Any, features: Any, settings: GovernanceSettings) -> bool:
    """Whether the model was trained without the sensitive columns (scikit-learn records the
    columns it was fitted on); then they are left out of its input, as in training."""
    fitted = getattr(model, "feature_names_in_", None)
    return fitted is not None and not any(c in list(fitted) for c in settings.sensitive_features)


def _metric_key(feature: str) -> str:
    # MLflow metric names: alphanumerics, _ - . space / only.
    return "".join(ch if ch.isalnum() or ch in "_-. /" else "_" for ch in feature)


def run(step: str, name: str, version: str, data: str | None, label: str, settings: GovernanceSettings,
        template: str | None) -> dict[str, Any]:
    client = _client()
    mv = _version(client, name, version)
    run_id = mv.run_id
    if not run_id:
        raise StepError(f"model {name} version {version} has no run; register it from a run (log_model) so its "
                        "metrics and the card have a home")
    features, labels = load_data(data or f"runs:/{run_id}/eval/eval.csv", label)
    model = load_model(name, version)
    out: dict[str, Any] = {"model": name, "version": version, "run_id": run_id}
    importance: dict[str, float] | None = None
    fairness: dict[str, Any] | None = None
    if step in ("explain", "all") and settings.explainability:
        importance = run_explain(client, model, features, settings, run_id, name, version)
        out["shap"] = importance
    if step in ("fairness", "all") and settings.sensitive_features:
        fairness = run_fairness(client, model, features, labels, settings, run_id, name, version)
        out["fairness"] = fairness
    passed: bool | None = None
    if step == "all":
        passed = fairness["passed"] if fairness is not None else True
        client.set_model_version_tag(name, version, contract.GOVERNANCE_PASSED_TAG, contract.bool_tag(passed))
        out["passed"] = passed
    if step in ("card", "all") and settings.model_cards:
        fields = card_fields(name, _version_dict(mv, model_flavors(name, version)), _run_dict(client, run_id),
                             importance, fairness, passed)
        card = render_card(template if template is not None else default_template(), fields)
        client.log_text(run_id, card, contract.MODEL_CARD_ARTIFACT)
        client.set_model_version_tag(name, version, contract.MODEL_CARD_TAG, contract.MODEL_CARD_ARTIFACT)
        out["card"] = contract.MODEL_CARD_ARTIFACT
    return out


def _version_dict(mv: Any, flavors: str = "") -> dict[str, Any]:
    return {"version": mv.version, "description": mv.description, "aliases": list(getattr(mv, "aliases", []) or []),
            "source": mv.source, "creation_timestamp": mv.creation_timestamp, "flavors": flavors}


def model_flavors(name: str, version: str) -> str:
    """The flavors in the version's MLmodel ("" when it cannot be read). MLflow 3 keeps them with
    the logged model, no longer in the run's mlflow.log-model.history tag."""
    import mlflow

    try:
        return ", ".join(mlflow.models.get_model_info(f"models:/{name}/{version}").flavors)
    except Exception:  # the card says "unknown" rather than failing the governance run
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m omgml_governance.steps", description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["card", "explain", "fairness", "all"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--data")
    parser.add_argument("--label", default="label")
    parser.add_argument("--template", type=Path)
    parser.add_argument("--settings", type=Path)
    args = parser.parse_args(argv)
    try:
        settings = (parse_settings(args.settings.read_text(), str(args.settings)) if args.settings
                    else settings_from_env())
        template = args.template.read_text(encoding="utf-8") if args.template else None
        out = run(args.step, args.model, args.version, args.data, args.label, settings, template)
    except (StepError, SettingsError, OSError) as exc:
        print(f"governance: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, sort_keys=True, default=str))
    fairness = out.get("fairness")
    return 1 if fairness is not None and not fairness["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
