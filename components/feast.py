"""Feast feature store: the online feature server and a `feast apply` Job for a feature repo.

`feature_store.yaml` is built by a pure function and holds no secret: Feast runs the file
through `os.path.expandvars` before parsing it (feast/repo_config.py, `load_repo_config`), so
passwords appear only as `${VAR}` references, filled in the container from secretKeyRef env.
That lets the file live in a plain ConfigMap.

Stores:
- registry: SQL registry on the Postgres consumer database (psycopg 3 driver, in the image).
- online: Redis (or, with no online store, a pod-local SQLite file: nothing to serve from).
- offline `file`: the Dask store over Parquet. It has no settings of its own; data sources
  name their `s3://<offline bucket>/…` paths, and the S3 endpoint and keys come from
  AWS_ENDPOINT_URL / AWS_* in the environment. FEAST_OFFLINE_URI tells feature repos the
  bucket prefix to use. In Feast 0.66 this store reads files with `dd.read_parquet` only: it
  cannot read a Delta table (it would read every Parquet file of every table version).
- offline `delta`: Feast has no Delta offline store of its own. The nearest supported one is
  `duckdb`, whose FileSource reader handles `file_format=DeltaFormat()` (ibis `read_delta`,
  i.e. DuckDB's `delta_scan`, from the `delta` extension). The Delta tables live
  under `s3://<offline bucket>/delta/<table>/` (FEAST_DELTA_URI); a Job puts a marker object
  at each table's prefix. That reserves the location only: a Delta table exists once its
  producer's first commit writes `_delta_log/` (write_deltalake, Spark); omgml does not
  fake a `_delta_log`, which would be an empty table with a schema no producer chose. With an
  online store, a CronJob runs `feast materialize-incremental` on a schedule.

DuckDB and the object store (offline `delta`): `delta_scan` ignores the AWS_* env. The
extension (duckdb-delta, v1.5-variegata, src/functions/delta_scan/delta_multi_file_list.cpp)
configures delta-kernel-rs from the DuckDB S3 secret whose scope matches the path: KEY_ID,
SECRET and SESSION_TOKEN become the object_store keys, REGION `aws_region`, ENDPOINT
`aws_endpoint` (given `http://` when USE_SSL is false, plus `allow_http`), and URL_STYLE
'vhost' alone turns on virtual-hosted requests (path style otherwise). With no secret it
passes no option at all, and object_store (>= 0.13, `parse_url_opts`) builds the store with
`AmazonS3Builder::new()`: AWS S3 with instance-metadata credentials, never SeaweedFS. The data
files themselves are read by DuckDB's httpfs, from the same secret. Feast creates no secret,
and a FileSource's `s3_endpoint_override` does not help: Feast then hands ibis
`storage_options`, which `delta_scan` rejects as an unknown parameter. So every pod that reads
Delta tables (the server, whose /materialize endpoints read the offline store, and the
materialize CronJob) first runs a `duckdb-setup` init container: it installs httpfs and delta
and writes a persistent DuckDB secret (`DUCKDB_SETUP_SCRIPT`) built from the pod's AWS_* env
into $HOME/.duckdb (HOME is the pod's emptyDir), where every DuckDB connection of the Feast
process finds it. No key is in a manifest; the secret file exists only on that emptyDir.
DuckDB downloads the extensions from extensions.duckdb.org, httpfs over plain HTTP (the
install bumps to HTTPS only once httpfs is loaded; extensions are signature-checked on load),
so these pods may reach the internet on ports 80 and 443.

AWS S3 through IRSA (target aws, managed object store): every Feast pod runs as the one
ServiceAccount the IAM role trusts (`service_account_name`, also what `s3_consumers` declares to
the foundation), annotated with the role ARN. The pods get no AWS_ACCESS_KEY_ID/SECRET env at
all: object_store's `AmazonS3Builder::from_env` (arrow-rs-object-store, src/aws/builder.rs)
takes an empty AWS_ACCESS_KEY_ID as a static key and never reaches the web identity. The `file`
store works unchanged: its pyarrow/s3fs filesystems use the SDK credential chain, which picks up
the token EKS mounts (Feast 0.66 `FileSource.create_filesystem_and_path` says so). `delta` does
not: for S3 the `delta` extension reads only the static fields of a DuckDB secret (above; it
has no credential-chain or web-identity path of its own), and without one object_store reads
no web-identity env. So `delta` with IRSA is refused in `resolve` rather than deployed broken.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, ServerArgs, check_component_args, require_between
from omgml.components.contracts import (
    ObjectStoreEndpoint,
    PostgresDatabase,
    RedisEndpoint,
    S3Consumer,
)
from omgml.components.credentials import checksum_annotations, secret_checksum
from omgml.components.options import Children
from omgml.cron import check_schedule
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name, require_bucket_name, service_url
from omgml.spec.data import DataSourceSpec
from omgml.spec.foundation import FeatureRepoSpec

TYPE_TOKEN = "omgml:features:Feast"

APP = "feast"
VERSION = "0.66.0"
# Published to quay.io by feast's publish_images workflow (the Helm chart's default too). It
# installs feast[minimal]: redis, postgres (psycopg) and aws (boto3, fsspec, aiobotocore) are
# included — but not s3fs (feast 0.66.0's metadata), so the `file` offline store's Parquet
# reads of s3:// paths (dask through fsspec) need an environment that adds s3fs: a team's own
# pipeline image or notebook (the conformance tier materializes from such an environment). Its
# Dockerfile installs git, which the feature-repo clone below relies on.
IMAGE = f"quay.io/feastdev/feature-server:{VERSION}"
# ubi9 python image: USER 1001 (built to run under an arbitrary uid).
UID = 1001
PORT = 6566
CONFIG_DIR = "/etc/feast"
CONFIG_FILE = "feature_store.yaml"
WORK_DIR = "/tmp"
REPO_DIR = "/workspace/repo"
CONFIG_ANNOTATION = "omgml.dev/config-checksum"
# Env vars feature_store.yaml references (filled by secretKeyRef).
REGISTRY_PASSWORD_ENV = "FEAST_REGISTRY_PASSWORD"
REDIS_PASSWORD_ENV = "FEAST_REDIS_PASSWORD"
# A managed Redis (ElastiCache) is reached by its own DNS name, known only at deploy time: redis-py
# checks the TLS server name, so the in-cluster alias would fail. The name enters through this env
# var, which Feast expands in feature_store.yaml like the password.
REDIS_HOST_ENV = "FEAST_REDIS_HOST"
# offline_store snowflake: the warehouse's user and password, from the team's existing Secret
# (a `data.sources` entry; its keys `user` and `password`), expanded like the others.
SNOWFLAKE_USER_ENV = "FEAST_SNOWFLAKE_USER"
SNOWFLAKE_PASSWORD_ENV = "FEAST_SNOWFLAKE_PASSWORD"

_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FeastSizing:
    server: kube.Size
    workers: int


SIZING = sizes.rows("feast", FeastSizing)
APPLY_SIZE = kube.Size("100m", "384Mi", "1", "1Gi")
CLONE_SIZE = kube.Size("50m", "64Mi", "500m", "256Mi")


DELTA_PREFIX = "delta"
DELTA_MARKER = "_omgml_table_location"
DEFAULT_MATERIALIZE_SCHEDULE = "0 * * * *"
_TABLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MATERIALIZE_SIZE = kube.Size("100m", "384Mi", "1", "1536Mi")
TABLES_SIZE = kube.Size("50m", "128Mi", "500m", "256Mi")
# Downloads and unpacks the httpfs and delta extensions in memory (tens of MB each).
DUCKDB_SETUP_SIZE = kube.Size("50m", "128Mi", "500m", "512Mi")
# The persistent DuckDB secret DUCKDB_SETUP_SCRIPT writes under $HOME/.duckdb/stored_secrets.
DUCKDB_SECRET = "omgml_s3"


# The instance the foundation deploys; blueprints pass it to `s3_consumers` before Feast exists.
DEFAULT_INSTANCE = "feast"


@dataclass(frozen=True, kw_only=True)
class FeastArgs(ServerArgs):
    instance: str = DEFAULT_INSTANCE
    registry: PostgresDatabase
    online: RedisEndpoint | None
    store: ObjectStoreEndpoint
    offline_bucket: str
    feature_repo: FeatureRepoSpec | None = None
    # Feast project name (letters, digits, '_'): the registry namespace of the feature repo.
    project: str = "omgml"
    offline_store: Literal["file", "delta", "snowflake"] = "file"
    # offline_store snowflake: the team's warehouse (kind snowflake); its Secret must exist in
    # `namespace`.
    warehouse: DataSourceSpec | None = None
    # Delta tables whose locations the tables Job prepares (offline_store: delta).
    delta_tables: tuple[str, ...] = ()
    # Cron schedule of `feast materialize-incremental` into the online store; None: hourly
    # with offline_store delta, none otherwise. Only with an online store.
    materialize_schedule: str | None = None


@dataclass(frozen=True)
class ResolvedFeast:
    args: FeastArgs
    sizing: FeastSizing
    name: str  # Deployment, Service, ServiceAccount
    config_map: str
    apply_job: str | None
    egress_policy: str | None
    pdb: str | None
    tables_job: str | None = None
    materialize_cronjob: str | None = None
    materialize_schedule: str | None = None
    reader_egress_policy: str | None = None

    @property
    def endpoint(self) -> str:
        return service_url(self.name, self.args.namespace, PORT)


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


def service_account_name(instance: str) -> str:
    """The ServiceAccount every Feast pod runs as; also the Deployment's and Service's name."""
    return k8s_name(instance)


def s3_consumers(namespace: str, instance: str, bucket_role: str) -> tuple[S3Consumer, ...]:
    """Feast's one S3 identity: the server, the apply Job and the materialize CronJob share the
    ServiceAccount, and each of them may write the offline store (push, materialize, apply)."""
    return (S3Consumer(name="feast", namespace=namespace, service_account=service_account_name(instance),
                       bucket_roles=(bucket_role,), read_only=False),)


def _check_irsa(args: FeastArgs, service_account: str) -> None:
    store = args.store
    if store.irsa_role_arn is None:
        return
    if store.service_account not in (None, service_account):
        # The IRSA role trusts exactly one ServiceAccount, and all Feast pods run as this one.
        raise ValueError(
            f"FeastArgs.store.service_account: {store.service_account!r} is not the ServiceAccount Feast "
            f"runs as ({service_account!r}); declare the S3 consumer with service_account={service_account!r} "
            "(feast.s3_consumers does)"
        )
    if args.offline_store == "delta":
        raise ValueError(
            "FeastArgs.offline_store: 'delta' cannot read AWS S3 through IRSA (store.irsa_role_arn is set): "
            "Feast reads Delta tables with DuckDB's delta extension, which takes S3 credentials only from a "
            "DuckDB secret and ignores the web-identity token; use offline_store='file' (Parquet) on AWS S3"
        )


def resolve(args: FeastArgs) -> ResolvedFeast:
    """Defaults and validation; every error names the field, the value and the fix."""
    check_component_args("FeastArgs", args, SIZING)
    require_between("FeastArgs.replicas", args.replicas, 1, 10)
    if not _PROJECT.match(args.project):
        raise ValueError(f"FeastArgs.project: {args.project!r} must be letters, digits and '_' (not starting with '_')")
    require_bucket_name("FeastArgs.offline_bucket", args.offline_bucket)
    if args.feature_repo is not None:
        _check_feature_repo(args.feature_repo)
    if args.offline_store not in ("file", "delta", "snowflake"):
        raise ValueError(f"FeastArgs.offline_store: {args.offline_store!r} is not 'file', 'delta' or 'snowflake'")
    if args.offline_store == "snowflake" and (args.warehouse is None or args.warehouse.kind != "snowflake"):
        raise ValueError("FeastArgs.warehouse: offline_store 'snowflake' needs a data source of kind snowflake "
                         "(data.sources, named by phases.foundation.feast.snowflake_source)")
    if args.offline_store != "snowflake" and args.warehouse is not None:
        raise ValueError("FeastArgs.warehouse: only read with offline_store 'snowflake'; drop it or set the store")
    for i, table in enumerate(args.delta_tables):
        if not _TABLE.match(table):
            raise ValueError(f"FeastArgs.delta_tables[{i}]: {table!r}: use lowercase letters, digits, '_' and '-'")
    if args.delta_tables and args.offline_store != "delta":
        raise ValueError("FeastArgs.delta_tables: tables are only prepared with offline_store='delta'; "
                         "set offline_store='delta' or drop delta_tables")
    schedule = args.materialize_schedule
    if schedule is None and args.offline_store == "delta":
        schedule = DEFAULT_MATERIALIZE_SCHEDULE
    if schedule is not None:
        check_schedule("FeastArgs.materialize_schedule", schedule)
    if args.online is None:
        schedule = None  # nothing to materialize into
    name = service_account_name(args.instance)
    _check_irsa(args, name)
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
        tables_job=(k8s_name(args.instance, "delta-tables", _short_hash("\n".join(args.delta_tables)))
                    if args.offline_store == "delta" and args.delta_tables else None),
        materialize_cronjob=k8s_name(args.instance, "materialize") if schedule else None,
        materialize_schedule=schedule,
        reader_egress_policy=(k8s_name(args.instance, "reader-egress")
                              if args.offline_store in ("delta", "snowflake") else None),
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
    offline_store: str = "file",
    warehouse: DataSourceSpec | None = None,
) -> kube.JsonDict:
    """The feature_store.yaml mapping. Passwords are `${VAR}` references, never values."""
    registry_uri = (f"postgresql+psycopg://{registry_user}:${{{REGISTRY_PASSWORD_ENV}}}"
                    f"@{registry_host}:{registry_port}/{registry_database}")
    online: kube.JsonDict
    if redis_host is not None:
        conn = f"{redis_host}:{redis_port},password=${{{REDIS_PASSWORD_ENV}}}"
        if redis_tls:
            conn += ",ssl=true"
        online = {"type": "redis", "connection_string": conn}
    else:
        online = {"type": "sqlite", "path": f"{WORK_DIR}/online.db"}
    offline: kube.JsonDict = {"type": "duckdb" if offline_store == "delta" else "file"}
    if offline_store == "snowflake":
        if warehouse is None:
            raise ValueError("feature_store_config: offline_store 'snowflake' needs the warehouse source")
        offline = {"type": "snowflake.offline", "account": warehouse.account,
                   "user": f"${{{SNOWFLAKE_USER_ENV}}}", "password": f"${{{SNOWFLAKE_PASSWORD_ENV}}}",
                   "warehouse": warehouse.warehouse, "database": warehouse.database,
                   "schema": warehouse.schema_name or "PUBLIC"}
        if warehouse.role:
            offline["role"] = warehouse.role
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
        # delta: the duckdb store, the one Feast 0.66 store that reads DeltaFormat FileSources.
        # snowflake: the team's warehouse (feast[snowflake] is in the image's feast[minimal]).
        "offline_store": offline,
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
        redis_host=(f"${{{REDIS_HOST_ENV}}}" if online.managed_host is not None else online.host) if online else None,
        redis_port=online.port if online else None,
        redis_tls=online.tls if online else False,
        offline_store=args.offline_store,
        warehouse=args.warehouse,
    ), sort_keys=False)


def feast_env(args: FeastArgs) -> list[kube.JsonDict]:
    store = args.store
    env = [
        kube.secret_env(REGISTRY_PASSWORD_ENV, args.registry.password_ref.secret_name, args.registry.password_ref.key),
    ]
    if args.online is not None:
        env.append(kube.secret_env(REDIS_PASSWORD_ENV, args.online.password_ref.secret_name, args.online.password_ref.key))
        if args.online.managed_host is not None:
            env.append({"name": REDIS_HOST_ENV, "value": args.online.managed_host})
    if args.warehouse is not None:
        env += [kube.secret_env(SNOWFLAKE_USER_ENV, args.warehouse.secret, "user"),
                kube.secret_env(SNOWFLAKE_PASSWORD_ENV, args.warehouse.secret, "password")]
    if store.irsa_role_arn is None:
        env += store.key_env()
    else:
        # IRSA: no key env, not even empty (see the module doc). AWS_REGION as well: clients
        # differ in which of the two region variables they read, and the web-identity exchange
        # goes to the regional STS endpoint.
        env.append(kube.plain_env("AWS_REGION", store.region))
    env += [
        kube.plain_env("AWS_DEFAULT_REGION", store.region),
        kube.plain_env("FEAST_OFFLINE_URI", f"s3://{args.offline_bucket}/"),
        *([kube.plain_env("FEAST_DELTA_URI", delta_uri(args))] if args.offline_store == "delta" else []),
        kube.plain_env("HOME", WORK_DIR),
    ]
    if store.endpoint_url:
        # boto3/s3fs read AWS_ENDPOINT_URL; empty on AWS S3.
        env.append(kube.plain_env("AWS_ENDPOINT_URL", store.endpoint_url))
    return env


def delta_uri(args: FeastArgs) -> str:
    return f"s3://{args.offline_bucket}/{DELTA_PREFIX}/"


def delta_table_prefixes(args: FeastArgs) -> list[str]:
    """Object keys of the marker at each Delta table's location, in the offline bucket."""
    return [f"{DELTA_PREFIX}/{t}/{DELTA_MARKER}" for t in args.delta_tables]


