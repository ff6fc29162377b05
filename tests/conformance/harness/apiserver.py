"""The tier's Kubernetes API: the little of it that the platform's own controllers call.

Airflow's KubernetesExecutor launches each task as a pod, and Prefect's Kubernetes worker each
flow run as a Job; both go through the API server at KUBERNETES_SERVICE_HOST with their
ServiceAccount's token. The tier runs no API server, so this module serves, on the hub's address
(the "node", where every pod's KUBERNETES_SERVICE_HOST points) over TLS with a certificate from
the run's CA (which every pod's service-account ca.crt holds):

- discovery (/version, /api, /api/v1, /apis, /apis/batch/v1), as clients probe it;
- pods: create, get, list, watch, patch (labels/annotations), delete, log — a created pod is
  run by the tier like any other (its own network namespace, the NetworkPolicies, probes);
- jobs: create, get, list, watch, delete — the Job controller's part: a pod from the template,
  replaced on failure up to backoffLimit, status and conditions from its pods;
- events: an empty list (nothing here records events);
- get and list of what the tier runs from the render (`view`): Deployments, StatefulSets,
  DaemonSets, Jobs, CronJobs, Services, Ingresses and their pods, with the status a cluster's
  controllers would report from the tier's runs (what `omgml status` reads);
- authentication by the pod's projected token, and authorization by the **rendered** Roles,
  RoleBindings, ClusterRoles and ClusterRoleBindings: a verb the platform's RBAC does not grant
  is refused with 403 exactly as on a cluster.

List and watch honour label selectors (=, ==, !=, exists, !exists, in, notin) and the field
selectors these clients send (status.phase, metadata.name). Anything else answers 404.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.http_stub import RoutingHandler

CLONE_NEWNET = 0x40000000
IP_FREEBIND = 15
RESOURCES = {("", "pods"): "Pod", ("batch", "jobs"): "Job", ("", "events"): "Event",
             ("apps", "deployments"): "Deployment", ("apps", "statefulsets"): "StatefulSet",
             ("apps", "daemonsets"): "DaemonSet", ("batch", "cronjobs"): "CronJob", ("", "services"): "Service",
             ("networking.k8s.io", "ingresses"): "Ingress"}
# Kinds only the view holds: read, never written through this API.
READ_ONLY = {"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Service", "Ingress"}
API_VERSIONS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1",
                "CronJob": "batch/v1", "Ingress": "networking.k8s.io/v1"}


# --- selectors --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # = != exists !exists in notin
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.key)
        if self.op == "=":
            return have == self.values[0]
        if self.op == "!=":
            return have != self.values[0]
        if self.op == "exists":
            return self.key in labels
        if self.op == "!exists":
            return self.key not in labels
        if self.op == "in":
            return have in self.values
        return have not in self.values  # notin


def parse_label_selector(text: str) -> list[Requirement]:
    """Kubernetes' label selector syntax (equality- and set-based)."""
    out: list[Requirement] = []
    for part in re.split(r",(?![^()]*\))", text.strip()):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)", part)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            out.append(Requirement(m.group(1), m.group(2), values))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            out.append(Requirement(k.strip(), "!=", (v.strip(),)))
        elif "==" in part or "=" in part:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            out.append(Requirement(k.strip(), "=", (v.strip(),)))
        elif part.startswith("!"):
            out.append(Requirement(part[1:].strip(), "!exists"))
        else:
            out.append(Requirement(part, "exists"))
    return out


def field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for key in path.split("."):
        node = node.get(key, "") if isinstance(node, dict) else ""
    return str(node)


def selected(obj: dict[str, Any], labels: list[Requirement], fields: str) -> bool:
    own = obj.get("metadata", {}).get("labels") or {}
    if not all(r.matches(own) for r in labels):
        return False
    for part in [p for p in fields.split(",") if p.strip()]:
        if "!=" in part:
            k, v = part.split("!=", 1)
            if field_value(obj, k.strip()) == v.strip():
                return False
        else:
            k, v = part.split("==", 1) if "==" in part else part.split("=", 1)
            if field_value(obj, k.strip()) != v.strip():
                return False
    return True


