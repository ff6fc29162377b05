"""IRSA: trust pinned to one namespace:serviceaccount, policies naming only their own resources."""

from __future__ import annotations

import json

import pulumi
import pytest

from omgml.buckets import aws_bucket_names
from omgml.components.aws.irsa import (
    IrsaRole,
    IrsaRoleArgs,
    irsa_trust_policy,
    msk_client_statements,
    msk_resource_arn,
    oidc_issuer_host,
    s3_bucket_statements,
    secret_read_statements,
)
from tests.aws.aws_helpers import BUCKETS, of_type, policy, synth_foundation, synth_of
from tests.synth_helpers import synth

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
HOST = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/demo-kafka/1234-abcd-2"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def test_trust_policy_pins_subject_and_audience_exactly() -> None:
    doc = irsa_trust_policy(PROVIDER, f"https://{HOST}", "omgml-data", "mlflow")
    [st] = doc["Statement"]
    assert st["Principal"] == {"Federated": PROVIDER}
    assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert st["Condition"] == {"StringEquals": {
        f"{HOST}:sub": "system:serviceaccount:omgml-data:mlflow",
        f"{HOST}:aud": "sts.amazonaws.com",
    }}
    assert "StringLike" not in json.dumps(doc)


def test_issuer_host_strips_the_scheme() -> None:
    assert oidc_issuer_host(f"https://{HOST}/") == HOST


@pytest.mark.parametrize("ns, sa", [("Bad_NS", "sa"), ("ns", "")])
def test_trust_policy_refuses_invalid_names(ns: str, sa: str) -> None:
    with pytest.raises(ValueError):
        irsa_trust_policy(PROVIDER, HOST, ns, sa)


