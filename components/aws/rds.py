"""RDS for PostgreSQL: the managed twin of components/postgres.py, behind the same contract.

Two components, because their lifetimes differ:

- `ManagedPostgres` ("omgml:aws:RdsPostgres") is the AWS side: a KMS key, a security group that
  admits 5432 from the EKS nodes only, a subnet group on the private subnets, a parameter group
  that forces TLS, and the instance itself (encrypted, backed up, Multi-AZ when asked,
  deletion-protected with a final snapshot outside the laptop profile). The master password is
  generated and kept by RDS in Secrets Manager (`manage_master_user_password`): it never enters
  the Pulumi state or the cluster's Secrets.
- `RdsDatabases` ("omgml:aws:RdsDatabases") is the in-cluster side, created once the namespaces
  exist: one database and role per consumer, exactly as the in-cluster Postgres provisions them.
  Each consumer gets a generated password in its own Secret (same names and keys as in-cluster).
  A re-runnable Job creates the roles and databases as the master user: its init container reads
  the master secret with an IRSA role allowed `secretsmanager:GetSecretValue` on that one secret
  ARN (and kms:Decrypt on its key, only via Secrets Manager), writes it to a memory-backed
  volume, and the psql container reads the password from there. Nothing else can read the
  master password: no Kubernetes Secret holds it.

Consumers reach the instance as `postgres.<namespace>.svc.cluster.local`, an ExternalName Service
aliasing the RDS endpoint, so the contract's `host` is a plain string known at program time
(the RDS address is known only after creation). TLS is forced by the parameter group; libpq's
default sslmode (prefer) encrypts without checking the host name, which the alias would fail.
A client that verifies the server name (sslmode=verify-full) must use `managed_host`, the RDS
address itself, and the RDS CA bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.aws import common
from omgml.components.aws.irsa import IrsaRole, IrsaRoleArgs, secret_read_statements
from omgml.components.base import Component, require_between
from omgml.components.contracts import PostgresDatabase, SecretKeyRef
from omgml.components.credentials import secret_checksum
from omgml.components.options import Children, keeps_data
from omgml.components.postgres import IMAGE as PSQL_IMAGE
from omgml.components.postgres import UID as PSQL_UID
from omgml.components.postgres import (
    PostgresConsumer,
    ResolvedConsumer,
    consumer_credentials,
    consumer_databases,
    consumer_sql,
)
from omgml.labels import standard_labels
from omgml.naming import k8s_name, require_dns_label
from omgml.spec.common import CredentialSource, Profile, per_profile

TYPE_TOKEN = "omgml:aws:RdsPostgres"
DATABASES_TYPE_TOKEN = "omgml:aws:RdsDatabases"

# Major version only: RDS picks its newest minor and auto_minor_version_upgrade keeps it current
# (a pinned minor would show as drift after every automatic upgrade). Matches the in-cluster
# major. Check availability with `aws rds describe-db-engine-versions --engine postgres`.
ENGINE_VERSION = "18"
PARAMETER_FAMILY = "postgres18"
PORT = 5432
HTTPS = 443  # the VPC interface endpoints of STS and Secrets Manager
MASTER_USERNAME = "omgml_admin"
# The RSA 2048 CA is the RDS default since 2024; named so a future default change is a diff.
CA_CERT = "rds-ca-rsa2048-g1"
# AWS CLI v2 (public ECR, the project's official image). Only the init container uses it.
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.36.15"
APP = "postgres"
MASTER_DIR = "/run/rds-master"
MASTER_FILE = f"{MASTER_DIR}/secret.json"
JOB_SIZE = kube.Size("50m", "64Mi", "500m", "128Mi")
CLI_SIZE = kube.Size("50m", "128Mi", "500m", "256Mi")

# Names RDS owns besides Postgres' own: a consumer may not take them over.
RDS_RESERVED = frozenset({"rdsadmin", MASTER_USERNAME})


# Graviton classes: the cheapest per vCPU. Backups: a week at least, two in production.
RDS_SIZING = per_profile(
    laptop=common.StoreSizing("db.t4g.micro", backup_days=7),
    small=common.StoreSizing("db.t4g.medium", backup_days=7),
    production=common.StoreSizing("db.m7g.large", backup_days=14),
)
MIN_STORAGE_GIB = 20  # the gp3 minimum on RDS


@dataclass(frozen=True, kw_only=True)
class ManagedPostgresArgs(common.ManagedStoreArgs):
    storage_gib: int
    # A standby in a second zone with synchronous replication (availability 99.95/99.99).
    multi_az: bool
    audit_logging: bool = False
    # Automated backups (and so the point-in-time restore window), 1-35 days; None: the profile's.
    backup_retention_days: int | None = None


def rds_identifier(platform: str) -> str:
    return k8s_name(platform, "postgres")


def rds_parameters(audit_logging: bool) -> list[dict[str, str]]:
    """TLS only (also the RDS default since 15, stated so it cannot silently change); with
    audit logging, every connection and disconnection is logged."""
    params = [{"name": "rds.force_ssl", "value": "1"}]
    if audit_logging:
        params += [{"name": "log_connections", "value": "1"}, {"name": "log_disconnections", "value": "1"}]
    return params


def allocated_storage(storage_gib: int) -> tuple[int, int]:
    """(allocated, autoscaling ceiling) in GiB: the spec's size (at least the gp3 minimum) and
    room for RDS storage autoscaling up to five times that before anyone must act."""
    allocated = max(MIN_STORAGE_GIB, storage_gib)
    return allocated, allocated * 5


@dataclass(frozen=True)
class ResolvedRds:
    sizing: common.StoreSizing
    backup_retention_days: int


def resolve(args: ManagedPostgresArgs) -> ResolvedRds:
    """The profile's instance class and the backup days (the args' or the profile's), checked."""
    sizing = args.sizing(RDS_SIZING)
    if args.storage_gib < 1:
        raise ValueError(f"ManagedPostgresArgs.storage_gib={args.storage_gib} must be at least 1")
    retention = args.backup_retention_days or sizing.backup_days
    require_between("ManagedPostgresArgs.backup_retention_days", retention, 1, 35,
                    "the days RDS keeps automated backups")
    return ResolvedRds(sizing, retention)


