"""The lineage catalog: an OpenLineage API on the platform's Postgres (Feast's lineage server).

Producers POST OpenLineage run events to `<url>/api/v1/lineage` (the path Marquez uses too, so
a producer's configuration does not change if the catalog does): the data-quality runs, Airflow
through its OpenLineage provider, pipeline steps through the OpenLineage client (the
`data-connections` bundle gives them OPENLINEAGE_URL). The server keeps jobs, datasets, runs and
their edges in its own Postgres database and answers lineage queries:
`/api/v1/lineage/openlineage/graph/dataset/<namespace>/<name>` (upstream and downstream),
`/jobs`, `/datasets`, `/runs`, `/namespaces`.

Why Feast's server (Feast 0.66 `feast serve_lineage`) and not Marquez: docs/adr of a project
with lineage says it in full. In short: it runs in the feature-server image the platform already
pins (no second image, no JVM), keeps its data on the platform's Postgres, and it is the one
OpenLineage API this project can run for real in its conformance tier (Maven Central has no
Marquez API jar). The server needs a feature_store.yaml; its registry here is a scratch file
(the lineage server reads no feature definitions) and only `openlineage.consumer` matters. The
file holds no secret: Feast expands `${VAR}` before parsing, and the database password comes
from the consumer Secret by secretKeyRef.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, ServerArgs, check_component_args, require_between
from omgml.components.contracts import PostgresDatabase
from omgml.components.credentials import secret_checksum
from omgml.components.feast import IMAGE, UID
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name, service_url

TYPE_TOKEN = "omgml:data:Lineage"

APP = "lineage"
VERSION = "0.66.0"  # Feast's release: the server is `feast serve_lineage` of the feature-server image
PORT = 6580  # Feast's DEFAULT_LINEAGE_SERVER_PORT
CONFIG_DIR = "/etc/lineage"
CONFIG_FILE = "feature_store.yaml"
PASSWORD_ENV = "LINEAGE_DB_PASSWORD"
EVENTS_ENDPOINT = "api/v1/lineage"
DEFAULT_INSTANCE = "lineage"
SIZES = sizes.container("lineage")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class LineageArgs(ServerArgs):
    instance: str = DEFAULT_INSTANCE
    database: PostgresDatabase
    # Days of events and runs kept; 0 keeps everything.
    retention_days: int = 30
    # Feast project name of the server's (scratch) registry: letters, digits, '_'.
    project: str = "omgml_lineage"


@dataclass(frozen=True)
class ResolvedLineage:
    args: LineageArgs
    name: str  # Deployment, Service, ServiceAccount, ConfigMap

    @property
    def url(self) -> str:
        """The base URL producers and readers use (events go to <url>/api/v1/lineage)."""
        return service_url(self.name, self.args.namespace, PORT)


def resolve(args: LineageArgs) -> ResolvedLineage:
    check_component_args("LineageArgs", args, SIZES)
    require_between("phases.foundation.lineage.replicas", args.replicas, 1, 5)
    if args.retention_days < 0:
        raise ValueError(f"phases.foundation.lineage.retention_days: {args.retention_days} is negative; use 0 to "
                         "keep every event, or a number of days")
    if not _PROJECT.match(args.project):
        raise ValueError(f"LineageArgs.project: {args.project!r} must be letters, digits and '_'")
    return ResolvedLineage(args=args, name=k8s_name(args.instance))


def lineage_url(namespace: str, instance: str = DEFAULT_INSTANCE) -> str:
    """The server's URL without building it (later phases and producers in other components)."""
    return service_url(k8s_name(instance), namespace, PORT)


def server_config(args: LineageArgs) -> kube.JsonDict:
    """feature_store.yaml of the lineage server: `${LINEAGE_DB_PASSWORD}` instead of the password."""
    db = args.database
    return {
        "project": args.project,
        "provider": "local",
        # The lineage server reads no feature definitions: a scratch registry on the emptyDir.
        "registry": {"registry_type": "file", "path": "/tmp/registry.db"},
        "online_store": {"type": "sqlite", "path": "/tmp/online.db"},
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
        "openlineage": {
            # The server receives events; it emits none of its own.
            "enabled": False,
            "consumer": {
                "enabled": True,
                "store_type": "sql",
                "connection_string": (f"postgresql+psycopg://{db.username}:${{{PASSWORD_ENV}}}"
                                      f"@{db.host}:{db.port}/{db.database}"),
                "retention_days": args.retention_days,
            },
        },
    }


def server_config_yaml(args: LineageArgs) -> str:
    return yaml.safe_dump(server_config(args), sort_keys=False)


def _labels(r: ResolvedLineage, component: str = "server") -> dict[str, str]:
    return standard_labels(APP, r.args.instance, component, VERSION)


def lineage_deployment(r: ResolvedLineage, credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    a = r.args
    container: kube.JsonDict = {
        "name": "lineage",
        "image": IMAGE,
        # -c: a writable scratch "repo" (nothing is kept there); -f: the ConfigMap's file.
        "command": ["feast", "-c", "/tmp", "-f", f"{CONFIG_DIR}/{CONFIG_FILE}", "serve_lineage",
                    "-h", "0.0.0.0", "-p", str(PORT)],
        "env": [
            kube.secret_env(PASSWORD_ENV, a.database.password_ref.secret_name, a.database.password_ref.key),
            kube.plain_env("HOME", "/tmp"),
        ],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": SIZES[a.profile].resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "startupProbe": kube.tcp_probe("http", period=5, failures=60),
        # The namespaces list reads the database: out of rotation while Postgres is away, but
        # not restarted for it (liveness only checks the port).
        "readinessProbe": kube.http_probe("/api/v1/lineage/openlineage/namespaces", "http", period=10, failures=3),
        "livenessProbe": kube.tcp_probe("http", period=20, failures=6),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = kube.restricted_pod_spec(r.name, UID, [container], fs_group=UID, volumes=[
        {"name": "config", "configMap": {"name": r.name}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ])
    annotations: dict[str, pulumi.Input[str]] = {
        "omgml.dev/config-checksum": hashlib.sha256(server_config_yaml(a).encode()).hexdigest()[:16]}
    if credentials_checksum is not None:
        annotations["omgml.dev/credentials-checksum"] = credentials_checksum
    return kube.deployment_spec(selector_labels(APP, a.instance, "server"),
                           kube.pod_template(_labels(r), pod, annotations), replicas=a.replicas, strategy=kube.SURGE_ONE)


class Lineage(Component[LineageArgs, ResolvedLineage], type_token=TYPE_TOKEN, resolve=resolve):
    """The OpenLineage API; `.url` is what producers set as OPENLINEAGE_URL."""

    url: str
    service_name: str

    def build(self, name: str, args: LineageArgs, r: ResolvedLineage, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: _labels(r, part), "server")

        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(r.name), automount_service_account_token=False,
                                        opts=children())
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta(r.name, "config"),
                                       data={CONFIG_FILE: server_config_yaml(args)}, opts=children())
        svc = k8s.core.v1.Service(f"{name}-svc", metadata=meta(r.name),
                                  spec=kube.service_spec(selector_labels(APP, args.instance, "server"), [("http", PORT)]),
                                  opts=children())
        k8s.apps.v1.Deployment(f"{name}-server", metadata=meta(r.name),
                               spec=lineage_deployment(r, secret_checksum(args.database.password)),
                               opts=children(sa, config, svc))
        if args.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta(r.name),
                                              spec=kube.pdb_spec(selector_labels(APP, args.instance, "server")),
                                              opts=children())
        self.url = r.url
        self.service_name = r.name
        return {"url": self.url, "service_name": self.service_name}
