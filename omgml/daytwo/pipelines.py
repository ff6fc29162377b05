"""Pipelines on the platform's orchestrator — Kubeflow Pipelines, Airflow or Prefect — behind
one interface: list, run (with parameters), watch and logs, plus deploy where the orchestrator
takes pipelines over its API.

Each backend speaks its server's REST API: KFP's v2beta1 API (`/apis/v2beta1`), Airflow 3's
public API (`/api/v2`, a JWT from the simple auth manager's `/auth/token`) and Prefect 3's
server API (`/api`). Run states are mapped onto one vocabulary (`STATES`) so `watch` and
`status` treat them alike.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from omgml.daytwo.http import DayTwoError, JsonApi, NotFound, Unreachable

# The common states: queued → running → success | failed | canceled.
STATES = ("queued", "running", "success", "failed", "canceled")
TERMINAL = frozenset({"success", "failed", "canceled"})


@dataclass(frozen=True)
class PipelineInfo:
    name: str
    id: str
    paused: bool | None = None
    description: str = ""


@dataclass(frozen=True)
class RunInfo:
    pipeline: str
    run_id: str
    state: str  # one of STATES
    raw_state: str
    started: str | None = None
    ended: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "run_id": self.run_id, "state": self.state, "raw_state": self.raw_state,
                "started": self.started, "ended": self.ended}


@dataclass(frozen=True)
class LogLine:
    step: str
    text: str


class Orchestrator(Protocol):
    kind: str

    def pipelines(self) -> list[PipelineInfo]: ...

    def run(self, pipeline: str, params: dict[str, Any]) -> RunInfo: ...

    def get_run(self, pipeline: str, run_id: str) -> RunInfo: ...

    def runs(self, pipeline: str, limit: int) -> list[RunInfo]: ...

    def logs(self, pipeline: str, run_id: str) -> list[LogLine]: ...


def parse_params(items: list[str]) -> dict[str, Any]:
    """`--param key=value` → {key: value}; values are JSON when they parse (numbers, true, lists)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise DayTwoError(f"--param {item!r}: write key=value, e.g. --param epochs=20")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _unknown_pipeline(kind: str, name: str, known: list[str]) -> DayTwoError:
    return DayTwoError(f"no pipeline {name!r} on {kind} (pipelines: {', '.join(sorted(known)) or 'none'}); "
                       "see `omgml pipeline list`")


def watch(orch: Orchestrator, pipeline: str, run_id: str, echo: Callable[[str], None], timeout: float,
          poll: float = 5.0, sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.monotonic) -> RunInfo:
    """Poll a run until it ends (or `timeout` seconds pass), echoing each state change.

    A poll the server does not answer (busy, restarting) is tried again until the deadline: the
    run goes on without the watcher, and a long watch should not end on one slow answer."""
    deadline = clock() + timeout
    last = ""
    while True:
        try:
            info = orch.get_run(pipeline, run_id)
        except Unreachable as exc:
            if clock() >= deadline:
                raise
            echo(f"{pipeline} {run_id}: no answer ({exc}); trying again")
            sleep(poll)
            continue
        if info.raw_state != last:
            echo(f"{pipeline} {run_id}: {info.state} ({info.raw_state})")
            last = info.raw_state
        if info.state in TERMINAL:
            return info
        if clock() >= deadline:
            raise DayTwoError(f"run {run_id} of {pipeline} is still {info.state} after {timeout:.0f}s; watch it "
                              f"again with `omgml pipeline watch`, or raise --timeout")
        sleep(poll)


# --- Airflow ---------------------------------------------------------------------------------------
AIRFLOW_STATES = {"queued": "queued", "running": "running", "success": "success", "failed": "failed"}


