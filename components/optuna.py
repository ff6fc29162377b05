"""Optuna as the HPO service of Airflow and Prefect platforms: RDB storage on the platform's
Postgres and optuna-dashboard.

Optuna is a library: a study runs inside the team's tasks and flows, and several of them search
one study in parallel through a shared RDB storage. That storage is a Postgres consumer database
of its own (`optuna`, created by the foundation with its Secret in the orchestration
namespace). Pods reach it through OPTUNA_STORAGE, a SQLAlchemy URL composed by Kubernetes from
the Secret's keys (`storage_env`), so no password is in a manifest; Airflow's task pods and
Prefect's flow runs get it (blueprints/training.py passes it as their step env).

The dashboard is the official image (ghcr.io/optuna/optuna-dashboard, built by the project's
release workflow with psycopg2 and gunicorn). Its storage URL is a command-line argument or a
TOML file; the container writes the file into an emptyDir at start from OPTUNA_STORAGE (shell
builtin printf, umask 077), so the password is never on a command line; before that, Optuna
creates the storage's tables if they are missing (the dashboard itself never does). The image
has no USER: it runs as an arbitrary non-root uid with a read-only root and /tmp on an emptyDir.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, ComponentArgs, check_component_args
from omgml.components.options import Children
from omgml.components.postgres import consumer_env
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name, service_url

TYPE_TOKEN = "omgml:training:Optuna"

APP = "optuna"
# The Optuna release the sample study and the governance steps pin (PyPI).
OPTUNA_VERSION = "5.1.0"
DASHBOARD_VERSION = "0.21.0"
# Image tags are the release tags (the project's docker-ghcr workflow publishes one per release).
DASHBOARD_IMAGE = f"ghcr.io/optuna/optuna-dashboard:v{DASHBOARD_VERSION}"
UID = 10001
PORT = 8080
CONFIG_DIR = "/run/optuna-dashboard"
# The env var every pod that opens the study storage reads (the sample study does).
STORAGE_ENV = "OPTUNA_STORAGE"
DB_PREFIX = "OPTUNA_DB"

# The dashboard opens the storage with skip_table_creation, so on a fresh platform (no study
# yet) it would exit on the missing tables: Optuna's own RDBStorage creates the schema first
# (create-if-absent, so a study starting at the same time is fine). The URL stays in the env.
SCHEMA_CHECK = f'python -c \'import os, optuna; optuna.storages.RDBStorage(os.environ["{STORAGE_ENV}"])\''
DASHBOARD_SCRIPT = (
    "set -e\numask 077\n"
    f"{SCHEMA_CHECK}\n"
    f'printf \'[optuna_dashboard]\\nstorage = "%s"\\n\' "${STORAGE_ENV}" > {CONFIG_DIR}/dashboard.toml\n'
    f"exec optuna-dashboard --from-config {CONFIG_DIR}/dashboard.toml --host 0.0.0.0 --port {PORT} "
    "--server gunicorn --quiet\n"
)

SIZING = sizes.container("optuna")


@dataclass(frozen=True, kw_only=True)
class OptunaArgs(ComponentArgs):
    """`namespace`: where the studies' pods run (the orchestration namespace)."""

    instance: str = APP
    # The Postgres consumer Secret of `optuna` in `namespace` (host, port, database, username, password).
    database_secret: pulumi.Input[str]
    dashboard: bool = True


def storage_env(database_secret: pulumi.Input[str]) -> list[kube.JsonDict]:
    """OPTUNA_STORAGE for any pod in the namespace, composed from the consumer Secret. psycopg2
    is named: the official images (dashboard, the steps' pinned packages) carry psycopg2."""
    return consumer_env(database_secret, DB_PREFIX, STORAGE_ENV, "psycopg2")


def resolve(args: OptunaArgs) -> str | None:
    """The dashboard's object name after the common checks; None without the dashboard."""
    check_component_args("OptunaArgs", args, SIZING)
    return dashboard_name(args) if args.dashboard else None


def labels(args: OptunaArgs) -> dict[str, str]:
    return standard_labels(APP, args.instance, "dashboard", DASHBOARD_VERSION)


def selector(args: OptunaArgs) -> dict[str, str]:
    return selector_labels(APP, args.instance, "dashboard")


def dashboard_name(args: OptunaArgs) -> str:
    return k8s_name(args.instance, "dashboard")


def dashboard_deployment(args: OptunaArgs) -> kube.JsonDict:
    container: kube.JsonDict = {
        "name": "dashboard",
        "image": DASHBOARD_IMAGE,
        "command": ["/bin/sh", "-c", DASHBOARD_SCRIPT],
        "env": [kube.plain_env("HOME", "/tmp"), *storage_env(args.database_secret)],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": SIZING[args.profile].resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # /api/meta answers once the app is up; it reads nothing from the storage.
        "startupProbe": kube.http_probe("/api/meta", "http", period=5, failures=60),
        "readinessProbe": kube.http_probe("/api/meta", "http", period=10, failures=3),
        "livenessProbe": kube.http_probe("/api/meta", "http", period=30, failures=5, timeout=10),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = kube.restricted_pod_spec(dashboard_name(args), UID, [container], volumes=[
        # Holds the TOML with the storage URL: memory-backed, so the password never touches a disk.
        {"name": "config", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ])
    return kube.deployment_spec(selector(args), kube.pod_template(labels(args), pod), strategy=kube.RECREATE)


class Optuna(Component[OptunaArgs, str | None], type_token=TYPE_TOKEN, resolve=resolve):
    """optuna-dashboard on the study storage; `.dashboard_url` ("" without the dashboard)."""

    dashboard_url: str

    def build(self, name: str, args: OptunaArgs, obj: str | None, children: Children) -> pulumi.Inputs:
        ns = args.namespace
        self.dashboard_url = ""
        if obj is not None:
            sa = k8s.core.v1.ServiceAccount(
                f"{name}-sa", metadata=kube.service_account_metadata(obj, ns, labels(args)),
                automount_service_account_token=False, opts=children())
            svc = k8s.core.v1.Service(f"{name}-svc", metadata=kube.metadata(obj, ns, labels(args)),
                                      spec=kube.service_spec(selector(args), [("http", PORT)]), opts=children())
            k8s.apps.v1.Deployment(f"{name}-dashboard", metadata=kube.metadata(obj, ns, labels(args)),
                                   spec=dashboard_deployment(args), opts=children(sa, svc))
            self.dashboard_url = service_url(obj, ns, PORT)
        return {"dashboard_url": self.dashboard_url}
