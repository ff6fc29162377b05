"""S3: the managed twin of components/objectstore.py, behind the ObjectStoreEndpoint contract.

- `ManagedObjectStore` ("omgml:aws:S3"): one bucket per role, each with versioning, SSE-KMS under a
  customer-managed key (S3 Bucket Keys on, so KMS is called per bucket-key period rather than per
  object), every public-access block set, object ownership enforced (ACLs off), a bucket policy
  that denies any request not made over TLS, and a lifecycle that expires old object versions
  after 90 days and aborts multipart uploads left behind for a week.
- `S3Access` ("omgml:aws:S3Access"): the in-cluster side. No static keys: each consumer gets an
  IRSA role whose policy names only its own buckets (and the bucket key, only as S3 uses it),
  trusted by only its namespace:serviceaccount. Its ObjectStoreEndpoint carries
  `irsa_role_arn` and `service_account`: the consumer runs its pods as that service account,
  annotated `eks.amazonaws.com/role-arn: <irsa_role_arn>`. The key refs of the contract name a
  Secret with empty values in every client namespace, so existing `secretKeyRef`s stay valid,
  and the AWS SDKs, finding no keys, fall through to the web-identity token. The consumers
  (MLflow, Feast, Kubeflow, Airflow, Prefect, the model server, the drift job) leave the key
  env vars out entirely on IRSA: some clients sign with keys that are set even when empty.
  The consumers and their ServiceAccounts come from blueprints/s3.py. `endpoint_url` is "".

Bucket names are global across all AWS accounts: a name someone else holds fails at `pulumi up`
(BucketAlreadyExists); rename the platform or the extra bucket then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.components.aws import common
from omgml.components.aws.irsa import IrsaRole, IrsaRoleArgs, s3_bucket_statements
from omgml.components.base import Component
from omgml.components.contracts import ObjectStoreEndpoint, S3Consumer, SecretKeyRef
from omgml.components.options import Children, keeps_data
from omgml.labels import standard_labels
from omgml.naming import k8s_name, require_bucket_name, require_dns_label
from omgml.spec.common import Profile

TYPE_TOKEN = "omgml:aws:S3"
ACCESS_TYPE_TOKEN = "omgml:aws:S3Access"

ACCESS_KEY = "AWS_ACCESS_KEY_ID"
SECRET_KEY = "AWS_SECRET_ACCESS_KEY"
NONCURRENT_VERSION_DAYS = 90
ABORT_MULTIPART_DAYS = 7
APP = "objectstore"


@dataclass(frozen=True)
class ManagedObjectStoreArgs(common.AwsComponentArgs):
    profile: Profile
    # role → bucket name (the foundation's bucket_names(spec)).
    buckets: dict[str, str]
    # role → days after which objects expire (the backup bucket: the backup retention).
    expire_after_days: dict[str, int] = field(default_factory=dict)


def check_bucket_names(buckets: Mapping[str, str]) -> None:
    if not buckets:
        raise ValueError("ManagedObjectStoreArgs.buckets is empty; name at least one bucket")
    seen: dict[str, str] = {}
    for role, bucket in buckets.items():
        require_bucket_name(f"ManagedObjectStoreArgs.buckets[{role!r}]", bucket, new_on_aws=True)
        if bucket in seen:
            raise ValueError(f"ManagedObjectStoreArgs.buckets: {role!r} and {seen[bucket]!r} both use {bucket!r}")
        seen[bucket] = role


def lifecycle_rules(expire_days: int | None) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Old versions go after NONCURRENT_VERSION_DAYS, abandoned uploads after a week; with
    `expire_days` (the backup bucket) current objects expire too, after that many days."""
    rule = aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-old-versions-and-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=NONCURRENT_VERSION_DAYS),
        abort_incomplete_multipart_upload=aws.s3.
        BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=ABORT_MULTIPART_DAYS),
    )
    if expire_days is None:
        return [rule]
    return [rule, aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="expire-backups",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_days),
    )]


