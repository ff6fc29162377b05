"""The aws `omgml check` policies of issue 25, each on a violating and a compliant object:
unencrypted node volumes, 0.0.0.0/0 egress, unpinned add-ons/AMIs, an unreachable API."""

from __future__ import annotations

from typing import Any

from omgml.policy import run_policies
from tests.policy.test_aws import entry, inv


def netpol(name: str, peers: list[dict[str, Any]] | None, reason: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "omgml-data"}
    if reason:
        meta["annotations"] = {"omgml.dev/egress-reason": reason}
    rule: dict[str, Any] = {"ports": [{"port": 443, "protocol": "TCP"}]}
    if peers is not None:
        rule["to"] = peers
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [rule]}}


def node_class(name: str, encrypted: Any = True, alias: str = "al2023@v20260714",
               mappings: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"amiFamily": "AL2023", "amiSelectorTerms": [{"alias": alias}]}
    if mappings:
        spec["blockDeviceMappings"] = [{"deviceName": "/dev/xvda", "rootVolume": True,
                                        "ebs": {"volumeSize": "200Gi", "volumeType": "gp3", "encrypted": encrypted}}]
    return {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": name}, "spec": spec}


def found(items: list[dict[str, Any]], inventory: dict[str, Any] | None, policy: str) -> set[tuple[str, str, str]]:
    return {(f.resource, f.field, f.severity) for f in run_policies(items, inventory, target="aws")
            if f.policy_id == policy}


LT = "aws:ec2/launchTemplate:LaunchTemplate"
NG = "aws:eks/nodeGroup:NodeGroup"


def test_unencrypted_node_volumes_are_errors() -> None:
    bad = inv(entry(LT, "lt", blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"volumeType": "gp3"}}]),
              entry(NG, "ng", nodeGroupName="system"))
    assert found([node_class("gpu-a", encrypted=False), node_class("gpu-b", mappings=False)], bad,
                 "aws-node-volume-encryption") == {
        (f"{LT}/lt", "blockDeviceMappings[0].ebs.encrypted", "error"),
        (f"{NG}/ng", "launchTemplate", "error"),
        ("EC2NodeClass/gpu-a", "spec.blockDeviceMappings[0].ebs.encrypted", "error"),
        ("EC2NodeClass/gpu-b", "spec.blockDeviceMappings", "error"),
    }


def test_encrypted_node_volumes_pass() -> None:
    good = inv(entry(LT, "lt", blockDeviceMappings=[{"deviceName": "/dev/xvda",
                                                      "ebs": {"volumeType": "gp3", "encrypted": "true"}}]),
               entry(NG, "ng", nodeGroupName="system", launchTemplate={"id": "lt-id", "version": "1"}))
    assert found([node_class("gpu-a")], good, "aws-node-volume-encryption") == set()


def test_open_egress_is_an_error_unless_the_object_says_why() -> None:
    items = [netpol("open", [{"ipBlock": {"cidr": "0.0.0.0/0"}}]), netpol("anywhere", None),
             netpol("declared", [{"ipBlock": {"cidr": "0.0.0.0/0"}}], reason="pulls public datasets")]
    groups = inv(
        entry("aws:ec2/securityGroup:SecurityGroup", "sg", egress=[{"cidrBlocks": ["0.0.0.0/0"], "protocol": "-1"}]),
        entry("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "rule", cidrIpv6="::/0"),
        entry("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "tagged", cidrIpv4="0.0.0.0/0",
              tags={"omgml.dev/egress-reason": "NAT for the public package mirrors"}),
    )
    assert found(items, groups, "aws-no-open-egress") == {
        ("NetworkPolicy/omgml-data/open", "spec.egress[0].to[0].ipBlock.cidr", "error"),
        ("NetworkPolicy/omgml-data/anywhere", "spec.egress[0].to", "error"),
        ("aws:ec2/securityGroup:SecurityGroup/sg", "egress[0]", "error"),
        ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule/rule", "cidrIpv4", "error"),
    }


def test_egress_to_the_vpc_and_s3_ranges_passes_and_local_renders_are_not_checked() -> None:
    narrow = [netpol("s3", [{"ipBlock": {"cidr": "10.0.0.0/16"}}, {"ipBlock": {"cidr": "198.51.100.0/25"}}])]
    sg = inv(entry("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "rule", cidrIpv4="10.0.0.0/16"))
    assert found(narrow, sg, "aws-no-open-egress") == set()
    # The local target has no endpoints to narrow to: the policy belongs to aws only.
    opened = [netpol("open", [{"ipBlock": {"cidr": "0.0.0.0/0"}}])]
    assert not [f for f in run_policies(opened, None, target="local") if f.policy_id == "aws-no-open-egress"]


ADDON = "aws:eks/addon:Addon"


def test_unpinned_add_ons_and_ami_aliases() -> None:
    bad = inv(entry(ADDON, "cni", addonName="vpc-cni"),
              entry(ADDON, "dns", addonName="coredns", addonVersion="v1.12.4-eksbuild.1",
                    tags={"omgml.dev/version-source": "resolved"}))
    assert found([node_class("gpu-a", alias="al2023@latest")], bad, "aws-versions-pinned") == {
        (f"{ADDON}/cni", "addonVersion", "error"),
        (f"{ADDON}/dns", "addonVersion", "warning"),
        ("EC2NodeClass/gpu-a", "spec.amiSelectorTerms[0].alias", "error"),
    }


def test_pinned_add_ons_and_ami_release_pass() -> None:
    good = inv(entry(ADDON, "cni", addonName="vpc-cni", addonVersion="v1.20.4-eksbuild.1",
                     tags={"omgml.dev/version-source": "spec"}))
    assert found([node_class("gpu-a")], good, "aws-versions-pinned") == set()


CLUSTER = "aws:eks/cluster:Cluster"


def test_a_private_api_without_a_runner_in_the_vpc_is_a_warning() -> None:
    private = inv(entry(CLUSTER, "eks", vpcConfig={"endpointPrivateAccess": True, "endpointPublicAccess": False}))
    assert found([], private, "aws-api-reachable") == {(f"{CLUSTER}/eks", "vpcConfig.endpointPublicAccess", "warning")}
    public = inv(entry(CLUSTER, "eks", vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]}))
    runner = inv(entry(CLUSTER, "eks", vpcConfig={"endpointPublicAccess": False},
                       tags={"omgml.dev/api-access": "private-runner"}))
    assert found([], public, "aws-api-reachable") == found([], runner, "aws-api-reachable") == set()