class ManagedPostgres(Component[ManagedPostgresArgs, ResolvedRds], type_token=TYPE_TOKEN, resolve=resolve):
    identifier: str
    address: pulumi.Output[str]
    port: int
    master_secret_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def build(self, name: str, args: ManagedPostgresArgs, r: ResolvedRds, children: Children) -> pulumi.Inputs:
        sizing, retention = r.sizing, r.backup_retention_days
        keep = keeps_data(args.profile)
        tag_set = args.tag_set("postgres")
        child = children()
        self.identifier = rds_identifier(args.platform)

        key = common.kms_key(name, f"RDS Postgres {self.identifier}: storage and master secret", args.profile, tag_set, self)
        sg = common.data_store_security_group(name, f"RDS Postgres {self.identifier}", PORT, args.network, tag_set, self)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=list(args.network.subnet_ids),
                                      description=f"private subnets of {self.identifier}", tags=tag_set, opts=child)
        params = aws.rds.ParameterGroup(f"{name}-params", family=PARAMETER_FAMILY,
                                        description=f"TLS-only settings of {self.identifier}",
                                        parameters=rds_parameters(args.audit_logging), tags=tag_set, opts=child)
        allocated, ceiling = allocated_storage(args.storage_gib)
        instance = aws.rds.Instance(
            f"{name}-instance",
            identifier=self.identifier,
            engine="postgres",
            engine_version=ENGINE_VERSION,
            auto_minor_version_upgrade=True,
            instance_class=sizing.instance_class,
            allocated_storage=allocated,
            max_allocated_storage=ceiling,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            multi_az=args.multi_az,
            ca_cert_identifier=CA_CERT,
            # Automated daily snapshots plus the transaction log: point-in-time restore to any
            # second of the window.
            backup_retention_period=retention,
            copy_tags_to_snapshot=True,
            deletion_protection=keep,
            skip_final_snapshot=not keep,
            final_snapshot_identifier=f"{self.identifier}-final" if keep else None,
            # Automated backups outlive the instance outside the laptop profile: the last
            # point-in-time restore window stays available after a deletion.
            delete_automated_backups=not keep,
            enabled_cloudwatch_logs_exports=["postgresql"] if args.audit_logging else [],
            tags=tag_set,
            opts=children.data(),
        )
        self.address = instance.address
        self.port = PORT
        self.master_secret_arn = instance.master_user_secrets.apply(lambda s: s[0].secret_arn)
        self.kms_key_arn = key.arn
        return {"identifier": self.identifier, "address": self.address, "port": self.port,
                "master_secret_arn": self.master_secret_arn}


