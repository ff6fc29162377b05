"""Loopback stand-ins for the servers the day-two commands talk to, for the default tier.

`FakeMlflow` keeps MLflow's registry REST shapes (api/2.0, MLflow 3); `FakeKfp` serves the KFP
v2beta1 REST contract (paths and field names as in the published swagger, which the generated
kfp-server-api 2.17 client mirrors). The real MLflow, Airflow and Prefect are exercised in the
conformance tier; the real KFP backend cannot run on this machine (docs/conformance.md).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.http_stub import RoutingHandler

Route = Callable[[str, dict[str, list[str]], Any], tuple[int, Any]]


class _Handler(RoutingHandler):
    server: _Server

    def route(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        body: Any = raw
        if raw and "json" in ctype:
            body = json.loads(raw)
        self.server.calls.append((method, parts.path, body, dict(self.headers)))
        status, payload = self.server.app(method, parts.path, urllib.parse.parse_qs(parts.query), body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    app: Callable[[str, str, dict[str, list[str]], Any], tuple[int, Any]]
    calls: list[tuple[str, str, Any, dict[str, str]]]


@contextmanager
def serve(app: Any) -> Iterator[tuple[str, list[tuple[str, str, Any, dict[str, str]]]]]:
    """Serve `app(method, path, query, body) -> (status, json)` on loopback; yields (url, calls)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.app = app
    server.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.calls
    finally:
        server.shutdown()
        server.server_close()


def _q(query: dict[str, list[str]], key: str) -> str | None:
    return query.get(key, [None])[0]


def _err(status: int, code: str, message: str) -> tuple[int, Any]:
    return status, {"error_code": code, "message": message}