# boto3 is in the image (feast[aws]); put_object of the same empty marker is idempotent.
TABLES_SCRIPT = """import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
bucket = os.environ["FEAST_OFFLINE_BUCKET"]
for key in os.environ["FEAST_DELTA_MARKERS"].split():
    s3.put_object(Bucket=bucket, Key=key, Body=b"")
    print(f"table location s3://{bucket}/{key.rsplit('/', 1)[0]}/ ready")
"""


def _feast_container(name: str, command: list[str], env: list[kube.JsonDict], size: kube.Size, *,
                     mounts: list[kube.JsonDict] | None = None, working_dir: str | None = None,
                     ports: list[kube.JsonDict] | None = None, probes: dict[str, kube.JsonDict] | None = None,
                     ) -> kube.JsonDict:
    """A container of the Feast image, which every step of the feature store runs (server, apply
    and its git clone, materialization, the DuckDB setup, the Delta tables Job): a read-only root,
    writable paths only through `mounts` (default: the config and the scratch folder)."""
    container: kube.JsonDict = {"name": name, "image": IMAGE, "command": command}
    if working_dir is not None:
        container["workingDir"] = working_dir
    container["env"] = env
    if ports is not None:
        container["ports"] = ports
    container["resources"] = size.resources()
    container["securityContext"] = kube.restricted_container_security_context(read_only_root=True)
    container.update(probes or {})
    container["volumeMounts"] = list(_MOUNTS) if mounts is None else mounts
    return container


