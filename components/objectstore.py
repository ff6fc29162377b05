"""S3-compatible object store in the cluster: SeaweedFS (`weed server -s3`) on one PVC.

One process runs master, volume server, filer and S3 gateway. Only the S3 gateway listens on
the pod address; master, volume server and filer bind to loopback, because their HTTP/gRPC
APIs have no authentication and would let any pod in the namespace bypass the S3 keys.

Credentials: a GeneratedSecret holds AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; the same pair
is rendered into SeaweedFS's S3 identity file (a Secret, built by `s3_identity_config` from the
secret Outputs) and copied into every client namespace under the same Secret name. Buckets
are created by a Job that only talks S3 (signed with the generated keys), so it is safe to
re-run and does not depend on SeaweedFS internals.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component, check_component_args
from omgml.components.contracts import ObjectStoreEndpoint, SecretKeyRef
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs, checksum_annotations, secret_checksum
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name, require_bucket_name, require_dns_label, service_url
from omgml.spec.common import CredentialSource, Profile

TYPE_TOKEN = "omgml:data:ObjectStore"

APP = "seaweedfs"
# Official image, built and pushed by the seaweedfs release workflow to ghcr.io (mirrored to
# Docker Hub as chrislusf/seaweedfs). 4.44 is the newest release tag in the upstream repo
# snapshot we read the flags from (weed/command/server.go at tag 4.44).
VERSION = "4.44"
IMAGE = f"ghcr.io/chrislusf/seaweedfs:{VERSION}"
# The image has no USER (its entrypoint drops from root to `seaweed` with su-exec); the
# Dockerfile creates that user as 1000:1000, so we run as it directly and skip the entrypoint.
UID = 1000
S3_PORT = 8333
DATA_DIR = "/data"
CONFIG_DIR = "/etc/seaweedfs/s3"
CONFIG_KEY = "s3.json"
ACCESS_KEY = "AWS_ACCESS_KEY_ID"
SECRET_KEY = "AWS_SECRET_ACCESS_KEY"
DEFAULT_REGION = "us-east-1"
# SeaweedFS grows 7 volumes at a time per collection, and every bucket is its own collection:
# fewer volume slots than that makes writes fail with "no free volumes".
VOLUMES_PER_COLLECTION = 7


@dataclass(frozen=True)
class ObjectStoreSizing:
    server: kube.Size
    # Upper bound of one SeaweedFS volume file; smaller volumes leave more slots on a small disk.
    volume_size_limit_mb: int


SIZING = sizes.rows("objectstore", ObjectStoreSizing)
JOB_SIZE = kube.Size("50m", "32Mi", "200m", "64Mi")


@dataclass(frozen=True)
class ObjectStoreArgs:
    namespace: str
    instance: str = "objectstore"
    storage_gib: int = 20
    profile: Profile = "laptop"
    # Logical role (mlflow, features, models, …) → bucket name.
    buckets: dict[str, str] = field(default_factory=dict)
    # Namespaces whose pods get the credentials Secret (the store's own namespace always has it).
    client_namespaces: tuple[str, ...] = ()
    region: str = DEFAULT_REGION
    # Buckets with S3 versioning on (backups: an overwritten or deleted object stays restorable
    # until the backup runs prune versions older than the retention).
    versioned_buckets: tuple[str, ...] = ()
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class ResolvedObjectStore:
    args: ObjectStoreArgs
    sizing: ObjectStoreSizing
    name: str  # Service and StatefulSet name
    headless: str  # governing Service of the StatefulSet
    secret_name: str  # credentials Secret (same name in every client namespace)
    config_secret_name: str  # SeaweedFS identity file
    pvc_name: str
    service_account: str
    bucket_job_name: str
    volume_slots: int
    buckets: tuple[str, ...]  # sorted, unique
    versioned_buckets: tuple[str, ...]  # sorted, unique
    client_namespaces: tuple[str, ...]  # sorted, without the store's own namespace

    @property
    def endpoint_url(self) -> str:
        return service_url(self.name, self.args.namespace, S3_PORT)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def volume_slots(storage_gib: int, volume_size_limit_mb: int, buckets: int) -> int:
    """How many SeaweedFS volumes the server may hold: the disk divided by the volume size, but
    never fewer than one growth step per collection (each bucket plus the default one).
    Volumes are sparse (no preallocation), so overcommitting slots costs no disk."""
    by_disk = math.ceil(storage_gib * 1024 / volume_size_limit_mb)
    return max(by_disk, VOLUMES_PER_COLLECTION * (buckets + 1))


def resolve(args: ObjectStoreArgs) -> ResolvedObjectStore:
    """Defaults and validation; every error names the field, the value and the fix."""
    check_component_args("ObjectStoreArgs", args, SIZING)
    if args.storage_gib < 1:
        raise ValueError(f"ObjectStoreArgs.storage_gib: must be ≥ 1, got {args.storage_gib}")
    for role, bucket in args.buckets.items():
        if not role:
            raise ValueError(f"ObjectStoreArgs.buckets: bucket {bucket!r} has an empty role; name what it is for")
        require_bucket_name(f"ObjectStoreArgs.buckets[{role!r}]", bucket)
    for ns in args.client_namespaces:
        require_dns_label("ObjectStoreArgs.client_namespaces", ns)
    sizing = SIZING[args.profile]
    buckets = tuple(sorted(set(args.buckets.values())))
    unknown = sorted(set(args.versioned_buckets) - set(buckets))
    if unknown:
        raise ValueError(f"ObjectStoreArgs.versioned_buckets: {unknown} are not buckets of this store; "
                         f"choose from {list(buckets)}")
    versioned = tuple(sorted(set(args.versioned_buckets)))
    name = k8s_name(args.instance)
    return ResolvedObjectStore(
        args=args,
        sizing=sizing,
        name=name,
        headless=k8s_name(args.instance, "headless"),
        secret_name=k8s_name(args.instance, "s3-credentials"),
        config_secret_name=k8s_name(args.instance, "s3-config"),
        pvc_name=k8s_name(args.instance, "data"),
        service_account=name,
        # Job specs are immutable: a new bucket list (or image) is a new Job, which Pulumi
        # creates before deleting the old one.
        bucket_job_name=k8s_name(args.instance, "buckets", _short_hash(
            " ".join(buckets) + IMAGE + (" versioned " + " ".join(versioned) if versioned else ""))),
        volume_slots=volume_slots(args.storage_gib, sizing.volume_size_limit_mb, len(buckets)),
        buckets=buckets,
        versioned_buckets=versioned,
        client_namespaces=tuple(sorted({ns for ns in args.client_namespaces if ns != args.namespace})),
    )


def s3_identity_config(access_key: str, secret_key: str) -> str:
    """SeaweedFS `-s3.config` file: one identity with full rights over every bucket.

    Called with the generated keys inside an Output (never literals); the result lands only in
    a Secret."""
    if not access_key or not secret_key:
        raise ValueError("s3_identity_config: access_key and secret_key must be non-empty")
    config = {
        "identities": [
            {
                "name": "omgml-admin",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    return json.dumps(config, indent=2, sort_keys=True)


def _labels(r: ResolvedObjectStore, component: str) -> dict[str, str]:
    return standard_labels(APP, r.args.instance, component, VERSION)


def _keys_from_env(r: ResolvedObjectStore) -> bool:
    """With existing credentials omgml never sees the keys, so it cannot write the identity file:
    SeaweedFS then makes its admin identity from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in its
    environment (s3api loadEnvironmentVariableCredentials, read at start like the file)."""
    return r.args.credentials == "existing"


def _identity_file(r: ResolvedObjectStore) -> list[str]:
    return [] if _keys_from_env(r) else [f"-s3.config={CONFIG_DIR}/{CONFIG_KEY}"]


def server_command(r: ResolvedObjectStore) -> list[str]:
    return [
        "/usr/bin/weed", "-logtostderr=true", "server",
        f"-dir={DATA_DIR}",
        # Internal components on loopback only (see the module docstring); S3 on all addresses.
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.port={S3_PORT}",
        "-s3.ip.bind=0.0.0.0",
        *_identity_file(r),
        # The embedded IAM API would let key holders mint users; identities come from the file.
        "-s3.iam=false",
        # Extra catalog listeners (Iceberg REST, Lance) are not part of the platform.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-master.volumeSizeLimitMB={r.sizing.volume_size_limit_mb}",
        "-master.volumePreallocate=false",
        # No phoning home from a cluster whose egress is denied anyway.
        "-master.telemetry=false",
        f"-volume.max={r.volume_slots}",
    ]


def objectstore_statefulset(r: ResolvedObjectStore, credentials_checksum: pulumi.Input[str] | None = None) -> kube.JsonDict:
    """The server's StatefulSet. `credentials_checksum` (a digest of the keys) in the pod
    template restarts the server when the keys change, since it reads its identity file once."""
    sel = selector_labels(APP, r.args.instance, "server")
    container: kube.JsonDict = {
        "name": "seaweedfs",
        "image": IMAGE,
        "command": server_command(r),
        "ports": [{"name": "s3", "containerPort": S3_PORT, "protocol": "TCP"}],
        "resources": r.sizing.server.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        **kube.http_probes("/status", "s3", startup=(5, 60), live=(20, 6)),
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "s3-config", "mountPath": CONFIG_DIR, "readOnly": True},
            # Filer and S3 create their local sockets under /tmp.
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    volumes: list[kube.JsonDict] = [
        # A standalone PVC rather than volumeClaimTemplates: resizing it is an
        # in-place update, while any template change would replace the StatefulSet.
        {"name": "data", "persistentVolumeClaim": {"claimName": r.pvc_name}},
        {"name": "s3-config", "secret": {"secretName": r.config_secret_name, "defaultMode": 0o440}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    if _keys_from_env(r):
        # credentials 'existing': the server builds its admin identity from the key env
        # (the team's Secret) instead of an identity file omgml would have to write.
        container["env"] = [kube.secret_env(ACCESS_KEY, r.secret_name, ACCESS_KEY),
                            kube.secret_env(SECRET_KEY, r.secret_name, SECRET_KEY)]
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "s3-config"]
        volumes = [v for v in volumes if v["name"] != "s3-config"]
    pod = kube.restricted_pod_spec(r.service_account, UID, [container], fs_group=UID, volumes=volumes,
                              terminationGracePeriodSeconds=30)
    annotations = checksum_annotations(credentials_checksum)
    # One writer on one volume: a StatefulSet never runs two pods of the same identity,
    # unlike a Deployment during a rollout.
    return kube.statefulset_spec(sel, r.headless, kube.pod_template(_labels(r, "server"), pod, annotations),
                            podManagementPolicy="OrderedReady", updateStrategy={"type": "RollingUpdate"})


def objectstore_service(r: ResolvedObjectStore, headless: bool = False) -> kube.JsonDict:
    return kube.service_spec(selector_labels(APP, r.args.instance, "server"), [("s3", S3_PORT)], headless=headless)


def objectstore_pvc(r: ResolvedObjectStore) -> kube.JsonDict:
    return kube.claim_spec(r.args.storage_gib)


# PUT on an existing bucket answers 409 BucketAlreadyOwnedByYou: treated as success, so the
# Job can run any number of times. Keys reach curl on stdin (-K -), never on its command line.
BUCKET_SCRIPT = """\
set -eu
s3() {
  printf 'user = "%s:%s"\\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" \\
    | curl -K - --aws-sigv4 "aws:amz:${AWS_DEFAULT_REGION}:s3" "$@"
}
tries=0
until curl -fsS -o /dev/null "${S3_ENDPOINT}/status"; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "S3 endpoint ${S3_ENDPOINT} not ready" >&2; exit 1; }
  sleep 5
