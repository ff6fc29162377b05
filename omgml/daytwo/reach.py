"""Where the platform's services are, and how a command on a laptop reaches them.

`platform_endpoints(spec)` names each service the platform deploys (Service, namespace, port,
API path) from the same naming rules the components use; tests/daytwo checks it against every
rendered Service. A command reaches a service one of three ways (`Reach`):

- `--url URL`: the service at that address (an ingress, a port-forward of your own, a team's
  existing Airflow);
- `--in-cluster`: the Service's cluster DNS name, for commands run in a pod or a CI job inside
  the cluster;
- otherwise an automatic port-forward through the Kubernetes API of the project's cluster (what
  `kubectl port-forward svc/NAME PORT` does): a loopback listener whose connections are relayed
  to a ready pod behind the Service, for as long as the command runs.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omgml.daytwo.http import DayTwoError

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec


@dataclass(frozen=True)
class Endpoint:
    """A platform service: its Kubernetes Service and the path its API lives under."""

    service: str  # key: mlflow, airflow, prefect, kfp, prometheus, alertmanager, pushgateway, evidently
    title: str
    namespace: str
    name: str
    port: int
    path: str = ""

    @property
    def in_cluster_url(self) -> str:
        return f"http://{self.name}.{self.namespace}.svc.cluster.local:{self.port}{self.path}"

    def port_forward_line(self, context: str | None = None) -> str:
        ctx = f"--context {context} " if context else ""
        return f"kubectl {ctx}-n {self.namespace} port-forward svc/{self.name} {self.port}:{self.port}"


def platform_endpoints(spec: PlatformSpec) -> dict[str, Endpoint]:
    """The services `spec` deploys that the day-two commands talk to, by key."""
    from omgml.components.airflow import API_PORT as AIRFLOW_PORT
    from omgml.components.airflow import DEFAULT_INSTANCE as AIRFLOW_INSTANCE
    from omgml.components.evidently.component import UI_PORT, evidently_name
    from omgml.components.kubeflow.release import API_HTTP_PORT, API_SERVICE
    from omgml.components.mlflow import DEFAULT_INSTANCE as MLFLOW_INSTANCE
    from omgml.components.mlflow import PORT as MLFLOW_PORT
    from omgml.components.prefect import DEFAULT_INSTANCE as PREFECT_INSTANCE
    from omgml.components.prefect import PORT as PREFECT_PORT
    from omgml.components.prometheus.alertmanager import ALERTMANAGER_PORT
    from omgml.components.prometheus.pushgateway import PUSHGATEWAY_PORT
    from omgml.components.prometheus.server import PROMETHEUS_PORT
    from omgml.naming import k8s_name

    f, t, s = spec.phases.foundation, spec.phases.training, spec.phases.serving
    out: dict[str, Endpoint] = {}

    def add(e: Endpoint) -> None:
        out[e.service] = e

    if f.mlflow.enabled:
        add(Endpoint("mlflow", "MLflow", f.namespace, k8s_name(MLFLOW_INSTANCE), MLFLOW_PORT))
    if t.enabled and t.kubeflow.enabled:
        add(Endpoint("kfp", "Kubeflow Pipelines", t.kubeflow.namespace, API_SERVICE, API_HTTP_PORT))
    orch = t.orchestration.namespace
    if t.enabled and t.airflow.enabled:
        add(Endpoint("airflow", "Airflow", orch, k8s_name(AIRFLOW_INSTANCE, "api-server"), AIRFLOW_PORT))
    if t.enabled and t.prefect.enabled:
        add(Endpoint("prefect", "Prefect", orch, k8s_name(PREFECT_INSTANCE, "server"), PREFECT_PORT, "/api"))
    if s.enabled and s.prometheus.enabled:
        p = s.prometheus
        add(Endpoint("prometheus", "Prometheus", s.namespace, k8s_name(spec.name, "prometheus"), PROMETHEUS_PORT))
        if p.alertmanager:
            add(Endpoint("alertmanager", "Alertmanager", s.namespace, k8s_name(spec.name, "alertmanager"),
                         ALERTMANAGER_PORT))
        if p.pushgateway:
            add(Endpoint("pushgateway", "Pushgateway", s.namespace, k8s_name(spec.name, "pushgateway"),
                         PUSHGATEWAY_PORT))
    if s.enabled and s.evidently.enabled:
        add(Endpoint("evidently", "Evidently", s.namespace, evidently_name(spec.name), UI_PORT))
    return out


def require_endpoint(spec: PlatformSpec, service: str, field: str) -> Endpoint:
    """The endpoint of `service`, or an error naming the spec field that turns it on."""
    found = platform_endpoints(spec).get(service)
    if found is None:
        raise DayTwoError(f"this platform deploys no {service} ({field} is off in omgml.yaml); "
                          f"turn it on, or point the command at one with --url")
    return found


# --- the project's cluster -------------------------------------------------------------------------
def project_context(project: Path, spec: PlatformSpec, prefix: str = "dev") -> str | None:
    """The kubeconfig context the project's stacks deploy to (stacks/Pulumi.<prefix>-foundation.yaml)."""
    from omgml.deploy.runner import stack_config
    from omgml.naming import stack_name

    value = stack_config(project, stack_name(prefix, "foundation")).get("kubernetes:context")
    return str(value) if value else None


