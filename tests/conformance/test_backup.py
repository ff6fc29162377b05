"""The restore drill: a platform with backups on loses its database and a bucket, and gets them back.

A second project variant (the `starter` template on the laptop profile with `backup.enabled:
true`, plus Prefect so an orchestrator's metadata database is in the dump too): the laptop
profile because its pods ask a quarter of the `small` profile's memory, and the backups render
the same on every profile (only their default differs). It runs alone in this module's
platform, so the session platform's tests never see their data destroyed.

The drill drives the backups and restores exactly as `omgml backup now|list` and `omgml restore`
do (omgml.backup_ops with the same Job builders), through `TierCluster`, which creates the
Jobs in the tier instead of through a Kubernetes API server. So the CLI's logic runs against
the real Postgres, SeaweedFS, Pushgateway and MLflow.

Kubeflow's MySQL cannot run here (MySQL 8.4 is in no registry reachable here); its backup
CronJob is listed as skipped, and tests/backup/test_render.py checks its scripts' syntax
and flags.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from omgml.backup_ops import BackupError, JsonDict, backup_now, list_backups, restore
from omgml.spec import PlatformSpec, load_spec
from tests.conformance.harness.render import RenderedObject
from tests.conformance.harness.runner import Platform, PodRun
from tests.conformance.harness.session import edit_spec, init_project, platform_session
from tests.conformance.helpers import env_of, http_json, last_json, run_client

pytestmark = pytest.mark.conformance

DATA = "omgml-data"
PIPELINES = "omgml-pipelines"
SERVING = "omgml-serving"
MODEL = "drill-classifier"
MLFLOW_URI = f"http://mlflow.{DATA}.svc.cluster.local:5000"
SCRIPT = "/omgml-conformance/scripts/backup_drill.py"
RESULTS: dict[str, Any] = {}


class TierCluster:
    """omgml.backup_ops.Cluster over the tier: Jobs run as the tier's pods, CronJobs come from
    the render."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.runs: dict[tuple[str, str], PodRun] = {}

    def create_job(self, namespace: str, name: str, spec: JsonDict, labels: dict[str, str]) -> None:
        manifest = {"apiVersion": "batch/v1", "kind": "Job",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": spec}
        obj = RenderedObject(urn=f"drill:{namespace}/{name}", phase="drill", manifest=manifest)
        self.runs[(namespace, name)] = self.platform.run_job(obj)

    def wait_job(self, namespace: str, name: str, timeout: float) -> str:
        run = self.platform.wait_job(self.runs[(namespace, name)], timeout)
        if not run.done.is_set():
            return "timeout"
        return "succeeded" if run.phase == "Succeeded" else "failed"

    def job_output(self, namespace: str, name: str) -> list[tuple[str, int | None, str]]:
        run = self.runs[(namespace, name)]
        return [(c.name, c.exit_code, c.log.read_text(errors="replace") if c.log.exists() else "")
                for c in run.init_runs + run.main_runs]

    def cronjob(self, namespace: str, name: str) -> JsonDict | None:
        try:
            return self.platform.render.get("CronJob", namespace, name).manifest
        except KeyError:
            return None


def drill_variant(data: dict[str, Any]) -> None:
    """Backups on (nightly, a week kept) and Prefect, whose metadata database joins the dump."""
    data["platform"]["backup"] = {"enabled": True, "schedule": "0 2 * * *", "retention_days": 7}
    data["platform"]["phases"]["training"]["prefect"]["enabled"] = True


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, PlatformSpec]]:
    from tests.conformance.conftest import _skip_reason

    reason = _skip_reason()
    if reason:
        pytest.fail(reason)
    steps: list[tuple[str, float]] = []
    root = init_project(tmp_path_factory.mktemp("drill") / "platform", "starter", steps)
    edit_spec(root, drill_variant)
    with platform_session(root, "restore drill", steps) as plat:
        try:
            started = time.monotonic()
            plat.up(["fixtures", *plat.render.phases])
            RESULTS["platform up (s)"] = round(time.monotonic() - started, 1)
            yield plat, load_spec(root / "omgml.yaml")
        finally:
            plat.run_dir.mkdir(parents=True, exist_ok=True)
            (plat.run_dir / "drill.json").write_text(json.dumps(RESULTS, indent=2))
            print("\nrestore drill:", json.dumps(RESULTS, indent=2))


