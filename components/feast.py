"""Feast feature store: the online feature server and a `feast apply` Job for a feature repo.

`feature_store.yaml` is built by a pure function and holds no secret: Feast runs the file
through `os.path.expandvars` before parsing it (feast/repo_config.py, `load_repo_config`), so
passwords appear only as `${VAR}` references, filled in the container from secretKeyRef env.
That lets the file live in a plain ConfigMap.

Stores:
- registry: SQL registry on the Postgres consumer database (psycopg 3 driver, in the image).
- online: Redis (or, with no online store, a pod-local SQLite file: nothing to serve from).
- offline: the `file` store (Dask over Parquet or Delta files). It has no settings of its own;
  data sources name their `s3://<offline bucket>/…` paths, and the S3 endpoint and keys come
  from AWS_ENDPOINT_URL / AWS_* in the environment. FEAST_OFFLINE_URI tells feature repos the
  bucket prefix to use. The spec's `offline_store: delta` is the same store: Delta is a
  FileSource format (DeltaFormat) that the feature repo picks, not another store type.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml.components.contracts import ObjectStoreEndpoint, PostgresDatabase, RedisEndpoint
from omgml.components.credentials import secret_checksum
from omgml.k8s import (
    JsonDict,
    Size,
    exec_probe,
    http_probe,
    plain_env,
    restricted_container_security_context,
    restricted_pod_security_context,
    secret_env,
    tcp_probe,
)
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import DNS_LABEL, Profile
from omgml.spec.foundation import FeatureRepoSpec

TYPE_TOKEN = "omgml:features:Feast"

APP = "feast"
VERSION = "0.66.0"
# Published to quay.io by feast's publish_images workflow (the Helm chart's default too). It
# installs feast[minimal]: redis, postgres (psycopg) and aws (boto3/s3fs) are included, and
# its Dockerfile installs git, which the feature-repo clone below relies on.
IMAGE = f"quay.io/feastdev/feature-server:{VERSION}"
# ubi9 python image: USER 1001 (built to run under an arbitrary uid).
UID = 1001
PORT = 6566
CONFIG_DIR = "/etc/feast"
CONFIG_FILE = "feature_store.yaml"
WORK_DIR = "/tmp"
REPO_DIR = "/workspace/repo"
CHECKSUM_ANNOTATION = "omgml.dev/credentials-checksum"
CONFIG_ANNOTATION = "omgml.dev/config-checksum"
# Env vars feature_store.yaml references (filled by secretKeyRef).
REGISTRY_PASSWORD_ENV = "FEAST_REGISTRY_PASSWORD"
REDIS_PASSWORD_ENV = "FEAST_REDIS_PASSWORD"

_DNS_LABEL = re.compile(DNS_LABEL)
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class FeastSizing:
    server: Size
    workers: int


SIZING: dict[str, FeastSizing] = {
    "laptop": FeastSizing(Size("100m", "384Mi", "1", "1Gi"), 1),
    "small": FeastSizing(Size("250m", "512Mi", "1", "1536Mi"), 2),
    "production": FeastSizing(Size("500m", "1Gi", "2", "2Gi"), 4),
}
APPLY_SIZE = Size("100m", "384Mi", "1", "1Gi")
CLONE_SIZE = Size("50m", "64Mi", "500m", "256Mi")


@dataclass(frozen=True, kw_only=True)
class FeastArgs:
    namespace: str
    instance: str = "feast"
    replicas: int = 1
    profile: Profile = "laptop"
    registry: PostgresDatabase
    online: RedisEndpoint | None
    store: ObjectStoreEndpoint
    offline_bucket: str
    feature_repo: FeatureRepoSpec | None = None
    # Feast project name (letters, digits, '_'): the registry namespace of the feature repo.
    project: str = "omgml"


@dataclass(frozen=True)
class ResolvedFeast:
    args: FeastArgs
    sizing: FeastSizing
    name: str  # Deployment, Service, ServiceAccount
    config_map: str
    apply_job: str | None
    egress_policy: str | None
    pdb: str | None

    @property
    def endpoint(self) -> str:
        return f"http://{self.name}.{self.args.namespace}.svc.cluster.local:{PORT}"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _check_feature_repo(repo: FeatureRepoSpec) -> None:
    if not repo.git_url.startswith("https://"):
        raise ValueError(
            f"FeastArgs.feature_repo.git_url: {repo.git_url!r} is not an https:// URL; the apply Job clones "
            "anonymously over HTTPS, so give the repository's https:// clone URL"
        )
    path = posixpath.normpath(repo.path)
    if repo.path.startswith("/") or path == ".." or path.startswith("../"):
        raise ValueError(
            f"FeastArgs.feature_repo.path: {repo.path!r} must be a relative path inside the repository, "
            "e.g. '.' or 'features'"
        )
    if repo.ref.startswith("-") or any(c.isspace() for c in repo.ref):
        raise ValueError(f"FeastArgs.feature_repo.ref: {repo.ref!r} is not a git branch, tag or commit")


def resolve(args: FeastArgs) -> ResolvedFeast:
    """Defaults and validation; every error names the field, the value and the fix."""
    if not _DNS_LABEL.match(args.namespace):
        raise ValueError(f"FeastArgs.namespace: {args.namespace!r} is not a DNS-1123 label; use lowercase letters, digits and '-'")
    if not _DNS_LABEL.match(args.instance):
        raise ValueError(f"FeastArgs.instance: {args.instance!r} is not a DNS-1123 label; use lowercase letters, digits and '-'")
    if args.profile not in SIZING:
        raise ValueError(f"FeastArgs.profile: {args.profile!r} is unknown; use one of {sorted(SIZING)}")
    if not 1 <= args.replicas <= 10:
        raise ValueError(f"FeastArgs.replicas: must be between 1 and 10, got {args.replicas}")
    if not _PROJECT.match(args.project):
        raise ValueError(f"FeastArgs.project: {args.project!r} must be letters, digits and '_' (not starting with '_')")
    if not _BUCKET.match(args.offline_bucket):
        raise ValueError(f"FeastArgs.offline_bucket: {args.offline_bucket!r} is not a valid S3 bucket name")
    if args.feature_repo is not None:
        _check_feature_repo(args.feature_repo)
    name = k8s_name(args.instance)
    apply_job = None
    if args.feature_repo is not None:
        repo = args.feature_repo
        # Job specs are immutable: another repo, ref, path, config or image is another Job
        # (which runs); the same inputs keep the finished one.
        key = "\n".join([repo.git_url, repo.ref, repo.path, IMAGE, feature_store_yaml(args)])
        apply_job = k8s_name(args.instance, "apply", _short_hash(key))
    return ResolvedFeast(
        args=args,
        sizing=SIZING[args.profile],
        name=name,
        config_map=k8s_name(args.instance, "config"),
        apply_job=apply_job,
        egress_policy=k8s_name(args.instance, "apply-egress") if args.feature_repo is not None else None,
        pdb=name if args.replicas > 1 else None,
    )


def feature_store_config(
    *,
    project: str,
    registry_host: str,
    registry_port: int,
    registry_database: str,
    registry_user: str,
    redis_host: str | None,
    redis_port: int | None,
    redis_tls: bool = False,
) -> JsonDict:
    """The feature_store.yaml mapping. Passwords are `${VAR}` references, never values."""
    registry_uri = (f"postgresql+psycopg://{registry_user}:${{{REGISTRY_PASSWORD_ENV}}}"
                    f"@{registry_host}:{registry_port}/{registry_database}")
    online: JsonDict
    if redis_host is not None:
        conn = f"{redis_host}:{redis_port},password=${{{REDIS_PASSWORD_ENV}}}"
        if redis_tls:
            conn += ",ssl=true"
        online = {"type": "redis", "connection_string": conn}
    else:
        online = {"type": "sqlite", "path": f"{WORK_DIR}/online.db"}
    return {
        "project": project,
        "provider": "local",
        "registry": {
            "registry_type": "sql",
            "path": registry_uri,
            # Readers poll the registry table instead of hitting it per request.
            "cache_ttl_seconds": 60,
            "sqlalchemy_config_kwargs": {"echo": False, "pool_pre_ping": True},
        },
        "online_store": online,
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
    }


def feature_store_yaml(args: FeastArgs) -> str:
    """feature_store.yaml for `args` (reads only plain fields: host names, users, ports)."""
    online = args.online
    return yaml.safe_dump(feature_store_config(
        project=args.project,
        registry_host=args.registry.host,
        registry_port=args.registry.port,
        registry_database=args.registry.database,
        registry_user=args.registry.username,
        redis_host=online.host if online else None,
        redis_port=online.port if online else None,
        redis_tls=online.tls if online else False,
    ), sort_keys=False)


def feast_env(args: FeastArgs) -> list[JsonDict]:
    store = args.store
    env = [
        secret_env(REGISTRY_PASSWORD_ENV, args.registry.password_ref.secret_name, args.registry.password_ref.key),
    ]
    if args.online is not None:
        env.append(secret_env(REDIS_PASSWORD_ENV, args.online.password_ref.secret_name, args.online.password_ref.key))
    env += [
        secret_env("AWS_ACCESS_KEY_ID", store.access_key_ref.secret_name, store.access_key_ref.key),
        secret_env("AWS_SECRET_ACCESS_KEY", store.secret_key_ref.secret_name, store.secret_key_ref.key),
        plain_env("AWS_DEFAULT_REGION", store.region),
        plain_env("FEAST_OFFLINE_URI", f"s3://{args.offline_bucket}/"),
        plain_env("HOME", WORK_DIR),
    ]
    if store.endpoint_url:
        # boto3/s3fs read AWS_ENDPOINT_URL; empty on AWS S3.
        env.append(plain_env("AWS_ENDPOINT_URL", store.endpoint_url))
    return env


def _labels(r: ResolvedFeast, component: str) -> dict[str, str]:
    return standard_labels(APP, r.args.instance, component, VERSION)


def _volumes(r: ResolvedFeast) -> list[JsonDict]:
    return [
        {"name": "config", "configMap": {"name": r.config_map}},
        {"name": "work", "emptyDir": {"sizeLimit": "512Mi"}},
    ]


_MOUNTS = [
    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
    {"name": "work", "mountPath": "/tmp"},
]


def _pod_security() -> JsonDict:
    return restricted_pod_security_context(UID, UID, fs_group=UID)


def feast_deployment(r: ResolvedFeast, credentials_checksum: pulumi.Input[str] | None = None) -> JsonDict:
    container: JsonDict = {
        "name": "feature-server",
        "image": IMAGE,
        # The "repo" is a writable scratch dir (the SQL registry keeps nothing there); the
        # config comes from the ConfigMap (-f). -h 0.0.0.0: the default is loopback only.
        "command": [
            "feast", "-c", WORK_DIR, "-f", f"{CONFIG_DIR}/{CONFIG_FILE}",
            "serve", "-h", "0.0.0.0", "-p", str(PORT), "-w", str(r.sizing.workers),
        ],
        "env": feast_env(r.args),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": r.sizing.server.resources(),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "startupProbe": tcp_probe("http", period=5, failures=60),
        # /health answers 503 while the registry database is unreachable: out of rotation,
        # but not restarted (liveness only checks the port), since a restart cannot fix that.
        "readinessProbe": http_probe("/health", "http", period=10, failures=3),
        "livenessProbe": tcp_probe("http", period=20, failures=6),
        "volumeMounts": list(_MOUNTS),
    }
    annotations: dict[str, pulumi.Input[str]] = {
        # The config is plain text: a changed file rolls the pods that read it at start.
        CONFIG_ANNOTATION: _short_hash(feature_store_yaml(r.args)),
    }
    if credentials_checksum is not None:
        annotations[CHECKSUM_ANNOTATION] = credentials_checksum
    return {
        "replicas": r.args.replicas,
        "selector": {"matchLabels": selector_labels(APP, r.args.instance, "server")},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {
            "metadata": {"labels": _labels(r, "server"), "annotations": annotations},
            "spec": {
                "serviceAccountName": r.name,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": _pod_security(),
                "containers": [container],
                "volumes": _volumes(r),
            },
        },
    }


# git fetch by ref (branch, tag or commit) into an empty repo: `clone --branch` would refuse a
# commit id. The URL and ref come in as env vars, so nothing from the spec is parsed by the shell.
CLONE_SCRIPT = """\
set -eu
git init -q "$REPO_DIR"
cd "$REPO_DIR"
git fetch -q --depth 1 "$FEAST_REPO_URL" "$FEAST_REPO_REF"
git checkout -q FETCH_HEAD
git log -1 --format='feature repo at %H'
"""


def apply_job(r: ResolvedFeast) -> JsonDict:
    """`feast apply` of the spec's feature repo against this deployment's registry and stores."""
    repo = r.args.feature_repo
    if repo is None:
        raise ValueError("apply_job needs FeastArgs.feature_repo")
    repo_path = posixpath.normpath(posixpath.join(REPO_DIR, repo.path))
    clone: JsonDict = {
        "name": "clone",
        # Same image as the server: it ships git, so no extra (unofficial) git image is pulled.
        "image": IMAGE,
        "command": ["/bin/sh", "-c", CLONE_SCRIPT],
        "env": [
            plain_env("REPO_DIR", REPO_DIR),
            plain_env("FEAST_REPO_URL", repo.git_url),
            plain_env("FEAST_REPO_REF", repo.ref),
            plain_env("HOME", WORK_DIR),
            # No credential prompts in a pod: fail fast on a private repository.
            plain_env("GIT_TERMINAL_PROMPT", "0"),
        ],
        "resources": CLONE_SIZE.resources(),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "volumeMounts": [*_MOUNTS, {"name": "repo", "mountPath": "/workspace"}],
    }
    # The Job has no port: the probes watch the registry database it writes to.
    db = r.args.registry
    db_check = ["python", "-c",
                f"import socket; socket.create_connection(({db.host!r}, {db.port}), timeout=3).close()"]
    apply: JsonDict = {
        "name": "apply",
        "image": IMAGE,
        "command": ["feast", "-c", repo_path, "-f", f"{CONFIG_DIR}/{CONFIG_FILE}", "apply"],
        "workingDir": repo_path,
        "env": feast_env(r.args),
        "resources": APPLY_SIZE.resources(),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "readinessProbe": exec_probe(db_check, period=10, failures=3),
        "livenessProbe": exec_probe(db_check, period=20, failures=6),
        "volumeMounts": [*_MOUNTS, {"name": "repo", "mountPath": "/workspace"}],
    }
    return {
        "backoffLimit": 4,
        "activeDeadlineSeconds": 1800,
        "template": {
            "metadata": {"labels": _labels(r, "apply")},
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": r.name,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": _pod_security(),
                "initContainers": [clone],
                "containers": [apply],
                "volumes": [*_volumes(r), {"name": "repo", "emptyDir": {"sizeLimit": "1Gi"}}],
            },
        },
    }


def apply_egress_policy(r: ResolvedFeast) -> JsonDict:
    """The namespace denies egress; only the apply Job's pods may reach a git host (HTTPS)."""
    return {
        "podSelector": {"matchLabels": selector_labels(APP, r.args.instance, "apply")},
        "policyTypes": ["Egress"],
        "egress": [{
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
            "ports": [{"protocol": "TCP", "port": 443}],
        }],
    }