def tables_job(r: ResolvedFeast) -> kube.JsonDict:
    """Reserves each Delta table's prefix (see the module doc: not a `_delta_log`)."""
    a = r.args
    store_check = ["python", "-c", "import os, socket, urllib.parse as u; e = u.urlparse(os.environ.get("
                   "'AWS_ENDPOINT_URL') or 'https://s3.amazonaws.com'); socket.create_connection("
                   "(e.hostname, e.port or (443 if e.scheme == 'https' else 80)), 3).close()"]
    container = _feast_container(
        "delta-tables", ["python", "-c", TABLES_SCRIPT],
        [*feast_env(a), kube.plain_env("FEAST_OFFLINE_BUCKET", a.offline_bucket),
         kube.plain_env("FEAST_DELTA_MARKERS", " ".join(delta_table_prefixes(a)))],
        TABLES_SIZE, probes={"readinessProbe": kube.exec_probe(store_check, period=10, failures=3),
                             "livenessProbe": kube.exec_probe(store_check, period=20, failures=6)})
    pod = _pod_spec(r, [container], restartPolicy="Never")
    return kube.job_spec(kube.pod_template(_labels(r, "delta-tables"), pod), backoff_limit=6, active_deadline_seconds=600)


# Runs in the Feast image (python, duckdb) before the Feast container of a pod that reads Delta
# tables; see the module doc. `s3_secret_sql` is pure (env in, SQL out) so tests run it on a
# dict; the keys enter only at run time, from the pod's secretKeyRef env. SQL strings are quoted
# by doubling `'`: CREATE SECRET takes no bound parameters.
DUCKDB_SETUP_SCRIPT = f"""\
import os
import urllib.parse

SECRET = {DUCKDB_SECRET!r}


def sql_string(value):
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(env):
    key_id = env.get("AWS_ACCESS_KEY_ID", "")
    secret = env.get("AWS_SECRET_ACCESS_KEY", "")
    if not key_id or not secret:
        raise SystemExit("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are empty: DuckDB's delta extension "
                         "reaches S3 only with the static keys of a DuckDB secret")
    options = ["TYPE s3", "PROVIDER config", "KEY_ID " + sql_string(key_id), "SECRET " + sql_string(secret),
               "REGION " + sql_string(env.get("AWS_DEFAULT_REGION") or "us-east-1")]
    url = env.get("AWS_ENDPOINT_URL", "")
    if url:
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc
                or parts.path.strip("/") or parts.query or parts.fragment):
            raise SystemExit(f"AWS_ENDPOINT_URL {{url!r}} is not http(s)://host[:port]")
        # DuckDB wants host[:port]; USE_SSL gives the scheme (the delta extension adds http://
        # and allow_http from it). SeaweedFS and MinIO serve buckets path-style.
        options += ["ENDPOINT " + sql_string(parts.netloc), "URL_STYLE 'path'",
                    "USE_SSL " + ("true" if parts.scheme == "https" else "false")]
    return "CREATE OR REPLACE PERSISTENT SECRET " + SECRET + " (" + ", ".join(options) + ")"


if __name__ == "__main__":
    import duckdb

    con = duckdb.connect()
    # Installed under $HOME/.duckdb/extensions, which the Feast container shares: it only loads them.
    for extension in ("httpfs", "delta"):
        con.install_extension(extension)
        con.load_extension(extension)
    con.execute(s3_secret_sql(os.environ))
    print(f"duckdb: httpfs and delta installed, secret {{SECRET}} for "
          f"{{os.environ.get('AWS_ENDPOINT_URL') or 'AWS S3'}} written")
"""