def test_s3_statements_name_only_the_buckets_and_their_key() -> None:
    sts = s3_bucket_statements(["arn:aws:s3:::a"], "arn:aws:kms:us-east-1:1:key/k", "us-east-1", read_only=True)
    resources = [r for st in sts for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
    assert sorted(resources) == ["arn:aws:kms:us-east-1:1:key/k", "arn:aws:s3:::a", "arn:aws:s3:::a/*"]
    actions = {a for st in sts for a in st["Action"]}
    assert "s3:PutObject" not in actions and "kms:GenerateDataKey" not in actions  # read-only
    kms = next(st for st in sts if st["Sid"] == "BucketKey")
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_secret_statements_read_one_secret() -> None:
    sts = secret_read_statements("arn:aws:secretsmanager:us-east-1:1:secret:x", "arn:k", "us-east-1")
    assert sts[0]["Resource"] == "arn:aws:secretsmanager:us-east-1:1:secret:x"
    assert "secretsmanager:PutSecretValue" not in sts[0]["Action"]
    assert sts[1]["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"


def test_msk_arns_derive_from_the_cluster_arn() -> None:
    assert msk_resource_arn(CLUSTER, "topic", "events") == \
        "arn:aws:kafka:us-east-1:123456789012:topic/demo-kafka/1234-abcd-2/events"
    with pytest.raises(ValueError, match="not an MSK cluster ARN"):
        msk_resource_arn("arn:aws:s3:::bucket", "topic", "x")
    sts = msk_client_statements(CLUSTER, ["b", "a"], "triton-", write=False)
    topics = next(st for st in sts if st["Sid"] == "Topics")
    assert topics["Resource"] == [msk_resource_arn(CLUSTER, "topic", "a"), msk_resource_arn(CLUSTER, "topic", "b")]
    assert "kafka-cluster:WriteData" not in topics["Action"]
    groups = next(st for st in sts if st["Sid"] == "Groups")
    assert groups["Resource"].endswith("group/demo-kafka/1234-abcd-2/triton-*")


def test_a_wildcard_resource_is_refused() -> None:
    args = IrsaRoleArgs(oidc_provider_arn=PROVIDER, oidc_issuer_host=HOST, namespace="ns", service_account="sa",
                        statements=[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
    with pytest.raises(ValueError, match="name the exact ARNs"):
        synth_of(lambda: IrsaRole("r", args))


def test_a_role_without_permissions_is_refused() -> None:
    with pytest.raises(ValueError, match="statements or managed_policy_arns"):
        synth_of(lambda: IrsaRole("r", IrsaRoleArgs(PROVIDER, HOST, "ns", "sa")))


def test_two_roles_do_not_collide_and_each_trusts_only_its_own_account() -> None:
    def program() -> None:
        for sa in ("one", "two"):
            IrsaRole(f"role-{sa}", IrsaRoleArgs(
                oidc_provider_arn=pulumi.Output.from_input(PROVIDER), oidc_issuer_host=HOST, namespace="ns",
                service_account=sa, statements=secret_read_statements(f"arn:aws:secretsmanager:r:1:secret:{sa}",
                                                                      None, "us-east-1")))

    roles = of_type(synth(program), ROLE)
    subs = sorted(policy(r, "assumeRolePolicy")["Statement"][0]["Condition"]["StringEquals"][f"{HOST}:sub"]
                  for r in roles)
    assert subs == ["system:serviceaccount:ns:one", "system:serviceaccount:ns:two"]


def _arns(doc: dict[str, object]) -> set[str]:
    out: set[str] = set()
    for st in doc["Statement"]:  # type: ignore[attr-defined]
        res = st["Resource"]
        out.update(res if isinstance(res, list) else [res])
    return out


def test_every_irsa_role_in_the_foundation_names_only_its_own_resources() -> None:
    result = synth_foundation()
    roles = {r.name.removesuffix("-role"): r for r in of_type(result, ROLE) if "Federated" in r.inputs["assumeRolePolicy"]}
    inline = {p.name.removesuffix("-policy"): policy(p, "policy") for p in of_type(result, ROLE_POLICY)}
    rds = next(r for r in result.resources if r.type == "aws:rds/instance:Instance")
    subjects = {}
    for name, role in roles.items():
        cond = policy(role, "assumeRolePolicy")["Statement"][0]["Condition"]["StringEquals"]
        [sub] = [v for k, v in cond.items() if k.endswith(":sub")]
        subjects[name] = sub
    assert subjects["fnd-postgres-databases-provision"] == "system:serviceaccount:omgml-data:postgres-provision"
    assert subjects["fnd-s3-access-mlflow"] == "system:serviceaccount:omgml-data:mlflow"
    assert subjects["fnd-s3-access-triton"] == "system:serviceaccount:omgml-serving:triton"
    assert subjects["fnd-eks-vpc-cni"] == "system:serviceaccount:kube-system:aws-node"
    # The provisioning Job reads exactly the RDS master secret (and its key), nothing else.
    provision = _arns(inline["fnd-postgres-databases-provision"])
    assert rds.inputs["manageMasterUserPassword"] is True
    assert {a.split(":")[2] for a in provision} == {"secretsmanager", "kms"}
    assert len([a for a in provision if ":secret:" in a]) == 1
    # Each S3 consumer names only its own buckets.
    mlflow = _arns(inline["fnd-s3-access-mlflow"])
    bucket = aws_bucket_names(BUCKETS, "123456789012", "us-east-1")["mlflow"]  # unique across AWS
    assert {a for a in mlflow if a.startswith("arn:aws:s3")} == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    triton = _arns(inline["fnd-s3-access-triton"])
    models = aws_bucket_names(BUCKETS, "123456789012", "us-east-1")["models"]
    assert {a for a in triton if a.startswith("arn:aws:s3")} == {f"arn:aws:s3:::{models}", f"arn:aws:s3:::{models}/*"}
    # "*" only where AWS has no resource-level permissions: the controllers' describe/list calls
    # (held to the region) and the price list; never on an action that changes anything.
    for name, doc in inline.items():
        for st in doc["Statement"]:
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if "*" in res:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert name in ("fnd-karpenter-controller", "fnd-lb-controller-role"), (name, st)
                assert all(a.split(":")[1].startswith(("Describe", "List", "Get")) for a in actions), st
                assert "aws:RequestedRegion" in st["Condition"]["StringEquals"], st