def feast_service(r: ResolvedFeast) -> JsonDict:
    return {
        "type": "ClusterIP",
        "selector": selector_labels(APP, r.args.instance, "server"),
        "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
    }


def feast_pdb(r: ResolvedFeast) -> JsonDict:
    return {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(APP, r.args.instance, "server")}}


class Feast(pulumi.ComponentResource):
    """Feature server (HTTP, `.endpoint`) plus, when a feature repo is given, its `feast apply` Job."""

    endpoint: str

    def __init__(self, name: str, args: FeastArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        r = resolve(args)
        ns = args.namespace
        child = pulumi.ResourceOptions(parent=self)

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": r.name, "namespace": ns, "labels": _labels(r, "server")},
            automount_service_account_token=False,
            opts=child,
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": r.config_map, "namespace": ns, "labels": _labels(r, "config")},
            data={CONFIG_FILE: feature_store_yaml(args)},
            opts=child,
        )
        svc = k8s.core.v1.Service(
            f"{name}-svc",
            metadata={"name": r.name, "namespace": ns, "labels": _labels(r, "server")},
            spec=feast_service(r),
            opts=child,
        )
        secrets = [args.registry.password, args.store.access_key, args.store.secret_key]
        if args.online is not None:
            secrets.append(args.online.password)
        k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata={"name": r.name, "namespace": ns, "labels": _labels(r, "server")},
            spec=feast_deployment(r, secret_checksum(*secrets)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, config, svc]),
        )
        if r.pdb is not None:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"name": r.pdb, "namespace": ns, "labels": _labels(r, "server")},
                spec=feast_pdb(r),
                opts=child,
            )
        if r.apply_job is not None and r.egress_policy is not None:
            egress = k8s.networking.v1.NetworkPolicy(
                f"{name}-apply-egress",
                metadata={"name": r.egress_policy, "namespace": ns, "labels": _labels(r, "apply")},
                spec=apply_egress_policy(r),
                opts=child,
            )
            k8s.batch.v1.Job(
                f"{name}-apply",
                metadata={"name": r.apply_job, "namespace": ns, "labels": _labels(r, "apply"),
                          # A failed apply (bad repo, registry not up yet) is retried on the next `up`.
                          "annotations": {"pulumi.com/replaceUnready": "true"}},
                spec=apply_job(r),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, config, egress]),
            )
        self.endpoint = r.endpoint
        self.register_outputs({"endpoint": self.endpoint})
