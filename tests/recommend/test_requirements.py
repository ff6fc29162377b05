"""Requirements: defaults, loading from YAML, and one clear message per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from omgml.errors import SpecError
from omgml.spec import Requirements, load_requirements
from omgml.spec.requirements import requirements_from_dict


def problems_in(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "req.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_requirements(path)
    assert info.value.source == str(path)
    return info.value.problems


def test_only_name_is_required_and_defaults_are_neutral() -> None:
    req = Requirements(name="demo")
    assert req.target == "local" and req.profile is None and req.resolved_profile() == "laptop"
    assert req.flags == [] and req.compliance == [] and req.availability == "99.0"
    assert req.models.count == 1 and req.models.frameworks == []
    assert req.serving.latency_p99_ms is None and not req.serving.gpu
    assert not req.training.gpu and req.training.max_gpus == 1
    assert not req.data.streaming and not req.data.batch_only
    assert req.orchestration.existing == "none" and req.budget_usd_month is None


def test_missing_name(tmp_path: Path) -> None:
    assert problems_in(tmp_path, "target: local\n") == ["name: required field is missing"]


def test_bad_name_explains_the_rule(tmp_path: Path) -> None:
    (msg,) = problems_in(tmp_path, "name: Fraud_Platform\n")
    assert msg.startswith("name: 'Fraud_Platform' is not a DNS-1123 label: use lowercase letters")


def test_unknown_field_names_the_closest_and_lists_the_allowed_ones(tmp_path: Path) -> None:
    (msg,) = problems_in(tmp_path, "name: x\nmodels: {count: 2, framework: [pytorch]}\n")
    assert msg == ("models.framework: unknown field; did you mean 'frameworks'? "
                   "(allowed here: count, frameworks, size_mb)")


def test_a_typo_far_from_every_field_gets_no_guess(tmp_path: Path) -> None:
    (msg,) = problems_in(tmp_path, "name: x\nserving: {qqq: 1}\n")
    assert msg == "serving.qqq: unknown field; allowed here: gpu, latency_p99_ms, mode, peak_rps"


def test_top_level_and_nested_typos_get_the_closest_name(tmp_path: Path) -> None:
    found = sorted(problems_in(tmp_path, "name: x\nservng: {}\nassumptions: {rps_per_cpu: 5}\n"))
    assert found[0].startswith("assumptions.rps_per_cpu: unknown field; did you mean 'rps_per_vcpu'?")
    assert found[1].startswith("servng: unknown field; did you mean 'serving'?")


def test_unknown_flag_and_framework_list_the_choices(tmp_path: Path) -> None:
    found = problems_in(tmp_path, "name: x\nflags: [realtime]\nmodels: {frameworks: [torch]}\n")
    assert found[0].startswith("flags[0]: must be one of 'research_heavy', 'production_scale'")
    assert found[0].endswith("got 'realtime'; did you mean 'real_time'?")
    assert found[1].startswith("models.frameworks[0]: must be one of 'pytorch'") and "got 'torch'" in found[1]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems_in(tmp_path, (
        "name: x\ntarget: gcp\navailability: '99.5'\nserving: {latency_p99_ms: 0}\n"
        "compliance: [pci]\nbudget_usd_month: -5\n"
    ))
    assert found == [
        "target: must be one of 'local' or 'aws', got 'gcp'",
        "serving.latency_p99_ms: must be > 0, got 0",
        "compliance[0]: must be one of 'pci-dss', 'soc2', 'gdpr' or 'hipaa', got 'pci'; did you mean 'pci-dss'?",
        "availability: must be one of '99.0', '99.9', '99.95' or '99.99', got '99.5'; did you mean '99.95'?",
        "budget_usd_month: must be > 0.0, got -5",
    ]


def test_cross_field_rules_name_both_fields(tmp_path: Path) -> None:
    found = problems_in(tmp_path, (
        "name: x\ntraining: {gpu: false, max_gpus: 8}\ndata: {streaming: true, batch_only: true}\n"
    ))
    assert found == [
        "training.max_gpus is 8 but training.gpu is false; set training.gpu: true or remove training.max_gpus",
        "data.streaming and data.batch_only are both true; streaming data is not batch only, "
        "set one of them to false",
    ]


def test_repeated_values_are_refused(tmp_path: Path) -> None:
    assert problems_in(tmp_path, "name: x\nflags: [real_time, real_time]\n") == [
        "flags: ['real_time'] listed more than once; list each value once"
    ]


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    (msg,) = problems_in(tmp_path, "name: x\nflags: [real_time\n")
    assert msg.startswith("not valid YAML at line 3, column 1")


def test_not_a_mapping(tmp_path: Path) -> None:
    assert problems_in(tmp_path, "- name: x\n") == ["(top level): must be a mapping, got list"]


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_requirements(tmp_path / "nope.yaml")
    assert info.value.problems == ["file not found: check the path"]


def test_unquoted_availability_is_the_same_percentage(tmp_path: Path) -> None:
    path = tmp_path / "req.yaml"
    path.write_text("name: x\navailability: 99.99\n")
    assert load_requirements(path).availability == "99.99"


def test_a_projects_omgml_yaml_is_a_requirements_file(tmp_path: Path) -> None:
    path = tmp_path / "omgml.yaml"
    path.write_text("requirements:\n  name: x\n  models: {count: 3}\nplatform:\n  name: x\n")
    req = load_requirements(path)
    assert req.models.count == 3 and req.models.model_fields_set == {"count"}


@pytest.mark.parametrize(("data", "profile"), [
    ({"target": "local", "availability": "99.99"}, "laptop"),
    ({"target": "aws"}, "small"),
    ({"target": "aws", "availability": "99.95"}, "production"),
    ({"target": "aws", "compliance": ["soc2"]}, "production"),
    ({"target": "aws", "compliance": ["gdpr"]}, "small"),
    ({"target": "aws", "profile": "laptop"}, "laptop"),
])
def test_profile_is_derived_unless_stated(data: dict[str, object], profile: str) -> None:
    assert requirements_from_dict({"name": "x", **data}).resolved_profile() == profile


def test_assumptions_have_units_and_stated_fields_are_known() -> None:
    req = requirements_from_dict({"name": "x", "serving": {"gpu": False}, "assumptions": {"rps_per_gpu": 500}})
    assert req.stated("serving.gpu") and not req.stated("serving.peak_rps") and not req.stated("training.gpu")
    assert req.assumptions.rps_per_gpu == 500 and req.assumptions.rps_per_vcpu == 100
    extra = type(req.assumptions).model_fields["rps_per_gpu"].json_schema_extra
    assert extra == {"unit": "requests/s per GPU"}


def test_serving_mode_and_in_cluster_are_checked(tmp_path: Path) -> None:
    found = problems_in(tmp_path, "name: x\nserving: {mode: offline}\nin_cluster: [postgres, postgres]\n")
    assert found[0].startswith("serving.mode: must be one of 'real-time', 'batch' or 'none', got 'offline'")
    assert found[1] == "in_cluster: ['postgres'] listed more than once; list each value once"


def test_an_empty_requirements_file_says_so(tmp_path: Path) -> None:
    assert problems_in(tmp_path, "")[0].startswith("the file is empty")
    assert problems_in(tmp_path, "requirements:\n") == [
        "requirements: the section is empty; it needs at least `name: <platform name>`"]


def test_field_and_cross_field_problems_of_requirements_in_one_run(tmp_path: Path) -> None:
    assert problems_in(tmp_path, "name: x\navailability: 100\ndata: {streaming: true, batch_only: true}\n") == [
        "availability: must be one of '99.0', '99.9', '99.95' or '99.99', got 100",
        "data.streaming and data.batch_only are both true; streaming data is not batch only, set one of them to false",
    ]
