"""Batch predictions with Spark, on the platform's own MLflow and object store.

The rendered CronJob's driver runs spark-submit against the Kubernetes API (client mode, executors
as pods), which this tier does not run; its program runs instead, unchanged: the rendered
score.py (from the job's ConfigMap) with PySpark 4.1.2 from PyPI in local mode, in a pod of the
serving namespace with the driver's rendered env (so the NetworkPolicies and credentials are the
job's), and the S3A jars the job would fetch.
"""

from __future__ import annotations

import pytest

from tests.conformance.harness.runner import Platform
from tests.conformance.harness.software import Unavailable, locate
from tests.conformance.helpers import env_of, last_json, run_client, workload_name

pytestmark = pytest.mark.conformance

SCORE_PY = "/opt/omgml/score.py"


def _s3a_jars() -> str:
    found = locate("spark-s3a")
    if isinstance(found, Unavailable):
        pytest.fail(f"spark-s3a: {found.reason}")
    # PySpark brings Hadoop's client jars itself; the connector and the AWS SDK are what it lacks.
    jars = [p for p in sorted((found.root / "libs").glob("*.jar")) if not p.name.startswith("hadoop-client-")]
    return ",".join(str(p) for p in jars)


def test_the_scoring_job_scores_the_lake_with_the_registered_model(platform: Platform) -> None:
    name = workload_name(platform, "CronJob", "batch-scoring")
    cronjob = next(o for o in platform.render.of_kind("CronJob") if o.name == name)
    namespace = cronjob.namespace
    scripts = next(o for o in platform.render.of_kind("ConfigMap") if o.name == f"{name}-scripts")
    env = {k: v for k, v in env_of(platform, "CronJob", name, "driver").items()
           if k not in ("POD_NAME", "POD_IP", "PYTHONPATH")}
    env.update({"SPARK_JARS": _s3a_jars(), "SCORE_PY": SCORE_PY})
    code, out = run_client(platform, namespace, "spark", ["python", "/omgml-conformance/scripts/batch_scoring_path.py"],
                           env=env, files={SCORE_PY: scripts.manifest["data"]["score.py"]}, timeout=900)
    assert code == 0, out[-6000:]
    result = last_json(out)
    assert result["rows"] == 500 and result["matching_predictions"] == 500, result
    assert result["columns"] == ["customer_id", "model_version", "prediction"], result
    # the job loaded the version the alias points at, and says so in its output
    assert result["model_versions"] == [result["registered_version"]] == [result["job"]["model_version"]]
    assert result["job"]["input_rows"] == 500 and result["job"]["predictions"] == 500
