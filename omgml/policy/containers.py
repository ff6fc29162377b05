"""Per-container rules: pinned images, requests and limits, readiness and liveness probes."""

from __future__ import annotations

from omgml.policy.findings import Finding, Manifest, resource_id
from omgml.policy.pods import containers_at, pod_spec_at

IMAGE_POLICY = "image-pinned-tag"
RESOURCES_POLICY = "container-resources"
PROBES_POLICY = "container-probes"


def image_tag(image: str) -> str | None:
    """The tag of an image reference ("repo[:tag][@digest]"), None when it has none."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]  # a ':' before the last '/' is a registry port
    return last.split(":", 1)[1] if ":" in last else None


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None  # a digest pins the content even better than a tag
    tag = image_tag(image)
    if tag is None:
        return f"image {image!r} has no tag (pulls whatever 'latest' is today)"
    if tag == "latest":
        return f"image {image!r} uses the moving tag 'latest'"
    return None


def check_images(m: Manifest) -> list[Finding]:
    pod = pod_spec_at(m)
    if pod is None:
        return []
    out = []
    for c in containers_at(pod):
        problem = image_problem(str(c.container.get("image", "")))
        if problem:
            out.append(Finding(IMAGE_POLICY, "error", resource_id(m), f"{c.path}.image",
                               f"container {c.name!r}: {problem}",
                               "pin a released version tag (or a digest) in the component's image table"))
    return out


def check_resources(m: Manifest) -> list[Finding]:
    pod = pod_spec_at(m)
    if pod is None:
        return []
    out = []
    for c in containers_at(pod):
        res = c.container.get("resources") or {}
        missing = [f"{section}.{r}" for section in ("requests", "limits") for r in ("cpu", "memory")
                   if r not in (res.get(section) or {})]
        if missing:
            out.append(Finding(RESOURCES_POLICY, "error", resource_id(m), f"{c.path}.resources",
                               f"container {c.name!r} has no {', '.join(missing)}",
                               "set requests and limits from the component's size table (omgml.k8s.Size)"))
    return out


def check_probes(m: Manifest) -> list[Finding]:
    pod = pod_spec_at(m)
    if pod is None:
        return []
    out = []
    for c in containers_at(pod):
        if c.runs_to_completion:
            continue  # done before the pod is ready; a native sidecar (restartPolicy: Always) is not
        for probe in ("readinessProbe", "livenessProbe"):
            if not c.container.get(probe):
                out.append(Finding(PROBES_POLICY, "error", resource_id(m), f"{c.path}.{probe}",
                                   f"container {c.name!r} has no {probe}",
                                   f"add a {probe} (omgml.k8s http_probe/tcp_probe/exec_probe)"))
    return out
