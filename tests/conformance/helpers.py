"""Shared steps of the conformance tests: clients in pods, rendered env and Secrets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.conformance.harness.runner import Platform

DATA = "omgml-data"


def last_json(output: str) -> dict[str, Any]:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise AssertionError(f"no JSON result in the pod's output:\n{output[-3000:]}")


def env_of(platform: Platform, kind: str, name: str, container: str | None = None) -> dict[str, str]:
    """The resolved environment a rendered container gets (what the kubelet would give it)."""
    from tests.conformance.harness.pods import container_env, pods_for

    obj = platform.render.find(kind, name)
    pod = pods_for(obj.manifest)[0]
    c = pod.container(container) if container else pod.containers()[0]
    return container_env(pod, c, platform.objects)


def secret(platform: Platform, name: str, key: str, namespace: str = DATA) -> str:
    data = platform.objects.secret(namespace, name)
    assert data is not None and key in data, f"Secret {namespace}/{name} has no key {key}"
    return data[key]


def s3_env(platform: Platform) -> dict[str, str]:
    """An S3 client's env for the platform's object store, from its bucket Job (the one object
    every in-cluster store renders): its keys, region and endpoint (made fully qualified, so it
    resolves from any namespace)."""
    from urllib.parse import urlsplit

    job = next(o for o in platform.render.of_kind("Job") if o.name.startswith("objectstore-buckets"))
    env = env_of(platform, "Job", job.name)
    endpoint = urlsplit(env["S3_ENDPOINT"])
    host = endpoint.hostname or ""
    if "." not in host:
        host = f"{host}.{job.namespace}.svc.cluster.local"
    return {"AWS_ENDPOINT_URL": f"{endpoint.scheme}://{host}:{endpoint.port}",
            "AWS_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"],
            "AWS_DEFAULT_REGION": env["AWS_DEFAULT_REGION"]}


def run_client(platform: Platform, namespace: str, piece: str, argv: list[str], env: dict[str, str] | None = None,
               files: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str]:
    return platform.client(namespace, f"conformance/client:{piece}", argv, env=env, files=files, timeout=timeout)


def workload_name(platform: Platform, kind: str, suffix: str) -> str:
    """The rendered name of a workload whose name ends with `suffix` (names carry the platform's)."""
    found = [o.name for o in platform.render.of_kind(kind) if o.name == suffix or o.name.endswith(f"-{suffix}")]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} named *{suffix}, found {found}")
    return found[0]


def http_json(platform: Platform, namespace: str, url: str, method: str = "GET", body: str | None = None,
              piece: str = "mlflow") -> Any:
    """A JSON HTTP call from a pod in `namespace` (so the platform's NetworkPolicies apply)."""
    argv = ["curl", "-sS", "--fail-with-body", "--max-time", "20", "-X", method, url]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "-d", body]
    code, out = run_client(platform, namespace, piece, argv)
    assert code == 0, f"{method} {url} failed:\n{out[-2000:]}"
    text = out.strip().splitlines()[-1] if out.strip() else ""
    return json.loads(text)


def eventually(what: str, check: Callable[[], Any], timeout: float, every: float = 5.0) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s; last seen: {str(last)[:2000]}")
