"""EKS: private endpoint, encrypted secrets, audit logs, least-privilege nodes, IRSA add-ons,
the default StorageClass and the Kubernetes provider built from the cluster's outputs."""

from __future__ import annotations

import json

import pytest

from omgml.components.aws.cluster import (
    DEFAULT_CLASS_ANNOTATION,
    EksClusterArgs,
    control_plane_log_types,
    default_storage_class,
    kubeconfig,
    resolve,
)
from omgml.errors import SpecError
from omgml.spec import spec_from_dict
from omgml.synth.manifests import manifests
from omgml.synth.mock_outputs import mock_id
from tests.aws.aws_helpers import aws_spec, of_type, only, policy, synth_foundation
from tests.synth_helpers import assert_valid, one, synth

SUBNET = "aws:ec2/subnet:Subnet"
CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"


def test_kubeconfig_uses_aws_eks_get_token() -> None:
    cfg = kubeconfig("demo", "https://abc.eks.amazonaws.com", "Q0E=", "eu-west-1")
    [user] = cfg["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "demo",
                                            "--output", "json"]
    assert cfg["clusters"][0]["cluster"] == {"server": "https://abc.eks.amazonaws.com",
                                             "certificate-authority-data": "Q0E="}
    assert cfg["current-context"] == "demo"
    assert "token" not in json.dumps(user["user"]).replace("get-token", "")  # no static credential


def test_kubeconfig_refuses_a_plain_http_endpoint() -> None:
    with pytest.raises(ValueError, match="https"):
        kubeconfig("demo", "http://abc", "Q0E=", "us-east-1")


