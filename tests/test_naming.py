"""Naming and label helpers: always valid, stable, and distinct for distinct inputs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omgml.labels import selector_labels, standard_labels
from omgml.naming import ServerNames, k8s_name, stack_reference_name

DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
parts = st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=4).filter(lambda p: any(p))


@given(parts)
def test_every_name_is_a_valid_label(ps: list[str]) -> None:
    name = k8s_name(*ps)
    assert len(name) <= 63
    assert DNS_1035.match(name), name


@given(parts)
def test_names_are_stable(ps: list[str]) -> None:
    assert k8s_name(*ps) == k8s_name(*ps)


@given(st.text(min_size=1, max_size=120), st.text(min_size=1, max_size=120))
def test_distinct_inputs_that_need_cleaning_stay_distinct(a: str, b: str) -> None:
    if a != b and (k8s_name(a) != a or k8s_name(b) != b):
        assert k8s_name(a) != k8s_name(b)


def test_clean_names_are_kept_verbatim_and_long_ones_hash_suffixed() -> None:
    assert k8s_name("kafka", "headless") == "kafka-headless"
    long = k8s_name("x" * 100)
    assert len(long) == 63 and re.search(r"-[0-9a-f]{8}$", long)
    assert k8s_name("x" * 100) != k8s_name("x" * 101)
    assert k8s_name("My_App") != "my-app" and k8s_name("My_App").startswith("my-app-")
    assert k8s_name("9lives").startswith("n-9lives")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one non-empty part"):
        k8s_name("", "")
    with pytest.raises(ValueError, match="max_length"):
        k8s_name("a", max_length=100)


def test_labels() -> None:
    labels = standard_labels("kafka", "kafka", "broker", "4.4.0")
    assert labels["app.kubernetes.io/version"] == "4.4.0"
    assert labels["app.kubernetes.io/managed-by"] == "omgml"
    sel = selector_labels("kafka", "kafka", "broker")
    assert sel.items() <= labels.items()
    assert "app.kubernetes.io/version" not in sel
    with pytest.raises(ValueError, match="not a valid label value"):
        standard_labels("kafka", "-bad-")


def test_stack_reference_name() -> None:
    assert stack_reference_name("organization", "demo", "dev", "foundation") == "organization/demo/dev-foundation"


def test_bucket_names_follow_the_s3_rules_and_say_how_to_fix() -> None:
    from omgml.naming import require_bucket_name

    assert require_bucket_name("f", "demo-mlflow.v2") == "demo-mlflow.v2"
    for bad in ("ab", "Demo", "-demo", "demo-", "de..mo", "a" * 64):
        with pytest.raises(ValueError, match=rf"^f: '{re.escape(bad)}' is not a valid S3 bucket name; use 3-63"):
            require_bucket_name("f", bad)
    # Buckets omgml creates on AWS: no dots, no '--', none of the names AWS reserves.
    assert require_bucket_name("f", "demo-models", new_on_aws=True) == "demo-models"
    for bad in ("demo.models", "demo--models", "xn--demo", "demo-s3alias"):
        with pytest.raises(ValueError, match="not a valid name for a new S3 bucket"):
            require_bucket_name("f", bad, new_on_aws=True)


def test_server_names_are_the_instance_and_its_headless_service() -> None:
    names = ServerNames.of("feature-cache")
    assert (names.statefulset, names.service_account, names.headless) == (
        "feature-cache", "feature-cache", "feature-cache-headless")
    with pytest.raises(TypeError):
        ServerNames.of("x", unknown="y")
