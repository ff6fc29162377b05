from __future__ import annotations

from typing import Any

from omgml.policy import run_policies
from omgml.policy.aws import check_aws_inventory


def entry(typ: str, name: str, parent: str | None = None, **inputs: Any) -> dict[str, Any]:
    return {"type": typ, "name": name, "parent": parent, "parent_type": None, "phase": "foundation",
            "custom": True, "protect": False, "retain_on_delete": False, "inputs": inputs}


def inv(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resources": list(entries)}


def _fields(inventory: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f.resource, f.field) for f in check_aws_inventory(inventory)}


def test_unencrypted_data_stores_are_flagged() -> None:
    bad = inv(
        entry("aws:rds/instance:Instance", "pg", storageEncrypted=False),
        entry("aws:elasticache/replicationGroup:ReplicationGroup", "redis", atRestEncryptionEnabled=True),
        entry("aws:msk/cluster:Cluster", "kafka",
              encryptionInfo={"encryptionInTransit": {"clientBroker": "TLS_PLAINTEXT"}}),
        entry("aws:ebs/volume:Volume", "vol"),
        entry("aws:s3/bucket:Bucket", "models", bucket="acme-models"),
    )
    assert _fields(bad) == {
        ("aws:rds/instance:Instance/pg", "storageEncrypted"),
        ("aws:elasticache/replicationGroup:ReplicationGroup/redis", "transitEncryptionEnabled"),
        ("aws:msk/cluster:Cluster/kafka", "encryptionInfo.encryptionInTransit.clientBroker"),
        ("aws:ebs/volume:Volume/vol", "encrypted"),
        ("aws:s3/bucket:Bucket/models", "serverSideEncryptionConfiguration"),
    }


def test_encrypted_data_stores_pass() -> None:
    good = inv(
        entry("aws:rds/instance:Instance", "pg", storageEncrypted=True),
        entry("aws:elasticache/replicationGroup:ReplicationGroup", "redis",
              atRestEncryptionEnabled=True, transitEncryptionEnabled=True),
        entry("aws:msk/cluster:Cluster", "kafka"),  # TLS in transit is MSK's default
        entry("aws:ebs/volume:Volume", "vol", encrypted=True),
        entry("aws:s3/bucket:Bucket", "models", bucket="acme-models"),
        entry("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "models-sse", bucket="models-id",
              rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]),
    )
    assert check_aws_inventory(good) == []


def test_world_open_ingress_is_flagged_unless_declared_load_balancer() -> None:
    world = {"fromPort": 5432, "toPort": 5432, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}
    bad = inv(
        entry("aws:ec2/securityGroup:SecurityGroup", "db-sg", ingress=[
            {"fromPort": 5432, "toPort": 5432, "protocol": "tcp", "cidrBlocks": ["10.0.0.0/16"]}, world]),
        entry("aws:ec2/securityGroupRule:SecurityGroupRule", "ssh", type="ingress", cidrBlocks=["0.0.0.0/0"]),
        entry("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "v6", cidrIpv6="::/0"),
    )
    assert _fields(bad) == {
        ("aws:ec2/securityGroup:SecurityGroup/db-sg", "ingress[1]"),
        ("aws:ec2/securityGroupRule:SecurityGroupRule/ssh", "cidrBlocks"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule/v6", "cidrIpv6"),
    }
    ok = inv(
        entry("aws:ec2/securityGroup:SecurityGroup", "lb-sg", ingress=[world],
              tags={"omgml.dev/exposure": "public-load-balancer"}),
        entry("aws:ec2/securityGroupRule:SecurityGroupRule", "https", type="ingress", cidrBlocks=["0.0.0.0/0"],
              description="omgml:public-load-balancer HTTPS"),
        entry("aws:ec2/securityGroupRule:SecurityGroupRule", "egress", type="egress", cidrBlocks=["0.0.0.0/0"]),
        entry("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "vpc", cidrIpv4="10.0.0.0/16"),
    )
    assert check_aws_inventory(ok) == []


def test_aws_policies_only_run_for_target_aws() -> None:
    bad = inv(entry("aws:ebs/volume:Volume", "vol"))
    assert run_policies([], bad, target="local") == []
    assert [f.policy_id for f in run_policies([], bad, target="aws")] == ["aws-data-store-encryption"]