# --- RBAC ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rbac:
    """The rendered RBAC objects; `allows` answers as the API server's RBAC authorizer would."""

    manifests: list[dict[str, Any]]

    def _rules(self, kind: str, name: str, namespace: str | None) -> list[dict[str, Any]]:
        for m in self.manifests:
            if m["kind"] == kind and m["metadata"]["name"] == name and (
                    kind == "ClusterRole" or m["metadata"].get("namespace") == namespace):
                return list(m.get("rules") or [])
        return []

    @staticmethod
    def _binds(binding: dict[str, Any], sa_namespace: str, sa: str) -> bool:
        return any(s.get("kind") == "ServiceAccount" and s.get("name") == sa
                   and s.get("namespace", binding["metadata"].get("namespace")) == sa_namespace
                   for s in binding.get("subjects") or [])

    @staticmethod
    def _grants(rule: dict[str, Any], verb: str, group: str, resource: str) -> bool:
        def has(items: list[str] | None, value: str) -> bool:
            return bool(items) and ("*" in items or value in items)  # type: ignore[operator]

        return has(rule.get("verbs"), verb) and has(rule.get("apiGroups"), group) and has(rule.get("resources"), resource)

    def allows(self, sa_namespace: str, sa: str, verb: str, group: str, resource: str, namespace: str | None) -> bool:
        for b in self.manifests:
            if b["kind"] == "ClusterRoleBinding" and self._binds(b, sa_namespace, sa):
                ref = b["roleRef"]
                if any(self._grants(r, verb, group, resource) for r in self._rules("ClusterRole", ref["name"], None)):
                    return True
            if b["kind"] == "RoleBinding" and namespace is not None and b["metadata"].get("namespace") == namespace \
                    and self._binds(b, sa_namespace, sa):
                ref = b["roleRef"]
                rules = self._rules(ref["kind"], ref["name"], namespace)
                if any(self._grants(r, verb, group, resource) for r in rules):
                    return True
        return False


# --- the store ----------------------------------------------------------------------------------
@dataclass
class Event:
    rv: int
    type: str
    kind: str
    obj: dict[str, Any]


