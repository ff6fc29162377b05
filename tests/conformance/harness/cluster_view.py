"""What a cluster would hold of the rendered platform the tier runs, for the API server's reads.

The tier starts the render's workloads itself (no controllers), so this module plays the
controllers' part for reading: each rendered Deployment, StatefulSet, DaemonSet, Job, CronJob,
Service and Ingress as the manifest that was applied plus the status its controller would report
from the tier's pod runs (ready pods, a Job's succeeded/failed pods, a CronJob's last runs), and
the pods of those workloads with their container states. A workload the tier skipped (software not
obtainable here) has no pods: it reads as 0 ready, as an image that cannot be pulled would on a
cluster. The outside systems the tier brings (phase "fixtures") are not part of the platform.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.conformance.harness.apiserver import job_status
from tests.conformance.harness.pods import pods_for
from tests.conformance.harness.render import WORKLOAD_KINDS as WORKLOADS

if TYPE_CHECKING:
    from tests.conformance.harness.render import RenderedObject
    from tests.conformance.harness.runner import Platform, PodRun

KINDS = (*WORKLOADS, "Service", "Ingress")


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _uid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"omgml-conformance:{key}"))


def view_objects(platform: Platform, kind: str) -> list[dict[str, Any]]:
    """The objects of `kind` (one of KINDS, or Pod) with their status, now."""
    if kind == "Pod":
        return [pod_object(r) for r in list(platform.pods.values()) if _rendered_owner(platform, r)]
    out = []
    for obj in platform.render.objects:
        if obj.kind != kind or obj.phase == "fixtures":
            continue
        manifest = copy.deepcopy(obj.manifest)
        meta = manifest["metadata"]
        meta.setdefault("namespace", "default")
        meta.update(uid=_uid(obj.key), generation=1)
        status = _status(platform, obj)
        if status is not None:
            manifest["status"] = status
        if kind == "Service":
            _cluster_ip(platform, manifest)
        out.append(manifest)
    return out


def _rendered_owner(platform: Platform, run: PodRun) -> bool:
    pod = run.pod
    if pod.owner_kind not in WORKLOADS:
        return False
    if platform.api is not None and platform.api.store.get("Pod", pod.namespace, pod.name) is not None:
        return False  # created through the API: the store holds it already
    try:
        return bool(platform.render.get(pod.owner_kind, pod.namespace, pod.owner_name).phase != "fixtures")
    except KeyError:  # a client pod the test brought
        return False


def pod_object(run: PodRun) -> dict[str, Any]:
    from tests.conformance.harness.runner import api_pod_status

    pod = run.pod
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": dict(pod.labels),
                         "annotations": dict(pod.annotations), "uid": _uid(f"Pod/{pod.key}")},
            "spec": copy.deepcopy(pod.spec), "status": api_pod_status(run)}


def _runs(platform: Platform, obj: RenderedObject) -> list[PodRun]:
    if obj.kind in ("Job", "CronJob"):
        return platform.job_runs(obj)
    if obj.kind == "DaemonSet":  # the tier does not run DaemonSets (pods_for says so): none ready
        return []
    return [platform.pods[p.key] for p in pods_for(obj.manifest) if p.key in platform.pods]


def _status(platform: Platform, obj: RenderedObject) -> dict[str, Any] | None:
    if obj.kind not in WORKLOADS:
        return None
    runs = _runs(platform, obj)
    ready = sum(1 for r in runs if r.ready)
    spec = obj.manifest["spec"]
    if obj.kind in ("Deployment", "StatefulSet"):
        want = int(spec.get("replicas", 1))
        return {"observedGeneration": 1, "replicas": want, "readyReplicas": ready, "availableReplicas": ready,
                "updatedReplicas": want}
    if obj.kind == "DaemonSet":  # one node
        return {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": ready,
                "numberMisscheduled": 0, "numberAvailable": ready}
    if obj.kind == "Job":
        return job_status(obj.manifest, [r.phase for r in runs]) if runs else {}
    # CronJob: its last run's start, and the end of its last successful run.
    status: dict[str, Any] = {}
    active = [{"kind": "Job", "namespace": obj.namespace, "name": r.pod.name} for r in runs if not r.done.is_set()]
    if active:
        status["active"] = active
    if runs:
        status["lastScheduleTime"] = _stamp(max(r.created_at for r in runs))
        ok = [r.finished_at for r in runs if r.phase == "Succeeded" and r.finished_at is not None]
        if ok:
            status["lastSuccessfulTime"] = _stamp(max(ok))
    return status


def _cluster_ip(platform: Platform, manifest: dict[str, Any]) -> None:
    spec = manifest.setdefault("spec", {})
    if spec.get("clusterIP") == "None":
        return
    meta = manifest["metadata"]
    for s in platform.services:
        if s.name == meta["name"] and s.namespace == meta["namespace"] and s.ip:
            spec["clusterIP"] = s.ip
