"""The backup section of the spec: defaults per profile, one clear line per bad value."""

from __future__ import annotations

import pytest

from omgml.errors import SpecError
from omgml.spec import spec_from_dict


def test_backups_are_on_by_default_outside_the_laptop_profile() -> None:
    assert not spec_from_dict({"name": "p"}).backups_on()
    assert spec_from_dict({"name": "p", "profile": "small"}).backups_on()
    assert spec_from_dict({"name": "p", "profile": "production"}).backups_on()
    assert spec_from_dict({"name": "p", "backup": {"enabled": True}}).backups_on()
    assert not spec_from_dict({"name": "p", "profile": "small", "backup": {"enabled": False}}).backups_on()


@pytest.mark.parametrize(("backup", "line"), [
    ({"retention_days": 0}, "backup.retention_days: must be ≥ 1, got 0: a retention of 0 days keeps no backup; "
                            "set the number of days to keep"),
    ({"retention_days": 4000}, "backup.retention_days: must be ≤ 3650"),
    ({"schedule": "every night"}, "backup.schedule: 'every night' is not a cron schedule"),
    ({"schedule": "0 0 1 1 *"}, "backup.schedule: '0 0 1 1 *' leaves up to 366 days between backups"),
    ({"destination": "Not_A_Bucket"}, "backup.destination: 'Not_A_Bucket' does not match"),
    ({"destination": "p-mlflow"}, "backup.destination: 'p-mlflow' is the platform's 'mlflow' bucket"),
    ({"keep": 3}, "backup.keep: unknown field; allowed here: destination, enabled, retention_days, schedule"),
])
def test_bad_backup_settings_are_one_line_naming_the_field_and_the_fix(backup: dict[str, object], line: str) -> None:
    with pytest.raises(SpecError) as err:
        spec_from_dict({"name": "p", "profile": "small", "backup": backup})
    assert any(p.startswith(line) for p in err.value.problems), err.value.problems


def test_a_named_destination_replaces_the_platforms_backup_bucket() -> None:
    from omgml.backup import backup_bucket
    from omgml.buckets import bucket_names

    default = spec_from_dict({"name": "p", "profile": "small"})
    assert backup_bucket(default) == "p-backups" and bucket_names(default)["backups"] == "p-backups"
    named = spec_from_dict({"name": "p", "profile": "small", "backup": {"destination": "team-backups"}})
    assert backup_bucket(named) == "team-backups" and "backups" not in bucket_names(named)
    assert "backups" not in bucket_names(spec_from_dict({"name": "p"}))


def test_aws_s3_backups_cannot_go_to_a_bucket_their_roles_do_not_name() -> None:
    managed = {"target": "aws", "profile": "small", "backup": {"destination": "team-backups"},
               "phases": {"foundation": {"object_store": {"managed": True}}}}
    with pytest.raises(SpecError, match=r"leave backup\.destination unset"):
        spec_from_dict({"name": "p", **managed})
