"""The EKS cluster: control plane, IAM, a system node group, IRSA, add-ons and a default StorageClass.

Built from pulumi_aws primitives (not pulumi_eks, a multi-language component whose children the
mock engine cannot see). Choices that matter:

- Endpoint: private access always on (nodes and in-VPC tooling use it); the public endpoint only
  when `aws.api_public_cidrs` lists the networks allowed to reach it (the first deploy's
  bootstrap path, docs/aws-first-deploy.md). With `aws.api_private_only` there is no public
  endpoint and `pulumi up` runs from inside the VPC (a CI runner, VPN or bastion): the
  Kubernetes provider talks to the API server.
- Secrets in etcd are envelope-encrypted with a customer-managed KMS key (rotation on).
- Access: the API authentication mode (access entries, no aws-auth ConfigMap), every entry in
  Pulumi's state: one per principal of `admin_principal_arns` plus the identity running
  `pulumi up` (the Kubernetes provider needs it), de-duplicated, so listing the deployer is
  harmless. EKS's own creator entry (`bootstrap_cluster_creator_admin_permissions`) is off: it
  lives outside the state, and listing the same principal again failed with a duplicate entry.
  Managed node groups get their node access entries from EKS itself.
- System nodes boot from a launch template: encrypted gp3 root volume, IMDSv2 only with a hop
  limit of 1 (pods cannot borrow the node's role through the metadata service; they use IRSA).
- Node IAM role: AmazonEKSWorkerNodePolicy and AmazonEC2ContainerRegistryReadOnly only. The CNI
  policy (which may create and delete network interfaces in the whole VPC) goes to the vpc-cni
  add-on's own IRSA role, so a compromised pod that reaches the node's instance role cannot
  rewire the network.
- Self-managed add-ons are not bootstrapped: vpc-cni, kube-proxy, CoreDNS, the EBS CSI driver,
  metrics-server and cert-manager are EKS add-ons, so their versions are visible and upgradable
  in one place: pinned in `aws.addon_versions`, else resolved at deploy time to EKS's default
  for the cluster's Kubernetes version (omgml/aws_versions.py). The VPC CNI runs with
  network-policy enforcement on; without it EKS ignores every NetworkPolicy, including the
  platform's default-deny ones.
- Upgrades move in order: the control plane (`kubernetes_version`), then the add-ons (they
  depend on the cluster and resolve against its version), then the system node group (its
  `version` follows the cluster's and it depends on the add-ons).
- OIDC provider for IRSA: no thumbprint is given. IAM no longer uses thumbprints for the
  EKS OIDC issuers (it trusts the issuers' public CA chain), and pulumi_aws 7 makes the field
  optional; a pinned thumbprint would only break on the issuer's next certificate rotation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml.aws_versions import EKS_ADDONS, VERSION_SOURCE_TAG
from omgml.components.aws import common
from omgml.components.aws.irsa import IrsaRole, IrsaRoleArgs, oidc_issuer_host
from omgml.components.gpupool import POOL_LABEL, PURPOSE_LABEL
from omgml.components.options import keeps_data
from omgml.labels import standard_labels
from omgml.spec.common import Profile, per_profile

TYPE_TOKEN = "omgml:aws:EksCluster"

SYSTEM_POOL = "system"
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
STORAGE_CLASS = "gp3"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
# Service accounts the add-ons run as (fixed by the add-ons themselves).
VPC_CNI_SA = ("kube-system", "aws-node")
EBS_CSI_SA = ("kube-system", "ebs-csi-controller-sa")
# PCI DSS 10.5.1 keeps audit history for at least twelve months.
AUDIT_LOG_RETENTION_DAYS = 365
# Control-plane logs kept for operations only (no audit requirement): a month of history.
OPERATIONS_LOG_RETENTION_DAYS = 30
ROOT_DEVICE = "/dev/xvda"  # the root device of the AL2023 EKS AMIs
# IMDSv2 with one hop: the node reaches the metadata service, a pod (one more hop behind the
# node's network namespace) does not. Every omgml workload gets AWS credentials from IRSA.
IMDS_HOP_LIMIT = 1
# Tag on the cluster saying the deployer runs inside the VPC (aws.api_private_only), which
# `omgml check` reads to tell a deliberate private endpoint from an unreachable one.
API_ACCESS_TAG = "omgml.dev/api-access"
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class SystemNodeSizing:
    instance_types: tuple[str, ...]
    min_size: int
    desired_size: int
    max_size: int
    disk_gib: int


# The system group runs the add-ons and every CPU workload of the platform (data stores that
# stay in-cluster, MLflow, Feast, Kubeflow, Prometheus); GPU work goes to the GpuPool groups.
# Two instance types each, so one sold-out type does not block a scale-up. Production starts
# with three nodes: one per zone when the VPC spans three.
SYSTEM_NODES = per_profile(
    laptop=SystemNodeSizing(("t3.large", "t3a.large"), 1, 2, 3, 50),
    small=SystemNodeSizing(("m7i.xlarge", "m6i.xlarge"), 2, 2, 4, 80),
    production=SystemNodeSizing(("m7i.2xlarge", "m6i.2xlarge"), 3, 3, 9, 100),
)


@dataclass(frozen=True)
class EksClusterArgs(common.AwsComponentArgs):
    cluster_name: str
    kubernetes_version: str
    region: str
    profile: Profile
    # Private subnets: control-plane network interfaces and every node group.
    subnet_ids: list[pulumi.Input[str]]
    audit_logging: bool = False
    # Networks allowed to reach the public API endpoint; empty = no public endpoint at all.
    public_access_cidrs: tuple[str, ...] = ()
    # No public endpoint on purpose: every deploy runs from inside the VPC.
    private_only: bool = False
    # IAM principals (roles/users) that get cluster admin through access entries.
    admin_principal_arns: tuple[str, ...] = ()
    # The IAM role/user running `pulumi up` (from STS at deploy time): admin too, so the
    # Kubernetes provider can create the platform's objects. None: only the listed admins.
    deployer_arn: str | None = None
    # aws.addon_versions: add-on → pinned version; the others are resolved at deploy time.
    addon_versions: Mapping[str, str] = field(default_factory=dict)


def control_plane_log_types(audit_logging: bool) -> list[str]:
    """api + authenticator on every cluster: what a failed deploy or a refused access entry is
    read from (a cluster without them cannot be debugged from the outside). audit adds "who
    did what to the cluster" (what auditors ask). controllerManager and scheduler logs add cost
    without either value, so they stay off."""
    return ["api", "audit", "authenticator"] if audit_logging else ["api", "authenticator"]


def control_plane_log_retention(audit_logging: bool) -> int:
    return AUDIT_LOG_RETENTION_DAYS if audit_logging else OPERATIONS_LOG_RETENTION_DAYS


def admin_principals(listed: Sequence[str], deployer: str | None) -> list[str]:
    """Who gets an admin access entry: the listed principals and the deployer, each once."""
    return sorted({*listed, *([deployer] if deployer else [])})


def principal_key(arn: str) -> str:
    """A short stable name for a principal's access entry: the same ARN keeps its resource when
    the list is reordered or another admin is added (an index would move them all)."""
    return hashlib.sha256(arn.encode()).hexdigest()[:10]


def cluster_tags(base: Mapping[str, str], private_only: bool) -> dict[str, str]:
    return {**base, **({API_ACCESS_TAG: "private-runner"} if private_only else {})}


def root_volume(size_gib: int) -> common.JsonDict:
    """An encrypted gp3 root volume, deleted with its node (its data is the node's, not the
    platform's); encryption uses the account's EBS key unless a key is given."""
    if size_gib < 20:
        raise ValueError(f"root volume of {size_gib} GiB: the EKS AMIs need at least 20 GiB")
    return {"volume_size": size_gib, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"}


def metadata_options() -> common.JsonDict:
    return {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": IMDS_HOP_LIMIT}


def addon_version_source(name: str, pins: Mapping[str, str]) -> str:
    return "pinned" if name in pins else "resolved"


def system_node_labels() -> dict[str, str]:
    return {POOL_LABEL: SYSTEM_POOL, PURPOSE_LABEL: SYSTEM_POOL}


def node_role_policy_arns(region: str) -> list[str]:
    return [common.managed_policy_arn(region, "AmazonEKSWorkerNodePolicy"),
            common.managed_policy_arn(region, "AmazonEC2ContainerRegistryReadOnly")]


def vpc_cni_configuration() -> str:
    # The network policy agent ships in the add-on but enforces nothing until this is set.
    return json.dumps({"enableNetworkPolicy": "true"}, sort_keys=True)


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> common.JsonDict:
    """A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens of whoever
    runs Pulumi; no credential is stored in it or in the state)."""
    if not endpoint.startswith("https://"):
        raise ValueError(f"kubeconfig: cluster endpoint {endpoint!r} is not an https URL")
    if not ca_data:
        raise ValueError("kubeconfig: the cluster's certificate authority data is empty")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
        "users": [{"name": cluster_name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
            "interactiveMode": "Never",
        }}}],
    }


def kubeconfig_json(cluster_name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str],
                    region: str) -> pulumi.Output[str]:
    return pulumi.Output.all(cluster_name, endpoint, ca_data).apply(
        lambda v: json.dumps(kubeconfig(str(v[0]), str(v[1]), str(v[2]), region), sort_keys=True))


def default_storage_class(profile: Profile) -> common.JsonDict:
    """The cluster's default StorageClass (EKS has none since 1.30, so PVCs would stay Pending).

    Encrypted gp3; WaitForFirstConsumer so a volume is created in the zone its pod is
    scheduled to (EBS volumes are zonal); Retain outside the laptop profile, so deleting a PVC
    by mistake leaves the volume to recover. Expansion on: growing a volume is the documented
    way to give a StatefulSet more storage.
    """
    return {
        "metadata": {
            "name": STORAGE_CLASS,
            "labels": standard_labels("storage", "gp3", "storageclass"),
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "provisioner": EBS_CSI_PROVISIONER,
        "parameters": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
        "reclaimPolicy": "Retain" if keeps_data(profile) else "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def resolve(args: EksClusterArgs) -> SystemNodeSizing:
    if args.profile not in SYSTEM_NODES:
        raise ValueError(f"EksClusterArgs.profile={args.profile!r} is unknown; use one of {sorted(SYSTEM_NODES)}")
    if len(args.subnet_ids) < 2:
        raise ValueError(f"EksClusterArgs.subnet_ids: EKS needs subnets in at least two zones, got {len(args.subnet_ids)}")
    for cidr in args.public_access_cidrs:
        if cidr in ("0.0.0.0/0", "::/0"):
            raise ValueError(f"EksClusterArgs.public_access_cidrs: {cidr} opens the API server to the internet; "
                             "list your office/VPN/CI ranges instead")
    return SYSTEM_NODES[args.profile]


class EksCluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    oidc_issuer_host: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    # add-on → the version installed (pinned, or resolved at deploy time).
    addon_versions: dict[str, pulumi.Output[str]]
    cert_manager: aws.eks.Addon
    metrics_server: aws.eks.Addon

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        sizing = resolve(args)
        child = pulumi.ResourceOptions(parent=self)
        tag_set = args.tag_set("eks")
        region = args.region

        secrets_key = common.kms_key(name, f"EKS secrets envelope encryption of {args.cluster_name}", args.profile,
                              tag_set, self)
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=common.service_trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")),
            description=f"EKS control plane of {args.cluster_name}",
            tags=tag_set,
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=cluster_role.id,
            policy_arn=common.managed_policy_arn(region, "AmazonEKSClusterPolicy"), opts=child)
        # AmazonEKSClusterPolicy has no KMS rights: envelope encryption needs these, on this key only.
        secrets_key_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms", role=cluster_role.id,
            policy=secrets_key.arn.apply(lambda arn: common.policy_document([{
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": arn,
            }])),
            opts=child)

        log_types = control_plane_log_types(args.audit_logging)
        # Created before the cluster so EKS writes into it (instead of creating its own with no
        # retention); kept like other evidence outside the laptop profile.
        cluster_deps: list[pulumi.Resource] = [cluster_policy, secrets_key_policy, aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=control_plane_log_retention(args.audit_logging),
            tags=tag_set,
            opts=common.stateful_options(args.profile, self),
        )]

        public = bool(args.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(args.public_access_cidrs) if public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=log_types,
            # Every admin entry, the deployer's included, is a resource below (in the state).
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            bootstrap_self_managed_addons=False,
            # Standard support only: a version past it is upgraded by EKS instead of silently
            # billed at the extended-support rate.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=keeps_data(args.profile),
            tags=cluster_tags(tag_set, args.private_only),
            opts=pulumi.ResourceOptions(parent=self, depends_on=cluster_deps),
        )
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.kubernetes_version = cluster.version
        self.node_security_group_id = cluster.vpc_config.apply(lambda v: v.cluster_security_group_id)
        self.oidc_issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        self.oidc_issuer_host = self.oidc_issuer.apply(oidc_issuer_host)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=self.oidc_issuer, client_id_lists=["sts.amazonaws.com"], tags=tag_set, opts=child)
        self.oidc_provider_arn = oidc.arn

        admin_access: list[pulumi.Resource] = []
        for principal in admin_principals(args.admin_principal_arns, args.deployer_arn):
            key = principal_key(principal)
            entry = aws.eks.AccessEntry(f"{name}-admin-{key}", cluster_name=cluster.name, principal_arn=principal,
                                        type="STANDARD", tags=tag_set, opts=child)
            admin_access.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{key}-policy", cluster_name=cluster.name, principal_arn=principal,
                policy_arn=f"arn:{common.partition(region)}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry])))

        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=common.service_trust_policy("ec2.amazonaws.com"),
            description=f"EKS nodes of {args.cluster_name} (no CNI policy: that is the vpc-cni add-on's IRSA role)",
            tags=tag_set,
            opts=child,
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(f"{name}-node-policy-{i}", role=node_role.id, policy_arn=arn, opts=child)
            for i, arn in enumerate(node_role_policy_arns(region))
        ]
        self.node_role_arn = node_role.arn

        def irsa(suffix: str, sa: tuple[str, str], policy: str) -> IrsaRole:
            return IrsaRole(f"{name}-{suffix}", IrsaRoleArgs(
                oidc_provider_arn=oidc.arn, oidc_issuer_host=self.oidc_issuer_host,
                namespace=sa[0], service_account=sa[1],
                managed_policy_arns=(common.managed_policy_arn(region, policy),),
                description=f"{suffix} add-on of {args.cluster_name}", tags=tag_set,
            ), child)

        cni_role = irsa("vpc-cni", VPC_CNI_SA, "AmazonEKS_CNI_Policy")
        ebs_role = irsa("ebs-csi", EBS_CSI_SA, "service-role/AmazonEBSCSIDriverPolicy")

        self.addon_versions = {}

        def addon(addon_name: str, after: list[pulumi.Resource], role: IrsaRole | None = None,
                  config: str | None = None) -> aws.eks.Addon:
            if addon_name not in EKS_ADDONS:
                raise ValueError(f"EksCluster: add-on {addon_name!r} is not listed in omgml.aws_versions.EKS_ADDONS")
            version: pulumi.Input[str]
            if addon_name in args.addon_versions:
                version = args.addon_versions[addon_name]
            else:
                # EKS's default build for the cluster's Kubernetes version, resolved after the
                # control plane exists (and again after it is upgraded).
                version = aws.eks.get_addon_version_output(
                    addon_name=addon_name, kubernetes_version=cluster.version,
                    opts=pulumi.InvokeOutputOptions(parent=self)).version
            created = aws.eks.Addon(
                f"{name}-addon-{addon_name}",
                cluster_name=cluster.name,
                addon_name=addon_name,
                addon_version=version,
                service_account_role_arn=role.arn if role else None,
                configuration_values=config,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags={**tag_set, VERSION_SOURCE_TAG: addon_version_source(addon_name, args.addon_versions)},
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            )
            self.addon_versions[addon_name] = created.addon_version
            return created

        # Networking must exist before nodes join, or they never turn Ready.
        vpc_cni = addon("vpc-cni", [cni_role], cni_role, vpc_cni_configuration())
        kube_proxy = addon("kube-proxy", [])
        root = root_volume(sizing.disk_gib)
        imds = metadata_options()
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-system-lt",
            description=f"system nodes of {args.cluster_name}: encrypted gp3 root, IMDSv2 with one hop",
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE, ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(**root))],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**imds),
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tag_set)
                                for kind in ("instance", "volume")],
            # A node group follows the version it names; bumping it rolls the nodes.
            update_default_version=True,
            tags=tag_set,
            opts=child,
        )
        system = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_group_name=SYSTEM_POOL,
            node_role_arn=node_role.arn,
            subnet_ids=args.subnet_ids,
            ami_type=SYSTEM_AMI_TYPE,
            # Upgraded after the control plane and the networking add-ons it depends on.
            version=cluster.version,
            capacity_type="ON_DEMAND",  # the add-ons and data stores must not be reclaimed
            instance_types=list(sizing.instance_types),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id, version=launch_template.latest_version.apply(str)),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=sizing.min_size, desired_size=sizing.desired_size, max_size=sizing.max_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=system_node_labels(),
            tags={**tag_set, POOL_LABEL: SYSTEM_POOL},
            # Fixed at min_size..max_size by EKS; nothing but a spec change should resize it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*node_policies, vpc_cni, kube_proxy],
                                        ignore_changes=["scalingConfig.desiredSize"]),
        )
        # All run as Deployments: they need nodes to become healthy. metrics-server serves the
        # resource metrics API (HPAs on CPU, `kubectl top`); cert-manager issues the webhook
        # certificates of the load balancer controller.
        coredns = addon("coredns", [system])
        ebs_csi = addon("aws-ebs-csi-driver", [system, ebs_role], ebs_role)
        metrics_server = addon("metrics-server", [system, coredns])
        cert_manager = addon("cert-manager", [system, coredns])
        self.cert_manager = cert_manager
        self.metrics_server = metrics_server

        self.kubeconfig = kubeconfig_json(cluster.name, cluster.endpoint,
                                          cluster.certificate_authority.apply(lambda ca: ca.data), region)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig,
            # The deployer's access entry must exist before the first Kubernetes call.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[system, *admin_access]))
        k8s.storage.v1.StorageClass(
            f"{name}-storageclass-gp3",
            **_storage_class_kwargs(default_storage_class(args.profile)),
            opts=pulumi.ResourceOptions(parent=self, provider=self.k8s_provider, depends_on=[ebs_csi]),
        )
        self.secrets_key_arn = secrets_key.arn
        self.register_outputs({
            "cluster_name": self.cluster_name,
            "endpoint": self.endpoint,
            "oidc_provider_arn": self.oidc_provider_arn,
            "node_role_arn": self.node_role_arn,
        })


def _storage_class_kwargs(body: common.JsonDict) -> common.JsonDict:
    """camelCase manifest fields → the typed resource's keyword arguments."""
    return {
        "metadata": body["metadata"],
        "provisioner": body["provisioner"],
        "parameters": body["parameters"],
        "reclaim_policy": body["reclaimPolicy"],
        "volume_binding_mode": body["volumeBindingMode"],
        "allow_volume_expansion": body["allowVolumeExpansion"],
    }
