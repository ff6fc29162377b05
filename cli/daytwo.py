"""What `omgml status`, `omgml registry` and `omgml pipeline` share: how they reach the
platform's services (--url, --in-cluster, --context) and which orchestrator they talk to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from omgml.daytwo.reach import Reach
    from omgml.spec import PlatformSpec

ProjectArg = Annotated[Path, typer.Argument(metavar="PROJECT", help="Project folder created by `omgml init` (or its omgml.yaml).")]
UrlOpt = Annotated[str | None, typer.Option(
    "--url", help="The service's address (skips the automatic port-forward), e.g. http://localhost:5000.")]
InClusterOpt = Annotated[bool, typer.Option(
    "--in-cluster", help="Use the Services' cluster DNS names (when running in a pod of the cluster).")]
ContextOpt = Annotated[str | None, typer.Option(
    "--context", help="Kubeconfig context of the cluster (default: the project's stack config).")]
PrefixOpt = Annotated[str, typer.Option("--stack-prefix", metavar="PREFIX",
                                        help="Stacks are PREFIX-PHASE (dev-foundation, …).")]

ORCHESTRATORS = ("kfp", "airflow", "prefect")
AIRFLOW_PASSWORD_ENV = "OMGML_AIRFLOW_PASSWORD"
AIRFLOW_USERNAME_ENV = "OMGML_AIRFLOW_USERNAME"


def reach_for(project: Path, spec: PlatformSpec, url: str | None, in_cluster: bool, context: str | None,
              prefix: str = "dev") -> Reach:
    from omgml.daytwo.reach import Reach, project_context

    if url and in_cluster:
        from omgml.daytwo.http import DayTwoError

        raise DayTwoError("--url and --in-cluster exclude each other; give one")
    if not url and not in_cluster and context is None:
        context = project_context(project if project.is_dir() else project.parent, spec, prefix)
    return Reach(url=url, in_cluster=in_cluster, context=context)


def deployed_orchestrators(spec: PlatformSpec) -> list[str]:
    t = spec.phases.training
    out = []
    if t.enabled and t.kubeflow.enabled:
        out.append("kfp")
    if t.enabled and t.airflow.enabled:
        out.append("airflow")
    if t.enabled and t.prefect.enabled:
        out.append("prefect")
    if t.airflow.connections_bundle and "airflow" not in out:
        out.append("airflow")  # the team's own Airflow, reached with --url
    return out


def choose_orchestrator(spec: PlatformSpec, asked: str | None) -> str:
    from omgml.daytwo.http import DayTwoError

    have = deployed_orchestrators(spec)
    if asked is not None:
        if asked not in ORCHESTRATORS:
            raise DayTwoError(f"--orchestrator {asked!r}: use one of {', '.join(ORCHESTRATORS)}")
        if asked not in have:
            raise DayTwoError(f"--orchestrator {asked}: this platform has {', '.join(have) or 'no orchestrator'} "
                              "(phases.training in omgml.yaml)")
        return asked
    if not have:
        raise DayTwoError("this platform has no orchestrator (phases.training: kubeflow, airflow and prefect are "
                          "off); turn one on in omgml.yaml")
    if len(have) > 1:
        raise DayTwoError(f"this platform has {', '.join(have)}; choose one with --orchestrator")
    return have[0]


def _airflow_credentials(spec: PlatformSpec, reach: Reach) -> tuple[str, str]:
    from omgml.daytwo.http import DayTwoError

    user = os.environ.get(AIRFLOW_USERNAME_ENV, "admin")
    password = os.environ.get(AIRFLOW_PASSWORD_ENV)
    if password:
        return user, password
    if reach.url or reach.in_cluster or not spec.phases.training.airflow.enabled:
        raise DayTwoError(f"Airflow needs a password: set {AIRFLOW_PASSWORD_ENV} (for the platform's Airflow it is "
                          "key admin-password of Secret airflow-secrets in the orchestration namespace)")
    import base64

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from omgml.components.airflow import ADMIN_PASSWORD_KEY, DEFAULT_INSTANCE
    from omgml.daytwo.reach import kube_api_client
    from omgml.naming import k8s_name

    ns = spec.phases.training.orchestration.namespace
    name = k8s_name(DEFAULT_INSTANCE, "secrets")
    try:
        secret = client.CoreV1Api(kube_api_client(reach.context)).read_namespaced_secret(name, ns)
    except ApiException as exc:
        raise DayTwoError(f"cannot read Secret {ns}/{name} for Airflow's password ({exc.reason}); set "
                          f"{AIRFLOW_PASSWORD_ENV} instead") from None
    except Exception as exc:
        raise DayTwoError(f"cannot reach the Kubernetes API to read Airflow's password: {exc}; set "
                          f"{AIRFLOW_PASSWORD_ENV} or start the cluster") from None
    return user, base64.b64decode((secret.data or {})[ADMIN_PASSWORD_KEY]).decode()


@contextmanager
def orchestrator(spec: PlatformSpec, reach: Reach, kind: str) -> Iterator[Any]:
    """The pipelines client of `kind`, connected for the duration of the block."""
    from omgml.daytwo.http import JsonApi
    from omgml.daytwo.pipelines import AirflowPipelines, KfpPipelines, PrefectPipelines
    from omgml.daytwo.reach import platform_endpoints

    endpoint = platform_endpoints(spec).get(kind)
    title = {"kfp": "Kubeflow Pipelines", "airflow": "Airflow", "prefect": "Prefect"}[kind]
    if kind == "prefect" and reach.url and not reach.url.rstrip("/").endswith("/api"):
        reach = type(reach)(url=reach.url.rstrip("/") + "/api", in_cluster=False, context=reach.context)
    with reach.open(endpoint, title) as base:
        api = JsonApi(title, base, hint=reach.hint(endpoint))
        if kind == "airflow":
            user, password = _airflow_credentials(spec, reach)
            yield AirflowPipelines(api, user, password)
        elif kind == "prefect":
            yield PrefectPipelines(api)
        else:
            steps_ns = spec.phases.training.kubeflow.user_namespace
            yield KfpPipelines(api, pod_logs=None if (reach.url or reach.in_cluster) else _pod_logs(reach),
                               steps_namespace=steps_ns)


def _pod_logs(reach: Reach) -> Any:
    def read(namespace: str, pod: str) -> str:
        from kubernetes import client

        from omgml.daytwo.reach import kube_api_client

        core = client.CoreV1Api(kube_api_client(reach.context))
        return str(core.read_namespaced_pod_log(pod, namespace, container="main"))

    return read


def mlflow_api(spec: PlatformSpec, reach: Reach) -> Any:
    """A context manager yielding the MLflow registry client."""
    from omgml.daytwo.http import JsonApi
    from omgml.daytwo.reach import platform_endpoints
    from omgml.daytwo.registry import MlflowRegistry

    @contextmanager
    def opened() -> Iterator[MlflowRegistry]:
        endpoint = platform_endpoints(spec).get("mlflow")
        with reach.open(endpoint, "MLflow (phases.foundation.mlflow)") as base:
            yield MlflowRegistry(JsonApi("MLflow", base, hint=reach.hint(endpoint)))

    return opened()
