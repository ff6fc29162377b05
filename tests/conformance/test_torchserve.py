"""TorchServe from the rendered config, serving one tiny model (conformance tier).

A project variant with TorchServe as the model server: the foundation comes up, a tiny model
archive goes to the models bucket, then the serving phase — the rendered model-sync container
(the AWS CLI) copies the archive into the pod and TorchServe, started with the rendered command
and config.properties, serves it; a prediction comes back through the rendered Service.

TorchServe's piece is big (PyPI's torch is the CUDA build: 5.4 GB, ~22 minutes here), so it is
installed on demand only (`python -m tests.conformance.harness.software install torchserve`);
without it this module is skipped with that reason, and the run's table says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.harness.runner import Platform
from tests.conformance.harness.session import edit_spec, init_project, platform_session
from tests.conformance.helpers import env_of, last_json, run_client, s3_env, workload_name

pytestmark = pytest.mark.conformance

MODEL = "tiny"
SERVING = "omgml-serving"


def torchserve_variant(data: dict[str, Any]) -> None:
    """Only what serving a model needs: the object store and the model server."""
    phases = data["platform"]["phases"]
    foundation = phases["foundation"]
    for name in ("kafka", "feast", "mlflow", "redis"):
        foundation[name] = {**(foundation.get(name) or {}), "enabled": False}
    phases["training"] = {**(phases.get("training") or {}), "enabled": False}
    serving = phases["serving"]
    serving["server"] = {"kind": "torchserve", "models": [MODEL]}
    serving["prometheus"] = {**(serving.get("prometheus") or {}), "enabled": False}
    serving["evidently"] = {**(serving.get("evidently") or {}), "enabled": False}
    serving["inference_logging"] = False


@pytest.fixture(scope="module")
def torchserve_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    from tests.conformance.harness.software import Unavailable, locate

    found = locate("torchserve")
    if isinstance(found, Unavailable):
        pytest.skip(f"TorchServe not run: {found.reason} (a 5.4 GB piece installed on demand only)")
    steps: list[tuple[str, float]] = []
    root = init_project(tmp_path_factory.mktemp("torchserve") / "ts", "enterprise", steps)
    edit_spec(root, torchserve_variant)
    with platform_session(root, "torchserve", steps) as plat:
        plat.up(["fixtures", "foundation"])
        upload_archive(plat)
        plat.up(["serving"])
        yield plat


def upload_archive(plat: Platform) -> None:
    code, out = run_client(plat, SERVING, "torchserve",
                           ["python", "/omgml-conformance/scripts/torchserve_archive.py"], env={"MODEL": MODEL})
    assert code == 0, out
    archive = last_json(out)["archive_b64"]
    sync = env_of(plat, "Deployment", workload_name(plat, "Deployment", "torchserve"), "model-sync")
    prefix = sync["MODELS_PREFIX"]
    # From the serving namespace: with training off, it is the one the data namespace admits.
    code, out = run_client(plat, SERVING, "mlflow", ["python", "/omgml-conformance/scripts/s3_put.py"],
                           env={**s3_env(plat), "SOURCE": "/tmp/in/archive.b64", "BUCKET": sync["MODELS_BUCKET"],
                                "KEY": f"{prefix}{MODEL}.mar"},
                           files={"/tmp/in/archive.b64": archive})
    assert code == 0, out


def test_torchserve_serves_the_model_from_the_rendered_config(torchserve_platform: Platform) -> None:
    plat = torchserve_platform
    row = next(o for o in plat.outcomes.values() if o.key.endswith("-torchserve"))
    assert row.status == "ready", f"{row.key}: {row.status} {row.detail}"
    url = f"http://{workload_name(plat, 'Deployment', 'torchserve')}.{SERVING}.svc.cluster.local:8080/predictions/{MODEL}"
    code, out = run_client(plat, SERVING, "mlflow", ["curl", "-sS", "--fail-with-body", "--max-time", "30",
                                                     "-H", "Content-Type: application/json", "-d", "[1, 2, 3, 4]", url])
    assert code == 0, out
    # The fixed layer: y0 = x0 + 0.5, y1 = 2·x1 − 1.
    assert json.loads(out.strip().splitlines()[-1]) == [1.5, 3.0]


def test_the_prediction_pod_uses_the_rendered_torchserve_config(torchserve_platform: Platform) -> None:
    plat = torchserve_platform
    name = workload_name(plat, "Deployment", "torchserve")
    out = plat.exec("Deployment", name, ["cat", "/etc/torchserve/config.properties"])
    assert out.returncode == 0 and "install_py_dep_per_model=false" in out.stdout
    rendered = plat.objects.configmap(SERVING, name)
    assert rendered is not None and rendered["config.properties"] == out.stdout