done
for bucket in $BUCKETS; do
  code=$(s3 -sS -o /dev/null -w '%{http_code}' -X PUT "${S3_ENDPOINT}/${bucket}")
  case "$code" in
    200) echo "created bucket ${bucket}" ;;
    409) echo "bucket ${bucket} already exists" ;;
    *) echo "creating bucket ${bucket} failed with HTTP ${code}" >&2; exit 1 ;;
  esac
done
versioning='<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
# A request with a body: SigV4 needs its SHA-256 in x-amz-content-sha256 (curl does not add it),
# and the query as `versioning=` (the canonical form the server signs; bare `versioning` mismatches).
payload_sha=$(printf '%s' "$versioning" | sha256sum | cut -d' ' -f1)
for bucket in ${VERSIONED_BUCKETS:-}; do
  code=$(s3 -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/xml' \\
    -H "x-amz-content-sha256: ${payload_sha}" --data "$versioning" "${S3_ENDPOINT}/${bucket}?versioning=")
  case "$code" in
    200) echo "versioning enabled on bucket ${bucket}" ;;
    *) echo "enabling versioning on bucket ${bucket} failed with HTTP ${code}" >&2; exit 1 ;;
  esac
done
"""


def _local_url(r: ResolvedObjectStore) -> str:
    return f"http://{r.name}:{S3_PORT}"


def bucket_job(r: ResolvedObjectStore) -> kube.JsonDict:
    """A Job that creates every bucket through the S3 API with the generated keys.

    It reuses the server image (which ships curl with SigV4 support), so no second image is
    pulled, and it touches nothing but the public S3 interface."""
    status = ["curl", "-fsS", "-o", "/dev/null", "--max-time", "4", f"{_local_url(r)}/status"]
    container: kube.JsonDict = {
        "name": "create-buckets",
        "image": IMAGE,
        "command": ["/bin/sh", "-c", BUCKET_SCRIPT],
        "env": [
            kube.plain_env("S3_ENDPOINT", _local_url(r)),
            kube.plain_env("AWS_DEFAULT_REGION", r.args.region),
            kube.plain_env("BUCKETS", " ".join(r.buckets)),
            *([kube.plain_env("VERSIONED_BUCKETS", " ".join(r.versioned_buckets))] if r.versioned_buckets else []),
            kube.secret_env(ACCESS_KEY, r.secret_name, ACCESS_KEY),
            kube.secret_env(SECRET_KEY, r.secret_name, SECRET_KEY),
        ],
        "resources": JOB_SIZE.resources(),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        # A batch step has no port of its own: the probes watch the S3 endpoint it works
        # against, so a curl stuck on a server that went away is restarted, not left idling
        # until activeDeadlineSeconds.
        "readinessProbe": kube.exec_probe(status, period=10, failures=3),
        "livenessProbe": kube.exec_probe(status, period=20, failures=6),
    }
    pod = kube.restricted_pod_spec(r.service_account, UID, [container], restartPolicy="OnFailure")
    return kube.job_spec(kube.pod_template(_labels(r, "buckets"), pod), backoff_limit=6, active_deadline_seconds=900)


class ObjectStore(Component[ObjectStoreArgs, ResolvedObjectStore], type_token=TYPE_TOKEN, resolve=resolve):
    """SeaweedFS S3 endpoint, its credentials (in every client namespace) and its buckets."""

    endpoint: ObjectStoreEndpoint
    secret_name: str

    def build(self, name: str, args: ObjectStoreArgs, r: ResolvedObjectStore, children: Children) -> pulumi.Inputs:
        ns = args.namespace

        meta = kube.Metadata(ns, lambda part: _labels(r, part), "server")

        creds = GeneratedSecret(
            f"{name}-credentials",
            GeneratedSecretArgs(namespace=ns, secret_name=r.secret_name, password_keys=(ACCESS_KEY, SECRET_KEY),
                                app_name=APP, instance=args.instance, source=args.credentials,
                                copies_in=r.client_namespaces),
            children(),
        )
        access_key = creds.passwords.get(ACCESS_KEY)
        secret_key = creds.passwords.get(SECRET_KEY)
        config_deps: list[pulumi.Resource] = []
        for client in r.client_namespaces if creds.generated else ():
            k8s.core.v1.Secret(
                f"{name}-credentials-{client}",
                # Same labels as the GeneratedSecret's own copy (no version: it outlives upgrades).
                metadata=kube.metadata(r.secret_name, client, standard_labels(APP, args.instance, "credentials")),
                type="Opaque",
                string_data=pulumi.Output.secret({ACCESS_KEY: access_key, SECRET_KEY: secret_key}),
                opts=children(),
            )
        if creds.generated:
            # The keys are secret Outputs, so the rendered file stays secret (masked, encrypted in state).
            identity: pulumi.Output[str] = pulumi.Output.all(access_key, secret_key).apply(
                lambda keys: s3_identity_config(str(keys[0]), str(keys[1]))
            )
            config_deps.append(k8s.core.v1.Secret(
                f"{name}-s3-config", metadata=meta(r.config_secret_name, "config"), type="Opaque",
                string_data={CONFIG_KEY: identity}, opts=children()))
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(r.service_account),
                                        automount_service_account_token=False, opts=children())
        # Data must survive a careless destroy outside the laptop.
        pvc = k8s.core.v1.PersistentVolumeClaim(f"{name}-data", metadata=meta(r.pvc_name, "data"),
                                                spec=objectstore_pvc(r), opts=children.data())
        svc = k8s.core.v1.Service(f"{name}-svc", metadata=meta(r.name), spec=objectstore_service(r), opts=children())
        headless = k8s.core.v1.Service(f"{name}-headless", metadata=meta(r.headless),
                                       spec=objectstore_service(r, headless=True), opts=children())
        sts = k8s.apps.v1.StatefulSet(
            f"{name}-server",
            metadata=meta(r.name),
            spec=objectstore_statefulset(r, secret_checksum(access_key, secret_key)),
            opts=children(*config_deps, sa, pvc, svc, headless, creds),
        )
        if r.buckets:
            k8s.batch.v1.Job(
                f"{name}-buckets",
                # A Job that failed (server not up in time) is replaced on the next `up` instead
                # of staying failed.
                metadata=meta(r.bucket_job_name, "buckets", annotations={"pulumi.com/replaceUnready": "true"}),
                spec=bucket_job(r),
                opts=children(sts, creds),
            )

        self.secret_name = r.secret_name
        self.endpoint = ObjectStoreEndpoint(
            endpoint_url=r.endpoint_url,
            region=args.region,
            access_key_ref=SecretKeyRef(r.secret_name, ACCESS_KEY),
            secret_key_ref=SecretKeyRef(r.secret_name, SECRET_KEY),
            access_key=access_key,
            secret_key=secret_key,
            buckets=dict(args.buckets),
        )
        self._namespaces = {ns, *r.client_namespaces}
        return {
            "endpoint_url": r.endpoint_url,
            "secret_name": r.secret_name,
            "buckets": dict(args.buckets),
        }

    def secret_name_in(self, namespace: str) -> str:
        """Name of the credentials Secret in `namespace` (only where the store wrote it)."""
        if namespace not in self._namespaces:
            raise ValueError(
                f"the object store's credentials are not in namespace {namespace!r}; add it to "
                f"ObjectStoreArgs.client_namespaces (now in: {sorted(self._namespaces)})"
            )
        return self.secret_name
