"""Redis: password from a Secret (never in args), AOF on a volume, a memory cap that evicts."""

from __future__ import annotations

from typing import Any

import pytest

from omgml.capacity import memory_bytes
from omgml.components.redis import (
    EVICTION_POLICY,
    IMAGE,
    PORT,
    SIZING,
    Redis,
    RedisArgs,
    redis_conf,
    redis_sizing,
    validate_redis_args,
)
from omgml.spec.common import Profile
from tests.components.manifest_checks import (
    assert_sized_by_profile,
    env_of,
)
from tests.synth_helpers import find, one, pod_spec, synth_built

DATA_NS = "omgml-data"
SERVING_NS = "omgml-serving"


def redis_args(profile: Profile = "laptop", **kw: Any) -> RedisArgs:
    return RedisArgs(namespace=kw.pop("namespace", DATA_NS), storage_gib=kw.pop("storage_gib", 2),
                     max_memory_mib=kw.pop("max_memory_mib", None), profile=profile,
                     client_namespaces=kw.pop("client_namespaces", (SERVING_NS,)), **kw)


def render(args: RedisArgs) -> tuple[list[dict[str, Any]], Redis, Any]:
    return synth_built(lambda: Redis("redis", args))


# --- pure ---------------------------------------------------------------------------------


def test_config_persists_and_caps_memory() -> None:
    conf = redis_conf(128).splitlines()
    assert "appendonly yes" in conf and "appendfsync everysec" in conf
    assert "maxmemory 128mb" in conf
    assert f"maxmemory-policy {EVICTION_POLICY}" in conf and EVICTION_POLICY == "allkeys-lru"
    assert "dir /data" in conf
    assert not any(line.startswith("requirepass") for line in conf)  # added from the Secret only


@pytest.mark.parametrize("profile", ["laptop", "small", "production"])
def test_maxmemory_leaves_headroom_below_the_limit(profile: Profile) -> None:
    sizing = redis_sizing(profile, None)
    limit_mib = memory_bytes(sizing.size.memory_limit) // 2**20
    assert sizing.max_memory_mib * 3 // 2 <= limit_mib


def test_explicit_maxmemory_grows_the_container() -> None:
    sizing = redis_sizing("laptop", 1024)
    assert sizing.max_memory_mib == 1024
    assert memory_bytes(sizing.size.memory_limit) >= 1536 * 2**20
    assert memory_bytes(sizing.size.memory_request) >= 1024 * 2**20
    assert redis_sizing("laptop", 64).size.memory_limit == f"{SIZING['laptop'].memory_limit_mib}Mi"


def test_bad_args_are_refused_with_the_field() -> None:
    with pytest.raises(ValueError, match=r"max_memory_mib=8"):
        validate_redis_args(redis_args(max_memory_mib=8))
    with pytest.raises(ValueError, match=r"client_namespaces\[0\]"):
        validate_redis_args(redis_args(client_namespaces=("Not_A_Namespace",)))


# --- synth --------------------------------------------------------------------------------


def test_password_never_reaches_args_or_env_values() -> None:
    items, _, _ = render(redis_args())
    sts = one(items, "StatefulSet", "redis")
    c = pod_spec(sts)["containers"][0]
    assert c["image"] == IMAGE
    assert c["command"] == ["redis-server", "/usr/local/etc/redis/redis.conf"]
    assert "args" not in c
    # redis-cli in the probes authenticates from REDISCLI_AUTH, filled from the Secret.
    assert env_of(c)["REDISCLI_AUTH"] == {"secretKeyRef": {"name": "redis-auth", "key": "password"}}
    for probe in ("readinessProbe", "livenessProbe"):
        cmd = " ".join(c[probe]["exec"]["command"])
        assert "redis-cli" in cmd and " -a " not in cmd and "ping" in cmd
    # The config (with requirepass) is a Secret, mounted read-only and masked in the render.
    conf = one(items, "Secret", "redis-config")
    assert conf["stringData"]["redis.conf"].startswith("<secret")
    vol = next(v for v in pod_spec(sts)["volumes"] if v["name"] == "config")
    assert vol["secret"]["secretName"] == "redis-config"
    assert {"name": "config", "mountPath": "/usr/local/etc/redis", "readOnly": True} in c["volumeMounts"]


def test_persistence_and_security() -> None:
    items, _, _ = render(redis_args(storage_gib=5))
    sts = one(items, "StatefulSet", "redis")
    ps = pod_spec(sts)
    assert ps["securityContext"]["runAsUser"] == 999 and ps["securityContext"]["fsGroup"] == 1000
    c = ps["containers"][0]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "data", "mountPath": "/data"} in c["volumeMounts"]
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert set(annotations) == {"omgml.dev/config-checksum", "omgml.dev/rotation-checksum"}


def test_config_change_restarts_the_pod() -> None:
    def checksum(max_memory: int) -> str:
        sts = one(render(redis_args(max_memory_mib=max_memory))[0], "StatefulSet")
        return str(sts["spec"]["template"]["metadata"]["annotations"]["omgml.dev/config-checksum"])

    assert checksum(64) != checksum(96)


def test_password_secret_in_every_client_namespace() -> None:
    items, redis, _ = render(redis_args(client_namespaces=(SERVING_NS, "omgml-features", DATA_NS)))
    auth = find(items, "Secret", "redis-auth")
    assert sorted(s["metadata"]["namespace"] for s in auth) == sorted([DATA_NS, SERVING_NS, "omgml-features"])
    assert all(set(s["stringData"]) == {"password"} for s in auth)
    assert redis.secret_name_in(SERVING_NS) == "redis-auth" == redis.secret_name_in(DATA_NS)
    with pytest.raises(ValueError, match="client_namespaces"):
        redis.secret_name_in("elsewhere")


def test_endpoint_points_at_the_service_and_secret() -> None:
    items, redis, _ = render(redis_args())
    ep = redis.endpoint
    assert (ep.host, ep.port, ep.tls) == (f"redis.{DATA_NS}.svc.cluster.local", PORT, False)
    assert (ep.password_ref.secret_name, ep.password_ref.key) == ("redis-auth", "password")
    svc = one(items, "Service", "redis")
    assert svc["spec"]["ports"][0]["port"] == PORT
    assert [s for s in find(items, "Secret", ep.password_ref.secret_name) if s["metadata"]["namespace"] == DATA_NS]


def test_network_policy_admits_client_namespaces() -> None:
    items, _, _ = render(redis_args())
    rule = one(items, "NetworkPolicy", "redis-allow-clients")["spec"]["ingress"][0]
    assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in rule["from"]] == [SERVING_NS]
    assert rule["ports"] == [{"port": PORT, "protocol": "TCP"}]
    assert not find(render(redis_args(client_namespaces=()))[0], "NetworkPolicy")


def test_data_is_protected_outside_the_laptop() -> None:
    cases: list[tuple[Profile, bool]] = [("laptop", False), ("production", True)]
    for profile, guarded in cases:
        _, _, result = render(redis_args(profile))
        sts = next(r for r in result.resources if r.type == "kubernetes:apps/v1:StatefulSet")
        assert (sts.protect, sts.retain_on_delete) == (guarded, guarded)
        assert "spec.volumeClaimTemplates" in sts.ignore_changes


def test_laptop_and_production_sizing_differ() -> None:
    assert_sized_by_profile(lambda profile: render(redis_args(profile))[0], "StatefulSet", ("50m", "128Mi"))
