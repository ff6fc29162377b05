"""PostgreSQL in-cluster: one server, and one database + role per consumer (MLflow, Feast, …).

The server is a single-replica StatefulSet of the official image. Consumers never see the
superuser: a re-runnable Job creates (or updates) each consumer's role and database, and each
consumer gets its own Secret (host, port, database, username, password) in its own namespace.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import naming, sizes
from omgml.components.backup.jobs import (
    BACKUP_OF_LABEL,
    BackupNames,
    BackupSettings,
    agent_job,
    agent_script,
    backup_cronjob,
    pushgateway_egress,
    pushgateway_ingress,
    restore_job,
)
from omgml.components.backup.stores import BACKUP_ROLE, backup_role_sql, pg_dump_container, pg_restore_container
from omgml.components.base import Component
from omgml.components.contracts import PostgresDatabase, SecretKeyRef
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs, secret_checksum
from omgml.components.options import Children, keeps_data
from omgml.components.stateful import StatefulServerArgs, check_stateful_server_args, stateful_server
from omgml.labels import selector_labels, standard_labels
from omgml.naming import ServerNames, k8s_name, require_dns_label
from omgml.spec.common import CredentialSource

TYPE_TOKEN = "omgml:data:Postgres"

# Official image (docker-library `library/postgres`, official-images snapshot of 2026-08-21:
# tags 18.6-alpine3.24 / 18-alpine). Pinned to the patch and the Alpine release.
IMAGE = "postgres:18.6-alpine3.24"
VERSION = "18.6"
PG_MAJOR = 18
# The Alpine image's `postgres` user and group are 70 (the Debian images use 999).
UID = 70
PORT = 5432
SUPERUSER = "postgres"
# Since 18 the image's VOLUME is /var/lib/postgresql and PGDATA a versioned subdirectory of it:
# the volume root (with ext4's lost+found) is never the data directory, and a later major
# upgrade can put its new cluster next to the old one on the same volume.
DATA_MOUNT = "/var/lib/postgresql"
PGDATA = f"{DATA_MOUNT}/{PG_MAJOR}/docker"
APP = "postgres"

_CONSUMER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,61}[a-z0-9]$|^[a-z]$")
# Names Postgres itself owns: a consumer may not take them over.
_RESERVED = frozenset({"postgres", "template0", "template1", "public"})


@dataclass(frozen=True)
class PostgresConsumer:
    """A workload that gets its own database and role. Its credentials Secret is written
    into `namespace` (the consumer's namespace), so its pods reference it by secretKeyRef."""

    name: str
    namespace: str


@dataclass(frozen=True, kw_only=True)
class PostgresArgs(StatefulServerArgs):
    instance: str = "postgres"
    consumers: tuple[PostgresConsumer, ...] = ()
    # Nightly logical dumps of every consumer database (None: no backups, e.g. a laptop).
    backup: BackupSettings | None = None
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class PostgresSizing:
    size: kube.Size
    shared_buffers_mib: int
    max_connections: int


SIZING = sizes.rows("postgres", PostgresSizing)
# psql and pg_isready only.
JOB_SIZE = kube.Size("50m", "64Mi", "500m", "128Mi")


@dataclass(frozen=True, kw_only=True)
class PostgresNames(ServerNames):
    service: str
    superuser_secret: str
    job: str
    job_service_account: str
    network_policy: str


@dataclass(frozen=True)
class ResolvedConsumer:
    name: str
    namespace: str
    database: str  # also the role name
    secret: str  # same name in the Postgres namespace and in the consumer's namespace
    password_env: str  # env var the provisioning Job reads the password from


def postgres_names(instance: str) -> PostgresNames:
    return PostgresNames.of(
        instance,
        service=k8s_name(instance),
        superuser_secret=k8s_name(instance, "superuser"),
        job=k8s_name(instance, "provision"),
        job_service_account=k8s_name(instance, "provision"),
        network_policy=k8s_name(instance, "allow-consumers"),
    )


def service_host(args: PostgresArgs) -> str:
    return naming.service_host(postgres_names(args.instance).service, args.namespace)


def pg_identifier(consumer_name: str) -> str:
    """Database and role name of a consumer: the name with '-' as '_' (no quoting surprises)."""
    return consumer_name.replace("-", "_")


def resolve_consumers(args: PostgresArgs) -> list[ResolvedConsumer]:
    """Validated consumers, in the given order; errors name the field, the value and the fix."""
    check_stateful_server_args("PostgresArgs", args, SIZING)
    return consumer_databases("PostgresArgs", args.instance, args.consumers)


def consumer_databases(owner: str, instance: str, consumers: Sequence[PostgresConsumer],
                       also_reserved: Collection[str] = (), reserved_by: str = "Postgres") -> list[ResolvedConsumer]:
    """Each consumer's database, role, Secret and password variable, in the given order: the same
    names in-cluster and on RDS (components/aws/rds.py, which reserves its own admin names
    `also_reserved`), so switching targets changes no consumer. Errors name `<owner>.consumers[i]`."""
    reserved = _RESERVED | frozenset(also_reserved)
    seen: dict[str, str] = {}
    out: list[ResolvedConsumer] = []
    for i, c in enumerate(consumers):
        field = f"{owner}.consumers[{i}]"
        if not _CONSUMER_NAME.match(c.name):
            raise ValueError(f"{field}.name={c.name!r}: use lowercase letters, digits, '-' or '_', "
                             "starting with a letter (it becomes a database and role name)")
        require_dns_label(f"{field}.namespace", c.namespace)
        ident = pg_identifier(c.name)
        if ident in reserved:
            raise ValueError(f"{field}.name={c.name!r} is reserved by {reserved_by}; pick another consumer name")
        if ident in seen:
            raise ValueError(f"{field}.name={c.name!r} clashes with consumer {seen[ident]!r} "
                             f"(both become database {ident!r}); give each consumer a distinct name")
        seen[ident] = c.name
        out.append(ResolvedConsumer(
            name=c.name,
            namespace=c.namespace,
            database=ident,
            secret=k8s_name(instance, c.name, "db"),
            password_env=f"OMGML_PASSWORD_{ident.upper()}",
        ))
    return out


def _labels(args: PostgresArgs, component: str = "database") -> dict[str, str]:
    return standard_labels(APP, args.instance, component, VERSION)


def _selector(args: PostgresArgs) -> dict[str, str]:
    return selector_labels(APP, args.instance, "database")


def _isready(host: str = "127.0.0.1") -> list[str]:
    # pg_isready only checks that the server accepts connections: no password, no database needed.
    return ["pg_isready", "-q", "-h", host, "-p", str(PORT), "-U", SUPERUSER]


def postgres_statefulset(args: PostgresArgs) -> kube.JsonDict:
    names = postgres_names(args.instance)
    sizing = SIZING[args.profile]
    container: kube.JsonDict = {
        "name": "postgres",
        "image": IMAGE,
        "args": [
            "-c", f"shared_buffers={sizing.shared_buffers_mib}MB",
            "-c", f"max_connections={sizing.max_connections}",
        ],
        "env": [
            kube.plain_env("POSTGRES_USER", SUPERUSER),
            kube.secret_env("POSTGRES_PASSWORD", names.superuser_secret, "password"),
            kube.plain_env("PGDATA", PGDATA),
        ],
        "ports": [{"name": "postgres", "containerPort": PORT, "protocol": "TCP"}],
        "resources": sizing.size.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # First start runs initdb, a crash restart replays WAL: give both time before liveness counts.
        "startupProbe": kube.exec_probe(_isready(), period=5, failures=120),
        "readinessProbe": kube.exec_probe(_isready(), period=10, failures=3),
        "livenessProbe": kube.exec_probe(_isready(), period=15, failures=6),
        # Kubernetes sends SIGTERM, which Postgres treats as a "smart" shutdown that waits for
        # every client to leave; a fast shutdown ends sessions and checkpoints cleanly instead.
        "lifecycle": {"preStop": {"exec": {"command": ["pg_ctl", "stop", "-D", PGDATA, "-m", "fast", "-w"]}}},
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT},
            # Read-only root: the socket/lock directory and /tmp are the only other writes.
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = kube.restricted_pod_spec(names.service_account, UID, [container], fs_group=UID, volumes=[
        {"name": "run", "emptyDir": {"sizeLimit": "16Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ], terminationGracePeriodSeconds=60)
    # The volume outlives the StatefulSet except on a laptop, where `destroy` should leave nothing.
    return kube.statefulset_spec(_selector(args), names.headless, kube.pod_template(_labels(args), pod),
                            data_gib=args.storage_gib, keep_data=keeps_data(args.profile))


def postgres_service(args: PostgresArgs, headless: bool) -> kube.JsonDict:
    return kube.service_spec(_selector(args), [("postgres", PORT)], headless=headless)


BACKUP_PASSWORD_ENV = "OMGML_PASSWORD_BACKUP"


def backup_names(instance: str) -> BackupNames:
    return BackupNames(cronjob=k8s_name(instance, "backup"), service_account=k8s_name(instance, "backup"),
                       agent_configmap=k8s_name(instance, "backup-agent"), component=k8s_name(instance),
                       labels={**standard_labels(APP, instance, "backup", VERSION), BACKUP_OF_LABEL: k8s_name(instance)})


def backup_secret(instance: str) -> str:
    return k8s_name(instance, "backup-role")


def consumer_sql(c: ResolvedConsumer, *, role_attributes: Sequence[str] = (), creator_joins: bool = False) -> list[str]:
    """psql lines that create one consumer's role and database, or bring them back in line:
    safe to run again. The password comes from the environment (\\getenv), never the script;
    ALTER ROLE runs every time, so a rotated password takes effect on the next run.
    `creator_joins`: a creator that is not a superuser (RDS's master) makes itself a member of
    the role first, which Postgres 16+ requires before it may make the role a database owner."""
    role = c.database  # validated: [a-z0-9_] only, so literal quoting below is exact
    return [
        f"-- consumer {c.name}",
        f"SELECT format('CREATE ROLE %I LOGIN', '{role}') "
        f"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{role}')",
        "\\gexec",
        f"\\getenv omgml_password {c.password_env}",
        f"ALTER ROLE \"{role}\" WITH {' '.join(('LOGIN', *role_attributes))} PASSWORD :'omgml_password';",
        "\\unset omgml_password",
        *([f"GRANT \"{role}\" TO CURRENT_USER;"] if creator_joins else []),
        f"SELECT format('CREATE DATABASE %I OWNER %I', '{role}', '{role}') "
        f"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = '{role}')",
        "\\gexec",
        f"ALTER DATABASE \"{role}\" OWNER TO \"{role}\";",
        # Only the owner may connect: consumers cannot reach each other's data.
        f"REVOKE CONNECT, TEMPORARY ON DATABASE \"{role}\" FROM PUBLIC;",
        f"GRANT CONNECT, TEMPORARY ON DATABASE \"{role}\" TO \"{role}\";",
    ]


def provision_sql(consumers: list[ResolvedConsumer], backup: bool = False) -> str:
    """Idempotent SQL (psql) run as the superuser: every statement is safe to run again on an
    existing cluster. Passwords never appear in the script or on a command line: psql reads each
    from the environment (\\getenv, filled by secretKeyRef)."""
    lines = ["\\set ON_ERROR_STOP on"]
    for c in consumers:
        lines += consumer_sql(c, role_attributes=("NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE"))
    if backup:
        lines += ["-- the read-only backup role", *backup_role_sql([c.database for c in consumers], BACKUP_PASSWORD_ENV)]
    return "\n".join(lines) + "\n"


_PROVISION_SCRIPT = (
    'until pg_isready -q; do echo "waiting for $PGHOST:$PGPORT"; sleep 3; done\n'
    'printf "%s\\n" "$PROVISION_SQL" | psql -X -v ON_ERROR_STOP=1 -f -\n'
)


def provision_env(args: PostgresArgs, consumers: list[ResolvedConsumer]) -> list[kube.JsonDict]:
    """The superuser's connection, every consumer's password and the provisioning SQL (the
    provisioning Job's env, and the restore's, which re-creates roles and databases first)."""
    names = postgres_names(args.instance)
    backup = args.backup is not None
    return [
        kube.plain_env("PGHOST", service_host(args)),
        kube.plain_env("PGPORT", str(PORT)),
        kube.plain_env("PGUSER", SUPERUSER),
        kube.plain_env("PGDATABASE", "postgres"),
        kube.plain_env("PGCONNECT_TIMEOUT", "5"),
        kube.secret_env("PGPASSWORD", names.superuser_secret, "password"),
        *(kube.secret_env(c.password_env, c.secret, "password") for c in consumers),
        *([kube.secret_env(BACKUP_PASSWORD_ENV, backup_secret(args.instance), "password")] if backup else []),
        kube.plain_env("PROVISION_SQL", provision_sql(consumers, backup)),
    ]


def _require_backup(args: PostgresArgs) -> BackupSettings:
    if args.backup is None:
        raise ValueError("PostgresArgs.backup is None: this Postgres has no backups; set backup.enabled: true")
    return args.backup


def backup_cronjob_spec(args: PostgresArgs, consumers: list[ResolvedConsumer]) -> kube.JsonDict:
    """The nightly pg_dump of every consumer database, uploaded by the backup agent."""
    s = _require_backup(args)
    dump = pg_dump_container(IMAGE, UID, service_host(args), PORT, [c.database for c in consumers],
                             backup_secret(args.instance), JOB_SIZE)
    return backup_cronjob(backup_names(args.instance), s, dump, UID)


def restore_job_spec(args: PostgresArgs, consumers: list[ResolvedConsumer], backup_id: str, *, dry_run: bool,
                     force: bool) -> kube.JsonDict:
    """A Job that restores every database of `backup_id` (see components/backup/stores.py)."""
    s = _require_backup(args)
    loader = pg_restore_container(IMAGE, UID, provision_env(args, consumers), dry_run=dry_run, force=force,
                                  size=JOB_SIZE, probe=kube.exec_probe(_isready(service_host(args)), period=20, failures=6))
    return restore_job(backup_names(args.instance), s, backup_id, loader, UID, dry_run=dry_run)


def backup_list_job_spec(args: PostgresArgs) -> kube.JsonDict:
    """A Job whose log lists the backups in the bucket (one JSON line each)."""
    return agent_job(backup_names(args.instance), _require_backup(args), ["list"], "list")


def provision_job(args: PostgresArgs, consumers: list[ResolvedConsumer],
                  credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    """The Job spec that creates roles and databases. Its pod template carries the SQL and a
    digest of the consumer passwords, so a new consumer or a rotated password changes the
    template, which replaces the Job: it runs again."""
    names = postgres_names(args.instance)
    env = provision_env(args, consumers)
    container: kube.JsonDict = {
        "name": "provision",
        "image": IMAGE,
        "command": ["sh", "-c", _PROVISION_SCRIPT],
        "env": env,
        "resources": JOB_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # Both probes watch the server this batch container works against: a psql left
        # hanging on a server that went away is restarted instead of idling until the
        # deadline.
        "readinessProbe": kube.exec_probe(_isready(service_host(args)), period=10, failures=3),
        "livenessProbe": kube.exec_probe(_isready(service_host(args)), period=20, failures=6),
    }
    annotations = {"omgml.dev/rotation-checksum": credentials_checksum} if credentials_checksum is not None else None
    pod = kube.restricted_pod_spec(names.job_service_account, UID, [container], restartPolicy="Never")
    return kube.job_spec(kube.pod_template(_labels(args, "provision"), pod, annotations),
                    backoff_limit=6, active_deadline_seconds=900)


def consumer_network_policy(args: PostgresArgs, consumers: list[ResolvedConsumer]) -> kube.JsonDict | None:
    """Ingress to the server's port from the consumers' namespaces only (same-namespace traffic
    is already allowed by the namespace's own policies)."""
    others = sorted({c.namespace for c in consumers if c.namespace != args.namespace})
    if not others:
        return None
    return kube.ingress_from_spec(_selector(args), [kube.namespace_peer(ns) for ns in others], PORT)


# Keys of a consumer's credentials Secret, by the env suffix a consumer reads each from.
CONSUMER_SECRET_KEYS = {"HOST": "host", "PORT": "port", "NAME": "database", "USER": "username", "PASSWORD": "password"}


def consumer_database_url(prefix: str, driver: str) -> str:
    """A SQLAlchemy URL composed by Kubernetes from `consumer_env`'s variables (`$(VAR)`)."""
    return (f"postgresql+{driver}://$({prefix}_USER):$({prefix}_PASSWORD)"
            f"@$({prefix}_HOST):$({prefix}_PORT)/$({prefix}_NAME)")


def consumer_env(secret: pulumi.Input[str], prefix: str, url_env: str, driver: str) -> list[kube.JsonDict]:
    """Every part of a consumer's connection from its Secret (`<prefix>_HOST`, …), then the URL
    composed from them by Kubernetes ($(VAR) refers to variables defined before it), so no
    password is ever in a manifest."""
    env = [kube.secret_env(f"{prefix}_{suffix}", secret, key) for suffix, key in CONSUMER_SECRET_KEYS.items()]
    env.append(kube.plain_env(url_env, consumer_database_url(prefix, driver)))
    return env


def consumer_secret_data(args: PostgresArgs, c: ResolvedConsumer) -> dict[str, str]:
    """The non-secret keys of a consumer's credentials Secret (the password is added apart)."""
    return {"host": service_host(args), "port": str(PORT), "database": c.database, "username": c.database}


def consumer_credentials(name: str, c: ResolvedConsumer, data: dict[str, pulumi.Input[str]], namespace: str,
                         instance: str, source: CredentialSource, copy_labels: dict[str, str],
                         opts: pulumi.ResourceOptions) -> tuple[list[pulumi.Resource], pulumi.Output[str] | None]:
    """A consumer's credentials Secret `c.secret` in the database's `namespace` (a generated
    password beside `data`) and, when the consumer runs elsewhere, a copy in its namespace: pods
    can only reference Secrets of their own namespace. In-cluster and RDS alike. Returns the
    Secrets and the password (None with credentials 'existing')."""
    creds = GeneratedSecret(
        f"{name}-{c.name}-credentials",
        GeneratedSecretArgs(namespace=namespace, secret_name=c.secret, password_keys=("password",),
                            derived=dict(data), app_name=APP, instance=instance,
                            source=source, copies_in=(c.namespace,)),
        opts,
    )
    secrets: list[pulumi.Resource] = [creds]
    password = creds.passwords.get("password")
    if password is not None and c.namespace != namespace:
        copied: dict[str, pulumi.Input[str]] = {k: pulumi.Output.secret(v) for k, v in data.items()}
        copied["password"] = password
        secrets.append(k8s.core.v1.Secret(
            f"{name}-{c.name}-credentials-copy",
            metadata=kube.metadata(c.secret, c.namespace, copy_labels),
            type="Opaque",
            string_data=copied,
            opts=opts,
        ))
    return secrets, password


class Postgres(Component[PostgresArgs, list[ResolvedConsumer]], type_token=TYPE_TOKEN, resolve=resolve_consumers):
    databases: dict[str, PostgresDatabase]
    service_host: str
    port: int

    def _backup(self, name: str, args: PostgresArgs, consumers: list[ResolvedConsumer],
                children: Children) -> GeneratedSecret:
        return _backup_resources(self, name, args, consumers, children)

    def build(self, name: str, args: PostgresArgs, consumers: list[ResolvedConsumer],
              children: Children) -> pulumi.Inputs:
        names = postgres_names(args.instance)
        self.service_host = service_host(args)
        self.port = PORT

        meta = kube.Metadata(args.namespace, lambda part: _labels(args, part), "database")

        superuser = GeneratedSecret(
            f"{name}-superuser",
            GeneratedSecretArgs(namespace=args.namespace, secret_name=names.superuser_secret,
                                password_keys=("password",), derived={"username": SUPERUSER},
                                app_name=APP, instance=args.instance, source=args.credentials),
            children(),
        )
        self.databases = {}
        consumer_secrets: list[pulumi.Resource] = []
        for c in consumers:
            made, password = consumer_credentials(
                name, c, dict(consumer_secret_data(args, c)), args.namespace, args.instance, args.credentials,
                _labels(args, "credentials"), children())
            consumer_secrets += made
            self.databases[c.name] = PostgresDatabase(
                host=self.service_host, port=PORT, database=c.database, username=c.database,
                password=password, secret=c.secret, password_ref=SecretKeyRef(c.secret, "password"),
            )

        service, sts = stateful_server(
            name, names, meta, children, service=partial(postgres_service, args), client=("service", names.service),
            statefulset=postgres_statefulset(args), after=(superuser,))
        policy = consumer_network_policy(args, consumers)
        if policy is not None:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-consumers", metadata=meta(names.network_policy), spec=policy, opts=children())
        backup_creds: list[pulumi.Resource] = []
        if args.backup is not None:
            backup_creds.append(self._backup(name, args, consumers, children))
        if consumers:
            job_sa = k8s.core.v1.ServiceAccount(
                f"{name}-provision-sa", metadata=meta(names.job_service_account, "provision"),
                automount_service_account_token=False, opts=children())
            checksum = secret_checksum(*(self.databases[c.name].password for c in consumers),
                                       *(b.passwords.get("password") for b in backup_creds if isinstance(b, GeneratedSecret)))
            k8s.batch.v1.Job(
                f"{name}-provision",
                metadata=kube.metadata(names.job, args.namespace, _labels(args, "provision"),
                                  # A Job that failed is replaced on the next `up` instead of
                                  # being left failed.
                                  {"pulumi.com/replaceUnready": "true"}),
                spec=provision_job(args, consumers, checksum),
                opts=children(sts, service, job_sa, *consumer_secrets, *backup_creds),
            )

        outputs: dict[str, Any] = {
            "service_host": self.service_host,
            "port": self.port,
            "databases": {k: {"database": v.database, "secret": v.secret} for k, v in self.databases.items()},
        }
        return outputs


def _backup_resources(component: Postgres, name: str, args: PostgresArgs, consumers: list[ResolvedConsumer],
                      children: Children) -> GeneratedSecret:
    """The backup role's Secret, the agent ConfigMap, the CronJob and the Pushgateway policies."""
    s = _require_backup(args)
    names = backup_names(args.instance)
    creds = GeneratedSecret(
        f"{name}-backup-credentials",
        GeneratedSecretArgs(namespace=args.namespace, secret_name=backup_secret(args.instance),
                            password_keys=("password",), derived={"username": BACKUP_ROLE},
                            app_name=APP, instance=args.instance, source=args.credentials),
        children(),
    )
    meta = kube.metadata(names.service_account, args.namespace, names.labels)
    if s.irsa_role_arn is not None:
        meta["annotations"] = {"eks.amazonaws.com/role-arn": s.irsa_role_arn}
    sa = k8s.core.v1.ServiceAccount(f"{name}-backup-sa", metadata=meta, automount_service_account_token=False,
                                    opts=children())
    agent = k8s.core.v1.ConfigMap(f"{name}-backup-agent", metadata=kube.metadata(names.agent_configmap, args.namespace,
                                                                             names.labels),
                                  data={"agent.py": agent_script()}, opts=children())
    k8s.batch.v1.CronJob(f"{name}-backup", metadata=kube.metadata(names.cronjob, args.namespace, names.labels),
                         spec=backup_cronjob_spec(args, consumers), opts=children(sa, agent, creds))
    if s.pushgateway_namespace is not None:
        pods = {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": args.instance,
                "app.kubernetes.io/component": "backup"}
        k8s.networking.v1.NetworkPolicy(
            f"{name}-backup-push", metadata=kube.metadata(k8s_name(args.instance, "backup-push"), args.namespace,
                                                     names.labels),
            spec=pushgateway_egress(pods, s.pushgateway_namespace, s.pushgateway_selector), opts=children())
        k8s.networking.v1.NetworkPolicy(
            f"{name}-backup-pushgateway", metadata=kube.metadata(k8s_name(args.instance, "backup-push"),
                                                            s.pushgateway_namespace, names.labels),
            spec=pushgateway_ingress(s.pushgateway_selector, args.namespace, pods), opts=children())
    return creds
