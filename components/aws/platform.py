"""The AWS side of the foundation phase: what a blueprint calls on `target: aws`.

`AwsFoundation(name, AwsFoundationArgs(spec))` creates, at construction: an AWS provider pinned to
`aws.region`, the VPC (`Network`), the EKS cluster (`EksCluster`, with its Kubernetes provider)
and, for every store the spec marks `phases.foundation.<svc>.managed: true`, the AWS side of its
managed twin (RDS, ElastiCache, MSK, S3). The in-cluster side of those twins (consumer
databases, token Secrets, IRSA roles, alias Services, egress policies) needs the platform's
namespaces, which the blueprint creates with `k8s_provider`; it comes from the methods, called
after the namespaces exist:

    aws_fnd = AwsFoundation(f"{name}-aws", AwsFoundationArgs(spec=spec), ResourceOptions(parent=self))
    k8s_opts = ResourceOptions(parent=self, providers=[aws_fnd.k8s_provider])
    ...namespaces with k8s_opts...
    dbs = aws_fnd.postgres(consumers, namespace=data_ns, depends_on=namespaces)      # {name: PostgresDatabase}
    redis = aws_fnd.redis(namespace=data_ns, client_namespaces=clients, depends_on=namespaces)  # RedisEndpoint
    kafka = aws_fnd.kafka(client_namespaces=(data_ns, *clients), depends_on=namespaces)          # KafkaEndpoint
    s3 = aws_fnd.object_store(consumers=(S3Consumer(...), ...), client_namespaces=..., depends_on=namespaces)
    # s3.endpoint / s3.endpoints[consumer] are ObjectStoreEndpoints

`aws_fnd.outputs` (components/contracts.EksClusterOutputs, exported as `aws_fnd.exports`) holds
what later phases need: the cluster name, kubeconfig, node role, subnets and OIDC provider.
Later phases rebuild the Kubernetes provider from it with `kubernetes_provider`.

Whoever runs `pulumi up` is read from STS at construction (`deployer_identity`): its IAM role or
user gets a cluster-admin access entry (the Kubernetes provider needs one), and its account and
the region give the S3 buckets a suffix that is unique across AWS (`aws_fnd.buckets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml.backup import rds_backup_retention_days
from omgml.buckets import BACKUPS_ROLE, aws_bucket_names
from omgml.components.aws import common
from omgml.components.aws.cluster import EksCluster, EksClusterArgs, node_role_policy_arns
from omgml.components.aws.elasticache import ManagedRedis, ManagedRedisArgs, RedisClients, RedisClientsArgs, cache_nodes
from omgml.components.aws.irsa import IrsaRole
from omgml.components.aws.karpenter import Karpenter, KarpenterArgs
from omgml.components.aws.lbcontroller import LoadBalancerController, LoadBalancerControllerArgs
from omgml.components.aws.msk import ManagedKafka, ManagedKafkaArgs, MskClients, MskClientsArgs, client_policy
from omgml.components.aws.network import Network, network_args_for
from omgml.components.aws.rds import RDS_SIZING, ManagedPostgres, ManagedPostgresArgs, RdsDatabases, RdsDatabasesArgs
from omgml.components.aws.s3 import ManagedObjectStore, ManagedObjectStoreArgs, S3Access, S3AccessArgs
from omgml.components.contracts import (
    EksClusterOutputs,
    KafkaEndpoint,
    PostgresDatabase,
    RedisEndpoint,
    S3Consumer,
    as_stack_outputs,
)
from omgml.components.postgres import PostgresConsumer
from omgml.spec import PlatformSpec
from omgml.spec.foundation import TopicSpec

TYPE_TOKEN = "omgml:aws:Foundation"

MANAGED_SERVICES: tuple[str, ...] = ("postgres", "redis", "kafka", "object_store")

@dataclass(frozen=True)
class AwsFoundationArgs:
    spec: PlatformSpec
    # The buckets of the managed object store, role → name (the foundation's bucket_names(spec)).
    # Empty: S3 is skipped even if the spec marks it managed.
    buckets: dict[str, str] | None = None


def managed_in_spec(spec: PlatformSpec) -> dict[str, bool]:
    """Which stores the spec runs as AWS managed services (enabled and `managed: true`)."""
    f = spec.phases.foundation
    return {s: spec.target == "aws" and getattr(f, s).enabled and getattr(f, s).managed for s in MANAGED_SERVICES}


def wants_multi_az(spec: PlatformSpec) -> bool:
    """The spec carries availability as its zone count: 3 zones (99.95/99.99) → Multi-AZ stores."""
    return spec.aws.availability_zones >= 3


def eks_cluster_name(spec: PlatformSpec) -> str:
    return spec.name


def default_tags(spec: PlatformSpec) -> dict[str, str]:
    return {common.PLATFORM_TAG: spec.name, common.MANAGED_BY_TAG: "omgml"}


def aws_provider(name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None) -> aws.Provider:
    """An AWS provider in the spec's region, tagging everything it creates with the platform.

    Every phase builds its own from the same spec (GPU node groups in later phases included),
    so no resource depends on the ambient `aws:region` of whoever runs Pulumi."""
    return aws.Provider(name, region=spec.aws.region,
                        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(spec)), opts=opts)


def kubernetes_provider(name: str, kubeconfig: pulumi.Input[str],
                        opts: pulumi.ResourceOptions | None = None) -> k8s.Provider:
    """The EKS cluster's Kubernetes provider in a later phase, from the `eks_kubeconfig` output."""
    return k8s.Provider(name, kubeconfig=kubeconfig, opts=opts)


