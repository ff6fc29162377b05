"""Spec loading: one clear message per problem, with its path; cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from omgml.errors import SpecError
from omgml.spec import PlatformSpec, load_spec, spec_from_dict
from omgml.spec.common import per_profile


def problems(data: dict) -> list[str]:
    with pytest.raises(SpecError) as info:
        spec_from_dict(data)
    return info.value.problems


def load_error(path: Path) -> SpecError:
    """The error load_spec raises for a file it must refuse."""
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


def test_defaults_are_a_valid_platform() -> None:
    spec = spec_from_dict({"name": "demo"})
    assert spec.target == "local" and spec.profile == "laptop"
    assert spec.phases.foundation.kafka.enabled


def test_range_error_names_path_bound_and_value() -> None:
    assert problems({"name": "x", "phases": {"serving": {"server": {"replicas": 0}}}}) == [
        "phases.serving.server.replicas: must be ≥ 1, got 0"
    ]


def test_unknown_field_lists_the_allowed_ones() -> None:
    (msg,) = problems({"name": "x", "phases": {"foundation": {"kafak": {}}}})
    assert msg.startswith("phases.foundation.kafak: unknown field; did you mean 'kafka'? (allowed here: ")
    assert "kafka" in msg and "redis" in msg


def test_inference_logging_without_kafka_is_an_error_not_a_dead_setting() -> None:
    (msg,) = problems({"name": "x", "phases": {"foundation": {"kafka": {"enabled": False}},
                                               "serving": {"inference_logging": True}}})
    assert msg == ("phases.serving.inference_logging: true logs predictions to Kafka, but "
                   "phases.foundation.kafka.enabled is false, so it would do nothing; enable Kafka or remove "
                   "inference_logging")
    # Unstated, it follows Kafka; stated false, it turns logging off where Kafka runs.
    off = spec_from_dict({"name": "x", "phases": {"foundation": {"kafka": {"enabled": False}}}})
    assert not off.logs_inferences()
    assert spec_from_dict({"name": "x"}).logs_inferences()
    assert not spec_from_dict({"name": "x", "phases": {"serving": {"inference_logging": False}}}).logs_inferences()


def test_literal_error_lists_choices() -> None:
    (msg,) = problems({"name": "x", "target": "gcp"})
    assert msg == "target: must be one of 'local' or 'aws', got 'gcp'"


def test_every_problem_is_reported_at_once() -> None:
    found = problems({"name": "Bad_Name", "profile": "huge", "phases": {"foundation": {"kafka": {"brokers": 0}}}})
    assert len(found) == 3
    assert any(p.startswith("name: ") for p in found)
    assert any(p.startswith("profile: ") for p in found)
    assert "phases.foundation.kafka.brokers: must be ≥ 1, got 0" in found


def test_list_index_in_path() -> None:
    (msg,) = problems({"name": "x", "phases": {"foundation": {"kafka": {"topics": [{"name": "ok"}, {"name": "a b"}]}}}})
    assert msg.startswith("phases.foundation.kafka.topics[1].name: ")


def test_feast_online_store_needs_redis() -> None:
    assert problems({"name": "x", "phases": {"foundation": {"redis": {"enabled": False}}}}) == [
        "phases.foundation.feast.online_store: 'redis' needs phases.foundation.redis.enabled: true; "
        "enable Redis or set online_store: none"
    ]
    spec_from_dict({"name": "x", "phases": {"foundation": {"redis": {"enabled": False},
                                                           "feast": {"online_store": "none"}}}})


@pytest.mark.parametrize("user", ["mlflow", "feast"])
def test_stores_need_postgres(user: str) -> None:
    other = "feast" if user == "mlflow" else "mlflow"
    found = problems({"name": "x", "phases": {"foundation": {"postgres": {"enabled": False},
                                                             other: {"enabled": False}}}})
    assert found == [
        f"phases.foundation.{user}.enabled: {user} stores its data in postgres, but "
        f"phases.foundation.postgres.enabled is false; enable postgres or disable {user}"
    ]


def test_gpu_server_needs_a_pool() -> None:
    assert problems({"name": "x", "phases": {"serving": {"server": {"gpu": True}}}}) == [
        "phases.serving.server.gpu: true needs a GPU pool in phases.training.gpu_pools or "
        "phases.serving.gpu_pools; add a pool or set gpu: false"
    ]
    ok = spec_from_dict({"name": "x", "phases": {
        "training": {"gpu_pools": [{"name": "train"}]}, "serving": {"server": {"gpu": True}}}})
    assert [p.name for p in ok.all_gpu_pools()] == ["train"]


def test_gpu_pool_in_a_disabled_phase_does_not_count() -> None:
    found = problems({"name": "x", "phases": {
        "training": {"enabled": False, "gpu_pools": [{"name": "train"}]}, "serving": {"server": {"gpu": True}}}})
    assert found[0].startswith("phases.serving.server.gpu: true needs a GPU pool")


def test_named_gpu_pool_must_exist() -> None:
    (msg,) = problems({"name": "x", "phases": {
        "training": {"gpu_pools": [{"name": "train"}]},
        "serving": {"server": {"gpu": True, "gpu_pool": "infer"}}}})
    assert msg == "phases.serving.server.gpu_pool: no pool named 'infer'; choose one of ['train']"


def test_gpu_pool_sizes_ordered_and_inference_not_zero() -> None:
    (msg,) = problems({"name": "x", "phases": {"training": {"gpu_pools": [
        {"name": "p", "min_size": 2, "desired_size": 1, "max_size": 3}]}}})
    assert "need min_size ≤ desired_size ≤ max_size, got 2 ≤ 1 ≤ 3" in msg
    (msg,) = problems({"name": "x", "phases": {"serving": {"gpu_pools": [
        {"name": "p", "purpose": "inference", "min_size": 0}]}}})
    assert "inference pools cannot scale to zero" in msg


def test_duplicate_pool_names_across_phases() -> None:
    (msg,) = problems({"name": "x", "phases": {
        "training": {"gpu_pools": [{"name": "gpu"}]},
        "serving": {"gpu_pools": [{"name": "gpu", "purpose": "inference", "min_size": 1, "desired_size": 1}]}}})
    assert msg == "gpu_pools: pool names must be unique across phases, ['gpu'] repeat; rename them"


def test_managed_services_only_on_aws() -> None:
    (msg,) = problems({"name": "x", "phases": {"foundation": {"postgres": {"managed": True}}}})
    assert msg == ("phases.foundation.postgres.managed: managed services exist only on target aws; "
                   "set managed: false or target: aws")
    spec_from_dict({"name": "x", "target": "aws", "phases": {"foundation": {"postgres": {"managed": True}}}})


def test_drift_paths_must_stay_in_platform_buckets_on_managed_s3() -> None:
    def drift(ref: str, managed: bool, extra: tuple[str, ...] = ()) -> list[str]:
        data = {"name": "x", "target": "aws", "phases": {
            "foundation": {"object_store": {"managed": managed, "extra_buckets": list(extra)}},
            "serving": {"evidently": {"reference_path": ref, "current_path": "current/"}}}}
        try:
            spec_from_dict(data)
        except SpecError as exc:
            return exc.problems
        return []

    (msg,) = drift("s3://someone-else/ref/", managed=True)
    assert msg.startswith("phases.serving.evidently.reference_path: bucket 'someone-else' is not one of "
                          "phases.foundation.object_store.extra_buckets [")
    assert "extra_buckets" in msg and "relative path" in msg
    # The platform's buckets get an account suffix on S3: they are reached by relative paths.
    (own,) = drift("s3://x-features/ref/", managed=True)
    assert "relative path" in own
    # A declared extra bucket, or keys (in-cluster) are fine.
    assert drift("s3://someone-else/ref/", managed=True, extra=("someone-else",)) == []
    assert drift("s3://someone-else/ref/", managed=False) == []


def test_kubeflow_and_serving_need_the_object_store() -> None:
    found = problems({"name": "x", "phases": {"foundation": {
        "object_store": {"enabled": False}, "mlflow": {"enabled": False}, "feast": {"enabled": False}}}})
    assert any(p.startswith("phases.training.kubeflow.enabled: ") for p in found)
    assert any(p.startswith("phases.serving.server.enabled: ") for p in found)
    assert any(p.startswith("phases.serving.evidently.enabled: the drift job reads") for p in found)


def test_evidently_needs_pushgateway() -> None:
    found = problems({"name": "x", "phases": {"serving": {"prometheus": {"pushgateway": False}}}})
    assert found == [
        "phases.serving.evidently.enabled: drift metrics reach Prometheus through the Pushgateway; "
        "set phases.serving.prometheus.enabled and .pushgateway to true, or disable evidently"
    ]


def test_gpu_available_only_with_a_real_gpu() -> None:
    assert not spec_from_dict({"name": "x"}).gpu_available()
    assert spec_from_dict({"name": "x", "local": {"gpu": "nvidia"}}).gpu_available()
    assert spec_from_dict({"name": "x", "target": "aws"}).gpu_available()


def test_load_spec_reads_platform_section_and_reports_yaml_errors(tmp_path: Path) -> None:
    good = tmp_path / "omgml.yaml"
    good.write_text("requirements: {}\nplatform:\n  name: demo\n  profile: small\n")
    assert isinstance(load_spec(good), PlatformSpec)
    bad = tmp_path / "bad.yaml"
    bad.write_text("platform:\n  name: [unclosed\n")
    assert load_error(bad).problems[0].startswith("not valid YAML at line")
    assert load_error(tmp_path / "missing.yaml").problems == ["file not found: check the path"]
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    assert load_error(scalar).problems == ["(top level): must be a mapping, got str"]


def test_delta_offline_store_is_refused_on_managed_s3() -> None:
    (msg,) = problems({"name": "x", "target": "aws", "phases": {"foundation": {
        "object_store": {"managed": True}, "feast": {"offline_store": "delta"}}}})
    assert msg.startswith("phases.foundation.feast.offline_store: 'delta' cannot read S3 through IRSA")
    spec_from_dict({"name": "x", "target": "aws", "phases": {"foundation": {"feast": {"offline_store": "delta"}}}})


def test_field_and_cross_field_errors_come_in_one_run() -> None:
    # pydantic runs the cross-field rules only once every field is valid; both kinds at once.
    found = problems({"name": "x", "phases": {"serving": {"server": {"replicas": 0},
                                                          "prometheus": {"pushgateway": False}}}})
    assert found == [
        "phases.serving.server.replicas: must be ≥ 1, got 0",
        "phases.serving.evidently.enabled: drift metrics reach Prometheus through the Pushgateway; "
        "set phases.serving.prometheus.enabled and .pushgateway to true, or disable evidently",
    ]


def test_an_invalid_required_field_does_not_hide_cross_field_errors() -> None:
    found = problems({"name": "Bad_Name", "bogus": 1, "phases": {"foundation": {"kafka": {"managed": True}}}})
    assert found[0].startswith("name: 'Bad_Name' does not match")
    assert found[1].startswith("bogus: unknown field")
    assert found[2] == ("phases.foundation.kafka.managed: managed services exist only on target aws; "
                        "set managed: false or target: aws")
    assert len(found) == 3


def test_cross_field_messages_about_an_invalid_field_are_left_out() -> None:
    # Redis's real `enabled` is unknown, so "feast needs redis" would be a guess: only the field error.
    assert problems({"name": "x", "phases": {"foundation": {"redis": {"enabled": "maybe"}}}}) == [
        "phases.foundation.redis.enabled: input should be a valid boolean, unable to interpret input, got 'maybe'"
    ]


def test_invalid_list_items_still_let_the_rules_across_phases_run() -> None:
    found = problems({"name": "x", "phases": {
        "training": {"enabled": True, "gpu_pools": [{"name": "A!"}, {"name": "b"}]},
        "serving": {"gpu_pools": [{"name": "b"}]}}})
    assert found[0].startswith("phases.training.gpu_pools[0].name: 'A!' does not match")
    assert found[1:] == ["gpu_pools: pool names must be unique across phases, ['b'] repeat; rename them"]


def test_an_empty_file_or_section_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    error = load_error(empty)
    assert error.problems[0].startswith("the file is empty; it needs at least `name: <platform name>`")
    assert "NoneType" not in str(error)
    section = tmp_path / "omgml.yaml"
    section.write_text("requirements:\n  name: x\nplatform:\n")
    assert load_error(section).problems == ["platform: the section is empty; it needs at least `name: <platform name>`"]


def test_per_profile_tables_name_every_profile_once() -> None:
    table = per_profile(laptop=1, small=2, production=3)
    assert table == {"laptop": 1, "small": 2, "production": 3}
    with pytest.raises(TypeError, match="production"):
        per_profile(laptop=1, small=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="medium"):
        per_profile(laptop=1, small=2, production=3, medium=4)  # type: ignore[call-arg]


@pytest.mark.parametrize(("server", "fragment"), [
    ({"replicas": 4, "max_replicas": 2}, "replicas=4, max_replicas=2: need 1 ≤ replicas ≤ max_replicas"),
    ({"kind": "torchserve", "model_control_mode": "poll"}, "'poll' is not available with kind 'torchserve'"),
])
def test_model_server_scaling_is_checked_by_the_spec(server: dict[str, object], fragment: str) -> None:
    # The same check (spec.serving.check_server_scaling) guards the ModelServer component's args.
    (msg,) = problems({"name": "x", "phases": {"serving": {"server": server}}})
    assert msg.startswith("phases.serving.server") and fragment in msg