def kube_api_client(context: str | None) -> Any:
    """A kubernetes ApiClient for `context` (None: the kubeconfig's current context)."""
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        return config.new_client_from_config(context=context)
    except (ConfigException, FileNotFoundError, OSError) as exc:
        which = f"context {context!r}" if context else "the current kubeconfig context"
        raise DayTwoError(f"cannot use {which}: {exc}; give --context, --url or --in-cluster") from None


# --- port-forward ------------------------------------------------------------------------------------
def ready_pod_for_service(core: Any, namespace: str, service: str, port: int) -> tuple[str, int]:
    """A ready pod behind Service `service` and the container port its `port` leads to."""
    from kubernetes.client.exceptions import ApiException

    try:
        svc = core.read_namespaced_service(service, namespace)
    except ApiException as exc:
        if exc.status == 404:
            raise DayTwoError(f"no Service {namespace}/{service} in the cluster: is that phase deployed "
                              "(`omgml status`)?") from None
        raise DayTwoError(f"cannot read Service {namespace}/{service}: {exc.reason}") from None
    except Exception as exc:  # urllib3 connection errors: the API server is not there
        raise DayTwoError(f"cannot reach the Kubernetes API: {exc}; is the cluster up (`omgml status`)?") from None
    target: int | str = port
    for p in svc.spec.ports or []:
        if p.port == port:
            target = p.target_port if p.target_port is not None else port
    selector = ",".join(f"{k}={v}" for k, v in sorted((svc.spec.selector or {}).items()))
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items if selector else []
    for pod in pods:
        conditions = {c.type: c.status for c in (pod.status.conditions or [])}
        if pod.status.phase != "Running" or conditions.get("Ready") != "True":
            continue
        if isinstance(target, int) or str(target).isdigit():
            return pod.metadata.name, int(target)
        for c in pod.spec.containers:
            for cp in c.ports or []:
                if cp.name == target:
                    return pod.metadata.name, int(cp.container_port)
    raise DayTwoError(f"no ready pod behind Service {namespace}/{service}; check it with `omgml status`")


class PortForward:
    """A loopback listener relaying each connection to `open_upstream()` (a socket to the pod).

    With the Kubernetes API the upstream is kubernetes.stream.portforward's socket, as
    `kubectl port-forward` does; tests give a plain TCP connection."""

    def __init__(self, open_upstream: Callable[[], socket.socket]) -> None:
        self.open_upstream = open_upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="omgml-port-forward", daemon=True)

    def __enter__(self) -> PortForward:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.server.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = self.open_upstream()
        except Exception:  # the connection is refused; the client sees it closed
            client.close()
            return
        pair = {client: upstream, upstream: client}
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(list(pair), [], [], 0.5)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()


def kube_upstream(core: Any, namespace: str, pod: str, port: int) -> Callable[[], socket.socket]:
    def open_upstream() -> socket.socket:
        from kubernetes.stream import portforward

        pf = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
        sock: socket.socket = pf.socket(port)
        sock.setblocking(True)
        return sock

    return open_upstream


@dataclass(frozen=True)
class Reach:
    """How a command reaches the platform's services (see the module docstring)."""

    url: str | None = None
    in_cluster: bool = False
    context: str | None = None

    @contextlib.contextmanager
    def open(self, endpoint: Endpoint | None, what: str) -> Iterator[str]:
        """The base URL to call for `endpoint` while the block runs."""
        if self.url:
            yield self.url.rstrip("/")
            return
        if endpoint is None:
            raise DayTwoError(f"this platform deploys no {what}; give its address with --url")
        if self.in_cluster:
            yield endpoint.in_cluster_url
            return
        from kubernetes import client

        core = client.CoreV1Api(kube_api_client(self.context))
        pod, port = ready_pod_for_service(core, endpoint.namespace, endpoint.name, endpoint.port)
        with PortForward(kube_upstream(core, endpoint.namespace, pod, port)) as pf:
            yield f"http://127.0.0.1:{pf.port}{endpoint.path}"

    def hint(self, endpoint: Endpoint | None) -> str:
        if self.url:
            return "check --url"
        if self.in_cluster:
            return "is the service up, and does a NetworkPolicy let this pod reach it?"
        line = endpoint.port_forward_line(self.context) if endpoint else ""
        return f"is the pod ready? (`omgml status`; by hand: {line})" if line else "give --url"