def tls_only_bucket_policy(bucket_arn: str) -> kube.JsonDict:
    """Deny every request to the bucket and its objects that does not arrive over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }


def _json(doc: kube.JsonDict) -> str:
    import json

    return json.dumps(doc, sort_keys=True)


def resolve(args: ManagedObjectStoreArgs) -> dict[str, str]:
    """role → bucket name, every name checked."""
    check_bucket_names(args.buckets)
    return dict(args.buckets)


class ManagedObjectStore(Component[ManagedObjectStoreArgs, dict[str, str]], type_token=TYPE_TOKEN, resolve=resolve):
    buckets: dict[str, str]
    bucket_arns: dict[str, pulumi.Output[str]]  # bucket name → ARN
    kms_key_arn: pulumi.Output[str]

    def build(self, name: str, args: ManagedObjectStoreArgs, buckets: dict[str, str],
              children: Children) -> pulumi.Inputs:
        keep = keeps_data(args.profile)
        tag_set = args.tag_set("object-store")
        key = common.kms_key(name, f"S3 buckets of {args.platform}", args.profile, tag_set, self)
        self.buckets = buckets
        self.bucket_arns = {}
        for role, bucket_name in sorted(buckets.items()):
            label = k8s_name(role)
            bucket = aws.s3.Bucket(
                f"{name}-{label}",
                bucket=bucket_name,
                # Only a throwaway platform may delete a bucket that still holds objects.
                force_destroy=not keep,
                tags={**tag_set, "omgml.dev/bucket-role": label},
                opts=children.data(),
            )
            bopts = pulumi.ResourceOptions(parent=bucket)
            aws.s3.BucketOwnershipControls(
                f"{name}-{label}-ownership", bucket=bucket.bucket,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=bopts)
            block = aws.s3.BucketPublicAccessBlock(
                f"{name}-{label}-public-access", bucket=bucket.bucket, block_public_acls=True,
                block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=bopts)
            aws.s3.BucketVersioning(
                f"{name}-{label}-versioning", bucket=bucket.bucket,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=bopts)
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-{label}-sse", bucket=bucket.bucket,
                rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.
                    BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn),
                    bucket_key_enabled=True,
                )],
                opts=bopts)
            aws.s3.BucketPolicy(
                f"{name}-{label}-tls-only", bucket=bucket.bucket,
                policy=bucket.arn.apply(lambda arn: _json(tls_only_bucket_policy(arn))),
                # S3 rejects policy writes while the public access block is being applied.
                opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block]))
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-{label}-lifecycle", bucket=bucket.bucket,
                rules=lifecycle_rules(args.expire_after_days.get(role)), opts=bopts)
            self.bucket_arns[bucket_name] = bucket.arn
        self.kms_key_arn = key.arn
        return {"buckets": self.buckets}


# --- in-cluster side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class S3AccessArgs:
    platform: str
    region: str
    buckets: dict[str, str]  # role → bucket name
    bucket_arns: Mapping[str, pulumi.Input[str]]  # bucket name → ARN
    kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_host: pulumi.Input[str]
    consumers: tuple[S3Consumer, ...]
    # Where the clients' HTTPS may go: the VPC (its interface endpoints: STS for IRSA) and the
    # ranges of S3's prefix list (Network.s3_cidrs, an Output).
    vpc_cidr: str
    s3_cidrs: pulumi.Input[list[str]]
    # Namespaces that get the (empty) credentials Secret and HTTPS egress, beyond the consumers'.
    client_namespaces: tuple[str, ...] = ()
    instance: str = "objectstore"


def credentials_secret_name(instance: str) -> str:
    # The in-cluster object store's name for the same Secret: consumers are unchanged.
    return k8s_name(instance, "s3-credentials")


def resolve_consumers(args: S3AccessArgs) -> list[S3Consumer]:
    names: set[str] = set()
    for i, c in enumerate(args.consumers):
        where = f"S3AccessArgs.consumers[{i}]"
        for fld in ("name", "namespace", "service_account"):
            value = getattr(c, fld)
            require_dns_label(f"{where}.{fld}", value)
        if c.name in names:
            raise ValueError(f"{where}.name={c.name!r} is listed twice; give each consumer one entry")
        names.add(c.name)
        if not c.bucket_roles:
            raise ValueError(f"{where}.bucket_roles is empty; list the bucket roles {c.name!r} uses")
        unknown = [r for r in c.bucket_roles if r not in args.buckets]
        if unknown:
            raise ValueError(f"{where}.bucket_roles: {unknown} are not buckets of this store; "
                             f"choose from {sorted(args.buckets)}")
    return list(args.consumers)


def access_namespaces(args: S3AccessArgs) -> list[str]:
    return sorted({*args.client_namespaces, *(c.namespace for c in args.consumers)})


class S3Access(pulumi.ComponentResource):
    endpoint: ObjectStoreEndpoint  # no role: what the stack exports
    endpoints: dict[str, ObjectStoreEndpoint]  # consumer name → its endpoint with its role
    roles: dict[str, IrsaRole]

    def __init__(self, name: str, args: S3AccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(ACCESS_TYPE_TOKEN, name, None, opts)
        consumers = resolve_consumers(args)
        child = pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None)
        secret_name = credentials_secret_name(args.instance)
        empty: pulumi.Output[str] = pulumi.Output.secret("")
        vpc_cidr = args.vpc_cidr
        egress = pulumi.Output.from_input(args.s3_cidrs).apply(lambda cidrs: common.aws_api_egress_policy(vpc_cidr, cidrs))
        for ns in access_namespaces(args):
            labels = standard_labels(APP, args.instance, "credentials")
            k8s.core.v1.Secret(
                f"{name}-credentials-{ns}",
                metadata={**kube.metadata(secret_name, ns, labels),
                          "annotations": {"omgml.dev/auth-mode": "irsa"}},
                type="Opaque", string_data={ACCESS_KEY: "", SECRET_KEY: ""}, opts=child)
            k8s.networking.v1.NetworkPolicy(
                f"{name}-egress-{ns}",
                metadata=kube.metadata(k8s_name(args.instance, "aws-api-egress"), ns,
                                  standard_labels(APP, args.instance, "network")),
                spec=egress, opts=child)

        def endpoint(role_arn: pulumi.Output[str] | None, sa: str | None) -> ObjectStoreEndpoint:
            return ObjectStoreEndpoint(
                endpoint_url="", region=args.region,
                access_key_ref=SecretKeyRef(secret_name, ACCESS_KEY), secret_key_ref=SecretKeyRef(secret_name, SECRET_KEY),
                access_key=empty, secret_key=empty, buckets=dict(args.buckets),
                irsa_role_arn=role_arn, service_account=sa, static_keys=False)

        self.endpoint = endpoint(None, None)
        self.endpoints = {}
        self.roles = {}
        for c in consumers:
            arns: list[Any] = [args.bucket_arns[args.buckets[r]] for r in sorted(set(c.bucket_roles))]
            role = IrsaRole(f"{name}-{c.name}", IrsaRoleArgs(
                oidc_provider_arn=args.oidc_provider_arn, oidc_issuer_host=args.oidc_issuer_host,
                namespace=c.namespace, service_account=c.service_account,
                statements=s3_bucket_statements(arns, args.kms_key_arn, args.region, read_only=c.read_only),
                description=f"S3 access of {c.namespace}:{c.service_account} ({args.platform})",
            ), child)
            self.roles[c.name] = role
            self.endpoints[c.name] = endpoint(role.arn, c.service_account)
        self.register_outputs({"secret_name": secret_name,
                               "roles": {k: v.arn for k, v in self.roles.items()}})
