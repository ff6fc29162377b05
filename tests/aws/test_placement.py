"""Where each data store runs: in the cluster or as the AWS managed service, with a reason."""

from __future__ import annotations

import pytest

from omgml.aws_placement import SERVICES, managed_services, placement_rationales, service_placements

NONE_MANAGED = dict.fromkeys(SERVICES, False)
# Kafka stays in the cluster until omgml's Kafka clients speak MSK's SASL/IAM (rule 5).
ZONE_SAFE = {"postgres": True, "redis": True, "kafka": False, "object_store": True}


@pytest.mark.parametrize("profile", ["laptop", "small", "production"])
def test_local_target_never_uses_managed_services(profile: str) -> None:
    assert managed_services("local", profile, "99.99", ["pci-dss"]) == NONE_MANAGED  # type: ignore[arg-type]


def test_laptop_on_aws_stays_in_cluster_even_when_asked_for_more() -> None:
    assert managed_services("aws", "laptop", "99.99", ["pci-dss"]) == NONE_MANAGED


@pytest.mark.parametrize("availability", ["99.95", "99.99"])
def test_zone_level_availability_needs_managed_stores(availability: str) -> None:
    assert managed_services("aws", "small", availability) == ZONE_SAFE


@pytest.mark.parametrize("regime", ["pci-dss", "soc2", "hipaa"])
def test_regulated_compliance_needs_managed_stores(regime: str) -> None:
    assert managed_services("aws", "small", "99.0", [regime]) == ZONE_SAFE


def test_gdpr_alone_does_not_force_managed_services() -> None:
    assert managed_services("aws", "small", "99.0", ["gdpr"])["postgres"] is False


def test_three_nines_and_production_are_managed_for_convenience_only() -> None:
    for placements in (service_placements("aws", "small", "99.9"), service_placements("aws", "production", "99.0")):
        assert {s: p.managed for s, p in placements.items()} == ZONE_SAFE
        assert placements["postgres"].movable and placements["redis"].movable
        assert not placements["object_store"].movable
    assert not service_placements("aws", "small", "99.99")["postgres"].movable


def test_small_at_best_effort_puts_only_the_object_store_on_s3() -> None:
    assert managed_services("aws", "small", "99.0") == {**NONE_MANAGED, "object_store": True}


def test_the_team_can_keep_a_store_in_the_cluster() -> None:
    placements = service_placements("aws", "production", "99.99", in_cluster=["postgres"])
    assert not placements["postgres"].managed and placements["redis"].managed
    assert placements["postgres"].rationale == "in_cluster lists postgres: it runs in the cluster as asked"


def test_delta_lake_keeps_the_object_store_in_cluster() -> None:
    placements = service_placements("aws", "production", "99.99", delta_offline=True)
    assert not placements["object_store"].managed and "DuckDB's delta extension" in placements["object_store"].rationale


def test_every_decision_has_a_rationale_naming_its_driver() -> None:
    why = placement_rationales("aws", "small", "99.99", ["pci-dss"])
    assert set(why) == set(SERVICES)
    assert why["postgres"].startswith("Amazon RDS for PostgreSQL:") and "99.99" in why["postgres"]
    assert why["kafka"].startswith("Kafka (KRaft) StatefulSet: Amazon MSK is not recommended yet")
    compliance = service_placements("aws", "small", "99.0", ["soc2", "gdpr"])
    assert "soc2" in compliance["postgres"].rationale and "gdpr" not in compliance["postgres"].rationale
    local = service_placements("local", "laptop", "99.0")
    assert local["object_store"].runs_as == "SeaweedFS StatefulSet" and "AWS" in local["object_store"].rationale
