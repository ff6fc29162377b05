"""Run the batch scoring job once, from an orchestrator's step, and report how it went.

`python3 submit.py --namespace NS --cronjob NAME [--timeout-seconds S]` creates a Job from the
CronJob's jobTemplate (what `kubectl create job --from=cronjob/NAME` does) through the
Kubernetes API, with the pod's ServiceAccount token, waits until it completes or fails, prints
the driver's log and exits 0 on success, 1 on failure or timeout. So a KFP step (or an Airflow
task, a Prefect flow) that runs it shows the run, its log and its outcome.

Standard library only: it runs in the Spark image's python3 (the KFP component) or any other.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
POLL_SECONDS = 5


class Api:
    """A minimal client of the Kubernetes API: JSON over HTTPS with a bearer token."""

    def __init__(self, base_url: str, bearer: str, ca_file: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.bearer = bearer
        self.context = ssl.create_default_context(cafile=ca_file) if base_url.startswith("https") else None

    @classmethod
    def in_cluster(cls) -> Api:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise SystemExit("submit.py: KUBERNETES_SERVICE_HOST is not set; run it in a pod of the cluster")
        try:
            with open(f"{SA_DIR}/token", encoding="utf-8") as f:
                bearer = f.read().strip()
        except OSError:
            raise SystemExit(f"submit.py: no ServiceAccount token in {SA_DIR}; the step's pod must mount its "
                             "ServiceAccount token (automountServiceAccountToken)") from None
        return cls(f"https://{host}:{port}", bearer, f"{SA_DIR}/ca.crt")

    def request(self, method: str, path: str, body: dict[str, Any] | None = None, raw: bool = False) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.bearer}", "Content-Type": "application/json",
            "Accept": "text/plain" if raw else "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as resp:
                text = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace")[:500]
            raise SystemExit(f"submit.py: {method} {path}: HTTP {err.code}: {detail}") from None
        return text if raw else json.loads(text)


def job_from_cronjob(cronjob: dict[str, Any], run_name: str) -> dict[str, Any]:
    """The Job `kubectl create job --from=cronjob/...` would create: the jobTemplate, owned by the
    CronJob (so its history limits and deletion apply), marked as a manual run."""
    template = cronjob["spec"]["jobTemplate"]
    meta = cronjob["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": run_name,
            "namespace": meta["namespace"],
            "labels": dict(template.get("metadata", {}).get("labels", {})),
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta["name"],
                                 "uid": meta["uid"], "controller": True}],
        },
        "spec": template["spec"],
    }


def run_name(cronjob: str, now: float) -> str:
    """`<cronjob>-manual-<unix time>`, cut so the Job's pods' names stay valid (≤ 63)."""
    suffix = f"-manual-{int(now)}"
    return cronjob[: 52 - len(suffix)].rstrip("-") + suffix


def outcome(job: dict[str, Any]) -> str | None:
    """'Complete' or 'Failed' once the Job has finished, else None."""
    for cond in job.get("status", {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def submit(api: Api, namespace: str, cronjob: str, timeout_seconds: int, clock: Any = time) -> int:
    base = f"/apis/batch/v1/namespaces/{namespace}"
    source = api.request("GET", f"{base}/cronjobs/{cronjob}")
    name = run_name(cronjob, clock.time())
    api.request("POST", f"{base}/jobs", job_from_cronjob(source, name))
    print(f"submit.py: started Job {namespace}/{name} from CronJob {cronjob}", flush=True)
    deadline = clock.time() + timeout_seconds
    result: str | None = None
    while result is None:
        if clock.time() > deadline:
            print(f"submit.py: Job {name} did not finish within {timeout_seconds} s", file=sys.stderr, flush=True)
            return 1
        clock.sleep(POLL_SECONDS)
        result = outcome(api.request("GET", f"{base}/jobs/{name}"))
    pods = api.request("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name%3D{name}")
    for pod in pods.get("items", []):
        pod_name = pod["metadata"]["name"]
        log = api.request("GET", f"/api/v1/namespaces/{namespace}/pods/{pod_name}/log?container=driver", raw=True)
        print(f"--- driver log of {pod_name} ---\n{log}", flush=True)
    print(f"submit.py: Job {name}: {result}", flush=True)
    return 0 if result == "Complete" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a CronJob's job once and wait for it.")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--cronjob", required=True)
    parser.add_argument("--timeout-seconds", type=int, default=6 * 3600)
    args = parser.parse_args(argv)
    return submit(Api.in_cluster(), args.namespace, args.cronjob, args.timeout_seconds)


if __name__ == "__main__":
    sys.exit(main())