def _say(line: str) -> None:
    print(f"[drill] {line}", flush=True)


def mlflow_client(platform: Platform, mode: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    code, out = run_client(platform, PIPELINES, "mlflow", ["python", SCRIPT, mode, *extra],
                           env={"MLFLOW_TRACKING_URI": MLFLOW_URI, "MODEL_NAME": MODEL, "HOME": "/tmp", **(env or {})},
                           timeout=600)
    assert code == 0, out[-4000:]
    return last_json(out)


def s3_env(platform: Platform) -> dict[str, str]:
    env = env_of(platform, "Deployment", "feast")
    return {k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}


def mlflow_bucket(platform: Platform) -> str:
    command = platform.render.find("Deployment", "mlflow").manifest["spec"]["template"]["spec"]["containers"][0]["command"]
    return str(command[command.index("--artifacts-destination") + 1].removeprefix("s3://").strip("/").split("/")[0])


def pushed_backup_metrics(platform: Platform, spec: PlatformSpec) -> dict[str, float]:
    from omgml.backup import pushgateway

    push = pushgateway(spec)
    assert push is not None
    groups = http_json(platform, SERVING, f"{push.url}/api/v1/metrics")["data"]
    out = {}
    for group in groups:
        if group["labels"].get("job") != "omgml_backup":
            continue
        for name, family in group.items():
            if name.startswith("omgml_backup_"):
                out[f"{group['labels']['component']}:{name}"] = float(family["metrics"][0]["value"])
    return out


# Prefect's server has no adapter in the tier yet, so nothing writes its schema: the drill writes
# a table into Prefect's database as Prefect's own role, which the dump and restore must carry.
FLOW_RUNS = "drill_flow_runs"


def prefect_sql(platform: Platform, sql: str) -> str:
    from tests.conformance.helpers import secret

    code, out = run_client(platform, DATA, "postgres", [
        "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", f"postgres.{DATA}.svc.cluster.local", "-U", "prefect",
        "-d", "prefect", "-c", sql],
        env={"PGPASSWORD": secret(platform, "postgres-prefect-db", "password"), "PGCONNECT_TIMEOUT": "5"})
    assert code == 0, out
    return out.strip().splitlines()[-1] if out.strip() else ""


# --- the drill, in order -----------------------------------------------------------------------
def test_the_backup_dumps_every_database_and_reports_its_age(drill: tuple[Platform, PlatformSpec]) -> None:
    platform, spec = drill
    RESULTS["logged"] = mlflow_client(platform, "log")
    RESULTS["before"] = before = mlflow_client(platform, "state")
    assert len(before["runs"]) == 3 and sorted(before["versions"]) == ["1", "2"] and before["champion"] == "2"
    prefect_sql(platform, f"CREATE TABLE {FLOW_RUNS} (id int PRIMARY KEY, name text NOT NULL); "
                          f"INSERT INTO {FLOW_RUNS} VALUES (1, 'etl'), (2, 'train'), (3, 'score')")

    started = time.monotonic()
    run = backup_now(spec, lambda: TierCluster(platform), "postgres", 900, _say)
    RESULTS["backup (s)"] = round(time.monotonic() - started, 1)
    uploaded = next(line for line in run.json_lines() if "uploaded" in line)
    RESULTS["backup id"], RESULTS["backup size (bytes)"] = uploaded["uploaded"], uploaded["size_bytes"]
    dumped = {line.split()[1].rstrip(":") for line in run.log().splitlines() if line.startswith("dumped ")}
    assert dumped == {"mlflow", "feast", "prefect"}, run.log()

    listed = list_backups(spec, lambda: TierCluster(platform), "postgres", 300, _say)
    assert [b["id"] for b in listed] == [uploaded["uploaded"]]
    assert sorted(listed[0]["files"]) == ["feast.dump", "mlflow.dump", "prefect.dump"]

    metrics = pushed_backup_metrics(platform, spec)
    assert metrics["postgres:omgml_backup_last_success_timestamp_seconds"] == pytest.approx(time.time(), abs=600)
    assert metrics["postgres:omgml_backup_last_size_bytes"] == uploaded["size_bytes"]


def test_bad_restores_say_why_in_one_line_and_touch_nothing(drill: tuple[Platform, PlatformSpec]) -> None:
    platform, spec = drill
    cluster = TierCluster(platform)
    with pytest.raises(BackupError, match=r"no backup postgres/20200101T000000Z in bucket"):
        restore(spec, lambda: cluster, "postgres", "postgres/20200101T000000Z", dry_run=False, force=True,
                timeout=300, say=_say)
    missing = spec.model_copy(update={"backup": spec.backup.model_copy(update={"destination": "no-such-backups"})})
    with pytest.raises(BackupError, match=r"backup bucket 'no-such-backups' does not exist"):
        list_backups(missing, lambda: cluster, None, 300, _say)
    # The databases hold MLflow's runs: a restore without --force refuses; a dry run only plans.
    backup_id = RESULTS["backup id"]
    with pytest.raises(BackupError, match=r"not empty; restoring would replace"):
        restore(spec, lambda: cluster, "postgres", backup_id, dry_run=False, force=False, timeout=300, say=_say)
    plan = restore(spec, lambda: cluster, "postgres", backup_id, dry_run=True, force=False, timeout=300, say=_say)
    assert "plan: database mlflow now holds" in plan.log() and "dry run: nothing changed" in plan.log()
    assert mlflow_client(platform, "state") == RESULTS["before"]


def test_a_lost_database_and_bucket_come_back_whole(drill: tuple[Platform, PlatformSpec]) -> None:
    platform, spec = drill
    cluster = TierCluster(platform)
    bucket = mlflow_bucket(platform)
    wiped = mlflow_client(platform, "wipe-bucket", bucket, env=s3_env(platform))
    assert wiped["deleted"] > 0 and wiped["left"] == 0
    started = time.monotonic()
    folders = platform.restart_workload("StatefulSet", "postgres", DATA, wipe_claims=True)
    RESULTS["postgres restart on an empty volume (s)"] = round(time.monotonic() - started, 1)
    assert folders, "the Postgres pod has no claim to lose"
    # MLflow answers 503 without its database; one try is enough to see it (the client's default
    # retries would wait minutes).
    code, out = run_client(platform, PIPELINES, "mlflow", ["python", SCRIPT, "state"],
                           env={"MLFLOW_TRACKING_URI": MLFLOW_URI, "MODEL_NAME": MODEL, "HOME": "/tmp",
                                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"},
                           timeout=300)
    assert code != 0 or last_json(out).get("experiment") is None, "MLflow still sees its runs after the loss"

    started = time.monotonic()
    done = restore(spec, lambda: cluster, "postgres", RESULTS["backup id"], dry_run=False, force=False, timeout=900,
                   say=_say)
    RESULTS["restore postgres (s)"] = round(time.monotonic() - started, 1)
    assert {line.split()[1] for line in done.log().splitlines() if line.startswith("restored ")} == {
        "mlflow", "feast", "prefect"}
    started = time.monotonic()
    objects = restore(spec, lambda: cluster, "objectstore", RESULTS["backup id"], dry_run=False, force=False,
                      timeout=600, say=_say)
    RESULTS["restore object store (s)"] = round(time.monotonic() - started, 1)
    mlflow_plan = next(line for line in objects.json_lines() if line.get("bucket") == bucket)
    assert mlflow_plan["undeleted"] == wiped["deleted"] and mlflow_plan["removed"] == 0
    RESULTS["RTO: restart + restores (s)"] = round(sum(RESULTS[k] for k in (
        "postgres restart on an empty volume (s)", "restore postgres (s)", "restore object store (s)")), 1)

    after = mlflow_client(platform, "state")
    assert after == RESULTS["before"]  # every run, param, metric history, artifact, version, alias, prediction


def test_orchestrator_metadata_is_back_and_the_next_backup_runs(drill: tuple[Platform, PlatformSpec]) -> None:
    platform, spec = drill
    assert prefect_sql(platform, f"SELECT string_agg(name, ',' ORDER BY id) FROM {FLOW_RUNS}") == "etl,train,score"
    run = backup_now(spec, lambda: TierCluster(platform), "postgres", 900, _say)
    assert any("uploaded" in line for line in run.json_lines())
    listed = list_backups(spec, lambda: TierCluster(platform), "postgres", 300, _say)
    assert len(listed) == 2