class FakeMlflow:
    """Experiments, runs (params, metrics, inputs), proxied artifacts and the model registry."""

    def __init__(self) -> None:
        self.experiments: dict[str, str] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.artifacts: dict[str, bytes] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        api = "/api/2.0/mlflow/"
        if path.startswith("/api/2.0/mlflow-artifacts/artifacts/"):
            key = path.removeprefix("/api/2.0/mlflow-artifacts/artifacts/")
            if method == "PUT":
                self.artifacts[key] = body if isinstance(body, bytes) else json.dumps(body).encode()
                return 200, {}
            if key in self.artifacts:
                return 200, self.artifacts[key]
            return _err(404, "RESOURCE_DOES_NOT_EXIST", f"no artifact {key}")
        if not path.startswith(api):
            return 404, {"message": "not found"}
        op = path.removeprefix(api)
        handler = getattr(self, "op_" + op.replace("/", "_").replace("-", "_"), None)
        if handler is None:
            return _err(404, "ENDPOINT_NOT_FOUND", f"{method} {path}")
        result: tuple[int, Any] = handler(query, body)
        return result

    # experiments and runs
    def op_experiments_get_by_name(self, q: Any, b: Any) -> tuple[int, Any]:
        name = _q(q, "experiment_name")
        if name not in self.experiments:
            return _err(404, "RESOURCE_DOES_NOT_EXIST", f"Could not find experiment with name '{name}'")
        return 200, {"experiment": {"experiment_id": self.experiments[name], "name": name}}

    def op_experiments_create(self, q: Any, b: Any) -> tuple[int, Any]:
        self.experiments[b["name"]] = str(len(self.experiments) + 1)
        return 200, {"experiment_id": self.experiments[b["name"]]}

    def op_runs_create(self, q: Any, b: Any) -> tuple[int, Any]:
        run_id = uuid.uuid4().hex
        info = {"run_id": run_id, "experiment_id": b["experiment_id"], "run_name": b.get("run_name"),
                "status": "RUNNING", "artifact_uri": f"mlflow-artifacts:/{b['experiment_id']}/{run_id}/artifacts"}
        self.runs[run_id] = {"info": info, "data": {"metrics": [], "params": [], "tags": []},
                             "inputs": {"dataset_inputs": []}}
        return 200, {"run": self.runs[run_id]}

    def op_runs_log_batch(self, q: Any, b: Any) -> tuple[int, Any]:
        run = self.runs[b["run_id"]]
        run["data"]["params"] += b.get("params", [])
        run["data"]["metrics"] += b.get("metrics", [])
        return 200, {}

    def op_runs_log_inputs(self, q: Any, b: Any) -> tuple[int, Any]:
        self.runs[b["run_id"]]["inputs"]["dataset_inputs"] += b.get("datasets", [])
        return 200, {}

    def op_runs_update(self, q: Any, b: Any) -> tuple[int, Any]:
        self.runs[b["run_id"]]["info"]["status"] = b["status"]
        return 200, {"run_info": self.runs[b["run_id"]]["info"]}

    def op_runs_get(self, q: Any, b: Any) -> tuple[int, Any]:
        run = self.runs.get(_q(q, "run_id") or "")
        return (200, {"run": run}) if run else _err(404, "RESOURCE_DOES_NOT_EXIST", "no run")

    # registry
    def op_registered_models_create(self, q: Any, b: Any) -> tuple[int, Any]:
        if b["name"] in self.models:
            return _err(400, "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={b['name']}) already exists.")
        now = int(time.time() * 1000)
        self.models[b["name"]] = {"name": b["name"], "creation_timestamp": now, "last_updated_timestamp": now,
                                  "aliases": [], "tags": []}
        self.versions[b["name"]] = []
        return 200, {"registered_model": self.models[b["name"]]}

    def _model(self, name: str) -> dict[str, Any]:
        m = dict(self.models[name])
        m["latest_versions"] = self.versions[name][-1:]
        return m

    def op_registered_models_get(self, q: Any, b: Any) -> tuple[int, Any]:
        name = _q(q, "name") or ""
        if name not in self.models:
            return _err(404, "RESOURCE_DOES_NOT_EXIST", f"Registered Model with name={name} not found")
        return 200, {"registered_model": self._model(name)}

    def op_registered_models_search(self, q: Any, b: Any) -> tuple[int, Any]:
        return 200, {"registered_models": [self._model(n) for n in sorted(self.models)]}

    def op_registered_models_alias(self, q: Any, b: Any) -> tuple[int, Any]:
        m = self.models[b["name"]]
        m["aliases"] = [a for a in m["aliases"] if a["alias"] != b["alias"]] + [
            {"alias": b["alias"], "version": str(b["version"])}]
        return 200, {}

    def op_model_versions_create(self, q: Any, b: Any) -> tuple[int, Any]:
        name = b["name"]
        v = {"name": name, "version": str(len(self.versions[name]) + 1), "source": b["source"],
             "run_id": b.get("run_id"), "status": "READY", "current_stage": "None",
             "creation_timestamp": int(time.time() * 1000), "tags": list(b.get("tags", []))}
        self.versions[name].append(v)
        return 200, {"model_version": v}

    def op_model_versions_get(self, q: Any, b: Any) -> tuple[int, Any]:
        name, version = _q(q, "name") or "", _q(q, "version") or ""
        for v in self.versions.get(name, []):
            if v["version"] == version:
                return 200, {"model_version": v}
        return _err(404, "RESOURCE_DOES_NOT_EXIST", f"Model Version (name={name}, version={version}) not found")

    def op_model_versions_search(self, q: Any, b: Any) -> tuple[int, Any]:
        name = (_q(q, "filter") or "").split("'")[1]
        return 200, {"model_versions": self.versions.get(name, [])}

    def op_model_versions_set_tag(self, q: Any, b: Any) -> tuple[int, Any]:
        for v in self.versions[b["name"]]:
            if v["version"] == str(b["version"]):
                v["tags"] = [t for t in v["tags"] if t["key"] != b["key"]] + [{"key": b["key"], "value": b["value"]}]
        return 200, {}


