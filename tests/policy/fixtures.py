"""Small hand-written manifests: a compliant baseline that each test breaks in one place."""

from __future__ import annotations

import copy
from typing import Any

from omgml.k8s import restricted_container_security_context, restricted_pod_security_context

Manifest = dict[str, Any]


def container(name: str = "app", image: str = "ghcr.io/example/app:1.2.3") -> Manifest:
    return {
        "name": name,
        "image": image,
        "securityContext": restricted_container_security_context(),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
    }


def deployment(name: str = "web", namespace: str = "apps", **pod: Any) -> Manifest:
    spec: Manifest = {"securityContext": restricted_pod_security_context(1000), "containers": [container()]}
    spec.update(pod)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": spec}},
    }


def cronjob(name: str = "nightly", namespace: str = "apps") -> Manifest:
    d = deployment(name, namespace)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": d["metadata"],
            "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": d["spec"]["template"]}}}}


def namespace(name: str, level: str = "restricted", reason: str | None = None) -> Manifest:
    meta: Manifest = {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}
    if reason:
        meta["annotations"] = {"omgml.dev/pod-security-reason": reason}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def network_policy(namespace: str) -> Manifest:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}


def pod_spec(m: Manifest) -> Manifest:
    spec = m["spec"]
    if m["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def first_container(m: Manifest) -> Manifest:
    return dict(pod_spec(m)["containers"][0])


def mutated(m: Manifest) -> Manifest:
    return copy.deepcopy(m)


def gpu_deployment(**overrides: Any) -> Manifest:
    d = deployment("trainer", "training", nodeSelector={"omgml.dev/pool": "gpu-a10"},
                   tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    c = first_container(d)
    c["resources"]["limits"]["nvidia.com/gpu"] = 1
    d["spec"]["template"]["spec"]["containers"] = [c]
    d["spec"]["template"]["spec"].update(overrides)
    return d
