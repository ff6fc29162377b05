"""`omgml pipeline` over one interface; KFP against a loopback server of the v2beta1 REST contract
(no KFP backend runs on this machine). Airflow and Prefect run for real in the conformance tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omgml.daytwo.http import DayTwoError, Unreachable
from omgml.daytwo.pipelines import RunInfo, parse_params, watch
from tests.daytwo.conftest import init_project, invoke
from tests.daytwo.fakes import FakeKfp, serve


@pytest.fixture(scope="module")
def kfp_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = init_project(tmp_path_factory.mktemp("kfp") / "team")
    assert (root / "pipelines" / "kfp" / "train_model.py").exists()
    package = root / "pipelines" / "kfp" / "train_model.yaml"
    package.write_text("# PIPELINE DEFINITION\n# Name: train-model\npipelineInfo:\n  name: train-model\n")
    return root


def test_params_parse_json_values_and_refuse_what_is_not_key_value() -> None:
    assert parse_params(["epochs=20", "lr=0.1", "name=abc", "flags=[1,2]", "on=true"]) == {
        "epochs": 20, "lr": 0.1, "name": "abc", "flags": [1, 2], "on": True}
    with pytest.raises(DayTwoError, match="--param 'epochs': write key=value"):
        parse_params(["epochs"])


class _Steps:
    kind = "fake"

    def __init__(self, states: list[str]) -> None:
        self.states = states

    def get_run(self, pipeline: str, run_id: str) -> RunInfo:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return RunInfo(pipeline, run_id, state, state.upper())


def test_watch_echoes_each_change_and_stops_at_the_end_or_the_timeout() -> None:
    seen: list[str] = []
    info = watch(_Steps(["queued", "running", "running", "success"]), "p", "r1", seen.append, timeout=60,  # type: ignore[arg-type]
                 sleep=lambda _: None)
    assert info.state == "success" and [s.split(": ")[1] for s in seen] == [
        "queued (QUEUED)", "running (RUNNING)", "success (SUCCESS)"]
    clock = iter(range(0, 1000, 10))
    with pytest.raises(DayTwoError, match="still running after 30s"):
        watch(_Steps(["running"]), "p", "r1", seen.append, timeout=30, sleep=lambda _: None,  # type: ignore[arg-type]
              clock=lambda: float(next(clock)))


def test_kfp_deploy_list_run_watch_logs_through_the_v2beta1_contract(kfp_project: Path) -> None:
    fake = FakeKfp()
    with serve(fake) as (url, calls):
        package = str(kfp_project / "pipelines" / "kfp" / "train_model.yaml")
        code, out, err = invoke("pipeline", "deploy", str(kfp_project), "--package", package, "--url", url)
        assert code == 0, err
        assert "uploaded train_model.yaml as pipeline train-model" in out
        # A second deploy is a new version of the same pipeline, not a second pipeline.
        code, _, err = invoke("pipeline", "deploy", str(kfp_project), "--package", package, "--url", url)
        assert code == 0, err
        assert len(fake.pipelines) == 1 and len(next(iter(fake.versions.values()))) == 2

        code, out, err = invoke("pipeline", "run", str(kfp_project), "train-model", "--param", "max_iter=300",
                                "--url", url, "--json")
        assert code == 0, err
        started = json.loads(out)
        run = fake.runs[started["run_id"]]
        assert run["runtime_config"]["parameters"] == {"max_iter": 300}
        latest = max(next(iter(fake.versions.values())), key=lambda v: v["created_at"])
        assert run["pipeline_version_reference"]["pipeline_version_id"] == latest["pipeline_version_id"]

        code, out, err = invoke("pipeline", "watch", str(kfp_project), "train-model", started["run_id"], "--url", url)
        assert code == 0, err
        assert "running (RUNNING)" in out and "success (SUCCEEDED)" in out

        code, out, err = invoke("pipeline", "list", str(kfp_project), "--url", url, "--json")
        assert code == 0, err
        [row] = json.loads(out)["rows"]
        assert row["pipeline"] == "train-model" and row["state"] == "success"

        # KFP's API serves no logs: with --url the command says where they are instead.
        code, out, err = invoke("pipeline", "logs", str(kfp_project), "train-model", started["run_id"], "--url", url)
        assert code == 2 and "serves no logs over its API" in err and "system-container-impl" in err

        code, out, err = invoke("pipeline", "run", str(kfp_project), "train-model", "--param", "fail=true", "--watch",
                                "--timeout", "60", "--url", url)
        assert code == 1 and "ended failed" in err
    assert all(path.startswith("/apis/v2beta1/") for _, path, _, _ in calls)


@pytest.mark.parametrize(("args", "message"), [
    (["run", "nope"], "no pipeline 'nope' on Kubeflow Pipelines (pipelines: none)"),
    (["watch", "train-model", "r-0"], "Kubeflow Pipelines has no run 'r-0'"),
    (["run", "x", "--orchestrator", "prefect"], "--orchestrator prefect: this platform has kfp"),
    (["run", "x", "--orchestrator", "argo"], "--orchestrator 'argo': use one of kfp, airflow, prefect"),
    (["run", "x", "--param", "oops"], "--param 'oops': write key=value"),
    (["deploy"], "--package None: compile the pipeline first"),
])
def test_bad_pipeline_input_is_one_clear_line(kfp_project: Path, args: list[str], message: str) -> None:
    with serve(FakeKfp()) as (url, _):
        code, out, err = invoke("pipeline", args[0], str(kfp_project), *args[1:], "--url", url)
    assert code != 0
    assert message in err, err
    assert "Traceback" not in out + err


def test_airflow_deploy_says_where_dags_come_from(tmp_path: Path) -> None:
    root = init_project(tmp_path / "af", edit={"phases.training.airflow.enabled": True,
                                               "phases.training.kubeflow.enabled": False})
    code, _out, err = invoke("pipeline", "deploy", str(root))
    assert code == 2 and "Airflow has no API to upload DAGs" in err and "pipelines/airflow/" in err


def test_a_platform_without_an_orchestrator_says_which_field_turns_one_on(tmp_path: Path) -> None:
    root = init_project(tmp_path / "none", edit={"phases.training.kubeflow.enabled": False})
    code, _, err = invoke("pipeline", "list", str(root), "--url", "http://127.0.0.1:9")
    assert code == 2 and "no orchestrator" in err and "phases.training" in err


def _prefect_app(state: dict[str, Any]) -> Any:
    flow = {"id": "f1", "name": "train-model"}
    dep = {"id": "d1", "name": "train-model", "flow_id": "f1", "paused": False}

    def app(method: str, path: str, query: Any, body: Any) -> tuple[int, Any]:
        if path == "/api/flows/filter":
            return 200, [flow]
        if path == "/api/deployments/filter":
            return 200, [dep]
        if path == "/api/deployments/name/train-model/train-model":
            return 200, dep
        if path.startswith("/api/deployments/name/"):
            return 404, {"detail": "Deployment not found"}
        if path == "/api/deployments/d1/create_flow_run":
            state["params"] = body["parameters"]
            return 201, {"id": "11111111-1111-1111-1111-111111111111", "state": {"type": "SCHEDULED"}}
        if path == "/api/flow_runs/11111111-1111-1111-1111-111111111111":
            return 200, {"id": "11111111-1111-1111-1111-111111111111", "state": {"type": "COMPLETED"}}
        if path == "/api/flow_runs/filter":
            return 200, []
        return 404, {"detail": "Not Found"}

    return app


def test_prefect_pipelines_are_flow_slash_deployment(tmp_path: Path) -> None:
    root = init_project(tmp_path / "pf", edit={"phases.training.prefect.enabled": True,
                                               "phases.training.kubeflow.enabled": False})
    state: dict[str, Any] = {}
    with serve(_prefect_app(state)) as (url, _):
        code, out, err = invoke("pipeline", "run", str(root), "train-model/train-model", "--param", "epochs=5",
                                "--watch", "--url", url)
        assert code == 0, err
        assert state["params"] == {"epochs": 5} and "success (COMPLETED)" in out
        code, _, err = invoke("pipeline", "run", str(root), "train-model", "--url", url)
        assert code == 2 and "FLOW/DEPLOYMENT" in err
        code, _, err = invoke("pipeline", "run", str(root), "train-model/other", "--url", url)
        assert code == 2 and "no pipeline 'train-model/other' on Prefect (pipelines: train-model/train-model)" in err


class _Flaky(_Steps):
    """A server that does not answer some polls (a busy Airflow api-server)."""

    def get_run(self, pipeline: str, run_id: str) -> RunInfo:
        if self.states[0] == "down":
            self.states.pop(0)
            raise Unreachable("cannot reach Airflow at http://airflow:8080: timed out")
        return super().get_run(pipeline, run_id)


def test_watch_outlasts_polls_the_server_does_not_answer_but_not_its_deadline() -> None:
    seen: list[str] = []
    info = watch(_Flaky(["running", "down", "down", "success"]), "p", "r1", seen.append, timeout=60,  # type: ignore[arg-type]
                 sleep=lambda _: None)
    assert info.state == "success" and sum("no answer" in s for s in seen) == 2
    clock = iter(range(0, 1000, 10))
    with pytest.raises(Unreachable, match="cannot reach Airflow"):
        watch(_Flaky(["running"] + ["down"] * 10), "p", "r1", seen.append, timeout=30,  # type: ignore[arg-type]
              sleep=lambda _: None, clock=lambda: float(next(clock)))
