"""Managed twins: encryption everywhere, reachable only from the nodes, protected outside the laptop
profile, and handing consumers the same contracts (plus the in-cluster pieces) as in-cluster."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable

import pulumi
import pytest

from omgml.components.aws.common import COMPONENT_TAG, MANAGED_BY_TAG, PLATFORM_TAG, DataStoreNetwork
from omgml.components.aws.elasticache import CACHE_SIZING, ManagedRedis, ManagedRedisArgs, cache_nodes, failover
from omgml.components.aws.msk import KAFKA_VERSION, ManagedKafka, ManagedKafkaArgs, broker_count, server_properties
from omgml.components.aws.rds import (
    MASTER_FIELD_PARSER,
    MASTER_USERNAME,
    RdsDatabasesArgs,
    allocated_storage,
    rds_provision_sql,
    resolve_consumers,
)
from omgml.components.aws.s3 import check_bucket_names, tls_only_bucket_policy
from omgml.components.postgres import PostgresConsumer, ResolvedConsumer
from omgml.policy import run_policies
from omgml.policy.aws import check_aws_inventory
from omgml.spec.foundation import TopicSpec
from omgml.synth.manifests import manifests
from omgml.synth.mock_outputs import mock_id
from tests.aws.aws_helpers import DATA_NS, SERVING_NS, inventory, of_type, only, plain, policy, synth_foundation
from tests.components.manifest_checks import MOCK_VALUE
from tests.synth_helpers import assert_valid, containers, find, one, pod_spec, synth

RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MSK = "aws:msk/cluster:Cluster"
BUCKET = "aws:s3/bucket:Bucket"
STATEFUL = (RDS, CACHE, MSK, BUCKET, "aws:kms/key:Key")


# --- encryption and network exposure ------------------------------------------------------------


def test_every_data_store_is_encrypted() -> None:
    result = synth_foundation()
    rds = only(result, RDS).inputs
    assert rds["storageEncrypted"] is True and rds["kmsKeyId"].startswith("arn:aws:kms:")
    cache = only(result, CACHE).inputs
    assert cache["atRestEncryptionEnabled"] is True and cache["transitEncryptionEnabled"] is True
    assert cache["transitEncryptionMode"] == "required" and cache["kmsKeyId"].startswith("arn:aws:kms:")
    enc = only(result, MSK).inputs["encryptionInfo"]
    assert enc["encryptionAtRestKmsKeyArn"].startswith("arn:aws:kms:")
    assert enc["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
    sse = of_type(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert len(sse) == len(of_type(result, BUCKET)) == 3
    for s in sse:
        [rule] = s.inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert all(k.inputs["enableKeyRotation"] is True for k in of_type(result, "aws:kms/key:Key"))


def test_the_projects_policy_checks_find_nothing() -> None:
    result = synth_foundation()
    assert check_aws_inventory(inventory(result)) == []
    findings = run_policies(manifests(result), inventory(result), target="aws")
    errors = [f for f in findings if f.severity == "error"]
    assert errors == [], [f"{f.resource} {f.field}: {f.message}" for f in errors]
    # Only the reminders a first deploy needs: the API path and the add-on pins.
    assert {f.policy_id for f in findings} <= {"aws-api-reachable", "aws-versions-pinned"}


def test_no_security_group_is_open_to_the_internet_and_stores_admit_only_the_nodes() -> None:
    result = synth_foundation()
    groups = of_type(result, "aws:ec2/securityGroup:SecurityGroup")
    assert len(groups) == 4  # RDS, ElastiCache, MSK, the VPC endpoints
    assert all(not g.inputs.get("ingress") for g in groups)  # rules are separate resources
    rules = of_type(result, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    node_sg = only(result, "aws:eks/cluster:Cluster")
    assert node_sg  # the cluster's own security group is what managed node groups carry
    # The endpoints admit HTTPS from inside the VPC only.
    [endpoints] = [r for r in rules if r.name == "fnd-network-endpoints-https"]
    assert (endpoints.inputs["cidrIpv4"], endpoints.inputs["fromPort"]) == ("10.0.0.0/16", 443)
    rules = [r for r in rules if r is not endpoints]
    ports = sorted(int(r.inputs["fromPort"]) for r in rules)
    assert ports == [5432, 6379, 9098]
    for r in rules:
        assert r.inputs["referencedSecurityGroupId"].startswith("sg-")
        assert not r.inputs.get("cidrIpv4") and not r.inputs.get("cidrIpv6")
        assert r.inputs["fromPort"] == r.inputs["toPort"]


def test_managed_stores_sit_in_private_subnets_only() -> None:
    result = synth_foundation()
    private = [mock_id("aws:ec2/subnet:Subnet", f"fnd-network-private-{z}") for z in range(3)]
    assert only(result, "aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"] == private
    assert only(result, "aws:elasticache/subnetGroup:SubnetGroup").inputs["subnetIds"] == private
    assert only(result, MSK).inputs["brokerNodeGroupInfo"]["clientSubnets"] == private
    assert only(result, RDS).inputs["publiclyAccessible"] is False


# --- protection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["small", "production"])
def test_stateful_resources_are_protected_and_retained_outside_laptop(profile: str) -> None:
    result = synth_foundation(profile, 3)
    stateful = [r for r in result.resources if r.type in STATEFUL]
    assert len(stateful) >= 10
    for r in stateful:
        assert r.protect and r.retain_on_delete, r.name
    rds = only(result, RDS).inputs
    assert rds["deletionProtection"] is True and rds["skipFinalSnapshot"] is False
    assert rds["finalSnapshotIdentifier"] == "demo-postgres-final"
    assert rds["backupRetentionPeriod"] >= 7
    assert only(result, CACHE).inputs["finalSnapshotIdentifier"] == "demo-redis-final"
    assert all(b.inputs["forceDestroy"] is False for b in of_type(result, BUCKET))


def test_laptop_profile_is_throwaway() -> None:
    result = synth_foundation("laptop", 2, audit=False)
    assert not [r for r in result.resources if r.protect or r.retain_on_delete]
    rds = only(result, RDS).inputs
    assert rds["deletionProtection"] is False and rds["skipFinalSnapshot"] is True
    assert rds["backupRetentionPeriod"] >= 7  # backups stay on: they cost little and save a day


# --- RDS --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("zones, multi_az", [(3, True), (2, False)])
def test_rds_is_multi_az_when_the_spec_spans_three_zones(zones: int, multi_az: bool) -> None:
    rds = only(synth_foundation("production", zones), RDS).inputs
    assert rds["multiAz"] is multi_az
    assert rds["manageMasterUserPassword"] is True and "password" not in rds
    assert rds["username"] == MASTER_USERNAME and rds["engine"] == "postgres"


def test_rds_forces_tls_and_storage_autoscales() -> None:
    result = synth_foundation()
    params = {p["name"]: p["value"] for p in only(result, "aws:rds/parameterGroup:ParameterGroup").inputs["parameters"]}
    assert params["rds.force_ssl"] == "1" and params["log_connections"] == "1"
    assert allocated_storage(5) == (20, 100) and allocated_storage(100) == (100, 500)


def test_rds_databases_follow_the_in_cluster_contract() -> None:
    items = manifests(synth_foundation())
    alias = one(items, "Service", "postgres")
    assert alias["spec"]["type"] == "ExternalName"
    assert alias["spec"]["externalName"].endswith(".rds.amazonaws.com")
    for consumer, ns in (("mlflow", DATA_NS), ("feast", SERVING_NS)):
        [secret] = [m for m in find(items, "Secret", f"postgres-{consumer}-db") if m["metadata"]["namespace"] == ns]
        assert set(secret["stringData"]) == {"host", "port", "database", "username", "password"}
    job = one(items, "Job", "postgres-provision")
    ps = pod_spec(job)
    assert ps["serviceAccountName"] == "postgres-provision"
    sa = one(items, "ServiceAccount", "postgres-provision")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    assert sa["automountServiceAccountToken"] is False
    [fetch] = ps["initContainers"]
    env = {e["name"]: e for e in fetch["env"]}
    assert env["MASTER_SECRET_ID"]["value"].startswith("arn:aws:secretsmanager:")
    master = next(v for v in ps["volumes"] if v["name"] == "master")
    assert master["emptyDir"]["medium"] == "Memory"
    for c in containers(job):
        assert c["securityContext"]["runAsNonRoot"] is True and "limits" in c["resources"]
        for e in c.get("env", []):
            if "PASSWORD" in e["name"]:
                assert "secretKeyRef" in e["valueFrom"]
    assert not MOCK_VALUE.search(json.dumps(items))
    assert_valid(items)


def test_job_and_consumers_may_reach_rds_through_their_network_policies() -> None:
    items = manifests(synth_foundation())
    rds_egress = [m for m in find(items, "NetworkPolicy", "postgres-rds-egress")]
    assert sorted(m["metadata"]["namespace"] for m in rds_egress) == [DATA_NS, SERVING_NS]
    rule = rds_egress[0]["spec"]["egress"][0]
    assert rule["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}] and rule["ports"] == [{"port": 5432, "protocol": "TCP"}]
    job_labels = pod_spec(one(items, "Job", "postgres-provision"))  # noqa: F841 (shape checked below)
    job_policies = [m for m in find(items, "NetworkPolicy") if m["metadata"]["name"].startswith("postgres-provision-egress")]
    assert len(job_policies) == 2
    template = one(items, "Job", "postgres-provision")["spec"]["template"]["metadata"]["labels"]
    for p in job_policies:
        sel = p["spec"]["podSelector"]["matchLabels"]
        assert sel.items() <= template.items()


def _consumer(name: str) -> ResolvedConsumer:
    ident = name.replace("-", "_")
    return ResolvedConsumer(name, DATA_NS, ident, f"postgres-{name}-db", f"OMGML_PASSWORD_{ident.upper()}")


def _rds_consumers(*names: str) -> list[ResolvedConsumer]:
    return resolve_consumers(RdsDatabasesArgs(
        platform="p", region="us-east-1", profile="small", namespace=DATA_NS,
        consumers=tuple(PostgresConsumer(n, SERVING_NS) for n in names), address="db.example", master_secret_arn="arn",
        kms_key_arn="arn", oidc_provider_arn="arn", oidc_issuer_host="oidc.example", vpc_cidr="10.0.0.0/16"))


def test_rds_consumers_get_the_in_cluster_names_and_rds_keeps_its_admin_names() -> None:
    [c] = _rds_consumers("feast-registry")
    assert (c.database, c.secret, c.namespace, c.password_env) == (
        "feast_registry", "postgres-feast-registry-db", SERVING_NS, "OMGML_PASSWORD_FEAST_REGISTRY")
    for taken in ("rdsadmin", "omgml-admin", "template1"):
        with pytest.raises(ValueError, match=rf"^RdsDatabasesArgs\.consumers\[1\]\.name='{taken}' is reserved"):
            _rds_consumers("mlflow", taken)


def test_provision_sql_is_rerunnable_and_keeps_passwords_out_of_the_script() -> None:
    sql = rds_provision_sql([_consumer("mlflow"), _consumer("feast-registry")])
    assert "WHERE NOT EXISTS" in sql and "\\getenv omgml_password OMGML_PASSWORD_FEAST_REGISTRY" in sql
    assert 'GRANT "feast_registry" TO CURRENT_USER;' in sql  # PG16+: owner needs membership
    assert "SUPERUSER" not in sql  # the RDS master is not a superuser
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE "mlflow" FROM PUBLIC;' in sql


@pytest.mark.skipif(shutil.which("awk") is None, reason="needs an awk")
@pytest.mark.parametrize("password", ['plain123', 'quo"te\\back', 'a<b>&c/d', "tab\there"])
def test_master_password_extraction_undoes_json_escapes(password: str) -> None:
    # The RDS secret as Secrets Manager returns it; \u003c-style escapes as some encoders write them.
    doc = json.dumps({"username": MASTER_USERNAME, "password": password}).replace("<", "\\u003c")
    out = subprocess.run(["awk", MASTER_FIELD_PARSER], input=doc, capture_output=True, text=True, check=True)
    assert out.stdout == password


@pytest.mark.skipif(shutil.which("awk") is None, reason="needs an awk")
def test_master_password_extraction_fails_loudly_without_a_password() -> None:
    out = subprocess.run(["awk", MASTER_FIELD_PARSER], input='{"username": "x"}', capture_output=True, text=True)
    assert out.returncode != 0 and out.stdout == ""


# --- ElastiCache --------------------------------------------------------------------------------------


def test_failover_and_multi_az_only_with_replicas() -> None:
    assert failover(2) and not failover(1)
    assert cache_nodes("production", False) == 2 and cache_nodes("small", True) == 2 and cache_nodes("small", False) == 1
    prod = only(synth_foundation("production", 3), CACHE).inputs
    assert prod["numCacheClusters"] == 2 and prod["automaticFailoverEnabled"] is True and prod["multiAzEnabled"] is True
    small = only(synth_foundation("small", 2), CACHE).inputs
    assert small["numCacheClusters"] == 1 and small["automaticFailoverEnabled"] is False


def test_redis_token_is_generated_without_characters_elasticache_rejects() -> None:
    result = synth_foundation()
    token = next(r for r in of_type(result, "random:index/randomPassword:RandomPassword") if "auth-token" in r.name)
    assert token.inputs["special"] is False and 16 <= token.inputs["length"] <= 128
    assert only(result, CACHE).inputs["authToken"] != ""


def test_redis_clients_get_the_token_secret_and_the_tls_endpoint() -> None:
    items = manifests(synth_foundation())
    secrets = find(items, "Secret", "redis-auth")
    assert sorted(s["metadata"]["namespace"] for s in secrets) == [DATA_NS, SERVING_NS]
    assert all(set(s["stringData"]) == {"password"} for s in secrets)
    alias = one(items, "Service", "redis")
    assert alias["spec"]["externalName"].startswith("master.demo-redis.")
    captured = {}

    def program() -> None:
        net = DataStoreNetwork("vpc", ["a", "b"], "sg-nodes", "10.0.0.0/16")
        from omgml.components.aws.elasticache import RedisClients, RedisClientsArgs

        r = ManagedRedis("cache", ManagedRedisArgs(platform="p", profile="small", network=net))
        captured["endpoint"] = RedisClients("clients", RedisClientsArgs(
            namespace=DATA_NS, client_namespaces=(), primary_address=r.primary_address, auth_token=r.auth_token,
            vpc_cidr="10.0.0.0/16")).endpoint

    synth(program)
    ep = captured["endpoint"]
    assert ep.tls is True and ep.host == f"redis.{DATA_NS}.svc.cluster.local" and ep.port == 6379
    assert ep.password_ref.secret_name == "redis-auth" and isinstance(ep.managed_host, pulumi.Output)


# --- MSK --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("requested, subnets, expected", [(None, 2, 4), (None, 3, 3), (1, 2, 2), (4, 3, 6), (3, 3, 3)])
def test_broker_count_is_a_multiple_of_the_subnets(requested: int | None, subnets: int, expected: int) -> None:
    assert broker_count(requested, "production", subnets) == expected


def test_msk_uses_iam_over_tls_kraft_and_strict_broker_defaults() -> None:
    result = synth_foundation()
    i = only(result, MSK).inputs
    assert i["kafkaVersion"] == KAFKA_VERSION and KAFKA_VERSION.endswith(".kraft")
    assert i["numberOfBrokerNodes"] % len(i["brokerNodeGroupInfo"]["clientSubnets"]) == 0
    assert i["clientAuthentication"]["sasl"]["iam"] is True
    assert i["clientAuthentication"].get("unauthenticated") is False
    assert i["loggingInfo"]["brokerLogs"]["cloudwatchLogs"]["enabled"] is True
    props = server_properties(3)
    assert "auto.create.topics.enable=false" in props and "min.insync.replicas=2" in props
    assert "min.insync.replicas=1" in server_properties(2)


def test_msk_topics_take_the_broker_default_replication_and_refuse_more_copies_than_brokers() -> None:
    def program(topics: tuple[TopicSpec, ...]) -> Callable[[], None]:
        def run() -> None:
            ManagedKafka("kafka", ManagedKafkaArgs(platform="p", profile="production", network=NET, brokers=2,
                                                   topics=topics))
        return run

    result = synth(program((TopicSpec(name="events"), TopicSpec(name="audit", replication_factor=1))))
    rf = {t.inputs["name"]: t.inputs["replicationFactor"] for t in of_type(result, "aws:msk/topic:Topic")}
    assert rf == {"events": 2, "audit": 1}
    with pytest.raises(ValueError, match=r"topics\[0\]\.replication_factor=3 .* exceeds the broker count 2"):
        synth(program((TopicSpec(name="events", replication_factor=3),)))


# --- S3 ---------------------------------------------------------------------------------------------


def test_buckets_are_versioned_private_owner_enforced_and_tls_only() -> None:
    result = synth_foundation()
    n = len(of_type(result, BUCKET))
    versioning = of_type(result, "aws:s3/bucketVersioning:BucketVersioning")
    assert len(versioning) == n and all(v.inputs["versioningConfiguration"]["status"] == "Enabled" for v in versioning)
    blocks = of_type(result, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == n
    for b in blocks:
        assert all(b.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                 "restrictPublicBuckets"))
    owners = of_type(result, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert {o.inputs["rule"]["objectOwnership"] for o in owners} == {"BucketOwnerEnforced"}
    for p in of_type(result, "aws:s3/bucketPolicy:BucketPolicy"):
        [st] = policy(p, "policy")["Statement"]
        assert st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert st["Resource"][1] == st["Resource"][0] + "/*"


def test_tls_policy_and_bucket_name_checks() -> None:
    doc = tls_only_bucket_policy("arn:aws:s3:::b")
    assert doc["Statement"][0]["Principal"] == "*"
    for bad in ("UPPER", "a", "bad--name", "xn--bucket", "ends-s3alias"):
        with pytest.raises(ValueError, match="bucket"):
            check_bucket_names({"x": bad})


def test_s3_consumers_get_irsa_endpoints_and_an_empty_keys_secret() -> None:
    captured = {}

    def program() -> None:
        from omgml.components.aws.platform import AwsFoundation, AwsFoundationArgs
        from omgml.components.contracts import S3Consumer
        from tests.aws.aws_helpers import BUCKETS, aws_spec

        f = AwsFoundation("fnd", AwsFoundationArgs(spec=aws_spec("small", 2, managed=True), buckets=dict(BUCKETS)))
        captured["access"] = f.object_store((S3Consumer("mlflow", DATA_NS, "mlflow", ("mlflow",)),), (SERVING_NS,))

    result = synth(program)
    access = captured["access"]
    ep = access.endpoints["mlflow"]
    assert ep.endpoint_url == "" and ep.service_account == "mlflow" and ep.irsa_role_arn is not None
    assert ep.buckets["mlflow"].startswith("demo-mlflow-")  # the account/region suffix
    assert access.endpoint.irsa_role_arn is None
    items = manifests(result)
    secrets = find(items, "Secret", "objectstore-s3-credentials")
    assert sorted(s["metadata"]["namespace"] for s in secrets) == [DATA_NS, SERVING_NS]
    assert all(set(s["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} for s in secrets)
    recorded = [r for r in of_type(result, "kubernetes:core/v1:Secret") if "s3-access-credentials" in r.name]
    assert len(recorded) == 2
    # Empty values: no static key exists anywhere; the SDKs fall through to the IRSA web identity.
    assert all(plain(r.inputs["stringData"]) == {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
               for r in recorded)
    egress = find(items, "NetworkPolicy", "objectstore-aws-api-egress")
    assert egress and all(e["spec"]["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}] for e in egress)
    # HTTPS to the VPC's endpoints and S3's ranges only: never the whole internet.
    peers = {p["ipBlock"]["cidr"] for e in egress for p in e["spec"]["egress"][0]["to"]}
    assert peers == {"10.0.0.0/16", "198.51.100.0/25", "203.0.113.0/25"}
    assert_valid(items)


# --- the managed stores' shared args ------------------------------------------------------------

NET = DataStoreNetwork(vpc_id="vpc-1", subnet_ids=["subnet-a", "subnet-b"], node_security_group_id="sg-1",
                       vpc_cidr="10.0.0.0/16")


def test_an_unknown_profile_names_the_stores_args_and_the_profiles_it_knows() -> None:
    args = ManagedRedisArgs(platform="p", profile="huge", network=NET)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^ManagedRedisArgs\.profile='huge' is unknown; "
                                         r"use one of \['laptop', 'production', 'small'\]$"):
        args.sizing(CACHE_SIZING)
    assert ManagedRedisArgs(platform="p", profile="production", network=NET).sizing(CACHE_SIZING).backup_days == 7


def test_extra_tags_reach_every_resource_beside_the_platform_tags() -> None:
    args = ManagedRedisArgs(platform="p", profile="small", network=NET, extra_tags={"team": "ml"})
    assert args.tag_set("redis", {"Name": "p-redis"}) == {
        PLATFORM_TAG: "p", COMPONENT_TAG: "redis", MANAGED_BY_TAG: "omgml", "team": "ml", "Name": "p-redis"}
