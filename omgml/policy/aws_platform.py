"""AWS rules about how the platform runs, beside its data stores (omgml/policy/aws.py):

- `aws-node-volume-encryption`: every node's volumes are encrypted by what omgml writes, not by
  an account default someone may have turned off: launch templates encrypt each EBS mapping,
  no managed node group boots without a launch template, every Karpenter EC2NodeClass lists
  its block devices encrypted.
- `aws-no-open-egress`: no NetworkPolicy lets pods reach 0.0.0.0/0 (or ::/0), and no security
  group lets out to it, unless the object says why (annotation, or tag on AWS resources,
  `omgml.dev/egress-reason`). Pods that call AWS go through the VPC endpoints and S3's prefix
  list instead; a namespace opened to the internet on purpose (`allow_external_egress: true`)
  carries its reason.
- `aws-versions-pinned`: every EKS add-on names its version; one resolved at deploy time
  (tag `omgml.dev/version-source: resolved`) is a warning until it is pinned in
  aws.addon_versions; GPU nodes run a pinned AMI release (no `@latest` alias).
- `aws-api-reachable` (warning): the cluster has a public endpoint for the deployer's networks,
  or is marked as deployed from inside the VPC; otherwise the first `pulumi up` stops at the
  first Kubernetes object.

Pure functions over the render's manifests and inventory, like every policy.
"""

from __future__ import annotations

from typing import Any

from omgml.policy.aws import OPEN_CIDRS
from omgml.policy.findings import Entry, Finding, Manifest, entry_id, entry_inputs, resource_id

VOLUME_POLICY = "aws-node-volume-encryption"
EGRESS_POLICY = "aws-no-open-egress"
VERSIONS_POLICY = "aws-versions-pinned"
API_POLICY = "aws-api-reachable"

EGRESS_REASON = "omgml.dev/egress-reason"
VERSION_SOURCE_TAG = "omgml.dev/version-source"
API_ACCESS_TAG = "omgml.dev/api-access"


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# --- node volumes -------------------------------------------------------------------------------

def node_volume_findings(e: Entry) -> list[Finding]:
    t, i = e.get("type"), entry_inputs(e)
    out: list[Finding] = []
    if t == "aws:ec2/launchTemplate:LaunchTemplate":
        for n, bdm in enumerate(i.get("blockDeviceMappings") or []):
            ebs = bdm.get("ebs")
            if ebs is not None and not _true(ebs.get("encrypted")):
                out.append(Finding(VOLUME_POLICY, "error", entry_id(e), f"blockDeviceMappings[{n}].ebs.encrypted",
                                   f"EBS volume {bdm.get('deviceName', '?')} of the nodes is not encrypted",
                                   "set encrypted='true' on the launch template's block device mapping"))
    elif t == "aws:eks/nodeGroup:NodeGroup" and not i.get("launchTemplate"):
        out.append(Finding(VOLUME_POLICY, "error", entry_id(e), "launchTemplate",
                           "node group boots without a launch template: its root volume is encrypted only if the "
                           "account's EBS default encryption is on",
                           "give the node group a launch template with encrypted gp3 block device mappings"))
    return out


def node_class_findings(m: Manifest) -> list[Finding]:
    if m.get("kind") != "EC2NodeClass":
        return []
    spec = m.get("spec") or {}
    mappings = spec.get("blockDeviceMappings") or []
    if not mappings:
        return [Finding(VOLUME_POLICY, "error", resource_id(m), "spec.blockDeviceMappings",
                        "no block device mappings: the AMI's defaults decide the root volume's size and encryption",
                        "list the root volume with ebs.encrypted: true (gp3, sized for the pool's images)")]
    return [Finding(VOLUME_POLICY, "error", resource_id(m), f"spec.blockDeviceMappings[{n}].ebs.encrypted",
                    f"volume {bdm.get('deviceName', '?')} of the nodes is not encrypted", "set ebs.encrypted: true")
            for n, bdm in enumerate(mappings) if not _true((bdm.get("ebs") or {}).get("encrypted"))]


# --- open egress ------------------------------------------------------------------------------------

def _declared(m: Manifest) -> bool:
    return bool(((m.get("metadata") or {}).get("annotations") or {}).get(EGRESS_REASON))


def network_policy_egress_findings(m: Manifest) -> list[Finding]:
    if m.get("kind") != "NetworkPolicy" or _declared(m):
        return []
    out = []
    for n, rule in enumerate((m.get("spec") or {}).get("egress") or []):
        peers = rule.get("to")
        if not peers:
            out.append(Finding(EGRESS_POLICY, "error", resource_id(m), f"spec.egress[{n}].to",
                               "egress rule without destinations: the pods may reach every address, the internet too",
                               f"list the destinations, or annotate the policy {EGRESS_REASON}: <why>"))
            continue
        for p, peer in enumerate(peers):
            cidr = (peer.get("ipBlock") or {}).get("cidr")
            if cidr in OPEN_CIDRS:
                out.append(Finding(
                    EGRESS_POLICY, "error", resource_id(m), f"spec.egress[{n}].to[{p}].ipBlock.cidr",
                    f"egress to {cidr}: the pods may reach the whole internet",
                    "narrow it to the VPC (AWS APIs answer at its interface endpoints) and S3's prefix list, or "
                    f"annotate the policy {EGRESS_REASON}: <why it must reach the internet>"))
    return out