@pytest.mark.parametrize("profile, reclaim", [("laptop", "Delete"), ("small", "Retain"), ("production", "Retain")])
def test_storage_class_is_encrypted_gp3_waiting_for_first_consumer(profile: str, reclaim: str) -> None:
    sc = default_storage_class(profile)  # type: ignore[arg-type]
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["reclaimPolicy"] == reclaim
    assert sc["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION] == "true"


def test_audit_log_types() -> None:
    assert "audit" in control_plane_log_types(True)
    assert control_plane_log_types(False) == ["api", "authenticator"]


def test_open_public_endpoint_is_refused() -> None:
    args = EksClusterArgs(platform="p", cluster_name="p", kubernetes_version="1.34", region="us-east-1",
                          profile="small", subnet_ids=["a", "b"], public_access_cidrs=("0.0.0.0/0",))
    with pytest.raises(ValueError, match="internet"):
        resolve(args)
    with pytest.raises(SpecError, match="whole internet"):
        spec_from_dict({"name": "p", "target": "aws", "aws": {"api_public_cidrs": ["0.0.0.0/0"]}})


def test_cluster_is_private_encrypted_and_logs_audit() -> None:
    result = synth_foundation()
    cluster = only(result, CLUSTER)
    i = cluster.inputs
    assert i["version"] == aws_spec().aws.kubernetes_version == "1.35"
    assert i["vpcConfig"]["endpointPrivateAccess"] is True
    assert i["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in i["vpcConfig"]
    [enc] = i["encryptionConfig"] if isinstance(i["encryptionConfig"], list) else [i["encryptionConfig"]]
    assert enc["resources"] == ["secrets"] and enc["provider"]["keyArn"].startswith("arn:aws:kms:")
    key = next(k for k in of_type(result, "aws:kms/key:Key") if k.name == "fnd-eks-key")
    assert key.inputs["enableKeyRotation"] is True
    assert set(i["enabledClusterLogTypes"]) >= {"audit", "api", "authenticator"}
    assert i["accessConfig"]["authenticationMode"] == "API"
    assert i["deletionProtection"] is True
    logs = next(g for g in of_type(result, "aws:cloudwatch/logGroup:LogGroup") if "control-plane" in g.name)
    assert logs.inputs["name"] == "/aws/eks/demo/cluster" and logs.inputs["retentionInDays"] >= 365


def test_no_audit_logs_unless_asked_and_public_endpoint_only_with_cidrs() -> None:
    spec = aws_spec("small", 2, audit=False, managed=False, api_public_cidrs=["203.0.113.0/24"])
    from tests.aws.aws_helpers import foundation_program

    result = synth(foundation_program(spec))
    i = only(result, CLUSTER).inputs
    # The API server's and the authenticator's logs still (a failed deploy is read from them),
    # kept a month; the audit trail only when asked.
    assert sorted(i["enabledClusterLogTypes"]) == ["api", "authenticator"]
    assert i["vpcConfig"]["endpointPublicAccess"] is True
    assert i["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    [logs] = [g for g in of_type(result, "aws:cloudwatch/logGroup:LogGroup") if "control-plane" in g.name]
    assert logs.inputs["retentionInDays"] == 30


def test_node_role_has_no_cni_policy_and_cni_gets_its_own_irsa_role() -> None:
    result = synth_foundation()
    attachments = {a.name: a.inputs["policyArn"] for a in of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    node = sorted(v for k, v in attachments.items() if k.startswith("fnd-eks-node-policy"))
    assert node == ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]
    assert attachments["fnd-eks-vpc-cni-managed-0"] == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert attachments["fnd-eks-ebs-csi-managed-0"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    addons = {a.inputs["addonName"]: a for a in of_type(result, ADDON)}
    assert set(addons) == {"vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "metrics-server", "cert-manager"}
    cni_role = next(r for r in of_type(result, "aws:iam/role:Role") if r.name == "fnd-eks-vpc-cni-role")
    trust = policy(cni_role, "assumeRolePolicy")["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:aws-node" in trust.values()
    assert addons["vpc-cni"].inputs["serviceAccountRoleArn"].startswith("arn:aws:iam::123456789012:role/fnd-eks-vpc-cni-role")
    # Without this every NetworkPolicy of the platform would be ignored on EKS.
    assert json.loads(addons["vpc-cni"].inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert only(result, CLUSTER).inputs["bootstrapSelfManagedAddons"] is False


def test_addons_and_nodes_come_up_in_order() -> None:
    result = synth_foundation()
    by_name = {r.name: r for r in result.resources}
    system = by_name["fnd-eks-system"]
    assert by_name["fnd-eks-addon-vpc-cni"].urn in system.dependencies
    assert system.urn in by_name["fnd-eks-addon-coredns"].dependencies
    assert system.urn in by_name["fnd-eks-addon-aws-ebs-csi-driver"].dependencies


def test_system_node_group_is_on_demand_labelled_and_private() -> None:
    result = synth_foundation()
    group = only(result, "aws:eks/nodeGroup:NodeGroup")
    i = group.inputs
    assert i["capacityType"] == "ON_DEMAND" and i["amiType"] == "AL2023_x86_64_STANDARD"
    assert i["labels"] == {"omgml.dev/pool": "system", "omgml.dev/pool-purpose": "system"}
    assert i["subnetIds"] == [mock_id(SUBNET, f"fnd-network-private-{z}") for z in range(3)]
    assert i["scalingConfig"]["minSize"] >= 3  # one per zone in production
    assert "scalingConfig.desiredSize" in group.ignore_changes


def test_oidc_provider_trusts_sts_and_follows_the_cluster_issuer() -> None:
    result = synth_foundation()
    oidc = only(result, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert oidc.inputs["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert not oidc.inputs.get("thumbprintLists")


def test_storage_class_is_valid_and_uses_the_cluster_provider() -> None:
    result = synth_foundation()
    items = manifests(result)
    sc = one(items, "StorageClass", "gp3")
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["reclaimPolicy"] == "Retain"
    assert_valid(items)
    provider = only(result, "pulumi:providers:kubernetes")
    k8s_objects = [r for r in result.resources if r.type.startswith("kubernetes:")]
    assert k8s_objects and all(r.provider.startswith(provider.urn) for r in k8s_objects)
    kubeconfig_doc = json.loads(provider.inputs["kubeconfig"])
    assert kubeconfig_doc["clusters"][0]["cluster"]["server"].startswith("https://")
    assert kubeconfig_doc["users"][0]["user"]["exec"]["args"][-3:] == ["demo", "--output", "json"]


def test_control_plane_may_use_only_its_secrets_key() -> None:
    result = synth_foundation()
    kms = next(p for p in of_type(result, "aws:iam/rolePolicy:RolePolicy") if p.name == "fnd-eks-cluster-kms")
    [st] = policy(kms, "policy")["Statement"]
    assert st["Resource"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert set(st["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"}
    cluster = only(result, CLUSTER)
    assert kms.urn in cluster.dependencies


def test_a_deploy_without_a_way_to_the_api_is_refused_before_anything_is_built() -> None:
    from omgml.program import build_phase

    spec = spec_from_dict({"name": "p", "target": "aws"})
    assert spec.aws.api_access_problem() is not None
    with pytest.raises(SpecError, match=r"aws\.api_public_cidrs is empty and aws\.api_private_only is false"):
        build_phase(spec, "foundation", {})
    # Either bootstrap path lifts the refusal.
    for aws in ({"api_public_cidrs": ["198.51.100.7/32"]}, {"api_private_only": True}):
        assert spec_from_dict({"name": "p", "target": "aws", "aws": aws}).aws.api_access_problem() is None
    with pytest.raises(SpecError, match="clear one of them"):
        spec_from_dict({"name": "p", "target": "aws",
                        "aws": {"api_private_only": True, "api_public_cidrs": ["198.51.100.7/32"]}})


def test_a_private_only_cluster_says_its_deployer_runs_inside_the_vpc() -> None:
    from tests.aws.aws_helpers import foundation_program

    result = synth(foundation_program(aws_spec("small", 2, audit=False, managed=False, api_private_only=True)))
    i = only(result, CLUSTER).inputs
    assert i["vpcConfig"]["endpointPublicAccess"] is False
    assert i["tags"]["omgml.dev/api-access"] == "private-runner"  # what aws-api-reachable reads
