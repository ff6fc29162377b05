"""`omgml registry` against a loopback MLflow stand-in (the real MLflow: conformance tier)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from omgml.daytwo.registry import Gate, changed_params, check_alias, check_gates, compare_versions
from omgml.samples import training
from tests.daytwo.conftest import invoke
from tests.daytwo.fakes import FakeMlflow, serve


def _v(version: str, metrics: dict[str, float] | None = None, tags: dict[str, str] | None = None,
       params: dict[str, str] | None = None) -> dict[str, object]:
    return {"version": version, "metrics": metrics or {}, "tags": tags or {}, "params": params or {}}


def test_metric_gate_needs_the_candidate_to_beat_the_current_holder() -> None:
    gate = Gate(metric="accuracy")
    assert check_gates(gate, _v("2", {"accuracy": 0.9}), _v("1", {"accuracy": 0.8})) == []
    failed = check_gates(gate, _v("2", {"accuracy": 0.7}), _v("1", {"accuracy": 0.8}))
    assert failed and "does not beat version 1" in failed[0]
    # lower is better (a loss), and a minimum improvement
    assert check_gates(Gate("log_loss", lower_is_better=True), _v("2", {"log_loss": 0.3}), _v("1", {"log_loss": 0.4})) == []
    assert check_gates(Gate("accuracy", min_delta=0.05), _v("2", {"accuracy": 0.82}), _v("1", {"accuracy": 0.8}))
    # no holder yet: only the threshold applies
    assert check_gates(Gate("accuracy", threshold=0.85), _v("1", {"accuracy": 0.8}), None)
    assert check_gates(Gate("accuracy"), _v("1", {"accuracy": 0.8}), None) == []
    assert "logged no metric" in check_gates(Gate("f1"), _v("1", {"accuracy": 0.8}), None)[0]


def test_tag_gate_requires_the_tag_and_its_value() -> None:
    gate = Gate(required_tags=("model_card", "approved=true"))
    assert check_gates(gate, _v("3", tags={"model_card": "s3://cards/3.md", "approved": "true"}), None) == []
    failed = check_gates(gate, _v("3", tags={"approved": "no"}), None)
    assert len(failed) == 2 and "no tag 'model_card'" in failed[0] and "'no', not 'true'" in failed[1]


def test_compare_lines_up_metrics_and_changed_params() -> None:
    a = _v("1", {"accuracy": 0.8, "log_loss": 0.5}, params={"epochs": "100", "seed": "7"})
    b = _v("2", {"accuracy": 0.9}, params={"epochs": "200", "seed": "7"})
    rows = {r["metric"]: r for r in compare_versions(a, b)}
    assert rows["accuracy"]["delta"] == pytest.approx(0.1)
    assert rows["log_loss"]["2"] is None and rows["log_loss"]["delta"] is None
    assert changed_params(a, b) == [{"param": "epochs", "1": "100", "2": "200"}]


@pytest.mark.parametrize("alias", ["v2", "latest", "12", "has space", ""])
def test_aliases_mlflow_refuses_are_refused_with_the_rule(alias: str) -> None:
    with pytest.raises(Exception, match="--alias"):
        check_alias(alias)


def _register(url: str, accuracy_epochs: int, secret_param: bool = False) -> dict[str, str]:
    result = training.train(n_samples=200, epochs=accuracy_epochs)
    if secret_param:
        result["params"]["db_password"] = "hunter2-very-secret"
    return training.log_and_register(result, tracking_uri=url)


def test_sample_training_registers_a_version_that_list_show_promote_see(starter: Path) -> None:
    fake = FakeMlflow()
    with serve(fake) as (url, _):
        first = _register(url, 5, secret_param=True)
        second = _register(url, 300)
        assert (first["version"], second["version"]) == ("1", "2")

        code, out, err = invoke("registry", "list", str(starter), "--url", url, "--json")
        assert code == 0, err
        [row] = json.loads(out)["rows"]
        assert row["model"] == "omgml-sample-model" and row["versions"] == 2 and row["latest"] == 2

        code, out, err = invoke("registry", "show", str(starter), "omgml-sample-model", "1", "--url", url, "--json")
        assert code == 0, err
        shown = json.loads(out)
        assert shown["params"]["db_password"] == "<redacted>"  # never print credentials
        assert "hunter2" not in out
        assert set(shown["metrics"]) == {"accuracy", "log_loss"}
        assert shown["datasets"][0]["name"] == "synthetic-churn" and shown["datasets"][0]["context"] == "training"
        assert [c["name"] for c in shown["signature"]["inputs"]] == list(training.FEATURES)

        # The well-trained version beats the barely-trained one; the reverse is refused.
        code, out, err = invoke("registry", "promote", str(starter), "omgml-sample-model", "2", "--alias", "production",
                                "--metric", "accuracy", "--url", url)
        assert code == 0, err
        assert "alias production → version 2" in out
        code, out, err = invoke("registry", "promote", str(starter), "omgml-sample-model", "1", "--metric", "accuracy",
                                "--url", url)
        assert code == 1 and "gate not met" in err and "does not beat version 2" in err
        assert fake.models["omgml-sample-model"]["aliases"] == [{"alias": "production", "version": "2"}]
        code, out, err = invoke("registry", "promote", str(starter), "omgml-sample-model", "1",
                                "--require-tag", "model_card", "--url", url, "--alias", "staging")
        assert code == 1 and "no tag 'model_card'" in err

        code, out, err = invoke("registry", "compare", str(starter), "omgml-sample-model", "1", "2", "--url", url,
                                "--json")
        assert code == 0, err
        metrics = {r["metric"]: r for r in json.loads(out)["metrics"]["rows"]}
        assert metrics["accuracy"]["delta"] == pytest.approx(metrics["accuracy"]["2"] - metrics["accuracy"]["1"])


@pytest.mark.parametrize(("args", "message"), [
    (["show", "nope", "1"], "no registered model 'nope' in MLflow (registered: omgml-sample-model)"),
    (["show", "omgml-sample-model", "9"], "model 'omgml-sample-model' has no version 9 (versions: 1)"),
    (["show", "omgml-sample-model", "latest"], "give a version number"),
    (["promote", "omgml-sample-model", "1", "--alias", "v1"], "--alias 'v1'"),
])
def test_bad_input_is_one_clear_line_and_a_nonzero_exit(starter: Path, args: list[str], message: str) -> None:
    fake = FakeMlflow()
    with serve(fake) as (url, _):
        _register(url, 5)
        code, out, err = invoke("registry", args[0], str(starter), *args[1:], "--url", url)
    assert code != 0
    assert message in err
    assert "Traceback" not in err + out


def test_an_unreachable_mlflow_is_named_with_its_address(starter: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _out, err = invoke("registry", "list", str(starter), "--url", f"http://admin:pw@127.0.0.1:{port}")
    assert code == 2
    assert f"cannot reach MLflow at http://127.0.0.1:{port}" in err and "pw" not in err
    assert "Traceback" not in err