# --- in-cluster side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RdsDatabasesArgs:
    platform: str
    region: str
    profile: Profile
    # Where the alias Service, the provisioning Job and the consumer Secrets live.
    namespace: str
    consumers: tuple[PostgresConsumer, ...]
    address: pulumi.Input[str]
    master_secret_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    vpc_cidr: str
    instance: str = "postgres"
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class RdsNames:
    job: str
    job_service_account: str
    job_egress_policy: str
    consumer_egress_policy: str


def rds_names(instance: str) -> RdsNames:
    return RdsNames(
        job=k8s_name(instance, "provision"),
        job_service_account=k8s_name(instance, "provision"),
        job_egress_policy=k8s_name(instance, "provision-egress"),
        consumer_egress_policy=k8s_name(instance, "rds-egress"),
    )


def resolve_consumers(args: RdsDatabasesArgs) -> list[ResolvedConsumer]:
    """Consumers with their database/role names: the same names as the in-cluster Postgres, so
    switching targets changes no consumer."""
    for fld, value in (("namespace", args.namespace), ("instance", args.instance)):
        require_dns_label(f"RdsDatabasesArgs.{fld}", value)
    if not args.consumers:
        raise ValueError("RdsDatabasesArgs.consumers is empty; list the workloads that need a database")
    return consumer_databases("RdsDatabasesArgs", args.instance, args.consumers, RDS_RESERVED, reserved_by="RDS")


def rds_provision_sql(consumers: list[ResolvedConsumer]) -> str:
    """Idempotent psql script run as the RDS master user.

    The master user is not a superuser (rds_superuser), so unlike the in-cluster script this
    one does not set SUPERUSER/CREATEROLE attributes (a role it creates has none of them), and
    it grants itself membership of each consumer role first: since Postgres 16 the creator of
    a role may not make it a database owner otherwise. Passwords come from the environment
    (\\getenv), never from the script text.
    """
    lines = ["\\set ON_ERROR_STOP on"]
    for c in consumers:
        lines += consumer_sql(c, creator_joins=True)
    return "\n".join(lines) + "\n"


# Prints the "password" member of the RDS master secret ({"username": …, "password": …}),
# undoing JSON string escapes (\" \\ \/ \b \f \n \r \t and \u00XX for printable ASCII, which
# is all RDS generates). POSIX awk only: the postgres Alpine image has busybox awk, no jq.
MASTER_FIELD_PARSER = r"""
{ doc = doc $0 }
END {
  key = "\"password\""
  i = index(doc, key)
  if (i == 0) { print "no password in the master secret" > "/dev/stderr"; exit 2 }
  rest = substr(doc, i + length(key))
  sub(/^[ \t\r\n]*:[ \t\r\n]*"/, "", rest)
  hex = "0123456789abcdef"
  out = ""
  while (length(rest) > 0) {
    c = substr(rest, 1, 1)
    if (c == "\"") { printf "%s", out; exit 0 }
    if (c == "\\") {
      n = substr(rest, 2, 1)
      if (n == "u") {
        code = 0
        for (k = 3; k <= 6; k++) code = code * 16 + index(hex, tolower(substr(rest, k, 1))) - 1
        if (code < 32 || code > 126) { print "unsupported escape in the master secret" > "/dev/stderr"; exit 2 }
        out = out sprintf("%c", code)
        rest = substr(rest, 7)
        continue
      }
      if (n == "n") n = "\n"
      else if (n == "t") n = "\t"
      else if (n == "r") n = "\r"
      else if (n == "b") n = "\b"
      else if (n == "f") n = "\f"
      out = out n
      rest = substr(rest, 3)
      continue
    }
    out = out c
    rest = substr(rest, 2)
  }
  print "unterminated password in the master secret" > "/dev/stderr"
  exit 2
}
"""

