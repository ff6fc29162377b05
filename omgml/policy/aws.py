"""AWS rules over the render's inventory: encrypted data stores, no world-open ingress.

Declared load balancers are the one place 0.0.0.0/0 ingress is expected. The convention:
the security group (or the `aws:vpc/securityGroupIngressRule`) carries the tag
`omgml.dev/exposure: public-load-balancer`; a legacy `aws:ec2/securityGroupRule`, which has no
tags, says so with a description starting `omgml:public-load-balancer`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omgml.policy.findings import Entry, Finding, entry_id, entry_inputs

ENCRYPTION_POLICY = "aws-data-store-encryption"
INGRESS_POLICY = "aws-no-open-ingress"
EXPOSURE_TAG = "omgml.dev/exposure"
PUBLIC_LB = "public-load-balancer"
PUBLIC_LB_DESCRIPTION = "omgml:public-load-balancer"
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)


def _flag(e: Entry, field: str, message: str, fix: str) -> Finding:
    return Finding(ENCRYPTION_POLICY, "error", entry_id(e), field, message, fix)


def encryption_findings(e: Entry) -> list[Finding]:
    """Encryption problems of one inventory entry (buckets need the whole inventory, see below)."""
    t, i = e.get("type"), entry_inputs(e)
    if t in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster") and i.get("storageEncrypted") is not True:
        return [_flag(e, "storageEncrypted", "database storage is not encrypted at rest",
                      "set storage_encrypted=True (and a kms_key_id for a customer-managed key)")]
    if t == "aws:elasticache/replicationGroup:ReplicationGroup":
        out = []
        if i.get("atRestEncryptionEnabled") not in (True, "true"):
            out.append(_flag(e, "atRestEncryptionEnabled", "Redis data is not encrypted at rest",
                             "set at_rest_encryption_enabled=True"))
        if i.get("transitEncryptionEnabled") is not True:
            out.append(_flag(e, "transitEncryptionEnabled", "Redis traffic is not encrypted in transit",
                             "set transit_encryption_enabled=True"))
        return out
    if t == "aws:msk/cluster:Cluster":
        transit = ((i.get("encryptionInfo") or {}).get("encryptionInTransit") or {})
        out = []
        # MSK always encrypts at rest; in transit TLS is the default, so only an explicit opt-out is wrong.
        if transit.get("clientBroker", "TLS") != "TLS":
            out.append(_flag(e, "encryptionInfo.encryptionInTransit.clientBroker",
                             f"clients may talk to the brokers in plaintext ({transit.get('clientBroker')})",
                             "set client_broker='TLS'"))
        if transit.get("inCluster", True) is not True:
            out.append(_flag(e, "encryptionInfo.encryptionInTransit.inCluster",
                             "broker-to-broker traffic is not encrypted", "set in_cluster=True"))
        return out
    if t == "aws:ebs/volume:Volume" and i.get("encrypted") is not True:
        return [_flag(e, "encrypted", "EBS volume is not encrypted", "set encrypted=True")]
    return []


def _bucket_refs(e: Entry) -> set[str]:
    """The values an SSE configuration's `bucket` input may hold for this bucket."""
    refs = {f"{e.get('name')}-id", str(e.get("name"))}  # the mock engine's id is "<name>-id"
    name = entry_inputs(e).get("bucket")
    if name:
        refs.add(str(name))
    return refs


def bucket_findings(entries: list[Entry]) -> list[Finding]:
    sse_targets = {str(entry_inputs(e).get("bucket")) for e in entries if e.get("type") in BUCKET_SSE}
    sse_parents = {e.get("parent") for e in entries if e.get("type") in BUCKET_SSE}
    out = []
    for e in entries:
        if e.get("type") != BUCKET:
            continue
        inline = entry_inputs(e).get("serverSideEncryptionConfiguration")
        if inline or _bucket_refs(e) & sse_targets or (e.get("parent") and e.get("parent") in sse_parents):
            continue
        out.append(_flag(e, "serverSideEncryptionConfiguration",
                         "bucket has no server-side encryption configuration",
                         "add an aws.s3.BucketServerSideEncryptionConfiguration (aws:kms or AES256) for it"))
    return out


def _is_public_lb(e: Entry) -> bool:
    i = entry_inputs(e)
    if (i.get("tags") or {}).get(EXPOSURE_TAG) == PUBLIC_LB:
        return True
    return str(i.get("description", "")).startswith(PUBLIC_LB_DESCRIPTION)


def _open(cidrs: Iterable[Any]) -> list[str]:
    return sorted({str(c) for c in cidrs if str(c) in OPEN_CIDRS})


def ingress_findings(e: Entry) -> list[Finding]:
    t, i = e.get("type"), entry_inputs(e)
    if _is_public_lb(e):
        return []
    fix = (f"restrict the source range, or tag a load balancer's group {EXPOSURE_TAG}: {PUBLIC_LB} "
           f"(description '{PUBLIC_LB_DESCRIPTION}…' on aws:ec2/securityGroupRule)")
    hits: list[tuple[str, list[str]]] = []
    if t == "aws:ec2/securityGroup:SecurityGroup":
        for n, rule in enumerate(i.get("ingress") or []):
            opened = _open(list(rule.get("cidrBlocks") or []) + list(rule.get("ipv6CidrBlocks") or []))
            if opened:
                hits.append((f"ingress[{n}]", opened))
    elif t == "aws:ec2/securityGroupRule:SecurityGroupRule" and i.get("type") == "ingress":
        opened = _open(list(i.get("cidrBlocks") or []) + list(i.get("ipv6CidrBlocks") or []))
        if opened:
            hits.append(("cidrBlocks", opened))
    elif t == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        opened = _open([i.get("cidrIpv4"), i.get("cidrIpv6")])
        if opened:
            hits.append(("cidrIpv4" if "0.0.0.0/0" in opened else "cidrIpv6", opened))
    return [Finding(INGRESS_POLICY, "error", entry_id(e), field,
                    f"ingress open to the whole internet ({', '.join(cidrs)})", fix) for field, cidrs in hits]


def check_aws_inventory(inventory: dict[str, Any]) -> list[Finding]:
    entries = [e for e in inventory.get("resources", []) if str(e.get("type", "")).startswith("aws:")]
    out: list[Finding] = []
    for e in entries:
        out.extend(encryption_findings(e))
        out.extend(ingress_findings(e))
    out.extend(bucket_findings(entries))
    return out