def duckdb_setup_env(args: FeastArgs) -> list[kube.JsonDict]:
    """The S3 env of `feast_env` (key refs, region, endpoint) and HOME: nothing else is needed."""
    wanted = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "HOME"}
    return [e for e in feast_env(args) if e["name"] in wanted]


def duckdb_setup_container(r: ResolvedFeast) -> kube.JsonDict:
    """Init container of the Delta readers: DuckDB extensions and S3 secret on the `work` emptyDir."""
    return _feast_container("duckdb-setup", ["python", "-c", DUCKDB_SETUP_SCRIPT], duckdb_setup_env(r.args),
                            DUCKDB_SETUP_SIZE, mounts=[{"name": "work", "mountPath": WORK_DIR}])


# The pods that run duckdb-setup. `feast apply` reads no Delta table through DuckDB (Feast 0.66
# infers a Delta source's schema with the `deltalake` package), so the apply Job has neither.
READER_COMPONENTS = ("server", "materialize")


def _reader_init_containers(r: ResolvedFeast) -> list[kube.JsonDict]:
    """The init containers of a Delta reader; none with the `file` store."""
    return [duckdb_setup_container(r)] if r.args.offline_store == "delta" else []


MATERIALIZE_SCRIPT = (f'exec feast -c {WORK_DIR} -f {CONFIG_DIR}/{CONFIG_FILE} '
                      'materialize-incremental "$(date -u +%Y-%m-%dT%H:%M:%S)"')


