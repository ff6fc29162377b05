from __future__ import annotations

import pytest

from omgml.policy.containers import check_images, check_probes, check_resources, image_problem, image_tag
from tests.policy.fixtures import cronjob, deployment


@pytest.mark.parametrize(("image", "tag"), [
    ("postgres:17.6", "17.6"),
    ("registry.local:5000/team/app:2.0", "2.0"),
    ("registry.local:5000/team/app", None),
    ("ghcr.io/x/y@sha256:abc", None),
])
def test_image_tag_parsing(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


@pytest.mark.parametrize("image", ["postgres", "postgres:latest", "registry.local:5000/app"])
def test_unpinned_images_are_flagged(image: str) -> None:
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    [f] = check_images(d)
    assert f.policy_id == "image-pinned-tag"
    assert f.field == "spec.template.spec.containers[0].image"
    assert image_problem(image)


def test_pinned_and_digest_images_pass() -> None:
    assert check_images(deployment()) == []
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/x/y@sha256:" + "a" * 64
    assert check_images(d) == []


def test_missing_limits_are_listed_for_init_and_app_containers() -> None:
    d = deployment()
    spec = d["spec"]["template"]["spec"]
    spec["initContainers"] = [{"name": "migrate", "image": "app:1", "resources": {"requests": {"cpu": "1"}}}]
    del spec["containers"][0]["resources"]["limits"]["memory"]
    findings = check_resources(d)
    assert [f.field for f in findings] == ["spec.template.spec.initContainers[0].resources",
                                          "spec.template.spec.containers[0].resources"]
    assert "requests.memory" in findings[0].message and "limits.cpu" in findings[0].message
    assert "limits.memory" in findings[1].message and "requests.cpu" not in findings[1].message
    assert check_resources(deployment()) == []


def test_probes_required_on_app_containers_not_init_containers() -> None:
    d = cronjob()
    spec = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    spec["initContainers"] = [{"name": "wait", "image": "busybox:1.37"}]
    del spec["containers"][0]["livenessProbe"]
    [f] = check_probes(d)
    assert f.field == "spec.jobTemplate.spec.template.spec.containers[0].livenessProbe"
    assert check_probes(deployment()) == []


def test_native_sidecars_need_probes_like_app_containers() -> None:
    d = deployment()
    spec = d["spec"]["template"]["spec"]
    sidecar = {"name": "sync-loop", "image": "busybox:1.37", "restartPolicy": "Always"}
    spec["initContainers"] = [{"name": "sync-once", "image": "busybox:1.37"}, sidecar]
    found = check_probes(d)
    # The sidecar runs for the pod's whole life; the one-shot init container does not.
    assert [f.field for f in found] == ["spec.template.spec.initContainers[1].readinessProbe",
                                        "spec.template.spec.initContainers[1].livenessProbe"]
    assert "'sync-loop'" in found[0].message
    sidecar["readinessProbe"] = sidecar["livenessProbe"] = {"exec": {"command": ["true"]}}
    assert check_probes(d) == []


def test_non_workloads_are_ignored() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    assert check_images(svc) == check_resources(svc) == check_probes(svc) == []
