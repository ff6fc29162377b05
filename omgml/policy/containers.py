"""Per-container rules: pinned images, requests and limits, readiness and liveness probes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from omgml.policy.findings import Finding, Manifest, resource_id
from omgml.policy.pods import ContainerAt, manifest_containers

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


# A per-container rule yields, for each problem of one container: the field under the container,
# what is wrong (it follows the container's name in the message) and the fix.
ContainerRule = Callable[[ContainerAt], Iterator[tuple[str, str, str]]]


def _container_findings(policy: str, rule: ContainerRule, m: Manifest) -> list[Finding]:
    """`rule` over every container of `m`, one error Finding per problem it yields."""
    return [Finding(policy, "error", resource_id(m), f"{c.path}.{field}", f"container {c.name!r}{problem}", fix)
            for c in manifest_containers(m) for field, problem, fix in rule(c)]


def _pinned_image(c: ContainerAt) -> Iterator[tuple[str, str, str]]:
    problem = image_problem(str(c.container.get("image", "")))
    if problem:
        yield "image", f": {problem}", "pin a released version tag (or a digest) in the component's image table"


def _requests_and_limits(c: ContainerAt) -> Iterator[tuple[str, str, str]]:
    res = c.container.get("resources") or {}
    missing = [f"{section}.{r}" for section in ("requests", "limits") for r in ("cpu", "memory")
               if r not in (res.get(section) or {})]
    if missing:
        yield ("resources", f" has no {', '.join(missing)}",
               "set requests and limits from the component's size table (omgml.k8s.Size)")


def _probes(c: ContainerAt) -> Iterator[tuple[str, str, str]]:
    if c.runs_to_completion:
        return  # done before the pod is ready; a native sidecar (restartPolicy: Always) is not
    for probe in ("readinessProbe", "livenessProbe"):
        if not c.container.get(probe):
            yield probe, f" has no {probe}", f"add a {probe} (omgml.k8s http_probe/tcp_probe/exec_probe)"


def check_images(m: Manifest) -> list[Finding]:
    return _container_findings(IMAGE_POLICY, _pinned_image, m)


def check_resources(m: Manifest) -> list[Finding]:
    return _container_findings(RESOURCES_POLICY, _requests_and_limits, m)


def check_probes(m: Manifest) -> list[Finding]:
    return _container_findings(PROBES_POLICY, _probes, m)
