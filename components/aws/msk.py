"""Amazon MSK (provisioned, KRaft): the managed twin of components/kafka.py.

- `ManagedKafka` ("omgml:aws:Msk"): brokers spread over the private subnets (the broker count is
  a multiple of the subnet count, as MSK requires), TLS between clients and brokers and between
  brokers, encryption at rest with a customer-managed KMS key, IAM access control (SASL/IAM on
  port 9098; no unauthenticated or plaintext listener), a security group admitting 9098 from the
  EKS nodes only, and a broker configuration that refuses to create topics implicitly.
- Topics: the spec's topics are `aws.msk.Topic` resources, created through MSK's topic API by
  the identity running `pulumi up` (IAM: kafka-cluster:Connect/CreateTopic/DescribeTopic/
  AlterTopic/DeleteTopic on the cluster and its topics; provisioned clusters on Kafka 3.6 or
  later). Nothing connects to the brokers for it, so no Job, no Kafka tools image and no
  client library are needed; the broker configuration refuses implicit topic creation.
- `MskClients` ("omgml:aws:MskClients"): the in-cluster side, egress to 9098 inside the VPC for
  the client namespaces. A client also needs IAM permission on its topics
  (`msk_client_statements`, attached to its IRSA role: `client_policy`) and an MSK IAM signer
  (Java `aws-msk-iam-auth`, Python `aws-msk-iam-sasl-signer-python`) with SASL_SSL and the
  OAUTHBEARER mechanism, which both support; the KafkaEndpoint carries `sasl_mechanism`.

Version: `KAFKA_VERSION = "4.1.x.kraft"`. MSK names KRaft versions `<major.minor>.x.kraft`
(3.7.x.kraft was the first; the AWS CDK lists V4_1_X_KRAFT). MSK's exact list changes with time and
region: verify with `aws kafka get-compatible-kafka-versions` (or `list-kafka-versions`) before the
first `pulumi up`; a metadata mode cannot be changed after creation.

Clients never create topics: `msk_client_statements` grants no kafka-cluster:CreateTopic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.aws import common
from omgml.components.aws.irsa import IrsaRole, IrsaRoleArgs, msk_client_statements
from omgml.components.base import Component, require_between
from omgml.components.contracts import KafkaEndpoint
from omgml.components.kafka import kafka_brokers, kafka_replication, replicated_topics
from omgml.components.options import Children
from omgml.labels import standard_labels
from omgml.naming import k8s_name, require_dns_label
from omgml.spec.common import Profile, per_profile
from omgml.spec.foundation import TopicSpec

TYPE_TOKEN = "omgml:aws:Msk"
CLIENTS_TYPE_TOKEN = "omgml:aws:MskClients"

KAFKA_VERSION = "4.1.x.kraft"
IAM_PORT = 9098
# The SASL mechanism of MSK IAM auth every signer library supports (Java's also knows AWS_MSK_IAM).
SASL_MECHANISM = "OAUTHBEARER"
SECURITY_PROTOCOL = "SASL_SSL"
APP = "kafka"
BROKER_LOG_RETENTION_DAYS = 365


# Broker instance types; the default broker count is the in-cluster Kafka's (kafka_brokers).
BROKER_SIZING = per_profile(
    # t3.small is the smallest broker MSK offers (development only: few partitions, burstable).
    laptop=common.StoreSizing("kafka.t3.small"),
    small=common.StoreSizing("kafka.m7g.large"),
    production=common.StoreSizing("kafka.m7g.large"),
)


@dataclass(frozen=True, kw_only=True)
class ManagedKafkaArgs(common.ManagedStoreArgs):
    # None: the profile's default; either way rounded up to a multiple of the subnet count.
    brokers: int | None = None
    storage_gib: int = 10
    audit_logging: bool = False
    # phases.foundation.kafka.topics: created through MSK's topic API.
    topics: tuple[TopicSpec, ...] = ()


def broker_count(requested: int | None, profile: Profile, subnets: int) -> int:
    """MSK places the same number of brokers in every client subnet, so the count is rounded up
    to a multiple of the subnet count (one broker per zone at the least)."""
    if subnets < 2:
        raise ValueError(f"MSK needs client subnets in at least two zones, got {subnets}")
    wanted = kafka_brokers(requested, profile)
    if wanted < 1:
        raise ValueError(f"brokers={wanted} must be at least 1")
    return math.ceil(wanted / subnets) * subnets


def server_properties(brokers: int) -> str:
    """Broker defaults: replication 3 (or the broker count), acks=all writes survive one broker
    loss, no silent data loss on leader election, no topics created by a typo."""
    replication = kafka_replication(brokers)
    props = {
        "auto.create.topics.enable": "false",
        "default.replication.factor": str(replication.default_replication_factor),
        "min.insync.replicas": str(replication.min_insync_replicas),
        "num.partitions": "3",
        "unclean.leader.election.enable": "false",
    }
    return "".join(f"{k}={v}\n" for k, v in sorted(props.items()))


def msk_cluster_name(platform: str) -> str:
    return k8s_name(platform, "kafka")


@dataclass(frozen=True)
class ResolvedMsk:
    sizing: common.StoreSizing
    brokers: int


def resolve(args: ManagedKafkaArgs) -> ResolvedMsk:
    """The profile's broker type and the broker count; the volume size checked."""
    require_between("ManagedKafkaArgs.storage_gib", args.storage_gib, 1, 16384, "GiB per broker, MSK's volume sizes")
    return ResolvedMsk(args.sizing(BROKER_SIZING), broker_count(args.brokers, args.profile, len(args.network.subnet_ids)))