def security_group_egress_findings(e: Entry) -> list[Finding]:
    t, i = e.get("type"), entry_inputs(e)
    if (i.get("tags") or {}).get(EGRESS_REASON):
        return []
    fix = f"restrict the destination, or tag the resource {EGRESS_REASON}: <why>"
    if t == "aws:ec2/securityGroup:SecurityGroup":
        return [Finding(EGRESS_POLICY, "error", entry_id(e), f"egress[{n}]", "security group lets out to the whole "
                        "internet", fix)
                for n, rule in enumerate(i.get("egress") or [])
                if OPEN_CIDRS & {*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])}]
    if t == "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" and OPEN_CIDRS & {i.get("cidrIpv4"), i.get("cidrIpv6")}:
        return [Finding(EGRESS_POLICY, "error", entry_id(e), "cidrIpv4", "egress rule to the whole internet", fix)]
    if (t == "aws:ec2/securityGroupRule:SecurityGroupRule" and i.get("type") == "egress"
            and OPEN_CIDRS & {*(i.get("cidrBlocks") or []), *(i.get("ipv6CidrBlocks") or [])}):
        return [Finding(EGRESS_POLICY, "error", entry_id(e), "cidrBlocks", "egress rule to the whole internet", fix)]
    return []


# --- versions ----------------------------------------------------------------------------------------

def addon_version_findings(e: Entry) -> list[Finding]:
    if e.get("type") != "aws:eks/addon:Addon":
        return []
    i = entry_inputs(e)
    name = i.get("addonName", "?")
    if not i.get("addonVersion"):
        return [Finding(VERSIONS_POLICY, "error", entry_id(e), "addonVersion",
                        f"add-on {name} has no version: EKS installs whatever is current, and the next deploy may move it",
                        f"pin it in aws.addon_versions.{name} (aws eks describe-addon-versions --addon-name {name})")]
    if (i.get("tags") or {}).get(VERSION_SOURCE_TAG) == "resolved":
        return [Finding(VERSIONS_POLICY, "warning", entry_id(e), "addonVersion",
                        f"add-on {name} is resolved at deploy time to EKS's default for the cluster version",
                        f"after the first deploy, copy eks_addon_versions.{name} from the foundation's outputs into "
                        f"aws.addon_versions.{name}")]
    return []


def node_class_ami_findings(m: Manifest) -> list[Finding]:
    if m.get("kind") != "EC2NodeClass":
        return []
    out = []
    for n, term in enumerate((m.get("spec") or {}).get("amiSelectorTerms") or []):
        alias = str(term.get("alias", ""))
        if alias.endswith("@latest"):
            out.append(Finding(VERSIONS_POLICY, "error", resource_id(m), f"spec.amiSelectorTerms[{n}].alias",
                               f"AMI alias {alias}: nodes change AMI whenever AWS publishes one",
                               "pin the release (aws.node_ami_release, e.g. al2023@v20260714)"))
    return out


# --- API reachability --------------------------------------------------------------------------------

def api_reachability_findings(e: Entry) -> list[Finding]:
    if e.get("type") != "aws:eks/cluster:Cluster":
        return []
    i = entry_inputs(e)
    vpc = i.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess") or (i.get("tags") or {}).get(API_ACCESS_TAG) == "private-runner":
        return []
    return [Finding(API_POLICY, "warning", entry_id(e), "vpcConfig.endpointPublicAccess",
                    "the API endpoint is private and nobody said the deploy runs inside the VPC: the first "
                    "`pulumi up` cannot create the platform's Kubernetes objects",
                    "list the deployer's egress range in aws.api_public_cidrs, or set aws.api_private_only: true "
                    "when deploying from inside the VPC (docs/aws-first-deploy.md)")]


def check_platform_manifests(items: list[Manifest]) -> list[Finding]:
    out: list[Finding] = []
    for m in items:
        out += node_class_findings(m) + node_class_ami_findings(m) + network_policy_egress_findings(m)
    return out


def check_platform_inventory(inventory: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    for e in inventory.get("resources", []):
        if str(e.get("type", "")).startswith("aws:"):
            out += (node_volume_findings(e) + security_group_egress_findings(e) + addon_version_findings(e)
                    + api_reachability_findings(e))
    return out