def msk_topic_specs(spec: PlatformSpec) -> tuple[TopicSpec, ...]:
    """The spec's topics, plus the inference log's when the model server writes one: MSK creates
    no topic implicitly, so a missing one would fail every write."""
    topics = list(spec.phases.foundation.kafka.topics)
    s = spec.phases.serving
    if s.enabled and s.server.enabled and s.inference_logging and s.inference_log_topic not in {t.name for t in topics}:
        topics.append(TopicSpec(name=s.inference_log_topic))
    return tuple(topics)


def deployer_identity(parent: pulumi.Resource, provider: aws.Provider) -> tuple[str, str]:
    """(account ID, IAM principal ARN) of whoever runs Pulumi, from STS. An assumed-role session
    (`arn:aws:sts::…:assumed-role/<role>/<session>`) is reported as its role, the principal an
    access entry names."""
    opts = pulumi.InvokeOptions(parent=parent, provider=provider)
    caller = aws.get_caller_identity(opts=opts)
    session = aws.iam.get_session_context(arn=caller.arn, opts=opts)
    return str(caller.account_id), str(session.issuer_arn)


def resolve(args: AwsFoundationArgs) -> dict[str, bool]:
    spec = args.spec
    if spec.target != "aws":
        raise ValueError(f"AwsFoundation: spec target is {spec.target!r}; it builds the aws target only")
    managed = managed_in_spec(spec)
    if managed["object_store"] and not args.buckets:
        raise ValueError("AwsFoundationArgs.buckets is empty but phases.foundation.object_store.managed is true; "
                         "pass the foundation's bucket names (role → name)")
    return managed


