"""The decision matrix, over all 2^9 combinations of its switches, given as flags only.

The expected table is built here from the issue's wording, independently of the engine:
  framework — research_heavy → pytorch, else production_scale → tensorflow, else cutting_edge → jax;
  serving — multi_model → triton, else pytorch_only → torchserve, else tf-serving;
  orchestration — kubernetes_native → kubeflow, else existing_airflow → airflow, else prefect;
  feature_store — real_time → feast-redis, else batch_only → delta-lake.
Where the matrix is silent, the engine's documented defaults apply: the framework follows the
server (PyTorch for Triton and TorchServe, TensorFlow for TF Serving) and the feature store is
feast-redis. Whether a server runs at all comes first (docs/decision-matrix.md): batch_only
without real_time means batch scoring and no server, unless multi_model or pytorch_only is set as
a flag, which asks the matrix for its server.
"""

from __future__ import annotations

import itertools

import pytest

from omgml.recommend import recommend
from omgml.spec import Requirements

SWITCHES = (
    "research_heavy", "production_scale", "cutting_edge", "multi_model", "pytorch_only",
    "kubernetes_native", "existing_airflow", "real_time", "batch_only",
)
ALL_COMBINATIONS = [
    frozenset(s for s, on in zip(SWITCHES, bits, strict=True) if on)
    for bits in itertools.product((False, True), repeat=len(SWITCHES))
]


def expected(flags: frozenset[str]) -> dict[str, str]:
    if "research_heavy" in flags:
        framework = "pytorch"
    elif "production_scale" in flags:
        framework = "tensorflow"
    elif "cutting_edge" in flags:
        framework = "jax"
    else:
        framework = ""
    if "multi_model" in flags:
        serving = "triton"
    elif "pytorch_only" in flags:
        serving = "torchserve"
    elif "batch_only" in flags and "real_time" not in flags:
        serving = "batch"
    else:
        serving = "tf-serving"
    if "kubernetes_native" in flags:
        orchestration = "kubeflow"
    elif "existing_airflow" in flags:
        orchestration = "airflow"
    else:
        orchestration = "prefect"
    if "real_time" in flags:
        feature_store = "feast-redis"
    elif "batch_only" in flags:
        feature_store = "delta-lake"
    else:
        feature_store = ""
    # Documented defaults where the matrix says nothing.
    framework = framework or ("tensorflow" if serving == "tf-serving" else "pytorch")
    feature_store = feature_store or "feast-redis"
    return {"framework": framework, "serving": serving, "orchestration": orchestration,
            "feature_store": feature_store}


def test_the_matrix_has_512_rows() -> None:
    assert len(set(ALL_COMBINATIONS)) == 512


@pytest.mark.parametrize("flags", ALL_COMBINATIONS, ids=lambda f: "+".join(sorted(f)) or "none")
def test_flags_only_follow_the_decision_matrix(flags: frozenset[str]) -> None:
    rec = recommend(Requirements.model_validate({"name": "m", "flags": sorted(flags)}))
    want = expected(flags)
    got = {area: rec.choice(area) for area in want}
    assert got == want
    for area in want:
        decision = rec.decision(area)
        # Only flags can have decided: the richer fields are all at their neutral defaults.
        assert all(d.startswith("flags.") for d in decision.drivers), (area, decision.drivers)
    # Streaming follows the real_time switch when nothing else is stated.
    assert rec.choice("streaming") == ("kafka" if "real_time" in flags else "none")


def test_matrix_decisions_say_so_and_name_the_flag() -> None:
    rec = recommend(Requirements(name="m", flags=["production_scale", "multi_model", "existing_airflow",
                                                  "batch_only"]))
    for area, flag in (("framework", "production_scale"), ("serving", "multi_model"),
                       ("orchestration", "existing_airflow"), ("feature_store", "batch_only")):
        d = rec.decision(area)
        assert d.drivers == (f"flags.{flag}",)
        assert "(decision matrix, docs/decision-matrix.md)" in d.rationale and f"flags.{flag}" in d.rationale


def test_defaults_name_no_driver() -> None:
    rec = recommend(Requirements(name="m"))
    assert rec.decision("framework").drivers == ()
    assert "documented default" in rec.decision("framework").rationale
    assert rec.decision("feature_store").drivers == ()
    assert "documented default" in rec.decision("feature_store").rationale


def test_higher_priority_switch_is_named_in_the_alternative() -> None:
    rec = recommend(Requirements(name="m", flags=["research_heavy", "production_scale"]))
    (tf,) = [a for a in rec.decision("framework").alternatives if a.choice == "tensorflow"]
    assert tf.why_not == "flags.production_scale is set, but research_heavy comes first in the decision matrix"
