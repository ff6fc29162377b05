"""The training phase as far as its software runs here (conformance tier).

Kubeflow Pipelines' services cannot run here (their Go module is refused by the Go module proxy,
MySQL 8.4 is in no registry, ML Metadata's server and Envoy have no package, Argo needs an API
server): the tier lists each of them as skipped with that reason. What can be checked for real:
a pipeline compiled by the KFP SDK that matches the platform's KFP parses as the PipelineSpec the
KFP API server's upload unmarshals it into.
"""

from __future__ import annotations

import pytest

from tests.conformance.harness.runner import Platform
from tests.conformance.helpers import last_json, run_client

pytestmark = pytest.mark.conformance


def test_kfp_services_are_listed_as_skipped_with_the_registrys_refusal(platform: Platform) -> None:
    # Kubeflow Pipelines' own workloads; Katib's db-manager shares the namespace and runs (test_training_addons).
    rows = [o for o in platform.outcomes.values() if o.phase == "training" and o.key.split("/")[1] == "kubeflow"
            and not o.key.split("/")[-1].startswith("katib-")]
    if not rows:
        pytest.skip("this project's training phase has no Kubeflow Pipelines")
    assert all(o.status == "skipped" and o.detail for o in rows), [(o.key, o.status) for o in rows]
    api = next(o for o in rows if o.key.endswith("/ml-pipeline"))
    assert "403 Forbidden" in api.detail


def test_a_pipeline_compiled_by_the_matching_sdk_is_a_valid_pipeline_spec(platform: Platform) -> None:
    code, out = run_client(platform, "omgml-pipelines", "kfp", ["python", "/omgml-conformance/scripts/kfp_compile.py"])
    assert code == 0, out
    spec = last_json(out)
    assert spec["sdk_version"] == "kfp-2.17.0"
    assert spec["schema_version"] == "2.1.0"  # the IR version the 2.17 API server accepts
    assert spec["tasks"] == ["train"] and spec["executors"] == ["exec-train"]
