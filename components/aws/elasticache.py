"""ElastiCache (Valkey): the managed twin of components/redis.py, behind the RedisEndpoint contract.

- `ManagedRedis` ("omgml:aws:ElastiCache"): a replication group with TLS in transit (required,
  not preferred), encryption at rest with a customer-managed KMS key, an AUTH token from
  RandomPassword, automatic failover and Multi-AZ when it has two or more nodes, and a security
  group admitting 6379 from the EKS nodes only.
- `RedisClients` ("omgml:aws:ElastiCacheClients"): the in-cluster side, once namespaces exist:
  an ExternalName alias `redis.<namespace>.svc.cluster.local`, the token in a Secret `redis-auth`
  (key `password`, the in-cluster names) in the data namespace and every client namespace, and
  egress to 6379 inside the VPC for those namespaces.

Valkey, not Redis OSS: the same protocol and commands (Valkey forked Redis 7.2), a BSD licence,
and ElastiCache prices Valkey nodes below Redis OSS ones. Clients must speak TLS (`rediss://`,
Feast `ssl=true`); clients that verify the server name must use `managed_host`, the primary
endpoint itself, not the alias.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from omgml import k8s as kube
from omgml.components.aws import common
from omgml.components.base import Component, require_between
from omgml.components.contracts import RedisEndpoint, SecretKeyRef
from omgml.components.options import Children, keeps_data
from omgml.labels import standard_labels
from omgml.naming import k8s_name, require_dns_label
from omgml.spec.common import Profile, per_profile

TYPE_TOKEN = "omgml:aws:ElastiCache"
CLIENTS_TYPE_TOKEN = "omgml:aws:ElastiCacheClients"

ENGINE = "valkey"
# Major.minor, as ElastiCache takes it for Valkey; check with
# `aws elasticache describe-cache-engine-versions --engine valkey`.
ENGINE_VERSION = "9.0"
PORT = 6379
# ElastiCache accepts 16-128 printable characters without spaces, '"', '/' or '@'; letters and
# digits only avoids every one of them.
AUTH_TOKEN_LENGTH = 64
APP = "redis"


# Node type and days of automatic snapshots.
CACHE_SIZING = per_profile(
    # t4g.micro has 0.5 GiB: enough for a development feature store, nothing more.
    laptop=common.StoreSizing("cache.t4g.micro"),
    small=common.StoreSizing("cache.t4g.small", backup_days=3),
    production=common.StoreSizing("cache.m7g.large", backup_days=7),
)


@dataclass(frozen=True, kw_only=True)
class ManagedRedisArgs(common.ManagedStoreArgs):
    # Primary + replicas; 2+ turns on automatic failover and Multi-AZ.
    nodes: int = 1


def replication_group_id(platform: str) -> str:
    # ElastiCache ids: at most 40 characters, a letter first, no double hyphen.
    return k8s_name(platform, "redis", max_length=40)


def failover(nodes: int) -> bool:
    """Automatic failover (and Multi-AZ placement) needs a replica to fail over to."""
    return nodes >= 2


def cache_nodes(profile: Profile, multi_az: bool) -> int:
    """Two nodes in production or when availability asks for zones, one otherwise."""
    return 2 if multi_az or profile == "production" else 1


def resolve(args: ManagedRedisArgs) -> common.StoreSizing:
    """The profile's node type and snapshot days; the node count checked."""
    require_between("ManagedRedisArgs.nodes", args.nodes, 1, 6, "a primary and up to five replicas")
    return args.sizing(CACHE_SIZING)


