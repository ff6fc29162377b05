"""Spark batch scoring: spec rules, sizing, the rendered job, score.py's settings, submit.py
against a fake Kubernetes API, and the engine's choice for batch serving."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from omgml.batch_sizing import spark_sizing
from omgml.capacity import workload_requests
from omgml.components.contracts import StoreRef
from omgml.components.spark import component as spark
from omgml.components.spark import score, submit
from omgml.errors import SpecError
from omgml.policy import check_manifests
from omgml.recommend import recommend
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from omgml.templates import load_template
from tests.synth_helpers import assert_valid, find, one, pod_spec

NS = "omgml-serving"


def spec_with(batch: dict[str, Any], **phases: Any) -> PlatformSpec:
    return spec_from_dict({"name": "demo", "phases": {"serving": {"batch_scoring": {"enabled": True, **batch}},
                                                      **phases}})


def problem(batch: dict[str, Any], **phases: Any) -> str:
    with pytest.raises(SpecError) as err:
        spec_with(batch, **phases)
    return str(err.value)


# --- the spec ----------------------------------------------------------------------------------
def test_a_schedule_that_is_not_cron_is_refused_by_the_spec_and_the_component() -> None:
    # The rule itself is omgml.cron's (tests/test_cron.py); here: both doors use it.
    assert "phases.serving.batch_scoring.schedule: '0 24 * * *' is not a cron schedule: the hour field" in problem(
        {"schedule": "0 24 * * *"})
    args = spark.SparkBatchScoringArgs(
        namespace=NS, instance="demo", schedule="every night", model="model", alias="champion",
        features_path="batch/features/", predictions_path="batch/predictions/",
        store=StoreRef("", "us-east-1", "objectstore-s3-credentials"), mlflow_tracking_uri="http://mlflow:5000",
        default_bucket="demo-features")
    with pytest.raises(ValueError, match=r"^phases.serving.batch_scoring.schedule: 'every night' is not a cron"):
        spark.resolve(args)


def test_other_bad_input_names_the_field_and_the_fix() -> None:
    assert "are not exact pins; write each as name==version" in problem({"python_packages": ["scikit-learn>=1"]})
    assert "would read its own output" in problem({"features_path": "a/", "predictions_path": "a"})
    assert "'prediction' is the column the run writes" in problem({"keep_columns": ["id", "prediction"]})
    msg = problem({}, foundation={"mlflow": {"enabled": False}})
    assert "batch_scoring.enabled: the scoring job loads the model from MLflow's registry" in msg


# --- sizing --------------------------------------------------------------------------------------
def test_executors_follow_the_data_volume_within_the_profile_bounds() -> None:
    assert spark_sizing(200, "laptop").executors == 1  # a laptop gets one small executor, whatever the volume
    small = spark_sizing(45, "small")
    assert (small.executors, small.cores) == (3, 2) and "45 ÷ 20 GB per executor = 3" in small.why
    assert spark_sizing(100_000, "production").executors == 50
    assert spark_sizing(0.1, "production").executors == 1
    assert spark_sizing(10, "small", executors=7).executors == 7
    laptop = spark_sizing(1, "laptop")
    assert laptop.pod_memory_mib == laptop.heap_mib + 384


# --- the render ------------------------------------------------------------------------------------
@cache
def _render(key: str) -> PlatformRender:
    return render_platform(PlatformSpec.model_validate_json(key))


def everything(s: PlatformSpec) -> list[dict[str, Any]]:
    return _render(s.model_dump_json()).all_manifests()


def cronjob(items: list[dict[str, Any]]) -> dict[str, Any]:
    return one(items, "CronJob", "demo-batch-scoring")


def conf_of(items: list[dict[str, Any]]) -> dict[str, str]:
    command = pod_spec(cronjob(items))["containers"][0]["command"]
    return dict(command[i + 1].split("=", 1) for i, arg in enumerate(command) if arg == "--conf")


def test_the_job_renders_valid_restricted_and_policy_clean() -> None:
    items = everything(spec_with({"model": "fraud", "python_packages": ["scikit-learn==1.9.1"]}))
    assert_valid(items)
    assert not [f for f in check_manifests(items) if f.severity == "error"]
    job = cronjob(items)
    assert job["spec"]["schedule"] == "0 2 * * *" and job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = pod_spec(job)
    driver = pod["containers"][0]
    assert driver["image"] == spark.IMAGE and spark.IMAGE.startswith("apache/spark:4.1.2-")
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is True
    env = {e["name"]: e for e in driver["env"]}
    assert env["MODEL_URI"]["value"] == "models:/fraud@champion"
    assert env["FEATURES_PATH"]["value"] == "s3a://demo-features/batch/features/"
    assert env["PREDICTIONS_PATH"]["value"] == "s3a://demo-features/batch/predictions/"
    assert "secretKeyRef" in env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]
    deps = pod["initContainers"][0]
    assert deps["command"][3:] == ["install", *spark.BASE_PACKAGES, "scikit-learn==1.9.1"]


def test_the_executors_are_restricted_and_get_the_keys_by_reference() -> None:
    items = everything(spec_with({}))
    scripts = one(items, "ConfigMap", "demo-batch-scoring-scripts")["data"]
    template = yaml.safe_load(scripts["executor-template.yaml"])
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    container = template["spec"]["containers"][0]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert template["spec"]["automountServiceAccountToken"] is False
    conf = conf_of(items)
    assert conf["spark.kubernetes.executor.secretKeyRef.AWS_ACCESS_KEY_ID"] == "$(STORE_SECRET_NAME):AWS_ACCESS_KEY_ID"
    assert conf["spark.kubernetes.executor.podTemplateFile"] == "/opt/omgml/executor-template.yaml"
    assert conf["spark.jars.packages"] == f"org.apache.hadoop:hadoop-aws:{spark.HADOOP_VERSION}"
    assert scripts["score.py"] == spark.package_script("score.py")


def test_delta_features_bring_the_delta_connector() -> None:
    conf = conf_of(everything(spec_with({"features_format": "delta"})))
    assert f"io.delta:delta-spark_4.1_2.13:{spark.DELTA_VERSION}" in conf["spark.jars.packages"]
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"


def test_the_driver_may_only_manage_its_executors_and_reach_the_api_and_the_internet() -> None:
    items = everything(spec_with({}))
    rules = one(items, "Role", "demo-batch-scoring")["rules"]
    assert {r for rule in rules for r in rule["resources"]} == {"pods", "configmaps", "persistentvolumeclaims"}
    policy = one(items, "NetworkPolicy", "demo-batch-scoring-egress")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "batch-driver"
    ports = [[p["port"] for p in rule["ports"]] for rule in policy["egress"]]
    assert ports == [[443, 6443], [443]]
    assert policy["egress"][1]["to"][0]["ipBlock"]["except"]  # the second rule is outside the cluster only


def test_capacity_counts_the_executors_the_driver_starts() -> None:
    items = everything(spec_with({"input_gb": 45}, ))
    w = workload_requests(cronjob(items))
    assert w is not None
    z = spark_sizing(45, "laptop")
    assert (z.executors, z.request_cpu) == (1, "250m")
    assert w.cpu_m == 250 + 250  # the driver's request and its one executor's
    assert w.memory_b == (768 + z.pod_memory_mib) * 2**20


def test_kubeflow_pipelines_get_a_component_that_submits_the_job() -> None:
    s = spec_from_dict({"name": "demo", "phases": {"training": {"enabled": True, "kubeflow": {"enabled": True}},
                                                   "serving": {"batch_scoring": {"enabled": True}}}})
    items = everything(s)
    user_ns = s.phases.training.kubeflow.user_namespace
    component = yaml.safe_load(one(items, "ConfigMap", "demo-batch-scoring-component")["data"]["component.yaml"])
    command = component["implementation"]["container"]["command"]
    assert command[:2] == ["python3", "-c"] and command[2] == spark.package_script("submit.py")
    assert command[3:7] == ["--namespace", NS, "--cronjob", "demo-batch-scoring"]
    binding = one(items, "RoleBinding", "demo-batch-scoring-submit")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pipeline-runner", "namespace": user_ns}]
    rules = one(items, "Role", "demo-batch-scoring-submit")["rules"]
    assert rules[0] == {"apiGroups": ["batch"], "resources": ["cronjobs"], "resourceNames": ["demo-batch-scoring"],
                        "verbs": ["get"]}
    without_kfp = spec_with({}, training={"kubeflow": {"enabled": False}})
    assert not find(everything(without_kfp), "ConfigMap", "demo-batch-scoring-component")
    assert not find(everything(without_kfp), "RoleBinding", "demo-batch-scoring-submit")


# --- score.py --------------------------------------------------------------------------------------
def test_score_names_the_missing_settings() -> None:
    with pytest.raises(SystemExit, match=r"\['MODEL_URI', 'FEATURES_PATH'\] are not set"):
        score.settings({"MLFLOW_TRACKING_URI": "http://m", "PREDICTIONS_PATH": "s3a://b/p"})
    cfg = score.settings({"MLFLOW_TRACKING_URI": "http://m", "MODEL_URI": "models:/m@champion",
                          "FEATURES_PATH": "s3a://b/f", "PREDICTIONS_PATH": "s3a://b/p", "KEEP_COLUMNS": "id,ts",
                          "RUN_DATE": "2026-12-01"})
    assert cfg["keep"] == ["id", "ts"] and cfg["run_date"] == "2026-12-01"
    with pytest.raises(ValueError):
        score.settings({**{k: "x" for k in ("MLFLOW_TRACKING_URI", "MODEL_URI", "FEATURES_PATH",
                                             "PREDICTIONS_PATH")}, "RUN_DATE": "yesterday"})


def test_s3a_settings_point_at_an_s3_compatible_store_or_aws() -> None:
    local = score.s3a_settings("http://objectstore.omgml-data.svc.cluster.local:8333")
    assert local["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert local["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert "spark.hadoop.fs.s3a.endpoint" not in score.s3a_settings("")


# --- submit.py against a fake API ----------------------------------------------------------------
class FakeApi:
    def __init__(self, outcome: str | None) -> None:
        self.outcome = outcome
        self.created: list[dict[str, Any]] = []
        self.polls = 0


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeApi, str]]:
    state = FakeApi("Complete")

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: Any, raw: bool = False) -> None:
            data = body.encode() if raw else json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            assert self.headers["Authorization"] == "Bearer t0k"
            if self.path.endswith("/cronjobs/demo-batch-scoring"):
                self._send({"metadata": {"name": "demo-batch-scoring", "namespace": NS, "uid": "u-1"},
                            "spec": {"jobTemplate": {"metadata": {"labels": {"a": "b"}},
                                                     "spec": {"template": {"spec": {"containers": []}}}}}})
            elif "/jobs/" in self.path:
                state.polls += 1
                done = state.outcome if state.polls >= 2 else None
                conditions = [{"type": done, "status": "True"}] if done else []
                self._send({"status": {"conditions": conditions}})
            elif self.path.endswith("/log?container=driver"):
                self._send("scored 42 rows", raw=True)
            elif "/pods?" in self.path:
                self._send({"items": [{"metadata": {"name": "run-pod"}}]})
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.created.append(body)
            self._send(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_submit_creates_the_job_from_the_cronjob_and_reports_success(
        fake_api: tuple[FakeApi, str], capsys: pytest.CaptureFixture[str]) -> None:
    state, url = fake_api
    code = submit.submit(submit.Api(url, "t0k", None), NS, "demo-batch-scoring", 60, Clock())
    assert code == 0
    job = state.created[0]
    assert job["metadata"]["name"] == "demo-batch-scoring-manual-1000000"
    assert job["metadata"]["ownerReferences"][0] == {"apiVersion": "batch/v1", "kind": "CronJob",
                                                     "name": "demo-batch-scoring", "uid": "u-1", "controller": True}
    assert job["spec"] == {"template": {"spec": {"containers": []}}}
    assert "scored 42 rows" in capsys.readouterr().out


def test_submit_fails_when_the_run_fails_or_overruns(fake_api: tuple[FakeApi, str]) -> None:
    state, url = fake_api
    state.outcome = "Failed"
    assert submit.submit(submit.Api(url, "t0k", None), NS, "demo-batch-scoring", 60, Clock()) == 1
    state.outcome, state.polls = None, 0
    assert submit.submit(submit.Api(url, "t0k", None), NS, "demo-batch-scoring", 12, Clock()) == 1


def test_run_names_stay_short_enough_for_their_pods() -> None:
    assert len(submit.run_name("x" * 63, 1_700_000_000)) <= 52


# --- the engine --------------------------------------------------------------------------------------
def test_batch_needs_get_spark_sized_from_the_daily_volume() -> None:
    rec = recommend(load_template("batch"))
    b = rec.platform.phases.serving.batch_scoring
    assert b.enabled and b.input_gb == 200 and b.features_format == "delta"
    # skops: MLflow 3 saves scikit-learn models in its format by default, and loading needs it.
    assert b.python_packages == ["scikit-learn==1.9.1", "skops==0.16.0", "xgboost==3.4.1"]
    assert "spark-batch-scoring" in rec.phases["serving"]
    assert "Spark job on a schedule" in rec.decision("serving").rationale
    assert any(line.item == "Spark batch scoring executors" for line in rec.sizing)
    assert rec.choice("experiments") == "none"


def test_real_time_platforms_get_the_router_decision_but_no_batch_job() -> None:
    rec = recommend(load_template("enterprise"))
    assert not rec.platform.phases.serving.batch_scoring.enabled
    experiments = rec.decision("experiments")
    assert experiments.choice == "haproxy-router"
    assert {a.choice for a in experiments.alternatives} == {"gateway-api", "nginx", "none"}
