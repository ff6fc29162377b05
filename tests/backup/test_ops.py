"""`omgml backup list|now` and `omgml restore` against a fake cluster: which Job each creates,
and every bad input refused in one line before anything reaches the cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from omgml.backup_ops import REFUSED, BackupError, JsonDict, restore, restore_job_for
from omgml.cli import backup as backup_cli
from omgml.cli.app import app
from omgml.spec import spec_from_dict

runner = CliRunner()
STAMP = "20261206T020000Z"
SMALL = {"name": "demo", "profile": "small"}


class FakeCluster:
    """Records the Jobs; each finishes with the (container, exit code, log) rows given."""

    def __init__(self, output: list[tuple[str, int | None, str]], status: str = "succeeded",
                 cronjobs: dict[tuple[str, str], JsonDict] | None = None) -> None:
        self.output, self.status, self.cronjobs = output, status, cronjobs or {}
        self.jobs: list[tuple[str, str, JsonDict, dict[str, str]]] = []

    def create_job(self, namespace: str, name: str, spec: JsonDict, labels: dict[str, str]) -> None:
        self.jobs.append((namespace, name, spec, labels))

    def wait_job(self, namespace: str, name: str, timeout: float) -> str:
        return self.status

    def job_output(self, namespace: str, name: str) -> list[tuple[str, int | None, str]]:
        return self.output

    def cronjob(self, namespace: str, name: str) -> JsonDict | None:
        return self.cronjobs.get((namespace, name))


def _project(tmp_path: Path, platform: dict[str, Any]) -> Path:
    (tmp_path / "omgml.yaml").write_text(yaml.safe_dump({"platform": platform}))
    return tmp_path


def _use(monkeypatch: pytest.MonkeyPatch, cluster: FakeCluster | None) -> list[str | None]:
    """The CLI's cluster is `cluster`; returns the contexts it was asked for (none: never reached)."""
    asked: list[str | None] = []

    def connect(context: str | None) -> FakeCluster:
        asked.append(context)
        if cluster is None:
            raise AssertionError("the command reached the cluster")
        return cluster

    monkeypatch.setattr(backup_cli, "_cluster", connect)
    return asked


@pytest.mark.parametrize(("argv", "says"), [
    (["restore", "postgres", "{p}", "--from", "postgres/yesterday"], "is not a backup id"),
    (["restore", "postgres", "{p}", "--from", f"kfp-mysql/{STAMP}"], "is a backup of 'kfp-mysql', not 'postgres'"),
    (["restore", "redis", "{p}", "--from", f"postgres/{STAMP}"], "no component 'redis' is backed up here"),
    (["restore", "postgres", "{p}", "--from", f"postgres/{STAMP}", "--dry-run", "--force"], "exclude each other"),
    (["backup", "now", "{p}", "--component", "objectstore"], "the object store is versioned, not dumped"),
])
def test_bad_input_is_one_line_and_never_reaches_the_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], says: str) -> None:
    project = _project(tmp_path, SMALL)
    asked = _use(monkeypatch, None)
    result = runner.invoke(app, [a.replace("{p}", str(project)) for a in argv])
    assert result.exit_code != 0 and says in result.output, result.output
    assert asked == []


def test_a_platform_without_backups_says_which_field_turns_them_on(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, {"name": "demo"})  # laptop: off by default
    asked = _use(monkeypatch, None)
    result = runner.invoke(app, ["restore", "postgres", str(project), "--from", f"postgres/{STAMP}"])
    assert result.exit_code != 0 and "set backup.enabled: true" in result.output, result.output
    assert asked == []


def test_a_missing_backup_stops_at_the_fetch_step_with_its_line(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, SMALL)
    missing = f"error: no backup postgres/{STAMP} in bucket 'demo-backups'; `omgml backup list` shows the backups"
    cluster = FakeCluster([("fetch", 2, missing + "\n"), ("restore", None, "")], status="failed")
    _use(monkeypatch, cluster)
    result = runner.invoke(app, ["restore", "postgres", str(project), "--from", f"postgres/{STAMP}"])
    assert result.exit_code != 0
    assert f"no backup postgres/{STAMP} in bucket 'demo-backups'" in result.output
    assert "(nothing was restored)" in result.output


