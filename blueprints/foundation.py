"""Foundation phase: namespaces, data stores, tracking and features.

The foundation runs first, so it owns every platform namespace that its Secrets must land
in: the data namespace, and the training and serving namespaces of the enabled phases (the
object-store and Redis credentials are copied into them). Later phases create their workloads
in those namespaces but not the Namespace objects themselves; their settings (Pod Security
level, external egress) come from the spec here, in `platform_namespace_args`.

For the same reason the foundation provisions the training phase's Postgres consumers
(Airflow, Prefect: own database, role and Secret in the orchestration namespace) and, for an
Airflow the team already runs (`phases.training.airflow.connections_bundle`), the
`airflow-connections` Secret + ConfigMap built from the secret Outputs only this phase holds.

On aws, omgml.program builds the VPC and EKS cluster first (components/aws) and passes it in:
Postgres, Redis, Kafka and the object store marked `managed: true` become RDS, ElastiCache,
MSK and S3 behind the same endpoint contracts. S3 has no static keys: this phase creates an
IRSA role per S3 consumer of the whole platform (blueprints/s3.py: MLflow and Feast here,
Kubeflow/Airflow/Prefect in training, the model server and the drift job in serving) and
exports their ARNs as `s3_irsa_roles` for the later phases to annotate their ServiceAccounts.

What it exports is blueprints/contracts.FoundationOutputs (on aws with the cluster's
EksClusterOutputs beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from omgml.backup import POSTGRES, backup_settings, dumped_stores, versioned_buckets
from omgml.blueprints.contracts import FoundationOutputs
from omgml.blueprints.phase import Phase
from omgml.blueprints.s3 import s3_consumers
from omgml.buckets import BUCKET_ROLES, bucket_names
from omgml.components.airflow import AirflowConnections, AirflowConnectionsArgs
from omgml.components.data_quality import DataQualityArgs, GreatExpectations, QualityCheck
from omgml.components.feast import Feast, FeastArgs
from omgml.components.kafka import Kafka, KafkaArgs, kafka_brokers
from omgml.components.lineage import Lineage, LineageArgs
from omgml.components.mlflow import Mlflow, MlflowArgs
from omgml.components.namespace import NamespaceArgs, PlatformNamespace, egress_to_namespaces
from omgml.components.objectstore import ObjectStore, ObjectStoreArgs
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from omgml.components.prometheus.pushgateway import PUSHGATEWAY_PORT
from omgml.components.redis import Redis, RedisArgs
from omgml.components.sources import DataConnections, DataConnectionsArgs
from omgml.data_quality import Suite, default_suites, runner_image
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec import PlatformSpec

if TYPE_CHECKING:
    from omgml.components.aws.platform import AwsFoundation
    from omgml.components.aws.s3 import S3Access
    from omgml.components.contracts import KafkaEndpoint, ObjectStoreEndpoint, PostgresDatabase, RedisEndpoint

TYPE_TOKEN = "omgml:blueprints:Foundation"

@dataclass(frozen=True)
class FoundationArgs:
    spec: PlatformSpec
    # Target aws: the VPC + EKS cluster + managed stores (built first by omgml.program); the
    # stores the spec marks `managed: true` come from it behind the same endpoint contracts.
    aws: AwsFoundation | None = None
    # The project's data-quality suites by name (omgml.data_quality.load_suites); None: the
    # starter suites `omgml init` writes.
    suites: dict[str, Suite] | None = None


def platform_namespace_args(spec: PlatformSpec) -> list[NamespaceArgs]:
    """The data namespace first, then the client namespaces of the enabled phases."""
    f = spec.phases.foundation
    t = spec.phases.training
    s = spec.phases.serving
    kfp = t.enabled and t.kubeflow.enabled
    clients: list[NamespaceArgs] = []
    if kfp:
        kf = t.kubeflow
        # Pipeline steps call the KFP API and metadata services; the system pods reach back.
        clients.append(NamespaceArgs(name=kf.namespace, allow_ingress_from=(kf.user_namespace,)))
        step_security = kf.step_pod_security
        clients.append(NamespaceArgs(
            name=kf.user_namespace,
            extra_labels=katib_namespace_labels(spec),
            pod_security=step_security,
            pod_security_reason=(
                "pipeline steps run user images, most of which run as root "
                "(phases.training.kubeflow.step_pod_security)" if step_security != "restricted" else None
            ),
            allow_ingress_from=(kf.namespace,),
            allow_external_egress=kf.allow_external_egress,
        ))
    if t.orchestration_namespace_needed():
        # Airflow/Prefect and the task pods they launch: restricted (their pod templates are ours).
        clients.append(NamespaceArgs(name=t.orchestration.namespace,
                                     allow_external_egress=t.orchestration.allow_external_egress))
    if s.enabled:
        clients.append(NamespaceArgs(name=s.namespace))
    data = NamespaceArgs(name=f.namespace, allow_ingress_from=tuple(c.name for c in clients))
    return [data, *clients]


def orchestration_consumers(spec: PlatformSpec) -> tuple[PostgresConsumer, ...]:
    """Airflow and Prefect get their own database and role; the Secret lands in their namespace."""
    t = spec.phases.training
    if not t.orchestration_namespace_needed():
        return ()
    return tuple(PostgresConsumer(name=tool, namespace=t.orchestration.namespace)
                 for tool in ("airflow", "prefect") if getattr(t, tool).enabled)


def pipeline_namespaces(spec: PlatformSpec) -> tuple[str, ...]:
    """Namespaces where pipeline steps run (Kubeflow's step namespace, Airflow/Prefect's)."""
    t = spec.phases.training
    out: list[str] = []
    if t.enabled and t.kubeflow.enabled:
        out.append(t.kubeflow.user_namespace)
    if t.orchestration_namespace_needed():
        out.append(t.orchestration.namespace)
    return tuple(out)


def pushgateway_of(spec: PlatformSpec) -> tuple[str, dict[str, str]] | None:
    """The serving phase's Pushgateway (URL, pod labels), known from the spec alone (its names
    come from the same naming helper as the Prometheus component's)."""
    s = spec.phases.serving
    if not (s.enabled and s.prometheus.enabled and s.prometheus.pushgateway):
        return None
    name = k8s_name(spec.name, "pushgateway")
    return (f"http://{name}.{s.namespace}.svc:{PUSHGATEWAY_PORT}",
            selector_labels("pushgateway", spec.name, "monitoring"))


