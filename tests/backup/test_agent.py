"""The backup agent's decisions (components/backup/agent.py), without boto3 or a server."""

from __future__ import annotations

import pytest

from omgml.components.backup import agent


def v(version: str, at: float, deleted: bool = False) -> dict[str, object]:
    return {"VersionId": version, "LastModified": at, "IsDeleteMarker": deleted}


def test_retention_deletes_old_backups_but_never_the_newest() -> None:
    day = 86400.0
    now = agent.epoch_of("20261210T020000Z")
    stamps = ["20261201T020000Z", "20261205T020000Z", "20261209T020000Z"]
    assert agent.expired_backups(stamps, now, 7) == ["20261201T020000Z"]
    # A backup job that failed for a month still leaves its last good backup.
    assert agent.expired_backups(stamps, now + 30 * day, 7) == ["20261201T020000Z", "20261205T020000Z"]


def test_only_versions_that_stopped_being_current_before_the_window_are_pruned() -> None:
    versions = [v("a", 100), v("b", 200), v("c", 300)]
    assert agent.expired_versions(versions, cutoff=250) == ["a"]  # b replaced a at 200, before the cutoff
    assert sorted(agent.expired_versions(versions, cutoff=350)) == ["a", "b"]
    assert agent.expired_versions(versions, cutoff=150) == []  # the current version is never pruned


@pytest.mark.parametrize(("versions", "when", "action"), [
    ([v("a", 100)], 150, ("keep", None)),
    ([v("a", 100), v("m", 200, deleted=True)], 150, ("undelete", "a")),  # deleted after the backup
    ([v("a", 100), v("b", 200)], 150, ("replace", "a")),  # overwritten after the backup
    ([v("b", 200)], 150, ("delete", None)),  # created after the backup
    ([v("b", 200), v("m", 300, deleted=True)], 150, ("keep", None)),  # created and deleted after it
    ([v("a", 100), v("m", 120, deleted=True)], 150, ("keep", None)),  # already deleted at backup time
])
def test_restoring_a_bucket_puts_each_key_back_to_its_version_at_that_time(
        versions: list[dict[str, object]], when: float, action: tuple[str, str | None]) -> None:
    assert agent.restore_action(versions, when) == action


def test_backup_ids_name_their_component_and_a_valid_time() -> None:
    assert agent.parse_backup_id("postgres/20261206T020000Z", "postgres") == "20261206T020000Z"
    assert agent.parse_backup_id("20261206T020000Z", "postgres") == "20261206T020000Z"
    with pytest.raises(agent.UserError, match="belongs to 'kfp-mysql', not 'postgres'"):
        agent.parse_backup_id("kfp-mysql/20261206T020000Z", "postgres")
    with pytest.raises(agent.UserError, match="is not a backup time"):
        agent.parse_backup_id("postgres/yesterday", "postgres")


def test_manifest_and_metrics() -> None:
    files = [{"name": "mlflow.dump", "size": 10, "sha256": "x"}, {"name": "feast.dump", "size": 5, "sha256": "y"}]
    m = agent.manifest_for("postgres", "20261206T020000Z", files, 1796522500.0)
    assert m["id"] == "postgres/20261206T020000Z" and m["size_bytes"] == 15
    assert m["started_at"] == agent.epoch_of("20261206T020000Z")
    body = agent.metrics_body(15, 2.5, 1796522500.0)
    assert "omgml_backup_last_success_timestamp_seconds 1796522500.0\n" in body
    assert "omgml_backup_last_size_bytes 15\n" in body
    assert body.count("# TYPE ") == 3


def test_an_unknown_command_is_a_user_error() -> None:
    with pytest.raises(agent.UserError, match="unknown command"):
        agent.main(["backup-everything"], {})