_FETCH_SCRIPT = (
    'aws secretsmanager get-secret-value --secret-id "$MASTER_SECRET_ID" '
    f'--query SecretString --output text > {MASTER_FILE}\n'
)
_PROVISION_SCRIPT = (
    f'PGPASSWORD="$(awk "$MASTER_FIELD_PARSER" {MASTER_FILE})" || exit 1\n'
    'export PGPASSWORD\n'
    'until pg_isready -q; do echo "waiting for $PGHOST:$PGPORT"; sleep 3; done\n'
    'printf "%s\\n" "$PROVISION_SQL" | psql -X -v ON_ERROR_STOP=1 -f -\n'
)


def _job_labels(args: RdsDatabasesArgs) -> dict[str, str]:
    return standard_labels(APP, args.instance, "provision", ENGINE_VERSION)


def _job_selector(args: RdsDatabasesArgs) -> dict[str, str]:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": args.instance,
            "app.kubernetes.io/component": "provision"}


def _isready(host: str) -> list[str]:
    return ["pg_isready", "-q", "-h", host, "-p", str(PORT), "-U", MASTER_USERNAME]


def provision_job(args: RdsDatabasesArgs, consumers: list[ResolvedConsumer], master_secret_arn: pulumi.Input[str],
                  credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    """The Job spec that creates the consumers' roles and databases on RDS (re-runnable)."""
    names = rds_names(args.instance)
    host = common.alias_host(args.instance, args.namespace)
    annotations = {"omgml.dev/rotation-checksum": credentials_checksum} if credentials_checksum is not None else None
    fetch: kube.JsonDict = {
        "name": "fetch-master-secret",
        "image": AWS_CLI_IMAGE,
        "command": ["sh", "-c", _FETCH_SCRIPT],
        "env": [
            {"name": "MASTER_SECRET_ID", "value": master_secret_arn},
            kube.plain_env("AWS_REGION", args.region),
            kube.plain_env("AWS_DEFAULT_REGION", args.region),
            # The CLI writes its cache under $HOME; the root filesystem is read-only.
            kube.plain_env("HOME", "/tmp"),
        ],
        "resources": CLI_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "master", "mountPath": MASTER_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    provision: kube.JsonDict = {
        "name": "provision",
        "image": PSQL_IMAGE,
        "command": ["sh", "-c", _PROVISION_SCRIPT],
        "env": [
            kube.plain_env("PGHOST", host),
            kube.plain_env("PGPORT", str(PORT)),
            kube.plain_env("PGUSER", MASTER_USERNAME),
            kube.plain_env("PGDATABASE", "postgres"),
            kube.plain_env("PGSSLMODE", "require"),
            kube.plain_env("PGCONNECT_TIMEOUT", "5"),
            kube.plain_env("MASTER_FIELD_PARSER", MASTER_FIELD_PARSER),
            *(kube.secret_env(c.password_env, c.secret, "password") for c in consumers),
            kube.plain_env("PROVISION_SQL", rds_provision_sql(consumers)),
        ],
        "resources": JOB_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # Both probes watch the server the batch works against: a psql hanging on an endpoint
        # that went away is restarted instead of idling until the deadline.
        "readinessProbe": kube.exec_probe(_isready(host), period=10, failures=3),
        "livenessProbe": kube.exec_probe(_isready(host), period=20, failures=6),
        "volumeMounts": [{"name": "master", "mountPath": MASTER_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    # The IRSA webhook mounts its own projected token for STS; the Kubernetes API token is not needed.
    pod = kube.restricted_pod_spec(names.job_service_account, PSQL_UID, [provision], init_containers=[fetch],
                              restartPolicy="Never", volumes=[
        # Memory-backed: the master password never touches a node's disk.
        {"name": "master", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ])
    return kube.job_spec(kube.pod_template(_job_labels(args), pod, annotations), backoff_limit=6, active_deadline_seconds=900)


def job_egress_policy(args: RdsDatabasesArgs) -> list[kube.JsonDict]:
    """The provisioning pods may reach RDS and, over HTTPS, the VPC's interface endpoints of STS
    (IRSA) and Secrets Manager: both inside the VPC, so nothing opens towards the internet."""
    selector = {"matchLabels": _job_selector(args)}
    return [common.vpc_egress_policy(args.vpc_cidr, [PORT], selector), common.vpc_egress_policy(args.vpc_cidr, [HTTPS], selector)]


class RdsDatabases(pulumi.ComponentResource):
    databases: dict[str, PostgresDatabase]
    host: str
    job_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RdsDatabasesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(DATABASES_TYPE_TOKEN, name, None, opts)
        consumers = resolve_consumers(args)
        names = rds_names(args.instance)
        self.host = common.alias_host(args.instance, args.namespace)
        # Pulumi does not pass a component's depends_on to its children (e.g. "after the
        # namespaces exist"); every object here needs it.
        child = pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None)
        address = pulumi.Output.from_input(args.address)

        def meta(obj: str, component: str, namespace: str | None = None,
                 annotations: dict[str, pulumi.Input[str]] | None = None) -> kube.JsonDict:
            m = kube.metadata(obj, namespace or args.namespace, standard_labels(APP, args.instance, component))
            if annotations:
                m["annotations"] = annotations
            return m

        alias = common.alias_service(name, args.instance, args.namespace, standard_labels(APP, args.instance, "database"),
                                     address, PORT, "postgres", child)

        self.databases = {}
        secrets: list[pulumi.Resource] = []
        for c in consumers:
            data: dict[str, pulumi.Input[str]] = {"host": self.host, "port": str(PORT),
                                                  "database": c.database, "username": c.database}
            made, password = consumer_credentials(name, c, data, args.namespace, args.instance, args.credentials,
                                                  standard_labels(APP, args.instance, "credentials"), child)
            secrets += made
            self.databases[c.name] = PostgresDatabase(
                host=self.host, port=PORT, database=c.database, username=c.database, password=password,
                secret=c.secret, password_ref=SecretKeyRef(c.secret, "password"), managed_host=address,
            )
        for ns in sorted({c.namespace for c in consumers}):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-egress-{ns}", metadata=meta(names.consumer_egress_policy, "network", ns),
                spec=common.vpc_egress_policy(args.vpc_cidr, [PORT]), opts=child)

        role = IrsaRole(f"{name}-provision", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer_host=args.oidc_issuer_host,
            namespace=args.namespace, service_account=names.job_service_account,
            statements=secret_read_statements(args.master_secret_arn, args.kms_key_arn, args.region),
            description=f"reads the RDS master secret of {args.platform} to create consumer databases",
        ), child)
        self.job_role_arn = role.arn
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-provision-sa",
            metadata=meta(names.job_service_account, "provision", annotations=kube.service_account_annotations(role.arn)),
            automount_service_account_token=False, opts=child)
        egress = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-provision-egress-{i}", metadata=meta(k8s_name(names.job_egress_policy, suffix), "network"),
                spec=spec, opts=child)
            for i, (suffix, spec) in enumerate(zip(("rds", "aws-api"), job_egress_policy(args), strict=True))
        ]
        checksum = secret_checksum(*(d.password for d in self.databases.values()))
        k8s.batch.v1.Job(
            f"{name}-provision",
            metadata=kube.metadata(names.job, args.namespace, _job_labels(args), {"pulumi.com/replaceUnready": "true"}),
            spec=provision_job(args, consumers, args.master_secret_arn, checksum),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[alias, sa, *egress, *secrets])),
        )
        self.register_outputs({"host": self.host, "databases": {
            k: {"database": v.database, "secret": v.secret} for k, v in self.databases.items()}})