class ManagedRedis(Component[ManagedRedisArgs, common.StoreSizing], type_token=TYPE_TOKEN, resolve=resolve):
    group_id: str
    primary_address: pulumi.Output[str]
    auth_token: pulumi.Output[str]
    port: int

    def build(self, name: str, args: ManagedRedisArgs, sizing: common.StoreSizing, children: Children) -> pulumi.Inputs:
        keep = keeps_data(args.profile)
        tag_set = args.tag_set("redis")
        child = children()
        self.group_id = replication_group_id(args.platform)

        token = random.RandomPassword(f"{name}-auth-token", length=AUTH_TOKEN_LENGTH, special=False,
                                      min_lower=2, min_upper=2, min_numeric=2, opts=child)
        key = common.kms_key(name, f"ElastiCache {self.group_id} at rest", args.profile, tag_set, self)
        sg = common.data_store_security_group(name, f"ElastiCache {self.group_id}", PORT, args.network, tag_set, self)
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets", name=self.group_id, description=f"private subnets of {self.group_id}",
            subnet_ids=list(args.network.subnet_ids), tags=tag_set, opts=child)
        ha = failover(args.nodes)
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=self.group_id,
            description=f"{args.platform} online features (Valkey)",
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            auto_minor_version_upgrade=True,
            node_type=sizing.instance_class,
            num_cache_clusters=args.nodes,
            automatic_failover_enabled=ha,
            multi_az_enabled=ha,
            port=PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[sg.id],
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=token.result,
            # A new token is added next to the old one, so clients can move over without an outage.
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=sizing.backup_days,
            final_snapshot_identifier=f"{self.group_id}-final" if keep else None,
            tags=tag_set,
            opts=children.data(),
        )
        self.primary_address = group.primary_endpoint_address
        self.auth_token = token.result
        self.port = PORT
        return {"group_id": self.group_id, "primary_address": self.primary_address}


@dataclass(frozen=True)
class RedisClientsArgs:
    namespace: str
    # Namespaces whose pods use Redis (the token Secret is written into each).
    client_namespaces: tuple[str, ...]
    primary_address: pulumi.Input[str]
    auth_token: pulumi.Input[str]
    vpc_cidr: str
    instance: str = "redis"


@dataclass(frozen=True)
class RedisClientNames:
    auth_secret: str
    egress_policy: str


def redis_client_names(instance: str) -> RedisClientNames:
    return RedisClientNames(auth_secret=k8s_name(instance, "auth"),
                            egress_policy=k8s_name(instance, "elasticache-egress"))


def resolve_clients(args: RedisClientsArgs) -> list[str]:
    """The data namespace first, then each client namespace once."""
    for i, ns in enumerate((args.namespace, *args.client_namespaces)):
        require_dns_label("RedisClientsArgs." + ("namespace" if i == 0 else f"client_namespaces[{i - 1}]"), ns)
    return [args.namespace, *sorted(set(args.client_namespaces) - {args.namespace})]


class RedisClients(pulumi.ComponentResource):
    endpoint: RedisEndpoint

    def __init__(self, name: str, args: RedisClientsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(CLIENTS_TYPE_TOKEN, name, None, opts)
        namespaces = resolve_clients(args)
        names = redis_client_names(args.instance)
        child = pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None)
        address = pulumi.Output.from_input(args.primary_address)
        token = pulumi.Output.secret(args.auth_token)
        host = common.alias_host(args.instance, args.namespace)

        meta = kube.Metadata(None, lambda part: standard_labels(APP, args.instance, part))

        common.alias_service(name, args.instance, args.namespace, standard_labels(APP, args.instance, "cache"), address,
                             PORT, "redis", child)
        for ns in namespaces:
            k8s.core.v1.Secret(f"{name}-auth-{ns}", metadata=meta(names.auth_secret, "credentials", namespace=ns),
                               type="Opaque", string_data={"password": token}, opts=child)
            k8s.networking.v1.NetworkPolicy(f"{name}-egress-{ns}", metadata=meta(names.egress_policy, "network", namespace=ns),
                                            spec=common.vpc_egress_policy(args.vpc_cidr, [PORT]), opts=child)
        self.endpoint = RedisEndpoint(host=host, port=PORT, password=token,
                                      password_ref=SecretKeyRef(names.auth_secret, "password"), tls=True,
                                      managed_host=address)
        self.register_outputs({"host": host, "port": PORT, "password_secret": names.auth_secret})