def test_a_restore_job_fetches_then_loads_with_the_databases_own_image(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, SMALL)
    cluster = FakeCluster([("fetch", 0, "{\"fetched\": 3}\n"), ("restore", 0, "restored mlflow\nrestored feast\n")])
    _use(monkeypatch, cluster)
    result = runner.invoke(app, ["restore", "postgres", str(project), "--from", f"postgres/{STAMP}"])
    assert result.exit_code == 0, result.output
    assert "restored mlflow" in result.output and f"restored postgres from postgres/{STAMP}" in result.output
    [(namespace, _, spec, labels)] = cluster.jobs
    pod = spec["template"]["spec"]
    assert namespace == "omgml-data" and labels == {"omgml.dev/restore-of": "postgres"}
    assert [c["name"] for c in pod["initContainers"]] == ["fetch"]
    assert pod["initContainers"][0]["command"][-1] == f"postgres/{STAMP}"
    [load] = pod["containers"]
    assert load["image"].startswith("postgres:18.6")
    env = {e["name"]: e.get("value") for e in load["env"]}
    assert env["DRY_RUN"] == "0" and env["FORCE"] == "0"


def test_a_refused_restore_says_how_to_force_it() -> None:
    spec = spec_from_dict(SMALL)
    line = "error: database(s) mlflow are not empty; restoring would replace their data. Re-run with --force"
    cluster = FakeCluster([("fetch", 0, ""), ("restore", REFUSED, line + "\n")], status="failed")
    with pytest.raises(BackupError, match=r"mlflow are not empty; .* Re-run with --force"):
        restore(spec, lambda: cluster, "postgres", f"postgres/{STAMP}", dry_run=False, force=False, timeout=5,
                say=lambda _: None)


def test_a_dry_run_fetches_the_manifest_only_and_the_loader_only_plans() -> None:
    spec = spec_from_dict(SMALL)
    _, job = restore_job_for(spec, "postgres", f"postgres/{STAMP}", dry_run=True, force=False)
    pod = job["template"]["spec"]
    assert pod["initContainers"][0]["command"][-1] == "--manifest-only"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["DRY_RUN"] == "1"


def test_backup_now_runs_the_cronjobs_own_job_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, SMALL)
    template = {"metadata": {"labels": {"omgml.dev/backup-of": "postgres"}}, "spec": {"template": {"spec": {}}}}
    uploaded = {"uploaded": f"postgres/{STAMP}", "files": 2, "size_bytes": 2048}
    cluster = FakeCluster([("dump", 0, "dumped mlflow: 1024 bytes\n"), ("upload", 0, json.dumps(uploaded) + "\n")],
                          cronjobs={("omgml-data", "postgres-backup"): {"spec": {"jobTemplate": template}}})
    asked = _use(monkeypatch, cluster)
    result = runner.invoke(app, ["backup", "now", str(project), "--context", "kind-demo"])
    assert result.exit_code == 0, result.output
    assert f"backup postgres/{STAMP}: 2 file(s), 2,048 bytes" in result.output
    assert asked == ["kind-demo"]
    [(namespace, name, spec, labels)] = cluster.jobs
    assert (namespace, spec, labels) == ("omgml-data", template["spec"], {"omgml.dev/backup-of": "postgres"})
    assert name.startswith("postgres-backup-")


def test_backup_now_without_the_cronjob_says_to_deploy_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, SMALL)
    _use(monkeypatch, FakeCluster([]))
    result = runner.invoke(app, ["backup", "now", str(project)])
    assert result.exit_code != 0 and "no CronJob omgml-data/postgres-backup in the cluster" in result.output


def test_backup_list_prints_every_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, SMALL)
    rows = [{"id": f"postgres/{STAMP}", "started_at": 1796522400.0, "size_bytes": 4096,
             "files": ["feast.dump", "mlflow.dump"]}]
    cluster = FakeCluster([("agent", 0, "".join(json.dumps(r) + "\n" for r in rows))])
    _use(monkeypatch, cluster)
    result = runner.invoke(app, ["backup", "list", str(project), "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines() if line.startswith("{")] == rows
    [(_, _, spec, labels)] = cluster.jobs
    assert spec["template"]["spec"]["containers"][0]["command"][-1] == "list"
    assert labels == {"omgml.dev/backup-task": "list"}


def test_a_missing_backup_bucket_is_the_agents_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path, {**SMALL, "backup": {"destination": "team-backups"}})
    line = "error: backup bucket 'team-backups' does not exist on http://seaweedfs:8333; create it"
    _use(monkeypatch, FakeCluster([("agent", 2, line + "\n")], status="failed"))
    result = runner.invoke(app, ["backup", "list", str(project)])
    assert result.exit_code != 0 and "backup bucket 'team-backups' does not exist" in result.output
    env = {e["name"]: e.get("value") for e in restore_job_for(
        spec_from_dict({**SMALL, "backup": {"destination": "team-backups"}}), "postgres", STAMP, dry_run=True,
        force=False)[1]["template"]["spec"]["initContainers"][0]["env"]}
    assert env["BACKUP_BUCKET"] == "team-backups"