class ManagedKafka(Component[ManagedKafkaArgs, ResolvedMsk], type_token=TYPE_TOKEN, resolve=resolve):
    cluster_name: str
    cluster_arn: pulumi.Output[str]
    bootstrap_servers: pulumi.Output[str]
    brokers: int

    def build(self, name: str, args: ManagedKafkaArgs, r: ResolvedMsk, children: Children) -> pulumi.Inputs:
        sizing = r.sizing
        self.brokers = r.brokers
        self.cluster_name = msk_cluster_name(args.platform)
        tag_set = args.tag_set("kafka")
        child = children()

        key = common.kms_key(name, f"MSK {self.cluster_name} at rest", args.profile, tag_set, self)
        sg = common.data_store_security_group(name, f"MSK {self.cluster_name} (IAM over TLS)", IAM_PORT, args.network,
                                       tag_set, self)
        config = aws.msk.Configuration(
            f"{name}-config", name=self.cluster_name, kafka_versions=[KAFKA_VERSION],
            description=f"broker defaults of {self.cluster_name}", server_properties=server_properties(self.brokers),
            opts=child)
        logging = None
        if args.audit_logging:
            logs = aws.cloudwatch.LogGroup(
                f"{name}-broker-logs", name=f"/omgml/{args.platform}/msk", retention_in_days=BROKER_LOG_RETENTION_DAYS,
                tags=tag_set, opts=children.data())
            logging = aws.msk.ClusterLoggingInfoArgs(broker_logs=aws.msk.ClusterLoggingInfoBrokerLogsArgs(
                cloudwatch_logs=aws.msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs(enabled=True,
                                                                                      log_group=logs.name)))
        cluster = aws.msk.Cluster(
            f"{name}-cluster",
            cluster_name=self.cluster_name,
            kafka_version=KAFKA_VERSION,
            number_of_broker_nodes=self.brokers,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=sizing.instance_class,
                client_subnets=list(args.network.subnet_ids),
                security_groups=[sg.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=args.storage_gib)),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(iam=True), unauthenticated=False),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=key.arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True),
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(arn=config.arn, revision=config.latest_revision),
            logging_info=logging,
            tags=tag_set,
            opts=children.data(),
        )
        for t in replicated_topics(args.topics, self.brokers):
            aws.msk.Topic(
                f"{name}-topic-{k8s_name(t.name)}", cluster_arn=cluster.arn, name=t.name,
                partition_count=t.partitions, replication_factor=t.replication_factor,
                # A topic holds data: keep it when the stack forgets it, as the cluster itself.
                opts=children.data(cluster))
        self.cluster_arn = cluster.arn
        self.bootstrap_servers = cluster.bootstrap_brokers_sasl_iam
        return {"cluster_name": self.cluster_name, "cluster_arn": self.cluster_arn,
                "bootstrap_servers": self.bootstrap_servers}

    @property
    def endpoint(self) -> KafkaEndpoint:
        # The broker names are known only after creation: bootstrap_servers stays "" and the
        # real list travels in managed_bootstrap_servers (see the contract).
        return KafkaEndpoint(bootstrap_servers="", tls=True, managed_bootstrap_servers=self.bootstrap_servers,
                             sasl_mechanism=SASL_MECHANISM)


@dataclass(frozen=True)
class MskClientsArgs:
    client_namespaces: tuple[str, ...]
    vpc_cidr: str


class MskClients(pulumi.ComponentResource):
    """Egress from the client namespaces to the brokers (inside the VPC, port 9098)."""

    def __init__(self, name: str, args: MskClientsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CLIENTS_TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None)
        for i, ns in enumerate(args.client_namespaces):
            require_dns_label(f"MskClientsArgs.client_namespaces[{i}]", ns)
        for ns in sorted(set(args.client_namespaces)):
            k8s.networking.v1.NetworkPolicy(
                f"{name}-egress-{ns}",
                metadata=kube.metadata(k8s_name(APP, "msk-egress"), ns, standard_labels(APP, "msk", "network")),
                spec=common.vpc_egress_policy(args.vpc_cidr, [IAM_PORT]), opts=child)
        self.register_outputs({"client_namespaces": sorted(set(args.client_namespaces))})


def client_policy(name: str, role_name: pulumi.Input[str], cluster_arn: pulumi.Input[str], topics: Sequence[str],
                  group_prefix: str, write: bool = True,
                  opts: pulumi.ResourceOptions | None = None) -> aws.iam.RolePolicy:
    """MSK access for a workload that already has an IRSA role (its S3 role): one more inline
    policy on the same role, since a ServiceAccount carries one role."""
    statements = msk_client_statements(pulumi.Output.from_input(cluster_arn), topics, group_prefix, write=write)
    return aws.iam.RolePolicy(name, role=role_name,
                              policy=pulumi.Output.from_input(statements).apply(common.policy_document), opts=opts)


def msk_client_role(name: str, cluster_arn: pulumi.Input[str], oidc_provider_arn: pulumi.Input[str],
                    oidc_issuer_host: pulumi.Input[str], namespace: str, service_account: str,
                    topics: Sequence[str], write: bool = True,
                    opts: pulumi.ResourceOptions | None = None) -> IrsaRole:
    """IRSA role for one Kafka client: connect, its topics, and consumer groups named after it."""
    return IrsaRole(name, IrsaRoleArgs(
        oidc_provider_arn=oidc_provider_arn, oidc_issuer_host=oidc_issuer_host,
        namespace=namespace, service_account=service_account,
        statements=msk_client_statements(pulumi.Output.from_input(cluster_arn), topics, f"{service_account}-",
                                         write=write),
        description=f"MSK client {namespace}:{service_account}",
    ), opts)
