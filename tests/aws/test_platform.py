"""AwsFoundation: the entry point a blueprint calls on target aws, and its wiring outputs."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import pulumi
import pytest

from omgml.blueprints.contracts import FOUNDATION_KEYS
from omgml.components.aws.platform import (
    AwsFoundation,
    AwsFoundationArgs,
    managed_in_spec,
)
from omgml.components.contracts import AWS_FOUNDATION_KEYS, EksClusterOutputs
from omgml.components.gpupool import GpuPool, GpuPoolArgs
from omgml.components.postgres import PostgresConsumer
from omgml.spec import GpuPoolSpec, spec_from_dict
from omgml.synth.manifests import manifests
from omgml.synth.mock_outputs import mock_id
from tests.aws.aws_helpers import BUCKETS, DATA_NS, aws_spec, of_type, only, synth_foundation, synth_of
from tests.synth_helpers import synth

POOL = GpuPoolSpec(name="train", instance_types=["g6.xlarge"], min_size=0, desired_size=0, max_size=2, spot=True)


def test_it_builds_the_aws_target_only() -> None:
    with pytest.raises(ValueError, match="aws target only"):
        synth_of(lambda: AwsFoundation("f", AwsFoundationArgs(spec=spec_from_dict({"name": "demo"}))))


def test_managed_object_store_needs_the_bucket_names() -> None:
    with pytest.raises(ValueError, match="buckets"):
        synth_of(lambda: AwsFoundation("f", AwsFoundationArgs(spec=aws_spec())))


def test_only_the_stores_marked_managed_become_aws_services() -> None:
    spec = spec_from_dict({"name": "demo", "target": "aws", "profile": "small",
                           "phases": {"foundation": {"postgres": {"managed": True}, "redis": {"enabled": False, "managed": True},
                                                     "feast": {"online_store": "none"}}}})
    assert managed_in_spec(spec) == {"postgres": True, "redis": False, "kafka": False, "object_store": False}
    result = synth_of(lambda: AwsFoundation("f", AwsFoundationArgs(spec=spec)))
    assert len(of_type(result, "aws:rds/instance:Instance")) == 1
    for typ in ("aws:elasticache/replicationGroup:ReplicationGroup", "aws:msk/cluster:Cluster", "aws:s3/bucket:Bucket"):
        assert not of_type(result, typ)


def test_asking_for_an_unmanaged_store_says_which_setting_to_change() -> None:
    spec = aws_spec("small", 2, managed=False)

    def program() -> None:
        AwsFoundation("f", AwsFoundationArgs(spec=spec)).redis(DATA_NS)

    with pytest.raises(ValueError, match=r"phases\.foundation\.redis\.managed is false"):
        synth(program)


def test_exports_are_the_documented_keys_and_the_kubeconfig_reaches_the_cluster() -> None:
    result = synth_foundation()
    assert set(result.exports) == set(AWS_FOUNDATION_KEYS) == {f.name for f in fields(EksClusterOutputs)}
    cfg = json.loads(result.exports["eks_kubeconfig"])
    server = cfg["clusters"][0]["cluster"]["server"]
    assert server.startswith("https://") and server.endswith(".eks.amazonaws.com")
    assert result.exports["eks_cluster_name"] == "demo"
    assert len(result.exports["eks_private_subnet_ids"]) == 3
    assert result.exports["eks_oidc_provider_arn"].startswith("arn:aws:iam::123456789012:oidc-provider/")


def test_every_aws_resource_uses_the_spec_region_provider() -> None:
    spec = aws_spec("small", 2, managed=False, region="eu-west-1")
    result = synth_of(lambda: AwsFoundation("f", AwsFoundationArgs(spec=spec)))
    provider = only(result, "pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-west-1"
    aws_resources = [r for r in result.resources if r.type.startswith("aws:")]
    assert aws_resources and all(r.provider.startswith(provider.urn) for r in aws_resources)


def test_gpu_pools_launch_in_the_clusters_subnets_with_karpenters_profile() -> None:
    def program() -> None:
        f = AwsFoundation("f", AwsFoundationArgs(spec=aws_spec("small", 2, managed=False)))
        GpuPool("gpu-train", GpuPoolArgs(
            pool=POOL, target="aws", cluster_name=f.cluster_name, instance_profile=f.karpenter.instance_profile,
            subnet_ids=f.private_subnet_ids, security_group_id=f.cluster.node_security_group_id,
            ami_release="v20260714"), pulumi.ResourceOptions(providers=[f.aws_provider, f.k8s_provider]))
        pulumi.export("cluster_sg", f.cluster.node_security_group_id)

    result = synth(program)
    [node_class] = [m for m in manifests(result) if m["kind"] == "EC2NodeClass"]
    spec = node_class["spec"]
    assert spec["subnetSelectorTerms"] == [{"id": mock_id("aws:ec2/subnet:Subnet", f"f-network-private-{z}")}
                                           for z in range(2)]
    # The cluster security group EKS made (what the system nodes carry), and Karpenter's profile.
    assert spec["securityGroupSelectorTerms"] == [{"id": result.exports["cluster_sg"]}]
    assert spec["instanceProfile"] == only(result, "aws:iam/instanceProfile:InstanceProfile").name
    [pool] = [m for m in manifests(result) if m["kind"] == "NodePool"]
    assert pool["spec"]["template"]["spec"]["nodeClassRef"]["name"] == node_class["metadata"]["name"]
    # Only the system group is an EKS node group.
    assert [g.inputs["nodeGroupName"] for g in of_type(result, "aws:eks/nodeGroup:NodeGroup")] == ["system"]


def test_a_later_phase_launches_gpu_pools_from_the_foundation_outputs() -> None:
    from omgml.blueprints.contracts import FoundationOutputs
    from omgml.blueprints.gpu import EksNodeTarget

    outputs: dict[str, Any] = {k: "" for k in FOUNDATION_KEYS}
    outputs.update({"eks_cluster_name": "demo", "karpenter_instance_profile": "demo-nodes",
                    "eks_private_subnet_ids": ["subnet-a", "subnet-b"], "eks_node_security_group_id": "sg-1"})

    def program() -> None:
        fnd = FoundationOutputs.read(lambda k: pulumi.Output.from_input(outputs[k]), aws=True)
        eks = EksNodeTarget.from_foundation(fnd)
        GpuPool("gpu-train", GpuPoolArgs(pool=POOL, target="aws", cluster_name=eks.cluster_name,
                                         instance_profile=eks.instance_profile, subnet_ids=eks.subnet_ids,
                                         security_group_id=eks.security_group_id, ami_release="v20260714"))

    [node_class] = [m for m in manifests(synth(program)) if m["kind"] == "EC2NodeClass"]
    spec = node_class["spec"]
    assert (spec["instanceProfile"], spec["subnetSelectorTerms"], spec["securityGroupSelectorTerms"]) == (
        "demo-nodes", [{"id": "subnet-a"}, {"id": "subnet-b"}], [{"id": "sg-1"}])


def test_contracts_of_the_managed_twins() -> None:
    captured: dict[str, Any] = {}

    def program() -> None:
        f = AwsFoundation("f", AwsFoundationArgs(spec=aws_spec("small", 2), buckets=dict(BUCKETS)))
        captured["dbs"] = f.postgres((PostgresConsumer("mlflow", DATA_NS),), DATA_NS)
        captured["kafka"] = f.kafka((DATA_NS,))
        captured["redis"] = f.redis(DATA_NS)

    synth(program)
    db = captured["dbs"]["mlflow"]
    assert db.host == f"postgres.{DATA_NS}.svc.cluster.local" and db.port == 5432
    assert db.database == db.username == "mlflow" and db.secret == "postgres-mlflow-db"
    assert isinstance(db.managed_host, pulumi.Output)
    kafka = captured["kafka"]
    assert kafka.tls is True and kafka.sasl_mechanism == "OAUTHBEARER"
    assert kafka.bootstrap_servers == "" and isinstance(kafka.managed_bootstrap_servers, pulumi.Output)
    assert captured["redis"].tls is True