@dataclass
class Store:
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    rv: int = 100
    cond: threading.Condition = field(default_factory=threading.Condition)

    def put(self, kind: str, obj: dict[str, Any], event: str) -> dict[str, Any]:
        with self.cond:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            key = (kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
            if event == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            self.events.append(Event(self.rv, event, kind, copy.deepcopy(obj)))
            self.cond.notify_all()
            return obj

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.cond:
            return self.objects.get((kind, namespace, name))

    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        with self.cond:
            return [copy.deepcopy(o) for (k, ns, _), o in sorted(self.objects.items())
                    if k == kind and (namespace is None or ns == namespace)]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def job_status(job: dict[str, Any], phases: list[str | None]) -> dict[str, Any]:
    """The Job controller's status from its pods' phases: counts, and Complete once one pod
    succeeded or Failed once more pods failed than backoffLimit allows."""
    succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
    active = len(phases) - succeeded - failed
    status: dict[str, Any] = {"startTime": job.get("status", {}).get("startTime") or _now()}
    for key, count in (("active", active), ("succeeded", succeeded), ("failed", failed)):
        if count:
            status[key] = count
    if succeeded:
        status["conditions"] = [{"type": "Complete", "status": "True", "lastTransitionTime": _now()}]
        status["completionTime"] = job.get("status", {}).get("completionTime") or _now()
    elif failed > int(job["spec"].get("backoffLimit", 6)):
        status["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                 "lastTransitionTime": _now()}]
    return status


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


# --- the server ---------------------------------------------------------------------------------
class ApiServer:
    """Serves the store over HTTPS in the hub's network namespace. `run_pod(manifest)` starts a
    pod the API created and returns a callable giving its status (phase, container states)."""

    def __init__(self, rbac: Rbac, run_pod: Callable[[dict[str, Any]], Callable[[], dict[str, Any]]],
                 stop_pod: Callable[[str, str], None], pod_log: Callable[[str, str, str | None], str],
                 view: Callable[[str], list[dict[str, Any]]] | None = None) -> None:
        self.rbac = rbac
        self.run_pod = run_pod
        self.stop_pod = stop_pod
        self.pod_log = pod_log
        self.view = view  # kind → the rendered objects of that kind the tier runs, with their status
        self.store = Store()
        self.tokens: dict[str, tuple[str, str]] = {}  # token → (namespace, service account)
        self.pod_status: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, str, int]] = []  # (identity, verb, path, status) for the summary
        self._server: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle --
    def start(self, netns: str, address: str, port: int, cert: Path, key: Path) -> None:
        sock = listen_in_netns(netns, address, port)
        server = ThreadingHTTPServer((address, port), _Handler, bind_and_activate=False)
        server.socket.close()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        server.socket = ctx.wrap_socket(sock, server_side=True)
        server.daemon_threads = True
        server.api = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, name="tier-apiserver", daemon=True).start()
        threading.Thread(target=self._controllers, name="tier-controllers", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        with self.store.cond:
            self.store.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the controllers: pod status from the runs, Job status from its pods --
    def _controllers(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(Exception):
                self.sync()

    def sync(self) -> None:
        for (kind, ns, name), pod in list(self.store.objects.items()):
            if kind != "Pod" or (ns, name) not in self.pod_status:
                continue
            status = self.pod_status[(ns, name)]()
            if status != pod.get("status"):
                pod = copy.deepcopy(pod)
                pod["status"] = status
                self.store.put("Pod", pod, "MODIFIED")
        for (kind, ns, name), job in list(self.store.objects.items()):
            if kind == "Job":
                self._sync_job(ns, name, job)

    def _sync_job(self, ns: str, name: str, job: dict[str, Any]) -> None:
        pods = [p for p in self.store.list("Pod", ns) if (p["metadata"].get("labels") or {}).get("job-name") == name]
        status = job_status(job, [p.get("status", {}).get("phase") for p in pods])
        if not status.get("active") and not status.get("conditions"):
            self._job_pod(job)  # replace the failed pod
            status["active"] = 1
        old = {k: v for k, v in (job.get("status") or {}).items() if k not in ("conditions",)}
        new = {k: v for k, v in status.items() if k not in ("conditions",)}
        if old != new or bool(job.get("status", {}).get("conditions")) != bool(status.get("conditions")):
            job = copy.deepcopy(job)
            job["status"] = status
            self.store.put("Job", job, "MODIFIED")

    # -- objects --
    def objects(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        """What the API holds of `kind`: what was created through it, then the view's."""
        own = self.store.list(kind, namespace)
        taken = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in own}
        seen = self.view(kind) if self.view is not None else []
        return own + [o for o in seen if (namespace is None or o["metadata"].get("namespace") == namespace)
                      and (o["metadata"].get("namespace"), o["metadata"]["name"]) not in taken]

    def _admit(self, kind: str, resource: str, ns: str, body: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """Store a copy of `body` as the API server would: named (generateName), in `ns`, with a
        uid, a creation time and `status`; a name already taken is a conflict."""
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            meta["name"] = f"{meta.get('generateName', kind.lower() + '-')}{uuid.uuid4().hex[:5]}"
        meta.update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=_now())
        meta.setdefault("labels", {})
        meta.setdefault("annotations", {})
        obj["status"] = status
        if kind == "Pod":
            obj.setdefault("spec", {}).setdefault("serviceAccountName", "default")
        with self._lock:
            if self.store.get(kind, ns, meta["name"]) is not None:
                raise Conflict(f'{resource} "{meta["name"]}" already exists')
            self.store.put(kind, obj, "ADDED")
        return obj

    def create_pod(self, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        pod = self._admit("Pod", "pods", ns, body, {"phase": "Pending"})
        self.pod_status[(ns, pod["metadata"]["name"])] = self.run_pod(copy.deepcopy(pod))
        return pod

    def _job_pod(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        template = copy.deepcopy(job["spec"]["template"])
        labels = {**(template.get("metadata", {}).get("labels") or {}), "job-name": meta["name"],
                  "batch.kubernetes.io/job-name": meta["name"], "controller-uid": meta["uid"],
                  "batch.kubernetes.io/controller-uid": meta["uid"]}
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": f"{meta['name']}-", "labels": labels,
                            "annotations": template.get("metadata", {}).get("annotations") or {},
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                                                 "uid": meta["uid"], "controller": True}]},
               "spec": template["spec"]}
        self.create_pod(meta["namespace"], pod)

    def create_job(self, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        job = self._admit("Job", "jobs.batch", ns, body, {})
        self._job_pod(job)
        return job

    def delete(self, kind: str, ns: str, name: str) -> dict[str, Any]:
        obj = self.store.get(kind, ns, name)
        if obj is None:
            raise Missing(f'{kind.lower()}s "{name}" not found')
        obj = copy.deepcopy(obj)
        obj["metadata"]["deletionTimestamp"] = _now()
        if kind == "Pod":
            self.stop_pod(ns, name)
            self.pod_status.pop((ns, name), None)
        else:
            for p in self.store.list("Pod", ns):
                if (p["metadata"].get("labels") or {}).get("job-name") == name:
                    self.delete("Pod", ns, p["metadata"]["name"])
        self.store.put(kind, obj, "DELETED")
        return obj

    def patch(self, kind: str, ns: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = self.store.get(kind, ns, name)
        if obj is None:
            raise Missing(f'{kind.lower()}s "{name}" not found')
        obj = copy.deepcopy(obj)
        for section in ("labels", "annotations"):
            for k, v in ((body.get("metadata") or {}).get(section) or {}).items():
                if v is None:
                    obj["metadata"].setdefault(section, {}).pop(k, None)
                else:
                    obj["metadata"].setdefault(section, {})[k] = v
        return self.store.put(kind, obj, "MODIFIED")


class Conflict(Exception):
    pass


class Missing(Exception):
    pass


def listen_in_netns(netns: str, address: str, port: int) -> socket.socket:
    """A listening socket in network namespace `netns` (setns in a short-lived thread: the
    namespace is per thread, and a socket stays in the namespace it was created in)."""
    result: dict[str, Any] = {}

    def make() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {netns} failed")
            finally:
                os.close(fd)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # The hub gets its address with the first pod link; free-bind lets the server listen first.
            sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            sock.bind((address, port))
            sock.listen(64)
            result["sock"] = sock
        except Exception as exc:
            result["error"] = exc

    t = threading.Thread(target=make)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    sock: socket.socket = result["sock"]
    return sock


# --- HTTP -----------------------------------------------------------------------------------------
DISCOVERY: dict[str, Any] = {
    "/version": {"major": "1", "minor": "36", "gitVersion": "v1.36.0", "platform": "linux/amd64"},
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": group, "versions": [{"groupVersion": f"{group}/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": f"{group}/v1", "version": "v1"}}
        for group in ("apps", "batch", "networking.k8s.io")]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event", "verbs": ["list", "watch"]},
        {"name": "services", "singularName": "service", "namespaced": True, "kind": "Service", "verbs": ["get", "list"]}]},
    "/apis/batch/v1": {"kind": "APIResourceList", "groupVersion": "batch/v1", "resources": [
        {"name": "jobs", "singularName": "job", "namespaced": True, "kind": "Job",
         "verbs": ["create", "delete", "get", "list", "watch"]},
        {"name": "cronjobs", "singularName": "cronjob", "namespaced": True, "kind": "CronJob", "verbs": ["get", "list"]}]},
    "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
        {"name": f"{kind.lower()}s", "singularName": kind.lower(), "namespaced": True, "kind": kind,
         "verbs": ["get", "list"]} for kind in ("Deployment", "StatefulSet", "DaemonSet")]},
    "/apis/networking.k8s.io/v1": {"kind": "APIResourceList", "groupVersion": "networking.k8s.io/v1", "resources": [
        {"name": "ingresses", "singularName": "ingress", "namespaced": True, "kind": "Ingress", "verbs": ["get", "list"]}]},
}
PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>batch|apps|networking\.k8s\.io)/v1)(?:/namespaces/(?P<ns>[^/]+))?"
                  r"/(?P<res>[a-z]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>log))?$")