def materialize_cronjob(r: ResolvedFeast) -> kube.JsonDict:
    """`feast materialize-incremental <now>`: the registry remembers where the last run ended."""
    if r.materialize_schedule is None:
        raise ValueError("materialize_cronjob needs an online store and a schedule")
    db = r.args.registry
    container = _feast_container(
        "materialize", ["/bin/sh", "-c", MATERIALIZE_SCRIPT], feast_env(r.args), MATERIALIZE_SIZE,
        probes={"readinessProbe": kube.tcp_exec_probe(db.host, db.port, period=10, failures=3),
                "livenessProbe": kube.tcp_exec_probe(db.host, db.port, period=30, failures=6)})
    pod = _pod_spec(r, [container], init_containers=_reader_init_containers(r), restartPolicy="Never")
    # Runs never overlap: the next one starts from where this one ends.
    return kube.cronjob_spec(r.materialize_schedule, kube.job_spec(kube.pod_template(_labels(r, "materialize"), pod),
                                                                   backoff_limit=2, active_deadline_seconds=3300),
                             starting_deadline_seconds=600)


def reader_egress_policy(r: ResolvedFeast) -> kube.JsonDict:
    """Pods that read Delta tables through DuckDB fetch its `httpfs` (plain HTTP: DuckDB's core
    installer speaks no TLS until httpfs is loaded) and `delta` (HTTPS) extensions; pods that
    read a Snowflake warehouse reach it over HTTPS (the apply Job has its own 443 policy)."""
    ports = (80, 443) if r.args.offline_store == "delta" else (443,)
    return kube.egress_policy_spec({"matchExpressions": [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": [APP]},
        {"key": "app.kubernetes.io/instance", "operator": "In", "values": [r.args.instance]},
        {"key": "app.kubernetes.io/component", "operator": "In", "values": list(READER_COMPONENTS)},
    ]}, ports, external_only=True)


