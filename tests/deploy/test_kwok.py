"""kwok cluster preparation: simulated nodes shaped like the pools, volumes for every claim."""

from __future__ import annotations

from omgml.capacity import memory_bytes
from omgml.deploy.kwok import STORAGE_CLASS, kwok_nodes, kwok_storage
from omgml.spec import spec_from_dict
from omgml.synth.render import render_platform
from tests.synth_helpers import assert_valid

SPEC = spec_from_dict({"name": "demo", "phases": {"training": {"gpu_pools": [{"name": "train", "gpus_per_node": 2}]}}})


def test_nodes_mirror_the_pools() -> None:
    nodes = {n["metadata"]["name"]: n for n in kwok_nodes(SPEC)}
    assert set(nodes) == {"kwok-cpu-0", "kwok-train-0"}
    gpu = nodes["kwok-train-0"]
    assert gpu["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert gpu["metadata"]["labels"]["omgml.dev/pool"] == "train"
    assert gpu["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    # No real GPU locally: the node advertises none, like the kind worker.
    assert "nvidia.com/gpu" not in gpu["status"]["capacity"]
    with_gpu = spec_from_dict({**SPEC.model_dump(), "local": {"gpu": "nvidia"}})
    assert kwok_nodes(with_gpu)[1]["status"]["capacity"]["nvidia.com/gpu"] == "2"
    assert_valid(list(nodes.values()))


def test_every_claim_gets_a_volume_of_its_size() -> None:
    manifests = render_platform(SPEC).all_manifests()
    objects = kwok_storage(manifests)
    sc, pvs = objects[0], objects[1:]
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    wanted = sorted(
        memory_bytes(t["spec"]["resources"]["requests"]["storage"])
        for m in manifests if m["kind"] == "StatefulSet"
        for t in m["spec"].get("volumeClaimTemplates", []) for _ in range(m["spec"].get("replicas", 1))
    ) + [memory_bytes(m["spec"]["resources"]["requests"]["storage"]) for m in manifests
         if m["kind"] == "PersistentVolumeClaim"]
    assert sorted(int(pv["spec"]["capacity"]["storage"]) for pv in pvs) == sorted(wanted)
    assert all(pv["spec"]["storageClassName"] == STORAGE_CLASS for pv in pvs)
    assert_valid(objects)