class _Handler(RoutingHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    @property
    def api(self) -> ApiServer:
        return self.server.api  # type: ignore[no-any-return]

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else {}

    def route(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""  # the Python client sends "bearer"
        who = self.api.tokens.get(token)
        if who is None:
            self._send(401, status_body(401, "Unauthorized", "Unauthorized"))
            return
        if parts.path in DISCOVERY:
            self._send(200, DISCOVERY[parts.path])
            return
        m = PATH.match(parts.path)
        if m is None or (m.group("group") or "", m.group("res")) not in RESOURCES:
            self._send(404, status_body(404, "NotFound", f"the server could not find the requested resource "
                                                         f"({method} {parts.path})"))
            return
        group, ns, res, name, sub = m.group("group") or "", m.group("ns"), m.group("res"), m.group("name"), m.group("sub")
        watching = query.get("watch") in ("true", "1", "True")
        verb = {"POST": "create", "PATCH": "patch", "DELETE": "delete"}.get(method) or (
            "get" if name else "watch" if watching else "list")
        resource = f"{res}/{sub}" if sub else res
        identity = f"system:serviceaccount:{who[0]}:{who[1]}"
        if not self.api.rbac.allows(who[0], who[1], verb, group, resource, ns):
            scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
            message = (f'{res}{"." + group if group else ""} is forbidden: User "{identity}" cannot {verb} resource '
                       f'"{resource}" in API group "{group}" {scope}')
            self.api.requests.append((identity, verb, parts.path, 403))
            self._send(403, status_body(403, "Forbidden", message))
            return
        self.api.requests.append((identity, verb, parts.path, 200))
        kind = RESOURCES[(group, res)]
        if kind in READ_ONLY and verb not in ("get", "list"):
            self._send(405, status_body(405, "MethodNotAllowed", f"the tier serves {res} for get and list only"))
            return
        try:
            self._dispatch(method, kind, ns, name, sub, query, watching)
        except Missing as exc:
            self._send(404, status_body(404, "NotFound", str(exc)))
        except Conflict as exc:
            self._send(409, status_body(409, "AlreadyExists", str(exc)))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return

    def _dispatch(self, method: str, kind: str, ns: str | None, name: str | None, sub: str | None,
                  query: dict[str, str], watching: bool) -> None:
        api = self.api
        if method == "POST" and ns:
            body = self._body()
            created = api.create_pod(ns, body) if kind == "Pod" else api.create_job(ns, body)
            self._send(201, created)
        elif method == "DELETE" and ns and name:
            self._body()
            self._send(200, api.delete(kind, ns, name))
        elif method == "PATCH" and ns and name:
            self._send(200, api.patch(kind, ns, name, self._body()))
        elif sub == "log" and ns and name:
            self._send(200, api.pod_log(ns, name, query.get("container")).encode(), "text/plain")
        elif name and ns:
            obj = next((o for o in api.objects(kind, ns) if o["metadata"]["name"] == name), None)
            if obj is None:
                raise Missing(f'{kind.lower()}s "{name}" not found')
            self._send(200, obj)
        elif watching:
            self._watch(kind, ns, query)
        else:
            labels = parse_label_selector(query.get("labelSelector", ""))
            items = [o for o in api.objects(kind, ns) if selected(o, labels, query.get("fieldSelector", ""))]
            self._send(200, {"kind": f"{kind}List", "apiVersion": API_VERSIONS.get(kind, "v1"),
                             "metadata": {"resourceVersion": str(api.store.rv)}, "items": items})

    def _watch(self, kind: str, ns: str | None, query: dict[str, str]) -> None:
        store = self.api.store
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = query.get("fieldSelector", "")
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + min(float(query.get("timeoutSeconds") or 300), 300)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if since == 0:  # no resourceVersion: the current objects first, as ADDED
            for o in store.list(kind, ns):
                if selected(o, labels, fields):
                    self._chunk({"type": "ADDED", "object": o})
            since = store.rv
        while time.monotonic() < deadline and not self.api._stop.is_set():
            with store.cond:
                store.cond.wait(timeout=1.0)
                fresh = [e for e in store.events if e.rv > since and e.kind == kind]
            for e in fresh:
                since = e.rv
                if (ns is None or e.obj["metadata"]["namespace"] == ns) and selected(e.obj, labels, fields):
                    self._chunk({"type": e.type, "object": e.obj})
        self._chunk(None)

    def _chunk(self, event: dict[str, Any] | None) -> None:
        data = b"" if event is None else (json.dumps(event) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