@dataclass
class AirflowPipelines:
    """Airflow 3: pipelines are DAGs, runs are DAG runs, logs are task-instance logs."""

    api: JsonApi
    username: str
    password: str
    kind: str = "airflow"
    _token: str | None = field(default=None, repr=False)

    def _auth(self) -> None:
        if self._token is None:
            body = self.api.post("auth/token", {"username": self.username, "password": self.password})
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise DayTwoError("Airflow's /auth/token returned no access_token; is this Airflow 3 with the "
                                  "simple auth manager?")
            self._token = str(token)
            self.api.headers["Authorization"] = f"Bearer {self._token}"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self._auth()
        return self.api.get(f"api/v2/{path}", params)

    def _dag(self, dag_id: str) -> dict[str, Any]:
        try:
            return dict(self._get(f"dags/{dag_id}"))
        except NotFound:
            raise _unknown_pipeline("Airflow", dag_id, [p.name for p in self.pipelines()]) from None

    def pipelines(self) -> list[PipelineInfo]:
        out, offset = [], 0
        while True:
            page = self._get("dags", {"limit": 100, "offset": offset})
            dags = page.get("dags", [])
            out += [PipelineInfo(d["dag_id"], d["dag_id"], bool(d.get("is_paused")), d.get("description") or "")
                    for d in dags]
            offset += len(dags)
            if not dags or offset >= int(page.get("total_entries", 0)):
                return out

    @staticmethod
    def _run(dag_id: str, r: dict[str, Any]) -> RunInfo:
        raw = str(r.get("state") or "queued")
        return RunInfo(dag_id, str(r["dag_run_id"]), AIRFLOW_STATES.get(raw, "running"), raw,
                       r.get("start_date"), r.get("end_date"))

    def run(self, pipeline: str, params: dict[str, Any], unpause: bool = False) -> RunInfo:
        dag = self._dag(pipeline)
        if dag.get("is_paused"):
            if not unpause:
                raise DayTwoError(f"DAG {pipeline!r} is paused: a triggered run would wait; unpause it in the UI "
                                  "or run again with --unpause")
            self._auth()
            self.api.patch(f"api/v2/dags/{pipeline}", {"is_paused": False})
        self._auth()
        run_id = f"omgml__{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
        body = self.api.post(f"api/v2/dags/{pipeline}/dagRuns",
                             {"dag_run_id": run_id, "logical_date": None, "conf": params})
        return self._run(pipeline, body)

    def get_run(self, pipeline: str, run_id: str) -> RunInfo:
        try:
            return self._run(pipeline, self._get(f"dags/{pipeline}/dagRuns/{run_id}"))
        except NotFound:
            self._dag(pipeline)
            raise DayTwoError(f"DAG {pipeline!r} has no run {run_id!r}; see `omgml pipeline list PROJECT "
                              f"{pipeline}`") from None

    def runs(self, pipeline: str, limit: int) -> list[RunInfo]:
        self._dag(pipeline)
        page = self._get(f"dags/{pipeline}/dagRuns", {"limit": limit, "order_by": "-run_after"})
        return [self._run(pipeline, r) for r in page.get("dag_runs", [])]

    def logs(self, pipeline: str, run_id: str) -> list[LogLine]:
        self.get_run(pipeline, run_id)
        tis = self._get(f"dags/{pipeline}/dagRuns/{run_id}/taskInstances").get("task_instances", [])
        out: list[LogLine] = []
        for ti in sorted(tis, key=lambda t: str(t.get("start_date") or "")):
            tries = int(ti.get("try_number") or 0)
            if tries < 1:
                out.append(LogLine(ti["task_id"], f"(no try yet: {ti.get('state') or 'not started'})"))
                continue
            params: dict[str, Any] = {"full_content": "true"}
            if int(ti.get("map_index", -1)) >= 0:
                params["map_index"] = ti["map_index"]
            body = self._get(f"dags/{pipeline}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/{tries}", params)
            for item in body.get("content", []) or []:
                out.append(LogLine(ti["task_id"], _airflow_log_text(item)))
        return out


def _airflow_log_text(item: Any) -> str:
    if isinstance(item, dict):
        parts = [str(item.get(k)) for k in ("timestamp", "level") if item.get(k)]
        event = item.get("event", "")
        return " ".join([*parts, str(event)]).strip()
    return str(item)


# --- Prefect ---------------------------------------------------------------------------------------
PREFECT_STATES = {"SCHEDULED": "queued", "PENDING": "queued", "RUNNING": "running", "COMPLETED": "success",
                  "FAILED": "failed", "CRASHED": "failed", "CANCELLED": "canceled", "CANCELLING": "running",
                  "PAUSED": "running"}


