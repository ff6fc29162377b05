"""Issue 25 on the renders users get: the enterprise and fintech templates on target aws, rendered
by `omgml render` (the synth), each item of the AWS target checked on both.

1. a first deploy that works: endpoints, flow logs, egress narrowed, unique buckets, access entries;
2. nodes that follow the work: Karpenter objects, node classes, metrics-server, DCGM, Triton's HPA;
3. serving reachable: the load balancer controller and the model server's Ingress;
4. MSK usable: topics, the model server's IAM permission and its SASL settings;
5. versions: add-ons pinned or resolved from the cluster version, Kubernetes in standard support.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

import pytest

from omgml.aws_versions import EKS_STANDARD_SUPPORT_ENDS
from omgml.policy.check import check_render
from omgml.recommend import recommend
from omgml.spec import PlatformSpec
from omgml.spec.requirements import requirements_from_dict
from omgml.synth.render import PlatformRender, render_platform
from omgml.templates import load_template
from omgml.validate import validate_manifests
from tests.aws.crd_helpers import crd_problems
from tests.aws.sdk_helpers import sdk_problems

TEMPLATES = ("enterprise", "fintech")


@cache
def rendered(template: str) -> PlatformRender:
    data = load_template(template).model_dump(mode="json", exclude_unset=True)
    data["target"] = "aws"
    spec: PlatformSpec = recommend(requirements_from_dict(data, source=f"template {template}")).to_platform_spec()
    return render_platform(spec)


def items(template: str) -> list[dict[str, Any]]:
    return rendered(template).all_manifests()


def entries(template: str, typ: str) -> list[dict[str, Any]]:
    return [e for e in rendered(template).inventory()["resources"] if e["type"] == typ]


def kinds(template: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in items(template) if m["kind"] == kind]


@pytest.mark.parametrize("template", TEMPLATES)
def test_render_validates_and_passes_check(template: str) -> None:
    render = rendered(template)
    assert validate_manifests(render.all_manifests(), strict=True) == []
    result = check_render(render, None)
    errors = [f.line() for f in result.findings if f.severity == "error"]
    assert errors == []


@pytest.mark.parametrize("template", TEMPLATES)
def test_1_vpc_endpoints_flow_logs_and_no_open_egress(template: str) -> None:
    region = rendered(template).spec.aws.region
    endpoints = {e["inputs"]["serviceName"].removeprefix(f"com.amazonaws.{region}."): e["inputs"]
                 for e in entries(template, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {"s3", "sts", "ecr.api", "ecr.dkr", "logs", "secretsmanager"}
    # The S3 gateway sits on every private route table (S3 traffic skips the NAT's per-GB fee).
    private_tables = [e for e in entries(template, "aws:ec2/routeTable:RouteTable") if "private" in e["name"]]
    assert endpoints["s3"]["vpcEndpointType"] == "Gateway"
    assert private_tables and len(endpoints["s3"]["routeTableIds"]) == len(private_tables)
    assert all(e["privateDnsEnabled"] is True for name, e in endpoints.items() if name != "s3")
    [flow] = entries(template, "aws:ec2/flowLog:FlowLog")
    assert flow["inputs"]["trafficType"] == "ALL" and flow["inputs"]["logDestinationType"] == "cloud-watch-logs"
    for policy in kinds(template, "NetworkPolicy"):
        reason = (policy["metadata"].get("annotations") or {}).get("omgml.dev/egress-reason")
        for rule in policy["spec"].get("egress") or []:
            # A rule without destinations reaches everything; an ipBlock of 0.0.0.0/0 the internet.
            open_peers = [p for p in rule.get("to") or [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
                          if (p.get("ipBlock") or {}).get("cidr") == "0.0.0.0/0"]
            assert not open_peers or reason, policy["metadata"]
    s3_egress = [p for p in kinds(template, "NetworkPolicy") if p["metadata"]["name"] == "objectstore-aws-api-egress"]
    assert s3_egress and all(peer["ipBlock"]["cidr"] != "0.0.0.0/0"
                             for p in s3_egress for peer in p["spec"]["egress"][0]["to"])


@pytest.mark.parametrize("template", TEMPLATES)
def test_1_buckets_are_unique_and_access_entries_name_the_deployer(template: str) -> None:
    spec = rendered(template).spec
    buckets = [e["inputs"]["bucket"] for e in entries(template, "aws:s3/bucket:Bucket")]
    assert buckets and all(b.startswith(f"{spec.name}-") and len(b) <= 63 for b in buckets)
    assert all(b.rsplit("-", 1)[1] not in ("mlflow", "features", "models", "pipelines") for b in buckets)
    principals = [e["inputs"]["principalArn"] for e in entries(template, "aws:eks/accessEntry:AccessEntry")
                  if e["inputs"]["type"] == "STANDARD"]
    assert principals == ["arn:aws:iam::123456789012:role/mock-deployer"]
    [cluster] = entries(template, "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    # Every cluster logs its API server and authenticator; the regulated one its audit trail too.
    logs = set(cluster["inputs"]["enabledClusterLogTypes"])
    assert {"api", "authenticator"} <= logs and ("audit" in logs) == spec.aws.audit_logging
    assert spec.aws.audit_logging == (template == "fintech")


@pytest.mark.parametrize("template", TEMPLATES)
def test_2_gpu_pools_are_karpenter_node_pools_on_encrypted_nodes(template: str) -> None:
    spec = rendered(template).spec
    pools = kinds(template, "NodePool")
    classes = kinds(template, "EC2NodeClass")
    assert {p["metadata"]["name"] for p in pools} == {f"gpu-{p.name}" for p in spec.all_gpu_pools()}
    assert len(classes) == len(pools)
    for p in pools:
        assert crd_problems(p, "karpenter.sh_v1_NodePool") == []
    for c in classes:
        assert crd_problems(c, "karpenter.k8s.aws_v1_EC2NodeClass") == []
        assert all(b["ebs"]["encrypted"] is True for b in c["spec"]["blockDeviceMappings"])
        assert c["spec"]["metadataOptions"]["httpPutResponseHopLimit"] == 1
    [template_lt] = entries(template, "aws:ec2/launchTemplate:LaunchTemplate")
    assert template_lt["inputs"]["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    addons = {e["inputs"]["addonName"] for e in entries(template, "aws:eks/addon:Addon")}
    assert "metrics-server" in addons
    dcgm = [d for d in kinds(template, "DaemonSet") if "dcgm-exporter" in d["metadata"]["name"]]
    assert len(dcgm) == 1
    config = next(c for c in kinds(template, "ConfigMap") if c["metadata"]["name"].endswith("-prometheus")
                  and "prometheus.yml" in c["data"])
    assert "job_name: dcgm-exporter" in config["data"]["prometheus.yml"]
    [hpa] = [h for h in kinds(template, "HorizontalPodAutoscaler") if "triton" in h["metadata"]["name"]]
    assert hpa["spec"]["metrics"][0]["type"] == "Pods"
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "triton_queue_time_per_request_us"


@pytest.mark.parametrize("template", TEMPLATES)
def test_3_model_server_has_a_private_alb_route(template: str) -> None:
    [ingress] = kinds(template, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "alb"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    services = {s["metadata"]["name"] for s in kinds(template, "Service")}
    assert backend["name"] in services
    [params] = kinds(template, "IngressClassParams")
    assert params["spec"]["scheme"] == "internal" and params["spec"]["inboundCIDRs"] == ["10.0.0.0/16"]
    assert crd_problems(params, "elbv2.k8s.aws_v1beta1_IngressClassParams") == []
    controller = [d for d in kinds(template, "Deployment") if d["metadata"]["name"] == "aws-load-balancer-controller"]
    assert len(controller) == 1


@pytest.mark.parametrize("template", TEMPLATES)
def test_4_msk_topics_client_permission_and_sasl_settings(template: str) -> None:
    spec = rendered(template).spec
    if not spec.phases.foundation.kafka.managed:
        pytest.skip(f"{template} keeps Kafka in the cluster on aws (profile {spec.profile})")
    topics = {e["inputs"]["name"] for e in entries(template, "aws:msk/topic:Topic")}
    assert spec.phases.serving.inference_log_topic in topics
    [policy] = [e for e in entries(template, "aws:iam/rolePolicy:RolePolicy") if e["name"].endswith("kafka-model-server")]
    doc = json.loads(policy["inputs"]["policy"])
    writes = next(s for s in doc["Statement"] if s["Sid"] == "Topics")
    assert "kafka-cluster:WriteData" in writes["Action"]
    env = next(c for c in kinds(template, "ConfigMap") if c["metadata"]["name"].endswith("-model-env"))["data"]
    assert (env["KAFKA_SECURITY_PROTOCOL"], env["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "OAUTHBEARER")
    assert env["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9098")


@pytest.mark.parametrize("template", TEMPLATES)
def test_5_versions_follow_the_cluster_and_stay_in_standard_support(template: str) -> None:
    spec = rendered(template).spec
    assert EKS_STANDARD_SUPPORT_ENDS[spec.aws.kubernetes_version] > date(2026, 12, 6)
    [cluster] = entries(template, "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["version"] == spec.aws.kubernetes_version
    for addon in entries(template, "aws:eks/addon:Addon"):
        assert addon["inputs"]["addonVersion"], addon["name"]
    [system] = entries(template, "aws:eks/nodeGroup:NodeGroup")
    assert system["inputs"]["version"] == spec.aws.kubernetes_version


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_aws_argument_is_one_the_pinned_sdk_knows(template: str) -> None:
    import pulumi_aws

    assert pulumi_aws._utilities.get_version().startswith("7.51.")  # pyproject's pin
    resources = [e for e in rendered(template).inventory()["resources"] if e["type"].startswith("aws:")]
    # The resource types issue 25 added are all in the render (and so all checked).
    assert {"aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/flowLog:FlowLog", "aws:ec2/launchTemplate:LaunchTemplate",
            "aws:sqs/queue:Queue", "aws:cloudwatch/eventRule:EventRule", "aws:iam/instanceProfile:InstanceProfile",
            "aws:eks/accessEntry:AccessEntry"} <= {e["type"] for e in resources}
    problems = [p for e in resources for p in sdk_problems(e["type"], e["inputs"])]
    assert problems == []


def test_the_sdk_check_names_a_misspelt_nested_argument() -> None:
    inputs = {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeTyp": "gp3"}}]}
    assert sdk_problems("aws:ec2/launchTemplate:LaunchTemplate", inputs) == [
        "aws:ec2/launchTemplate:LaunchTemplate blockDeviceMappings[0].ebs.volumeTyp: not an argument of "
        f"LaunchTemplateBlockDeviceMappingEbsArgs in pulumi_aws {__import__('pulumi_aws')._utilities.get_version()}"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_gpu_node_pools_are_priced_in_their_phase(template: str) -> None:
    from omgml.cost import NODE_POOL, estimate_cost, load_prices

    spec = rendered(template).spec
    estimate = estimate_cost(rendered(template).inventory(), load_prices(None))
    nodes = {i.resource.removeprefix(f"{NODE_POOL}/"): i for i in estimate.items
             if i.resource.startswith(NODE_POOL) and "root volumes" not in i.description}
    assert len(nodes) == len(spec.all_gpu_pools())
    for pool in spec.all_gpu_pools():
        [item] = [i for name, i in nodes.items() if name.endswith(f"-{pool.name}-nodepool")]
        assert item.phase == ("serving" if pool.purpose == "inference" else "training")
        assert item.monthly_usd and item.monthly_usd > 0, item
        assert pool.instance_types[0] in item.description
