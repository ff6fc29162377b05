"""The AWS Load Balancer Controller: Ingresses become Application Load Balancers.

`LoadBalancerController` ("omgml:aws:LoadBalancerController", foundation phase) installs, in
kube-system on the system nodes:
- an IRSA role limited to what an ALB Ingress needs: reads held to the region, security groups
  and load balancers created and changed only in this region and account and, for changes,
  only when tagged `elbv2.k8s.aws/cluster: <cluster>` (the controller tags what it creates);
  no Shield, WAF, Cognito or NLB permissions (those features are off);
- the CRDs it reads (TargetGroupBinding, IngressClassParams, ALBTargetControlConfig; open
  schemas, like Kubeflow's and Karpenter's) and its RBAC;
- webhook serving certificates from cert-manager (the EKS add-on): a self-signed root Issuer, a
  CA Certificate, a CA Issuer and the serving Certificate, which cert-manager's CA injector
  also writes into the webhook configurations (`cert-manager.io/inject-ca-from`), so no key
  ever passes through Pulumi's state;
- the webhooks that guard its own objects (TargetGroupBinding defaults and validation,
  IngressClassParams and Ingress validation). The pod-readiness-gate mutator is not
  registered: a `failurePolicy: Fail` webhook on every pod creation would make the controller
  a dependency of every Deployment in the cluster;
- the IngressClass `alb` with IngressClassParams that pin what every ALB of the class may be:
  its scheme (internal by default), the source ranges it admits, the ACM certificate and the
  TLS policy. An Ingress cannot widen them.

The controller runs with `--aws-region` and `--aws-vpc-id` (the nodes' metadata service is out
of the pods' reach: IMDS hop limit 1) and with target type `ip` (ALB → pod, no NodePort).

Facts from github.com/kubernetes-sigs/aws-load-balancer-controller at tag v3.5.0: the helm chart
(deployment, rbac, webhook, cert-manager templates, values), config/crd/bases and
docs/install/iam_policy.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.aws_versions import AWS_LOAD_BALANCER_CONTROLLER
from omgml.components.aws import common, system_controller
from omgml.components.aws.irsa import IrsaRole, IrsaRoleArgs
from omgml.components.aws.system_controller import SystemController
from omgml.components.options import Children
from omgml.spec.common import Profile

TYPE_TOKEN = "omgml:aws:LoadBalancerController"

APP = "aws-load-balancer-controller"
NAMESPACE = system_controller.NAMESPACE
SERVICE_ACCOUNT = APP
INGRESS_CLASS = "alb"
CONTROLLER_NAME = "ingress.k8s.aws/alb"
WEBHOOK_SERVICE = "aws-load-balancer-webhook-service"
WEBHOOK_PORT = 9443
METRICS_PORT = 8080
HEALTH_PORT = 61779
CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"
TLS_SECRET = "aws-load-balancer-tls"
SERVING_CERT = "aws-load-balancer-serving-cert"
ROOT_CERT = "aws-load-balancer-root-cert"
SELF_SIGNED_ISSUER = "aws-load-balancer-selfsigned-issuer"
ROOT_ISSUER = "aws-load-balancer-root-issuer"
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
# The controller image's user (chart podSecurityContext fsGroup 65534; distroless nonroot).
UID = 65534
CONTROLLER = SystemController(APP, SERVICE_ACCOUNT, UID, AWS_LOAD_BALANCER_CONTROLLER.version)
# TLS 1.2+ with forward secrecy only (an ELB predefined policy).
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CERT_MANAGER_API = "cert-manager.io/v1"

SIZES = sizes.container("aws-load-balancer-controller")

CRDS: tuple[kube.CrdFacts, ...] = (
    kube.CrdFacts("elbv2.k8s.aws", "TargetGroupBinding", "targetgroupbindings", version="v1beta1",
             status_subresource=True, fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}, required=()),
    kube.CrdFacts("elbv2.k8s.aws", "IngressClassParams", "ingressclassparams", version="v1beta1", scope="Cluster",
             fields={"spec": kube.OPEN_OBJECT}, required=()),
    kube.CrdFacts("elbv2.k8s.aws", "ALBTargetControlConfig", "albtargetcontrolconfigs", version="v1beta1",
             fields={"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}, required=()),
)


@dataclass(frozen=True)
class LoadBalancerControllerArgs(common.AwsComponentArgs):
    cluster_name: str
    region: str
    account_id: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    profile: Profile
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    # aws.ingress: internal | internet-facing, the sources it admits (empty: the VPC), the ACM
    # certificate (HTTPS) if any.
    scheme: str = "internal"
    allowed_cidrs: tuple[str, ...] = ()
    certificate_arn: str | None = None


# --- pure -----------------------------------------------------------------------------------------


def controller_statements(cluster: str, region: str, account: str, vpc_id: pulumi.Input[str]) -> list[kube.JsonDict]:
    """What the controller may do for ALB Ingresses, scoped to this cluster's resources."""
    p = common.partition(region)
    ec2 = f"arn:{p}:ec2:{region}:{account}"
    elb = f"arn:{p}:elasticloadbalancing:{region}:{account}"
    sgs = f"{ec2}:security-group/*"
    albs = [f"{elb}:loadbalancer/app/*/*", f"{elb}:targetgroup/*/*"]
    listeners = [f"{elb}:listener/app/*/*/*", f"{elb}:listener-rule/app/*/*/*"]
    own = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster}}
    tagged_request = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG}": cluster}}
    vpc_arn = pulumi.Output.from_input(vpc_id).apply(lambda v: f"{ec2}:vpc/{v}")
    return [
        {"Sid": "ElbServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": f"arn:{p}:iam::{account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
                     "AWSServiceRoleForElasticLoadBalancing",
         "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
        # Describe calls have no resource-level permissions: "*", held to this region.
        {"Sid": "RegionalReads", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInstances", "ec2:DescribeInternetGateways", "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeTags",
                    "ec2:DescribeVpcs", "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:DescribeListenerAttributes",
                    "elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
                    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeCapacityReservation",
                    "acm:DescribeCertificate", "acm:ListCertificates"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        # The ALB's own security group, in the platform's VPC, tagged for this cluster.
        {"Sid": "CreateAlbSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateSecurityGroup",
         "Resource": [sgs, vpc_arn]},
        {"Sid": "TagAlbSecurityGroupOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": sgs,
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup",
                                        f"aws:RequestTag/{CLUSTER_TAG}": cluster}}},
        {"Sid": "ManageOwnSecurityGroups", "Effect": "Allow", "Resource": sgs, "Condition": own,
         "Action": ["ec2:CreateTags", "ec2:DeleteTags", "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"]},
        # Rules on the cluster security group, so the ALB may reach the pods (target type ip).
        {"Sid": "BackendRules", "Effect": "Allow", "Resource": sgs,
         "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
         "Condition": {"StringEquals": {"ec2:Vpc": vpc_arn}}},
        {"Sid": "CreateTaggedAlbs", "Effect": "Allow", "Resource": albs, "Condition": tagged_request,
         "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags", "Resource": albs,
         "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                                        f"aws:RequestTag/{CLUSTER_TAG}": cluster}}},
        {"Sid": "ManageOwnAlbs", "Effect": "Allow", "Resource": albs, "Condition": own,
         "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation"]},
        {"Sid": "Targets", "Effect": "Allow", "Resource": f"{elb}:targetgroup/*/*", "Condition": own,
         "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]},
        # Listeners and rules are created on the controller's own load balancers (tagged).
        {"Sid": "CreateListeners", "Effect": "Allow", "Resource": f"{elb}:loadbalancer/app/*/*", "Condition": own,
         "Action": ["elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateRule"]},
        # Listeners and rules carry no cluster tag of their own: their ARNs name the controller's
        # load balancers (app/<name>/<id>), which only it creates in this account and region.
        {"Sid": "Listeners", "Effect": "Allow", "Resource": listeners,
         "Action": ["elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:DeleteRule", "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
                    "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]},
    ]


def controller_args(cluster: str, region: str, vpc_id: pulumi.Input[str]) -> list[pulumi.Input[str]]:
    return [
        f"--cluster-name={cluster}",
        f"--ingress-class={INGRESS_CLASS}",
        f"--aws-region={region}",
        pulumi.Output.concat("--aws-vpc-id=", vpc_id),
        "--default-target-type=ip",
        # Off: not used by omgml, and their IAM permissions are not granted.
        "--enable-shield=false",
        "--enable-waf=false",
        "--enable-wafv2=false",
        "--enable-pod-readiness-gate-inject=false",
        "--feature-gates=EnableServiceController=false,ALBGatewayAPI=false,NLBGatewayAPI=false,"
        "GlobalAcceleratorController=false",
        f"--webhook-bind-port={WEBHOOK_PORT}",
        f"--metrics-bind-addr=:{METRICS_PORT}",
    ]


def ingress_class_params(scheme: str, sources: Sequence[str], certificate_arn: str | None) -> kube.JsonDict:
    """What every ALB of the class is, whatever an Ingress asks for."""
    if scheme not in ("internal", "internet-facing"):
        raise ValueError(f"aws.ingress.scheme: {scheme!r}; use internal or internet-facing")
    if not sources:
        raise ValueError("aws.ingress.allowed_cidrs: no source range; list the networks that may call the model server")
    if scheme == "internet-facing" and certificate_arn is None:
        raise ValueError("aws.ingress.certificate_arn: an internet-facing ALB needs an ACM certificate (HTTPS)")
    spec: kube.JsonDict = {"scheme": scheme, "inboundCIDRs": list(sources), "targetType": "ip", "ipAddressType": "ipv4"}
    if certificate_arn is not None:
        spec["certificateArn"] = [certificate_arn]
        spec["sslPolicy"] = SSL_POLICY
    return spec


def ingress_sources(scheme: str, allowed: Sequence[str], vpc_cidr: str) -> list[str]:
    """Who may call the ALB: the listed networks, else the VPC (internal only; the spec refuses
    an internet-facing ALB without a list)."""
    return list(allowed) if allowed else [vpc_cidr]


def cluster_role_rules() -> list[kube.JsonDict]:
    """The controller's cluster-wide RBAC for Ingresses and its own CRDs (no Gateway API, no
    Global Accelerator: those controllers are off)."""
    read = ["get", "list", "watch"]
    return [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "delete", "get", "update"]},
        {"apiGroups": [""], "resources": ["endpoints", "namespaces", "nodes", "pods"], "verbs": read},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["pods/status", "services/status"], "verbs": ["patch", "update"]},
        {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "patch", "update", "watch"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": read},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
        {"apiGroups": ["elbv2.k8s.aws"], "resources": ["albtargetcontrolconfigs"], "verbs": ["get"]},
        {"apiGroups": ["elbv2.k8s.aws"], "resources": ["ingressclassparams"], "verbs": read},
        {"apiGroups": ["elbv2.k8s.aws"], "resources": ["targetgroupbindings"],
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
        {"apiGroups": ["elbv2.k8s.aws"], "resources": ["targetgroupbindings/status"], "verbs": ["patch", "update"]},
        {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses"],
         "verbs": ["get", "list", "patch", "update", "watch"]},
        {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses/status"],
         "verbs": ["patch", "update"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": read},
    ]


def leader_election_rules() -> list[kube.JsonDict]:
    lease = "aws-load-balancer-controller-leader"
    return [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [lease], "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lease],
         "verbs": ["get", "update", "patch"]},
    ]


def webhook(name: str, path: str, group: str, version: str, resource: str, failure: str = "Fail",
            object_selector: kube.JsonDict | None = None) -> kube.JsonDict:
    hook: kube.JsonDict = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"service": {"name": WEBHOOK_SERVICE, "namespace": NAMESPACE, "path": path, "port": 443}},
        "failurePolicy": failure,
        "matchPolicy": "Equivalent",
        "rules": [{"apiGroups": [group], "apiVersions": [version], "operations": ["CREATE", "UPDATE"],
                   "resources": [resource]}],
        "sideEffects": "None",
    }
    if object_selector is not None:
        hook["objectSelector"] = object_selector
    return hook


def mutating_webhooks() -> list[kube.JsonDict]:
    return [webhook("mtargetgroupbinding.elbv2.k8s.aws", "/mutate-elbv2-k8s-aws-v1beta1-targetgroupbinding",
                    "elbv2.k8s.aws", "v1beta1", "targetgroupbindings")]


def validating_webhooks() -> list[kube.JsonDict]:
    # The controller's own IngressClassParams is created before the controller answers.
    not_own = {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "NotIn", "values": [APP]}]}
    return [
        webhook("vingressclassparams.elbv2.k8s.aws", "/validate-elbv2-k8s-aws-v1beta1-ingressclassparams",
                "elbv2.k8s.aws", "v1beta1", "ingressclassparams", object_selector=not_own),
        webhook("vtargetgroupbinding.elbv2.k8s.aws", "/validate-elbv2-k8s-aws-v1beta1-targetgroupbinding",
                "elbv2.k8s.aws", "v1beta1", "targetgroupbindings"),
        webhook("vingress.elbv2.k8s.aws", "/validate-networking-v1-ingress", "networking.k8s.io", "v1", "ingresses"),
    ]