class AwsFoundation(pulumi.ComponentResource):
    spec: PlatformSpec
    aws_provider: aws.Provider
    k8s_provider: k8s.Provider
    network: Network
    cluster: EksCluster
    cluster_name: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    managed_postgres: ManagedPostgres | None
    managed_redis: ManagedRedis | None
    managed_kafka: ManagedKafka | None
    managed_object_store: ManagedObjectStore | None
    karpenter: Karpenter
    load_balancer_controller: LoadBalancerController
    # role → bucket name, unique across AWS on S3 (account/region suffix); as given otherwise.
    buckets: dict[str, str]
    account_id: str
    deployer_arn: str
    outputs: EksClusterOutputs
    exports: dict[str, Any]

    def __init__(self, name: str, args: AwsFoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        managed = resolve(args)
        spec = args.spec
        f = spec.phases.foundation
        self.spec = spec
        self._name = name
        self.aws_provider = aws_provider(f"{name}-provider", spec, pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, providers=[self.aws_provider])
        self.account_id, self.deployer_arn = deployer_identity(self, self.aws_provider)
        given = dict(args.buckets or {})
        self.buckets = aws_bucket_names(given, self.account_id, spec.aws.region) if managed["object_store"] else given

        self.network = Network(f"{name}-network", network_args_for(spec), child)
        self.cluster = EksCluster(f"{name}-eks", EksClusterArgs(
            platform=spec.name, cluster_name=eks_cluster_name(spec),
            kubernetes_version=spec.aws.kubernetes_version, region=spec.aws.region, profile=spec.profile,
            subnet_ids=list(self.network.private_subnet_ids), audit_logging=spec.aws.audit_logging,
            public_access_cidrs=tuple(spec.aws.api_public_cidrs), private_only=spec.aws.api_private_only,
            admin_principal_arns=tuple(spec.aws.admin_principal_arns), deployer_arn=self.deployer_arn,
            addon_versions=dict(spec.aws.addon_versions),
        ), child)
        self.k8s_provider = self.cluster.k8s_provider
        self.cluster_name = self.cluster.cluster_name
        self.node_role_arn = self.cluster.node_role_arn
        self.private_subnet_ids = self.network.private_subnet_ids
        self.oidc_provider_arn = self.cluster.oidc_provider_arn
        self.oidc_issuer = self.cluster.oidc_issuer

        data_net = common.DataStoreNetwork(vpc_id=self.network.vpc_id, subnet_ids=list(self.network.private_subnet_ids),
                                    node_security_group_id=self.cluster.node_security_group_id,
                                    vpc_cidr=self.network.vpc_cidr)
        multi_az = wants_multi_az(spec)
        audit = spec.aws.audit_logging
        self.managed_postgres = ManagedPostgres(f"{name}-postgres", ManagedPostgresArgs(
            platform=spec.name, profile=spec.profile, network=data_net, storage_gib=f.postgres.storage_gib,
            multi_az=multi_az, audit_logging=audit,
            backup_retention_days=rds_backup_retention_days(spec, RDS_SIZING[spec.profile].backup_days),
        ), child) if managed["postgres"] else None
        self.managed_redis = ManagedRedis(f"{name}-redis", ManagedRedisArgs(
            platform=spec.name, profile=spec.profile, network=data_net, nodes=cache_nodes(spec.profile, multi_az),
        ), child) if managed["redis"] else None
        self.managed_kafka = ManagedKafka(f"{name}-kafka", ManagedKafkaArgs(
            platform=spec.name, profile=spec.profile, network=data_net, brokers=f.kafka.brokers,
            storage_gib=f.kafka.storage_gib, audit_logging=audit, topics=msk_topic_specs(spec),
        ), child) if managed["kafka"] else None
        self.managed_object_store = ManagedObjectStore(f"{name}-s3", ManagedObjectStoreArgs(
            platform=spec.name, profile=spec.profile, buckets=dict(self.buckets),
            expire_after_days={BACKUPS_ROLE: spec.backup.retention_days} if BACKUPS_ROLE in self.buckets else {},
        ), child) if managed["object_store"] else None

        in_cluster = pulumi.ResourceOptions(parent=self, providers=[self.aws_provider, self.k8s_provider])
        self.karpenter = Karpenter(f"{name}-karpenter", KarpenterArgs(
            platform=spec.name, cluster_name=eks_cluster_name(spec), cluster_endpoint=self.cluster.endpoint,
            region=spec.aws.region, account_id=self.account_id, profile=spec.profile,
            oidc_provider_arn=self.oidc_provider_arn, oidc_issuer_host=self.cluster.oidc_issuer_host,
            node_policy_arns=tuple(node_role_policy_arns(spec.aws.region)),
        ), in_cluster)
        ingress = spec.aws.ingress
        self.load_balancer_controller = LoadBalancerController(f"{name}-lb-controller", LoadBalancerControllerArgs(
            platform=spec.name, cluster_name=eks_cluster_name(spec), region=spec.aws.region,
            account_id=self.account_id, vpc_id=self.network.vpc_id, vpc_cidr=self.network.vpc_cidr,
            profile=spec.profile, oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer_host=self.cluster.oidc_issuer_host, scheme=ingress.scheme,
            allowed_cidrs=tuple(ingress.allowed_cidrs), certificate_arn=ingress.certificate_arn,
        ), pulumi.ResourceOptions(parent=self, providers=[self.aws_provider, self.k8s_provider],
                                  depends_on=[self.cluster.cert_manager]))

        self.outputs = EksClusterOutputs(
            aws_region=spec.aws.region,
            vpc_id=self.network.vpc_id,
            vpc_cidr=self.network.vpc_cidr,
            eks_cluster_name=self.cluster_name,
            eks_kubeconfig=self.cluster.kubeconfig,
            eks_node_role_arn=self.node_role_arn,
            eks_node_security_group_id=self.cluster.node_security_group_id,
            eks_private_subnet_ids=self.private_subnet_ids,
            eks_oidc_provider_arn=self.oidc_provider_arn,
            eks_oidc_issuer=self.oidc_issuer,
            eks_addon_versions=dict(self.cluster.addon_versions),
            karpenter_instance_profile=self.karpenter.instance_profile,
            ingress_class=self.load_balancer_controller.ingress_class,
        )
        self.exports = as_stack_outputs(self.outputs)
        self.register_outputs(self.exports)

    # --- the in-cluster side of the managed twins (call after the namespaces exist) --------------

    def _glue_options(self, depends_on: Sequence[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, providers=[self.aws_provider, self.k8s_provider],
                                      depends_on=list(depends_on))

    def postgres(self, consumers: Sequence[PostgresConsumer], namespace: str,
                 depends_on: Sequence[pulumi.Resource] = ()) -> dict[str, PostgresDatabase]:
        """One database + role per consumer on RDS; Secrets named as the in-cluster Postgres does."""
        if self.managed_postgres is None:
            raise ValueError("AwsFoundation.postgres: phases.foundation.postgres.managed is false; "
                             "use the in-cluster Postgres component")
        pg = self.managed_postgres
        dbs = RdsDatabases(f"{self._name}-postgres-databases", RdsDatabasesArgs(
            platform=self.spec.name, region=self.spec.aws.region, profile=self.spec.profile, namespace=namespace,
            consumers=tuple(consumers), address=pg.address, master_secret_arn=pg.master_secret_arn,
            kms_key_arn=pg.kms_key_arn, oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer_host=self.cluster.oidc_issuer_host, vpc_cidr=self.network.vpc_cidr,
            credentials=self.spec.credentials,
        ), self._glue_options(depends_on))
        return dbs.databases

    def redis(self, namespace: str, client_namespaces: Sequence[str] = (),
              depends_on: Sequence[pulumi.Resource] = ()) -> RedisEndpoint:
        if self.managed_redis is None:
            raise ValueError("AwsFoundation.redis: phases.foundation.redis.managed is false; "
                             "use the in-cluster Redis component")
        clients = RedisClients(f"{self._name}-redis-clients", RedisClientsArgs(
            namespace=namespace, client_namespaces=tuple(client_namespaces),
            primary_address=self.managed_redis.primary_address, auth_token=self.managed_redis.auth_token,
            vpc_cidr=self.network.vpc_cidr,
        ), self._glue_options(depends_on))
        return clients.endpoint

    def kafka(self, client_namespaces: Sequence[str] = (), depends_on: Sequence[pulumi.Resource] = ()) -> KafkaEndpoint:
        if self.managed_kafka is None:
            raise ValueError("AwsFoundation.kafka: phases.foundation.kafka.managed is false; "
                             "use the in-cluster Kafka component")
        if client_namespaces:
            MskClients(f"{self._name}-kafka-clients", MskClientsArgs(
                client_namespaces=tuple(client_namespaces), vpc_cidr=self.network.vpc_cidr,
            ), self._glue_options(depends_on))
        return self.managed_kafka.endpoint

    def kafka_client(self, consumer: str, role: IrsaRole, topics: Sequence[str]) -> aws.iam.RolePolicy:
        """MSK IAM access to `topics` (write, and its own consumer groups) on a workload's IRSA role."""
        if self.managed_kafka is None:
            raise ValueError("AwsFoundation.kafka_client: phases.foundation.kafka.managed is false; in-cluster "
                             "Kafka needs no IAM policy")
        return client_policy(f"{self._name}-kafka-{consumer}", role.name, self.managed_kafka.cluster_arn, topics,
                             f"{consumer}-", opts=pulumi.ResourceOptions(parent=self, providers=[self.aws_provider]))

    def object_store(self, consumers: Sequence[S3Consumer], client_namespaces: Sequence[str] = (),
                     depends_on: Sequence[pulumi.Resource] = ()) -> S3Access:
        """IRSA roles per consumer (`.endpoints[name]`) and the role-less `.endpoint` for exports."""
        if self.managed_object_store is None:
            raise ValueError("AwsFoundation.object_store: phases.foundation.object_store.managed is false; "
                             "use the in-cluster object store component")
        s3 = self.managed_object_store
        return S3Access(f"{self._name}-s3-access", S3AccessArgs(
            platform=self.spec.name, region=self.spec.aws.region, buckets=dict(s3.buckets),
            bucket_arns=dict(s3.bucket_arns), kms_key_arn=s3.kms_key_arn,
            oidc_provider_arn=self.oidc_provider_arn, oidc_issuer_host=self.cluster.oidc_issuer_host,
            consumers=tuple(consumers), client_namespaces=tuple(client_namespaces),
            vpc_cidr=self.network.vpc_cidr, s3_cidrs=self.network.s3_cidrs,
        ), self._glue_options(depends_on))