def dataset_url(path: str, bucket: str) -> str:
    """A spec dataset path as s3://bucket/prefix (relative paths live in `bucket`)."""
    return path if path.startswith("s3://") else f"s3://{bucket}/{path.lstrip('/')}"


def postgres_consumers(spec: PlatformSpec) -> tuple[PostgresConsumer, ...]:
    """Every workload with its own database on the platform's Postgres, in provisioning order."""
    f = spec.phases.foundation
    return tuple(
        PostgresConsumer(name=c, namespace=f.namespace)
        for c, enabled in (("mlflow", f.mlflow.enabled), ("feast", f.feast.enabled),
                           ("lineage", f.lineage.enabled))
        if enabled
    ) + orchestration_consumers(spec) + hpo_consumers(spec)


def hpo_consumers(spec: PlatformSpec) -> tuple[PostgresConsumer, ...]:
    """The HPO service's database: Katib's db-manager in the KFP namespace, or the Optuna study
    storage in the orchestration namespace (the Secret lands where its pods run)."""
    t = spec.phases.training
    if not (t.enabled and t.hpo.enabled):
        return ()
    if t.hpo.resolved_engine(t.kubeflow.enabled) == "katib":
        return (PostgresConsumer(name="katib", namespace=t.kubeflow.namespace),)
    return (PostgresConsumer(name="optuna", namespace=t.orchestration.namespace),)


