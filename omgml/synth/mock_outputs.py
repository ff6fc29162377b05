"""Outputs the mock engine gives resources whose providers would compute them (ids, ARNs).

Values are deterministic so renders are stable; they are placeholders, never real endpoints.
"""

from __future__ import annotations

import hashlib
from typing import Any


def provider_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if typ.startswith("aws:"):
        region = "us-east-1"
        service = typ.split(":")[1].split("/")[0]
        out: dict[str, Any] = {
            "arn": f"arn:aws:{service}:{region}:123456789012:{name}",
            "id": mock_id(typ, name),
        }
        out.update(_aws_typed_outputs(typ, name, inputs))
        return out
    return {}


ACCOUNT = "123456789012"
# Ids whose shape other objects' schemas check (an EC2NodeClass's subnetSelectorTerms take only
# `subnet-…`); everything else gets "<name>-id".
SHAPED_IDS = {"aws:ec2/subnet:Subnet": "subnet"}


def mock_id(typ: str, name: str) -> str:
    """The id the mock engine gives a resource (deterministic, never a real one)."""
    prefix = SHAPED_IDS.get(typ)
    return f"{prefix}-{_mock_hex(prefix, name, length=17).lower()}" if prefix else f"{name}-id"

# The version the mock engine gives an EKS add-on resolved at deploy time (not pinned in the spec).
RESOLVED_AT_DEPLOY = "v0.0.0-eksbuild.0"


def _mock_hex(*parts: str, length: int = 32) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length].upper()


def _aws_typed_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed attributes of the AWS resources the AWS target reads back (endpoints, issuers,
    generated ARNs), shaped like the real ones so code that parses them is exercised."""
    region = "us-east-1"
    if typ == "aws:eks/cluster:Cluster":
        cluster = str(inputs.get("name") or name)
        oidc_id = _mock_hex("oidc", cluster)
        return {
            "name": cluster,
            "endpoint": f"https://{_mock_hex('endpoint', cluster)}.gr7.{region}.eks.amazonaws.com",
            # base64 of a placeholder, not a certificate
            "certificateAuthority": {"data": "bW9jay1jZXJ0aWZpY2F0ZS1hdXRob3JpdHk="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
            "vpcConfig": {**dict(inputs.get("vpcConfig") or {}),
                          "clusterSecurityGroupId": f"sg-{_mock_hex('cluster-sg', cluster, length=17).lower()}",
                          "vpcId": "vpc-mock"},
            "status": "ACTIVE",
        }
    if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        host = str(inputs.get("url", "")).removeprefix("https://")
        return {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}
    if typ == "aws:iam/role:Role":
        role = str(inputs.get("name") or f"{name}-{_mock_hex('role', name, length=7).lower()}")
        return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "name": role}
    if typ == "aws:kms/key:Key":
        key_id = _mock_hex("kms", name).lower()
        key_id = f"{key_id[:8]}-{key_id[8:12]}-{key_id[12:16]}-{key_id[16:20]}-{key_id[20:32]}"
        return {"arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}", "keyId": key_id}
    if typ == "aws:rds/instance:Instance":
        ident = str(inputs.get("identifier") or name)
        address = f"{ident}.c{_mock_hex('rds', ident, length=11).lower()}.{region}.rds.amazonaws.com"
        port = int(inputs.get("port") or 5432)
        out: dict[str, Any] = {"address": address, "port": port, "endpoint": f"{address}:{port}",
                               "arn": f"arn:aws:rds:{region}:{ACCOUNT}:db:{ident}"}
        if inputs.get("manageMasterUserPassword"):
            out["masterUserSecrets"] = [{
                "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-{_mock_hex('secret', ident, length=8).lower()}-AbCdEf",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId") or "",
                "secretStatus": "active",
            }]
        return out
    if typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        group = str(inputs.get("replicationGroupId") or name)
        suffix = _mock_hex("cache", group, length=6).lower()
        return {"primaryEndpointAddress": f"master.{group}.{suffix}.use1.cache.amazonaws.com",
                "readerEndpointAddress": f"replica.{group}.{suffix}.use1.cache.amazonaws.com",
                "arn": f"arn:aws:elasticache:{region}:{ACCOUNT}:replicationgroup:{group}"}
    if typ == "aws:msk/cluster:Cluster":
        cluster = str(inputs.get("clusterName") or name)
        uid = _mock_hex("msk", cluster).lower()
        uuid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:32]}-2"
        brokers = int(inputs.get("numberOfBrokerNodes") or 1)
        host = f"{cluster}.{uid[:6]}.c2.kafka.{region}.amazonaws.com"
        return {
            "arn": f"arn:aws:kafka:{region}:{ACCOUNT}:cluster/{cluster}/{uuid}",
            "bootstrapBrokersTls": ",".join(f"b-{i + 1}.{host}:9094" for i in range(brokers)),
            "bootstrapBrokersSaslIam": ",".join(f"b-{i + 1}.{host}:9098" for i in range(brokers)),
            "clusterUuid": uuid,
        }
    if typ == "aws:msk/configuration:Configuration":
        return {"latestRevision": 1}
    if typ == "aws:s3/bucket:Bucket":
        bucket = str(inputs.get("bucket") or name)
        return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    if typ == "aws:eks/nodeGroup:NodeGroup":
        return {"nodeGroupName": inputs.get("nodeGroupName") or name}
    if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
        # A gateway endpoint reports its service's prefix list and that list's ranges
        # (placeholders from the documentation ranges, not S3's real ones).
        return {"prefixListId": "pl-0mock5300000000001", "cidrBlocks": ["198.51.100.0/25", "203.0.113.0/25"]}
    if typ == "aws:sqs/queue:Queue":
        queue = str(inputs.get("name") or name)
        return {"arn": f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}", "name": queue,
                "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{queue}"}
    if typ == "aws:iam/instanceProfile:InstanceProfile":
        profile = str(inputs.get("name") or name)
        return {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{profile}", "name": profile}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        group = str(inputs.get("name") or name)
        return {"arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}", "name": group}
    return {}


def invoke_outputs(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answers for provider functions (invokes) called by the program."""
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": ["us-east-1a", "us-east-1b", "us-east-1c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az3"]}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/mock-deployer/session",
                "userId": "mock"}
    if token == "aws:iam/getSessionContext:getSessionContext":
        # An assumed-role session's issuer is the role itself (what access entries name).
        arn = str(args.get("arn", ""))
        if ":assumed-role/" in arn:
            role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
            return {"arn": arn, "issuerArn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "issuerName": role,
                    "sessionName": arn.rsplit("/", 1)[1]}
        return {"arn": arn, "issuerArn": arn}
    if token == "aws:eks/getAddonVersion:getAddonVersion":
        # Resolved at deploy time from EKS; the render shows that it was not pinned.
        return {"addonName": args.get("addonName"), "kubernetesVersion": args.get("kubernetesVersion"),
                "version": RESOLVED_AT_DEPLOY}
    if token == "aws:index/getRegion:getRegion":
        return {"name": "us-east-1", "region": "us-east-1"}
    return {}
