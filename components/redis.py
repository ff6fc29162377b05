"""Redis in-cluster: the online store of the feature store (Feast), password-protected, with
AOF persistence on a volume and a memory cap that evicts instead of failing writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import naming, sizes
from omgml.components.base import Component
from omgml.components.contracts import RedisEndpoint, SecretKeyRef
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs, secret_checksum
from omgml.components.options import Children, keeps_data
from omgml.components.stateful import StatefulServerArgs, check_stateful_server_args, stateful_server
from omgml.labels import selector_labels, standard_labels
from omgml.naming import ServerNames, k8s_name, require_dns_label
from omgml.spec.common import CredentialSource, Profile

TYPE_TOKEN = "omgml:data:Redis"

# Official image (docker-library `library/redis`, built from redis/docker-library-redis); the
# 8.10.2 Alpine tag is the one checked in reference/components.md. Redis 8 is tri-licensed
# (RSALv2/SSPLv1/AGPLv3); valkey/valkey is the BSD-licensed drop-in if that matters.
IMAGE = "redis:8.10.2-alpine"
VERSION = "8.10.2"
# The Alpine image creates user `redis` as uid 999 in group 1000 (gid 999 is taken on Alpine).
UID = 999
GID = 1000
PORT = 6379
APP = "redis"
CONFIG_DIR = "/usr/local/etc/redis"
CONFIG_FILE = f"{CONFIG_DIR}/redis.conf"
MIN_MAX_MEMORY_MIB = 16

# Eviction policy for an online feature store. Feast writes feature rows without a TTL by
# default, so volatile-* policies would find nothing to evict and Redis would then reject
# writes (OOM errors fail the materialization job). The online store is a cache of the
# offline store: under allkeys-lru a full Redis drops the entities read least recently, which
# re-materialization restores, while reads and writes keep working.
EVICTION_POLICY = "allkeys-lru"


@dataclass(frozen=True, kw_only=True)
class RedisArgs(StatefulServerArgs):
    instance: str = "redis"
    # None: from the sizing profile.
    max_memory_mib: int | None = None
    # Namespaces whose pods need the password: each gets a copy of the password Secret.
    client_namespaces: tuple[str, ...] = ()
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class RedisSizing:
    size: kube.Size
    max_memory_mib: int


@dataclass(frozen=True)
class _ProfileSizing:
    cpu_request: str
    cpu_limit: str
    memory_request_mib: int
    memory_limit_mib: int
    max_memory_mib: int


SIZING = sizes.rows("redis", _ProfileSizing)


def redis_sizing(profile: Profile, max_memory_mib: int | None) -> RedisSizing:
    """Container size and maxmemory; an explicit maxmemory grows the container to fit it."""
    base = SIZING[profile]
    if max_memory_mib is None:
        max_memory_mib = base.max_memory_mib
    limit = max(base.memory_limit_mib, _round_up(max_memory_mib * 3 // 2, 64))
    request = min(limit, max(base.memory_request_mib, max_memory_mib))
    return RedisSizing(kube.Size(base.cpu_request, f"{request}Mi", base.cpu_limit, f"{limit}Mi"), max_memory_mib)


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


@dataclass(frozen=True, kw_only=True)
class RedisNames(ServerNames):
    service: str
    auth_secret: str  # key `password`; same name in every client namespace
    config_secret: str  # redis.conf including requirepass
    network_policy: str


def redis_names(instance: str) -> RedisNames:
    return RedisNames.of(
        instance,
        service=k8s_name(instance),
        auth_secret=k8s_name(instance, "auth"),
        config_secret=k8s_name(instance, "config"),
        network_policy=k8s_name(instance, "allow-clients"),
    )


def validate_redis_args(args: RedisArgs) -> None:
    check_stateful_server_args("RedisArgs", args, SIZING)
    if args.max_memory_mib is not None and args.max_memory_mib < MIN_MAX_MEMORY_MIB:
        raise ValueError(f"RedisArgs.max_memory_mib={args.max_memory_mib} is too small; "
                         f"use at least {MIN_MAX_MEMORY_MIB} or leave it unset for the profile's default")
    for i, ns in enumerate(args.client_namespaces):
        require_dns_label(f"RedisArgs.client_namespaces[{i}]", ns)


def service_host(args: RedisArgs) -> str:
    return naming.service_host(redis_names(args.instance).service, args.namespace)


def redis_conf(max_memory_mib: int) -> str:
    """The server's settings; `requirepass` is appended from the password in the config Secret."""
    return "\n".join([
        "# Written by omgml (components/redis.py). The password line is appended from a Secret.",
        "bind * -::*",
        f"port {PORT}",
        "dir /data",
        # Every write goes to the append-only file, fsynced once a second: at most a second of
        # writes is lost on a crash. RDB snapshots are off (the AOF already has an RDB preamble
        # after each rewrite), which saves a fork per snapshot.
        "appendonly yes",
        "appendfsync everysec",
        'save ""',
        # Redis "mb" is 1024*1024 bytes, so this is MiB.
        f"maxmemory {max_memory_mib}mb",
        f"maxmemory-policy {EVICTION_POLICY}",
    ]) + "\n"


def _config_checksum(conf: str) -> str:
    return hashlib.sha256(conf.encode()).hexdigest()[:16]


def _labels(args: RedisArgs) -> dict[str, str]:
    return standard_labels(APP, args.instance, "online-store", VERSION)


def _selector(args: RedisArgs) -> dict[str, str]:
    return selector_labels(APP, args.instance, "online-store")


def _ping(accept: str) -> list[str]:
    # redis-cli authenticates from REDISCLI_AUTH, so the password never shows in a process list.
    return ["sh", "-c", f"redis-cli -h 127.0.0.1 -p {PORT} ping | grep -qE '{accept}'"]