def katib_namespace_labels(spec: PlatformSpec) -> tuple[tuple[str, str], ...]:
    """Katib injects its metrics collector into trial pods of namespaces with this label."""
    from omgml.components.katib.release import INJECTION_LABEL

    t = spec.phases.training
    if t.enabled and t.hpo.enabled and t.hpo.resolved_engine(t.kubeflow.enabled) == "katib":
        return ((INJECTION_LABEL, "enabled"),)
    return ()


def _peer_egress(ns: NamespaceArgs, data_namespace: str) -> list[str]:
    """Namespaces a client namespace may open connections to: the data stores, plus any
    namespace it exchanges traffic with (allow_ingress_from is symmetric for KFP's pair)."""
    return sorted({data_namespace, *ns.allow_ingress_from})


class Foundation(Phase[FoundationArgs], type_token=TYPE_TOKEN):
    outputs: FoundationOutputs

    def build(self, name: str, args: FoundationArgs, child: pulumi.ResourceOptions) -> dict[str, Any]:
        spec = args.spec
        f = spec.phases.foundation
        profile = spec.profile
        data_ns = f.namespace
        ns_args = platform_namespace_args(spec)
        clients = [a.name for a in ns_args[1:]]

        namespaces: list[PlatformNamespace] = []
        for a in ns_args:
            label = "data" if a.name == data_ns else a.name
            namespaces.append(PlatformNamespace(f"{name}-ns-{label}", a, child))
        for a, ns_res in zip(ns_args[1:], namespaces[1:], strict=True):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-egress-{a.name}",
                metadata={"name": "allow-egress-to-platform", "namespace": a.name,
                          "labels": standard_labels("namespace", a.name)},
                spec=egress_to_namespaces(_peer_egress(a, data_ns)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns_res]),
            )
        in_namespaces = pulumi.ResourceOptions(parent=self, depends_on=list(namespaces))

        # On S3 the names carry an account/region suffix (AwsFoundation.buckets): bucket names
        # are global across AWS accounts.
        buckets = args.aws.buckets if args.aws is not None else bucket_names(spec)
        consumers = postgres_consumers(spec)
        # Postgres: in-cluster, or RDS on aws when managed; consumers only see PostgresDatabase.
        databases: dict[str, PostgresDatabase] = {}
        postgres: pulumi.Resource | None = None
        if f.postgres.enabled and args.aws is not None and f.postgres.managed:
            databases = args.aws.postgres(consumers, namespace=data_ns, depends_on=namespaces)
            postgres = args.aws
        # Object store: in-cluster (one key pair for all), or S3 on aws when managed, where
        # each consumer of the platform gets its own IRSA role (`s3.endpoints[consumer]`).
        store: ObjectStoreEndpoint | None = None
        s3: S3Access | None = None
        objectstore: pulumi.Resource | None = None
        if f.object_store.enabled and args.aws is not None and f.object_store.managed:
            s3 = args.aws.object_store(s3_consumers(spec, buckets), client_namespaces=(data_ns, *clients),
                                       depends_on=namespaces)
            store, objectstore = s3.endpoint, args.aws
        elif f.object_store.enabled:
            in_cluster_store = ObjectStore(f"{name}-objectstore", ObjectStoreArgs(
                namespace=data_ns, storage_gib=f.object_store.storage_gib, profile=profile,
                buckets=buckets, client_namespaces=(data_ns, *clients), credentials=spec.credentials,
                versioned_buckets=versioned_buckets(spec),
            ), in_namespaces)
            store, objectstore = in_cluster_store.endpoint, in_cluster_store
        if f.postgres.enabled and not (args.aws is not None and f.postgres.managed):
            backup = None
            if POSTGRES in dumped_stores(spec):
                if store is None:
                    raise ValueError("backup: the Postgres backups go to the object store; enable "
                                     "phases.foundation.object_store or set backup.enabled: false")
                backup = backup_settings(
                    spec, endpoint_url=store.endpoint_url, region=store.region,
                    key_secret=store.access_key_ref.secret_name if s3 is None else None,
                    irsa_role_arn=s3.roles["postgres-backup"].arn if s3 is not None else None,
                    # The object store's data buckets are pruned by the Postgres backup: the
                    # store has no scheduled job of its own.
                    versioned=versioned_buckets(spec), scratch_gib=f.postgres.storage_gib)
            in_cluster_pg = Postgres(f"{name}-postgres", PostgresArgs(
                namespace=data_ns, storage_gib=f.postgres.storage_gib, profile=profile, consumers=consumers,
                credentials=spec.credentials, backup=backup,
            ), in_namespaces if backup is None or objectstore is None else pulumi.ResourceOptions(
                parent=self, depends_on=[*namespaces, objectstore]))
            databases, postgres = in_cluster_pg.databases, in_cluster_pg

        def store_of(consumer: str) -> ObjectStoreEndpoint:
            assert store is not None
            return s3.endpoints[consumer] if s3 is not None else store
        redis: RedisEndpoint | None = None
        redis_deps: list[pulumi.Resource] = []
        if f.redis.enabled and args.aws is not None and f.redis.managed:
            redis = args.aws.redis(data_ns, client_namespaces=tuple(clients), depends_on=namespaces)
            redis_deps = [args.aws]
        elif f.redis.enabled:
            in_cluster_redis = Redis(f"{name}-redis", RedisArgs(
                namespace=data_ns, storage_gib=f.redis.storage_gib, max_memory_mib=f.redis.max_memory_mib,
                profile=profile, client_namespaces=tuple(clients), credentials=spec.credentials,
            ), in_namespaces)
            redis, redis_deps = in_cluster_redis.endpoint, [in_cluster_redis]
        kafka: KafkaEndpoint | None = None
        if f.kafka.enabled and args.aws is not None and f.kafka.managed:
            kafka = args.aws.kafka(client_namespaces=(data_ns, *clients), depends_on=namespaces)
            logging_server = spec.phases.serving
            if logging_server.enabled and logging_server.server.enabled and logging_server.inference_logging:
                # MSK takes IAM identities only: the model server's IRSA role (its S3 role,
                # platform_problems makes sure it exists) may write the inference log.
                assert s3 is not None
                args.aws.kafka_client("model-server", s3.roles["model-server"],
                                      [logging_server.inference_log_topic])
        elif f.kafka.enabled:
            kafka = Kafka(f"{name}-kafka", KafkaArgs(
                namespace=data_ns, brokers=kafka_brokers(f.kafka.brokers, profile),
                storage_gib=f.kafka.storage_gib, profile=profile, topics=tuple(f.kafka.topics),
                credentials=spec.credentials,
            ), in_namespaces).endpoint

        mlflow = None
        if f.mlflow.enabled:
            # platform_problems guarantees Postgres and the object store when MLflow is on.
            assert postgres is not None and objectstore is not None
            mlflow = Mlflow(f"{name}-mlflow", MlflowArgs(
                namespace=data_ns, replicas=f.mlflow.replicas, profile=profile,
                backend=databases["mlflow"], store=store_of("mlflow"),
                artifacts_bucket=buckets["mlflow"],
            ), pulumi.ResourceOptions(parent=self, depends_on=[*namespaces, postgres, objectstore]))
        feast = None
        if f.feast.enabled:
            assert postgres is not None and objectstore is not None
            online = redis if f.feast.online_store == "redis" else None
            feast = Feast(f"{name}-feast", FeastArgs(
                namespace=data_ns, replicas=f.feast.replicas, profile=profile,
                registry=databases["feast"],
                online=online,
                store=store_of("feast"), offline_bucket=buckets["features"],
                feature_repo=f.feast.feature_repo, project=spec.name.replace("-", "_"),
                offline_store=f.feast.offline_store,
                delta_tables=tuple(f.feast.delta_tables) if f.feast.offline_store == "delta" else (),
                materialize_schedule=f.feast.materialize_schedule,
                warehouse=spec.snowflake_source(),
            ), pulumi.ResourceOptions(parent=self, depends_on=[
                *namespaces, postgres, objectstore, *(redis_deps if online is not None else [])]))

        lineage = None
        if f.lineage.enabled:
            assert postgres is not None
            lineage = Lineage(f"{name}-lineage", LineageArgs(
                namespace=data_ns, profile=profile, replicas=f.lineage.replicas, database=databases["lineage"],
                retention_days=f.lineage.retention_days,
            ), pulumi.ResourceOptions(parent=self, depends_on=[*namespaces, postgres]))
        steps = pipeline_namespaces(spec)
        if f.data_quality.enabled:
            assert objectstore is not None
            dq = f.data_quality
            features = buckets["features"]
            pushgateway = pushgateway_of(spec)
            GreatExpectations(f"{name}-data-quality", DataQualityArgs(
                namespace=data_ns, profile=profile, image=runner_image(spec), schedule=dq.schedule,
                checks=tuple(QualityCheck(c.name, c.suite, dataset_url(c.data, features), c.format)
                             for c in dq.checks),
                suites=args.suites if args.suites is not None else default_suites(spec),
                store=store_of("data-quality"), docs_url=f"s3://{features}/{dq.docs_prefix}",
                pushgateway_url=pushgateway[0] if pushgateway else None,
                pushgateway_namespace=spec.phases.serving.namespace if pushgateway else None,
                pushgateway_selector=pushgateway[1] if pushgateway else None,
                lineage_url=lineage.url if lineage else None, lineage_namespace=spec.lineage_namespace(),
                step_namespaces=steps,
                irsa_role_arn=store_of("data-quality").irsa_role_arn,
            ), pulumi.ResourceOptions(parent=self, depends_on=[*namespaces, objectstore]))
        if spec.data.sources or lineage is not None:
            DataConnections(f"{name}-data-connections", DataConnectionsArgs(
                namespaces=(data_ns, *steps), sources=tuple(spec.data.sources),
                lineage_url=lineage.url if lineage else None, lineage_namespace=spec.lineage_namespace(),
            ), in_namespaces)

        if spec.phases.training.airflow.connections_bundle:
            AirflowConnections(f"{name}-airflow-connections", AirflowConnectionsArgs(
                namespace=data_ns,
                mlflow_tracking_uri=mlflow.tracking_uri if mlflow else None,
                store=store,
                feast_endpoint=feast.endpoint if feast else None,
                redis=redis,
            ), in_namespaces)

        def db_secret(consumer: str) -> str:
            return databases[consumer].secret if consumer in databases else ""

        self.outputs = FoundationOutputs(
            data_namespace=namespaces[0].name,
            platform_namespaces=[a.name for a in ns_args],
            mlflow_tracking_uri=mlflow.tracking_uri if mlflow else "",
            object_store_endpoint=store.endpoint_url if store else "",
            object_store_region=store.region if store else "",
            object_store_secret=store.access_key_ref.secret_name if store else "",
            **{f"{role}_bucket": buckets.get(role, "") for role in BUCKET_ROLES},
            # consumer name → IRSA role ARN (blueprints/s3.py); {} unless S3 is managed.
            s3_irsa_roles={c: role.arn for c, role in s3.roles.items()} if s3 is not None else {},
            # ElastiCache's own name (TLS clients check it); the in-cluster Service otherwise.
            redis_host=(redis.managed_host or redis.host) if redis else "",
            redis_port=str(redis.port) if redis else "",
            redis_secret=redis.password_ref.secret_name if redis else "",
            redis_tls="true" if redis is not None and redis.tls else "false",
            # MSK's brokers are known only at deploy time (TLS + IAM on 9098).
            kafka_bootstrap=(kafka.managed_bootstrap_servers or kafka.bootstrap_servers) if kafka else "",
            feast_endpoint=feast.endpoint if feast else "",
            lineage_url=lineage.url if lineage else "",
            airflow_db_secret=db_secret("airflow"),
            prefect_db_secret=db_secret("prefect"),
            katib_db_secret=db_secret("katib"),
            optuna_db_secret=db_secret("optuna"),
            eks=args.aws.outputs if args.aws is not None else None,
        )
        return self.outputs.exports()