def certificates() -> list[tuple[str, str, kube.JsonDict]]:
    """(kind, name, spec) of the cert-manager objects behind the webhook's TLS: a self-signed
    root, a CA from it, and the serving certificate for the webhook Service's names."""
    dns = [f"{WEBHOOK_SERVICE}.{NAMESPACE}.svc", f"{WEBHOOK_SERVICE}.{NAMESPACE}.svc.cluster.local"]
    return [
        ("Issuer", SELF_SIGNED_ISSUER, {"selfSigned": {}}),
        ("Certificate", ROOT_CERT, {
            "secretName": ROOT_CERT, "isCA": True, "commonName": "ca.webhook.aws-load-balancer-controller",
            "subject": {"organizations": [APP]}, "duration": "43800h0m0s",
            "issuerRef": {"name": SELF_SIGNED_ISSUER, "kind": "Issuer"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        }),
        ("Issuer", ROOT_ISSUER, {"ca": {"secretName": ROOT_CERT}}),
        ("Certificate", SERVING_CERT, {
            "secretName": TLS_SECRET, "dnsNames": dns, "duration": "8760h0m0s", "renewBefore": "720h0m0s",
            "issuerRef": {"name": ROOT_ISSUER, "kind": "Issuer"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        }),
    ]


def controller_pod_spec(cluster: str, region: str, vpc_id: pulumi.Input[str], profile: Profile) -> kube.JsonDict:
    container: kube.JsonDict = {
        "name": "controller",
        "image": AWS_LOAD_BALANCER_CONTROLLER.image,
        "args": controller_args(cluster, region, vpc_id),
        "ports": [{"name": "webhook-server", "containerPort": WEBHOOK_PORT, "protocol": "TCP"},
                  {"name": "metrics-server", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "livenessProbe": {**kube.http_probe("/healthz", HEALTH_PORT, period=10, failures=2, delay=30), "timeoutSeconds": 10},
        "readinessProbe": {**kube.http_probe("/readyz", HEALTH_PORT, period=10, failures=2, delay=10),
                           "timeoutSeconds": 10},
        "resources": SIZES[profile].resources(),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "runAsUser": UID, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": [{"name": "cert", "mountPath": CERT_DIR, "readOnly": True}],
    }
    return CONTROLLER.pod_spec(container, termination_grace_seconds=10, volumes=[
        {"name": "cert", "secret": {"secretName": TLS_SECRET, "defaultMode": 0o644}}])


class LoadBalancerController(pulumi.ComponentResource):
    """The controller, its IAM role, webhooks and the `alb` IngressClass. Needs the cluster's
    Kubernetes provider and the cert-manager add-on (`opts.depends_on`)."""

    ingress_class: str

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        sources = ingress_sources(args.scheme, args.allowed_cidrs, args.vpc_cidr)
        params = ingress_class_params(args.scheme, sources, args.certificate_arn)
        tag_set = args.tag_set("load-balancer-controller")
        role = IrsaRole(f"{name}-role", IrsaRoleArgs(
            oidc_provider_arn=args.oidc_provider_arn, oidc_issuer_host=args.oidc_issuer_host,
            namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            statements=controller_statements(args.cluster_name, args.region, args.account_id, args.vpc_id),
            description=f"AWS Load Balancer Controller of {args.platform}", tags=tag_set,
        ), pulumi.ResourceOptions(parent=self))

        children = Children(self, args.profile)
        labels = CONTROLLER.labels
        crds = system_controller.crds(name, CRDS, labels, children)
        sa = system_controller.service_account(name, CONTROLLER, role.arn, children)
        crb = system_controller.bound_cluster_role(f"{name}-cr", f"{name}-crb", APP, cluster_role_rules(), CONTROLLER,
                                                   children)
        leb = system_controller.bound_role(f"{name}-leader-role", f"{name}-leader-rb", f"{APP}-leader-election",
                                           NAMESPACE, leader_election_rules(), CONTROLLER, children)
        certs: list[pulumi.Resource] = []
        for kind, cert_name, spec in certificates():
            certs.append(k8s.apiextensions.CustomResource(
                f"{name}-{cert_name}", api_version=CERT_MANAGER_API, kind=kind,
                metadata=kube.metadata(cert_name, NAMESPACE, labels), spec=spec, opts=children(*certs)))
        pod = controller_pod_spec(args.cluster_name, args.region, args.vpc_id, args.profile)
        deployment = system_controller.deploy(name, CONTROLLER, pod, args.profile, children, [sa, crb, leb, *crds, *certs],
                                              ("metrics", "metrics-server", METRICS_PORT))
        k8s.core.v1.Service(f"{name}-webhook-service", metadata=kube.metadata(WEBHOOK_SERVICE, NAMESPACE, labels),
                            spec={"selector": CONTROLLER.selector, "ports": [{"name": "webhook-server", "port": 443,
                                                                             "targetPort": "webhook-server",
                                                                             "protocol": "TCP"}]},
                            opts=children())
        inject = {"cert-manager.io/inject-ca-from": f"{NAMESPACE}/{SERVING_CERT}"}
        hook_meta = {"name": f"{APP}-webhook", "labels": labels, "annotations": inject}
        k8s.admissionregistration.v1.MutatingWebhookConfiguration(
            f"{name}-mutating", metadata=hook_meta, webhooks=mutating_webhooks(), opts=children(deployment))
        k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
            f"{name}-validating", metadata=hook_meta, webhooks=validating_webhooks(), opts=children(deployment))
        class_params = k8s.apiextensions.CustomResource(
            f"{name}-class-params", api_version="elbv2.k8s.aws/v1beta1", kind="IngressClassParams",
            metadata={"name": INGRESS_CLASS, "labels": labels}, spec=params, opts=children(*crds))
        k8s.networking.v1.IngressClass(
            f"{name}-class", metadata={"name": INGRESS_CLASS, "labels": labels},
            spec={"controller": CONTROLLER_NAME,
                  "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": INGRESS_CLASS}},
            opts=children(class_params))
        self.ingress_class = INGRESS_CLASS
        self.register_outputs({"ingress_class": self.ingress_class})