@dataclass
class PrefectPipelines:
    """Prefect 3: pipelines are deployments (`flow/deployment`), runs are flow runs."""

    api: JsonApi
    kind: str = "prefect"

    def _flows(self) -> dict[str, str]:
        return {f["id"]: f["name"] for f in self.api.post("flows/filter", {"limit": 200})}

    def pipelines(self) -> list[PipelineInfo]:
        flows = self._flows()
        deps = self.api.post("deployments/filter", {"limit": 200})
        return [PipelineInfo(f"{flows.get(d['flow_id'], '?')}/{d['name']}", d["id"], bool(d.get("paused")),
                             d.get("description") or "") for d in deps]

    def _deployment(self, pipeline: str) -> dict[str, Any]:
        flow, sep, name = pipeline.partition("/")
        if not sep:
            raise DayTwoError(f"pipeline {pipeline!r}: Prefect pipelines are FLOW/DEPLOYMENT, e.g. "
                              "train-model/train-model (see `omgml pipeline list`)")
        try:
            return dict(self.api.get(f"deployments/name/{flow}/{name}"))
        except NotFound:
            raise _unknown_pipeline("Prefect", pipeline, [p.name for p in self.pipelines()]) from None

    @staticmethod
    def _run(pipeline: str, r: dict[str, Any]) -> RunInfo:
        state = r.get("state") or {}
        raw = str(state.get("type") or "PENDING")
        return RunInfo(pipeline, str(r["id"]), PREFECT_STATES.get(raw, "running"), raw, r.get("start_time"),
                       r.get("end_time"))

    def run(self, pipeline: str, params: dict[str, Any]) -> RunInfo:
        dep = self._deployment(pipeline)
        return self._run(pipeline, self.api.post(f"deployments/{dep['id']}/create_flow_run", {"parameters": params}))

    def get_run(self, pipeline: str, run_id: str) -> RunInfo:
        try:
            return self._run(pipeline, self.api.get(f"flow_runs/{run_id}"))
        except NotFound:
            raise DayTwoError(f"Prefect has no flow run {run_id!r}; see `omgml pipeline list PROJECT {pipeline}`") from None
        except DayTwoError as exc:
            if " 422 " in str(exc):  # not a UUID
                raise DayTwoError(f"run {run_id!r}: Prefect flow run ids are UUIDs") from None
            raise

    def runs(self, pipeline: str, limit: int) -> list[RunInfo]:
        dep = self._deployment(pipeline)
        rows = self.api.post("flow_runs/filter", {"deployments": {"id": {"any_": [dep["id"]]}},
                                                  "sort": "EXPECTED_START_TIME_DESC", "limit": limit})
        return [self._run(pipeline, r) for r in rows]

    def logs(self, pipeline: str, run_id: str) -> list[LogLine]:
        self.get_run(pipeline, run_id)
        out: list[LogLine] = []
        offset = 0
        while True:
            rows = self.api.post("logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC",
                                                 "limit": 200, "offset": offset})
            out += [LogLine(str(r.get("name") or "flow"), f"{r.get('timestamp', '')} {r.get('message', '')}".strip())
                    for r in rows]
            offset += len(rows)
            if len(rows) < 200:
                return out

    def deploy(self, flow_name: str, deployment: str, entrypoint: str, work_pool: str, repository: str,
               branch: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create or update a deployment whose flow runs clone `repository` and run `entrypoint`.

        The flow-run pods have a read-only root filesystem: the clone goes under /tmp."""
        flow = self.api.post("flows/", {"name": flow_name})
        body = {
            "name": deployment, "flow_id": flow["id"], "entrypoint": entrypoint, "work_pool_name": work_pool,
            "pull_steps": [
                {"prefect.deployments.steps.set_working_directory": {"directory": "/tmp"}},
                {"prefect.deployments.steps.git_clone": {"repository": repository, "branch": branch}},
            ],
            "parameters": parameters or {}, "enforce_parameter_schema": False,
        }
        return dict(self.api.post("deployments/", body))


# --- Kubeflow Pipelines ---------------------------------------------------------------------------
KFP = "apis/v2beta1"
KFP_STATES = {"PENDING": "queued", "RUNTIME_STATE_UNSPECIFIED": "queued", "RUNNING": "running",
              "SUCCEEDED": "success", "SKIPPED": "success", "FAILED": "failed", "CANCELING": "running",
              "CANCELED": "canceled", "PAUSED": "running"}


@dataclass
class KfpPipelines:
    """Kubeflow Pipelines v2: pipelines by display name, runs of their latest version.

    KFP's API serves no logs: `logs` reads the step pods' logs through the Kubernetes API
    (`pod_logs`, given when the command can reach the cluster)."""

    api: JsonApi
    namespace: str = ""  # KFP's multi-user namespace; "" on a standalone KFP
    pod_logs: Callable[[str, str], str] | None = None  # (namespace, pod) → text
    steps_namespace: str = ""  # where the step pods run (phases.training.kubeflow.user_namespace)
    kind: str = "kfp"

    def _all(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.api.get(f"{KFP}/pipelines", {"page_size": 100, "page_token": token, "namespace": self.namespace
                                                     or None})
            out += page.get("pipelines", []) or []
            token = page.get("next_page_token")
            if not token:
                return out

    def pipelines(self) -> list[PipelineInfo]:
        return [PipelineInfo(p.get("display_name") or p.get("name") or p["pipeline_id"], p["pipeline_id"],
                             None, p.get("description") or "") for p in self._all()]

    def _pipeline(self, name: str) -> dict[str, Any]:
        found = [p for p in self._all() if name in (p.get("display_name"), p.get("name"), p.get("pipeline_id"))]
        if not found:
            raise _unknown_pipeline("Kubeflow Pipelines", name, [p.name for p in self.pipelines()])
        return found[0]

    def _latest_version(self, pipeline: dict[str, Any]) -> dict[str, Any]:
        page = self.api.get(f"{KFP}/pipelines/{pipeline['pipeline_id']}/versions",
                            {"page_size": 1, "sort_by": "created_at desc"})
        versions = page.get("pipeline_versions", []) or []
        if not versions:
            raise DayTwoError(f"pipeline {pipeline.get('display_name')!r} has no version to run; upload one with "
                              "`omgml pipeline deploy`")
        return dict(versions[0])

    @staticmethod
    def _run(pipeline: str, r: dict[str, Any]) -> RunInfo:
        raw = str(r.get("state") or "PENDING")
        return RunInfo(pipeline, str(r["run_id"]), KFP_STATES.get(raw, "running"), raw, r.get("created_at"),
                       r.get("finished_at"))

    def run(self, pipeline: str, params: dict[str, Any]) -> RunInfo:
        p = self._pipeline(pipeline)
        v = self._latest_version(p)
        body = {"display_name": f"{pipeline} {datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
                "pipeline_version_reference": {"pipeline_id": p["pipeline_id"],
                                               "pipeline_version_id": v["pipeline_version_id"]},
                "runtime_config": {"parameters": params}}
        return self._run(pipeline, self.api.post(f"{KFP}/runs", body))

    def get_run(self, pipeline: str, run_id: str) -> RunInfo:
        return self._run(pipeline, self._raw_run(pipeline, run_id))

    def _raw_run(self, pipeline: str, run_id: str) -> dict[str, Any]:
        try:
            return dict(self.api.get(f"{KFP}/runs/{run_id}"))
        except NotFound:
            raise DayTwoError(f"Kubeflow Pipelines has no run {run_id!r}; see `omgml pipeline list PROJECT "
                              f"{pipeline}`") from None

    def runs(self, pipeline: str, limit: int) -> list[RunInfo]:
        p = self._pipeline(pipeline)
        page = self.api.get(f"{KFP}/runs", {"page_size": 100, "sort_by": "created_at desc",
                                            "namespace": self.namespace or None})
        mine = [r for r in page.get("runs", []) or []
                if (r.get("pipeline_version_reference") or {}).get("pipeline_id") == p["pipeline_id"]]
        return [self._run(pipeline, r) for r in mine[:limit]]

    def logs(self, pipeline: str, run_id: str) -> list[LogLine]:
        run = self._raw_run(pipeline, run_id)
        tasks = ((run.get("run_details") or {}).get("task_details") or [])
        if self.pod_logs is None:
            raise DayTwoError("Kubeflow Pipelines serves no logs over its API; they are the step pods' logs. Run "
                              "the command with cluster access (no --url/--in-cluster), or use kubectl logs on the "
                              f"pods: {', '.join(t['pod_name'] for t in tasks if t.get('pod_name')) or 'none yet'}")
        out: list[LogLine] = []
        for t in tasks:
            if t.get("pod_name"):
                text = self.pod_logs(self.steps_namespace, str(t["pod_name"]))
                out += [LogLine(str(t.get("display_name") or t["pod_name"]), line) for line in text.splitlines()]
        return out

    def deploy(self, name: str, package: bytes, filename: str) -> dict[str, Any]:
        """Upload a compiled pipeline (YAML): a new pipeline, or a new version of an existing one."""
        existing = [p for p in self._all() if p.get("display_name") == name]
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/x-yaml\r\n\r\n").encode() + package + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if existing:
            version = f"{name}-{datetime.now(UTC):%Y%m%d%H%M%S}"
            return dict(self.api.request("POST", f"{KFP}/pipelines/upload_version", body=body, headers=headers,
                                         params={"name": version, "pipelineid": existing[0]["pipeline_id"]}))
        return dict(self.api.request("POST", f"{KFP}/pipelines/upload", body=body, headers=headers,
                                     params={"name": name, "display_name": name,
                                             "namespace": self.namespace or None}))
