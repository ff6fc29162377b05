"""Where each data store runs: in the cluster or as the AWS managed service, with a reason."""

from __future__ import annotations

import pytest

from omgml.aws_placement import SERVICES, managed_services, placement_rationales, service_placements

ALL_MANAGED = dict.fromkeys(SERVICES, True)
NONE_MANAGED = dict.fromkeys(SERVICES, False)


@pytest.mark.parametrize("profile", ["laptop", "small", "production"])
def test_local_target_never_uses_managed_services(profile: str) -> None:
    assert managed_services("local", profile, "99.99", ["pci-dss"]) == NONE_MANAGED  # type: ignore[arg-type]


def test_laptop_on_aws_stays_in_cluster_even_when_asked_for_more() -> None:
    assert managed_services("aws", "laptop", "99.99", ["pci-dss"]) == NONE_MANAGED


@pytest.mark.parametrize("availability", ["99.95", "99.99"])
def test_zone_level_availability_needs_managed_stores(availability: str) -> None:
    assert managed_services("aws", "small", availability) == ALL_MANAGED


@pytest.mark.parametrize("regime", ["pci-dss", "soc2", "hipaa"])
def test_regulated_compliance_needs_managed_stores(regime: str) -> None:
    assert managed_services("aws", "small", "99.0", [regime]) == ALL_MANAGED


def test_gdpr_alone_does_not_force_managed_services() -> None:
    assert managed_services("aws", "small", "99.0", ["gdpr"])["postgres"] is False


def test_production_is_managed() -> None:
    assert managed_services("aws", "production", "99.0") == ALL_MANAGED


def test_small_puts_only_the_object_store_on_s3() -> None:
    assert managed_services("aws", "small", "99.9") == {**NONE_MANAGED, "object_store": True}


def test_every_decision_has_a_rationale_naming_its_driver() -> None:
    why = placement_rationales("aws", "small", "99.99", ["pci-dss"])
    assert set(why) == set(SERVICES)
    assert why["kafka"].startswith("Amazon MSK:") and "99.99" in why["kafka"]
    compliance = service_placements("aws", "small", "99.0", ["soc2", "gdpr"])
    assert "soc2" in compliance["postgres"].rationale and "gdpr" not in compliance["postgres"].rationale
    local = service_placements("local", "laptop", "99.0")
    assert local["object_store"].runs_as == "SeaweedFS StatefulSet" and "AWS" in local["object_store"].rationale