class FakeKfp:
    """KFP v2beta1: pipelines (upload, list, versions), runs (create, get, list). Runs move
    PENDING → RUNNING → SUCCEEDED (or FAILED when a parameter `fail` is true) as they are read."""

    def __init__(self) -> None:
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, int] = {}

    @staticmethod
    def _now() -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def __call__(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        base = "/apis/v2beta1/"
        if not path.startswith(base):
            return 404, {"code": 5, "message": "Not Found"}
        rest = path.removeprefix(base).split("/")
        if rest == ["pipelines", "upload"] and method == "POST":
            return self._upload(query, body, None)
        if rest == ["pipelines", "upload_version"] and method == "POST":
            return self._upload(query, body, _q(query, "pipelineid"))
        if rest == ["pipelines"] and method == "GET":
            return 200, {"pipelines": list(self.pipelines.values()), "total_size": len(self.pipelines)}
        if len(rest) == 3 and rest[0] == "pipelines" and rest[2] == "versions" and method == "GET":
            vs = sorted(self.versions.get(rest[1], []), key=lambda v: v["created_at"], reverse=True)
            return 200, {"pipeline_versions": vs[: int(_q(query, "page_size") or 100)], "total_size": len(vs)}
        if rest == ["runs"] and method == "POST":
            return self._create_run(body)
        if rest == ["runs"] and method == "GET":
            runs = sorted(self.runs.values(), key=lambda r: r["created_at"], reverse=True)
            return 200, {"runs": runs, "total_size": len(runs)}
        if len(rest) == 2 and rest[0] == "runs" and method == "GET":
            run = self.runs.get(rest[1])
            if run is None:
                return 404, {"code": 5, "message": f"Run {rest[1]} not found"}
            self._advance(run)
            return 200, run
        return 404, {"code": 5, "message": f"{method} {path} is not part of the fake"}

    def _upload(self, query: dict[str, list[str]], body: Any, pipeline_id: str | None) -> tuple[int, Any]:
        if not isinstance(body, bytes) or b'name="uploadfile"' not in body:
            return 400, {"code": 3, "message": "the request has no uploadfile part"}
        if pipeline_id is None:
            pipeline_id = uuid.uuid4().hex
            name = _q(query, "name") or "pipeline"
            self.pipelines[pipeline_id] = {"pipeline_id": pipeline_id, "display_name": _q(query, "display_name") or name,
                                           "name": name, "created_at": self._now()}
            self.versions[pipeline_id] = []
            result: dict[str, Any] = self.pipelines[pipeline_id]
        elif pipeline_id not in self.pipelines:
            return 404, {"code": 5, "message": f"pipeline {pipeline_id} not found"}
        version = {"pipeline_id": pipeline_id, "pipeline_version_id": uuid.uuid4().hex,
                   "display_name": _q(query, "name") or "v", "created_at": self._now() + str(len(self.runs)),
                   "package_size": len(body)}
        self.versions[pipeline_id].append(version)
        return 200, (result if _q(query, "pipelineid") is None else version)

    def _create_run(self, body: dict[str, Any]) -> tuple[int, Any]:
        ref = body.get("pipeline_version_reference") or {}
        versions = self.versions.get(ref.get("pipeline_id", ""), [])
        if not any(v["pipeline_version_id"] == ref.get("pipeline_version_id") for v in versions):
            return 400, {"code": 3, "message": "pipeline_version_reference names no pipeline version"}
        run_id = uuid.uuid4().hex
        self.runs[run_id] = {"run_id": run_id, "display_name": body.get("display_name"), "state": "PENDING",
                             "pipeline_version_reference": ref, "runtime_config": body.get("runtime_config") or {},
                             "created_at": self._now(), "storage_state": "AVAILABLE",
                             "run_details": {"task_details": []}}
        return 200, self.runs[run_id]

    def _advance(self, run: dict[str, Any]) -> None:
        n = self.reads[run["run_id"]] = self.reads.get(run["run_id"], 0) + 1
        params = (run.get("runtime_config") or {}).get("parameters") or {}
        if n == 1:
            run["state"] = "RUNNING"
            run["run_details"]["task_details"] = [{"run_id": run["run_id"], "task_id": "t1",
                                                   "display_name": "train-and-register",
                                                   "pod_name": f"train-model-{run['run_id'][:5]}-system-container-impl",
                                                   "state": "RUNNING"}]
        elif n >= 2:
            run["state"] = "FAILED" if params.get("fail") else "SUCCEEDED"
            run["finished_at"] = self._now()