def redis_statefulset(args: RedisArgs, credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    names = redis_names(args.instance)
    sizing = redis_sizing(args.profile, args.max_memory_mib)
    annotations: dict[str, pulumi.Input[str]] = {
        # redis.conf is read once at start: a changed setting must restart the pod.
        "omgml.dev/config-checksum": _config_checksum(redis_conf(sizing.max_memory_mib)),
    }
    if credentials_checksum is not None:
        annotations["omgml.dev/rotation-checksum"] = credentials_checksum
    container: kube.JsonDict = {
        "name": "redis",
        "image": IMAGE,
        # Straight to the server: the image's entrypoint would add --loadmodule for every bundled
        # module (search, JSON, time series, …), memory an online store does not use.
        "command": ["redis-server", CONFIG_FILE, *_requirepass_from_env(args)],
        "env": [kube.secret_env("REDISCLI_AUTH", names.auth_secret, "password")],
        "ports": [{"name": "redis", "containerPort": PORT, "protocol": "TCP"}],
        "resources": sizing.size.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "readinessProbe": kube.exec_probe(_ping("PONG"), period=10, failures=3),
        # Replaying a large AOF answers LOADING: alive, just not ready yet.
        "livenessProbe": kube.exec_probe(_ping("PONG|LOADING"), period=15, failures=4, delay=10),
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        ],
    }
    pod = kube.restricted_pod_spec(names.service_account, UID, [container], gid=GID, fs_group=GID, volumes=[{
        "name": "config",
        # Readable by the redis group only (fsGroup owns projected Secret files).
        "secret": {"secretName": names.config_secret, "defaultMode": 0o440},
    }])
    return kube.statefulset_spec(_selector(args), names.headless, kube.pod_template(_labels(args), pod, annotations),
                            data_gib=args.storage_gib, keep_data=keeps_data(args.profile))


def _requirepass_from_env(args: RedisArgs) -> list[str]:
    """With existing credentials omgml never sees the password, so it cannot be written into
    redis.conf: Kubernetes expands $(REDISCLI_AUTH) (the secretKeyRef env) into the argument."""
    return [] if args.credentials == "generated" else ["--requirepass", "$(REDISCLI_AUTH)"]


def redis_service(args: RedisArgs, headless: bool) -> kube.JsonDict:
    return kube.service_spec(_selector(args), [("redis", PORT)], headless=headless)


def client_network_policy(args: RedisArgs) -> kube.JsonDict | None:
    """Ingress to Redis's port from the client namespaces (same-namespace traffic is already
    allowed by the namespace's own policies)."""
    others = sorted({ns for ns in args.client_namespaces if ns != args.namespace})
    if not others:
        return None
    return kube.ingress_from_spec(_selector(args), [kube.namespace_peer(ns) for ns in others], PORT)


def resolve(args: RedisArgs) -> RedisSizing:
    """The checked args' container size and maxmemory."""
    validate_redis_args(args)
    return redis_sizing(args.profile, args.max_memory_mib)


class Redis(Component[RedisArgs, RedisSizing], type_token=TYPE_TOKEN, resolve=resolve):
    endpoint: RedisEndpoint

    def build(self, name: str, args: RedisArgs, sizing: RedisSizing, children: Children) -> pulumi.Inputs:
        self._args = args
        names = redis_names(args.instance)

        # Every object carries the server's labels (one part: the online store).
        meta = kube.Metadata(args.namespace, lambda _part: _labels(args))

        auth = GeneratedSecret(
            f"{name}-auth",
            GeneratedSecretArgs(namespace=args.namespace, secret_name=names.auth_secret, password_keys=("password",),
                                app_name=APP, instance=args.instance, source=args.credentials,
                                copies_in=args.client_namespaces),
            children(),
        )
        password = auth.passwords.get("password")
        for ns in sorted(set(args.client_namespaces) - {args.namespace}) if password is not None else ():
            k8s.core.v1.Secret(
                f"{name}-auth-{ns}",
                metadata=meta(names.auth_secret, namespace=ns),
                type="Opaque",
                string_data={"password": password},
                opts=children(),
            )
        # The password is alphanumeric (GeneratedSecret), so plain double quotes are exact.
        server_conf: pulumi.Input[str] = redis_conf(sizing.max_memory_mib)
        if password is not None:
            server_conf = pulumi.Output.concat(server_conf, 'requirepass "', password, '"\n')
        config = k8s.core.v1.Secret(
            f"{name}-config",
            metadata=meta(names.config_secret),
            type="Opaque",
            string_data={"redis.conf": server_conf},  # secret: it holds the password
            opts=children(),
        )
        stateful_server(
            name, names, meta, children, service=partial(redis_service, args), client=("service", names.service),
            statefulset=redis_statefulset(args, secret_checksum(password)), after=(config, auth))
        policy = client_network_policy(args)
        if policy is not None:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow-clients", metadata=meta(names.network_policy), spec=policy, opts=children())

        self.endpoint = RedisEndpoint(
            host=service_host(args), port=PORT, password=password,
            password_ref=SecretKeyRef(names.auth_secret, "password"),
        )
        return {"host": self.endpoint.host, "port": PORT, "password_secret": names.auth_secret}

    def secret_name_in(self, namespace: str) -> str:
        """Name of the password Secret (key `password`) that pods in `namespace` can reference."""
        if namespace != self._args.namespace and namespace not in self._args.client_namespaces:
            raise ValueError(
                f"Redis {self._args.instance!r} has no password Secret in namespace {namespace!r}; "
                f"add it to RedisArgs.client_namespaces (now {list(self._args.client_namespaces)})"
            )
        return redis_names(self._args.instance).auth_secret