def _labels(r: ResolvedFeast, component: str) -> dict[str, str]:
    return standard_labels(APP, r.args.instance, component, VERSION)


def _selector(r: ResolvedFeast, component: str) -> dict[str, str]:
    return selector_labels(APP, r.args.instance, component)


def _volumes(r: ResolvedFeast) -> list[kube.JsonDict]:
    return [
        {"name": "config", "configMap": {"name": r.config_map}},
        {"name": "work", "emptyDir": {"sizeLimit": "512Mi"}},
    ]


_MOUNTS: list[kube.JsonDict] = [
    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
    {"name": "work", "mountPath": "/tmp"},
]


def _pod_spec(r: ResolvedFeast, containers: list[kube.JsonDict], *, init_containers: list[kube.JsonDict] | None = None,
              volumes: list[kube.JsonDict] | None = None, **fields: Any) -> kube.JsonDict:
    """Every Feast pod runs as the one ServiceAccount (its IRSA role trusts exactly that)."""
    return kube.restricted_pod_spec(r.name, UID, containers, fs_group=UID, init_containers=init_containers,
                               volumes=_volumes(r) if volumes is None else volumes, **fields)


def feast_deployment(r: ResolvedFeast, credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    container = _feast_container(
        "feature-server",
        # The "repo" is a writable scratch dir (the SQL registry keeps nothing there); the
        # config comes from the ConfigMap (-f). -h 0.0.0.0: the default is loopback only.
        ["feast", "-c", WORK_DIR, "-f", f"{CONFIG_DIR}/{CONFIG_FILE}",
         "serve", "-h", "0.0.0.0", "-p", str(PORT), "-w", str(r.sizing.workers)],
        feast_env(r.args), r.sizing.server,
        ports=[{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        probes={
            "startupProbe": kube.tcp_probe("http", period=5, failures=60),
            # /health answers 503 while the registry database is unreachable: out of rotation,
            # but not restarted (liveness only checks the port), since a restart cannot fix that.
            "readinessProbe": kube.http_probe("/health", "http", period=10, failures=3),
            "livenessProbe": kube.tcp_probe("http", period=20, failures=6),
        })
    annotations: dict[str, pulumi.Input[str]] = {
        # The config is plain text: a changed file rolls the pods that read it at start.
        CONFIG_ANNOTATION: _short_hash(feature_store_yaml(r.args)),
        **checksum_annotations(credentials_checksum),
    }
    pod = _pod_spec(r, [container], init_containers=_reader_init_containers(r))
    return kube.deployment_spec(selector_labels(APP, r.args.instance, "server"),
                           kube.pod_template(_labels(r, "server"), pod, annotations),
                           replicas=r.args.replicas, strategy=kube.SURGE_ONE)


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


def apply_job(r: ResolvedFeast) -> kube.JsonDict:
    """`feast apply` of the spec's feature repo against this deployment's registry and stores."""
    repo = r.args.feature_repo
    if repo is None:
        raise ValueError("apply_job needs FeastArgs.feature_repo")
    repo_path = posixpath.normpath(posixpath.join(REPO_DIR, repo.path))
    mounts: list[kube.JsonDict] = [*_MOUNTS, {"name": "repo", "mountPath": "/workspace"}]
    # The Feast image ships git, so no extra (unofficial) git image is pulled for the clone.
    clone = _feast_container("clone", ["/bin/sh", "-c", CLONE_SCRIPT], [
        kube.plain_env("REPO_DIR", REPO_DIR),
        kube.plain_env("FEAST_REPO_URL", repo.git_url),
        kube.plain_env("FEAST_REPO_REF", repo.ref),
        kube.plain_env("HOME", WORK_DIR),
        # No credential prompts in a pod: fail fast on a private repository.
        kube.plain_env("GIT_TERMINAL_PROMPT", "0"),
    ], CLONE_SIZE, mounts=mounts)
    # The Job has no port: the probes watch the registry database it writes to.
    db = r.args.registry
    apply = _feast_container(
        "apply", ["feast", "-c", repo_path, "-f", f"{CONFIG_DIR}/{CONFIG_FILE}", "apply"], feast_env(r.args),
        APPLY_SIZE, mounts=list(mounts), working_dir=repo_path,
        probes={"readinessProbe": kube.tcp_exec_probe(db.host, db.port, period=10, failures=3),
                "livenessProbe": kube.tcp_exec_probe(db.host, db.port, period=20, failures=6)})
    pod = _pod_spec(r, [apply], init_containers=[clone], restartPolicy="Never",
                    volumes=[*_volumes(r), {"name": "repo", "emptyDir": {"sizeLimit": "1Gi"}}])
    return kube.job_spec(kube.pod_template(_labels(r, "apply"), pod), backoff_limit=4, active_deadline_seconds=1800)


def apply_egress_policy(r: ResolvedFeast) -> kube.JsonDict:
    """The namespace denies egress; only the apply Job's pods may reach a git host (HTTPS)."""
    return kube.egress_policy_spec({"matchLabels": selector_labels(APP, r.args.instance, "apply")}, (443,),
                              external_only=True)


class Feast(Component[FeastArgs, ResolvedFeast], type_token=TYPE_TOKEN, resolve=resolve):
    """Feature server (HTTP, `.endpoint`) plus, when a feature repo is given, its `feast apply` Job."""

    endpoint: str

    def build(self, name: str, args: FeastArgs, r: ResolvedFeast, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: _labels(r, part))

        # AWS S3: every Feast pod reaches the offline bucket through this role, not static keys.
        # The webhook mounts its own projected token, so the API token stays unmounted.
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=kube.service_account_metadata(r.name, ns, _labels(r, "server"), args.store.irsa_role_arn),
            automount_service_account_token=False, opts=children())
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta(r.config_map, "config"),
                                       data={CONFIG_FILE: feature_store_yaml(args)}, opts=children())
        svc = k8s.core.v1.Service(f"{name}-svc", metadata=meta(r.name, "server"), spec=kube.service_spec(_selector(r, "server"), [("http", PORT)]),
                                  opts=children())
        secrets = [args.registry.password]
        if args.store.irsa_role_arn is None:
            # With IRSA the pods read no keys: the (empty) key Secret cannot roll them.
            secrets += [args.store.access_key, args.store.secret_key]
        if args.online is not None:
            secrets.append(args.online.password)
        # Delta readers fetch DuckDB extensions at pod start: the egress comes first.
        readers_ready: list[pulumi.Resource] = []
        if r.reader_egress_policy is not None:
            readers_ready.append(k8s.networking.v1.NetworkPolicy(
                f"{name}-reader-egress", metadata=kube.with_egress_reason(
                    meta(r.reader_egress_policy, "materialize"),
                    "DuckDB fetches its httpfs and delta extensions from its extension repository at pod start"),
                spec=reader_egress_policy(r), opts=children()))
        k8s.apps.v1.Deployment(f"{name}-server", metadata=meta(r.name, "server"),
                               spec=feast_deployment(r, secret_checksum(*secrets)),
                               opts=children(sa, config, svc, *readers_ready))
        if r.pdb is not None:
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta(r.pdb, "server"), spec=kube.pdb_spec(_selector(r, "server")),
                                              opts=children())
        # A failed Job (bad repo, registry not up yet) is retried on the next `up`.
        retry = {"pulumi.com/replaceUnready": "true"}
        if r.apply_job is not None and r.egress_policy is not None:
            egress = k8s.networking.v1.NetworkPolicy(f"{name}-apply-egress", metadata=kube.with_egress_reason(
                meta(r.egress_policy, "apply"), "the apply Job clones the feature repository from its git host"),
                                                     spec=apply_egress_policy(r), opts=children())
            k8s.batch.v1.Job(f"{name}-apply", metadata=meta(r.apply_job, "apply", annotations=retry), spec=apply_job(r),
                             opts=children(sa, config, egress))
        if r.tables_job is not None:
            k8s.batch.v1.Job(f"{name}-delta-tables", metadata=meta(r.tables_job, "delta-tables", annotations=retry),
                             spec=tables_job(r), opts=children(sa, config))
        if r.materialize_cronjob is not None:
            k8s.batch.v1.CronJob(f"{name}-materialize", metadata=meta(r.materialize_cronjob, "materialize"),
                                 spec=materialize_cronjob(r), opts=children(sa, config, *readers_ready))
        self.endpoint = r.endpoint
        return {"endpoint": self.endpoint}
