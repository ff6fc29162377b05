"""Evidently: the UI service (workspace on a PVC) and a drift-monitoring CronJob.

Image: the official `evidently/evidently-service` image, tagged with the release version
without a leading "v" (evidently's release workflow strips it from the git tag). Its entrypoint
is `evidently ui --host 0.0.0.0`; the write secret comes from EVIDENTLY_SECRET, which the
service reads when `--secret` is not given, so it never appears in the pod spec.

The drift job runs the same image: it ships evidently with pandas and pyarrow (the
`pandas[parquet]` dependency) and requests, which is all the job needs. Nothing is installed at
runtime. The image has neither boto3 nor s3fs, so the job reads the object store with a small
SigV4-signed HTTP client from the standard library. Each run:
1. lists and reads the reference and current datasets (parquet or CSV files under two
   s3:// prefixes from the spec),
2. computes an Evidently DataDriftPreset report (current vs reference),
3. pushes `evidently_drift_detected`, `evidently_drift_share` and `evidently_drifted_columns`
   to the Pushgateway (grouped by project) — the "drift detected" alert reads these,
4. uploads the snapshot to the UI's project (created on the first run).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from omgml.components.contracts import ROLE_ARN_ANNOTATION, S3Consumer
from omgml.components.credentials import GeneratedSecret, GeneratedSecretArgs
from omgml.k8s import (
    JsonDict,
    Size,
    claim_spec,
    exec_probe,
    http_probe,
    plain_env,
    restricted_container_security_context,
    restricted_pod_security_context,
    secret_env,
    service_spec,
)
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import CredentialSource, Profile

TYPE_TOKEN = "omgml:observability:Evidently"

VERSION = "0.7.23"
IMAGE = f"evidently/evidently-service:{VERSION}"
UI_PORT = 8000
WORKSPACE = "/app/workspace"  # the image's WORKDIR is /app
SCRIPT_DIR = "/opt/omgml"
SCRIPT_NAME = "drift_job.py"
SECRET_KEY = "EVIDENTLY_SECRET"
UID = 1000  # the image has no USER; any non-root uid works, writable paths are volumes
JOB_NAME = "evidently_drift"  # Pushgateway grouping key `job`

UI_SIZES: dict[Profile, Size] = {
    "laptop": Size("100m", "384Mi", "1", "1Gi"),
    "small": Size("200m", "512Mi", "1", "2Gi"),
    "production": Size("500m", "1Gi", "2", "4Gi"),
}
JOB_SIZES: dict[Profile, Size] = {
    "laptop": Size("100m", "512Mi", "1", "1536Mi"),
    "small": Size("500m", "2Gi", "2", "4Gi"),
    "production": Size("1", "4Gi", "4", "8Gi"),
}

_CRON_FIELD = r"(\*|\?|[0-9A-Za-z*/,\-]+)"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")
_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_RELATIVE = re.compile(r"^[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*/?$")


@dataclass(frozen=True)
class EvidentlyArgs:
    namespace: str
    instance: str
    # s3://bucket/prefix, or a prefix inside `default_bucket`.
    reference_path: str
    current_path: str
    # Object store (same contract as the model servers): endpoint URL ("" = AWS S3), region and
    # the credentials Secret in `namespace`.
    endpoint_url: pulumi.Input[str]
    region: pulumi.Input[str]
    store_secret: pulumi.Input[str]
    # The bucket relative dataset paths live in (the platform's features bucket).
    default_bucket: pulumi.Input[str] | None = None
    # Where drift numbers go; None disables the push (the alert then has nothing to read).
    pushgateway_url: str | None = None
    schedule: str = "0 * * * *"
    profile: Profile = "laptop"
    storage_gib: int = 5
    project: str = "model-drift"
    drift_share: float = 0.5
    dataset_format: str = "parquet"
    access_key_key: str = "AWS_ACCESS_KEY_ID"
    secret_key_key: str = "AWS_SECRET_ACCESS_KEY"
    # IRSA role for the drift job (AWS S3): annotates the job's ServiceAccount; the script then
    # trades the pod's web-identity token for temporary keys when the keys Secret holds none.
    irsa_role_arn: pulumi.Input[str] | None = None
    credentials: CredentialSource = "generated"


@dataclass(frozen=True)
class ResolvedEvidently:
    args: EvidentlyArgs
    name: str  # UI Deployment/Service/PVC
    secret_name: str  # write secret
    job_name: str  # CronJob
    script_configmap: str
    ui_url: str


def valid_schedule(schedule: str) -> bool:
    s = " ".join(schedule.split())
    return s in _CRON_MACROS or bool(_CRON.match(s))


def evidently_name(instance: str) -> str:
    return k8s_name(instance, "evidently")


def drift_job_name(instance: str) -> str:
    """The drift CronJob and the ServiceAccount it runs as (the one its IRSA role trusts)."""
    return k8s_name(evidently_name(instance), "drift")


def dataset_buckets(*paths: str) -> list[str]:
    """Buckets named by full s3://bucket/prefix dataset paths (relative ones name none)."""
    return sorted({p.removeprefix("s3://").split("/", 1)[0] for p in paths if _S3_URL.match(p)})


def s3_consumers(namespace: str, instance: str, bucket_roles: tuple[str, ...]) -> tuple[S3Consumer, ...]:
    """Only the drift job reads datasets; the UI keeps its snapshots on its own volume."""
    return (S3Consumer(name="evidently-drift", namespace=namespace, service_account=drift_job_name(instance),
                       bucket_roles=bucket_roles, read_only=True),)


def resolve_evidently(args: EvidentlyArgs) -> ResolvedEvidently:
    if not valid_schedule(args.schedule):
        raise ValueError(
            f"phases.serving.evidently.schedule: {args.schedule!r} is not a cron schedule; use five "
            "fields (minute hour day month weekday), e.g. '0 * * * *', or a macro such as @hourly"
        )
    for field_name in ("reference_path", "current_path"):
        value = getattr(args, field_name)
        if _S3_URL.match(value):
            continue
        if not _RELATIVE.match(value):
            raise ValueError(f"phases.serving.evidently.{field_name}: {value!r} is neither s3://bucket/prefix "
                             "nor a prefix inside the features bucket")
        if args.default_bucket is None:
            raise ValueError(f"phases.serving.evidently.{field_name}: {value!r} is relative, but there is no "
                             "features bucket to resolve it against; give a full s3://bucket/prefix")
    if args.reference_path.rstrip("/") == args.current_path.rstrip("/"):
        raise ValueError("phases.serving.evidently: reference_path and current_path are the same location; "
                         "drift between a dataset and itself is always zero")
    if args.dataset_format not in ("parquet", "csv"):
        raise ValueError(f"phases.serving.evidently.dataset_format: {args.dataset_format!r}; use parquet or csv")
    if not 0 < args.drift_share <= 1:
        raise ValueError(f"phases.serving.evidently.drift_share: {args.drift_share} must be in (0, 1]")
    name = evidently_name(args.instance)
    return ResolvedEvidently(
        args=args,
        name=name,
        secret_name=k8s_name(name, "write"),
        job_name=drift_job_name(args.instance),
        script_configmap=k8s_name(name, "drift-script"),
        ui_url=f"http://{name}.{args.namespace}.svc:{UI_PORT}",
    )


# The drift job. Plain Python 3 + what the evidently-service image ships; configured by env.
# Pure helpers (URL parsing, SigV4 signing, ListObjectsV2 parsing, the snapshot summary and the
# Pushgateway body) sit at module level so they can be tested without a network.
DRIFT_JOB_SCRIPT = r'''"""omgml drift job: data drift between two object-store prefixes, with Evidently."""
import base64
import datetime
import hashlib
import hmac
import io
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

MAX_BYTES = 512 * 1024 * 1024  # per dataset: a larger one needs sampling before it gets here
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
HEARTBEAT = "/tmp/drift-heartbeat"


def start_heartbeat(path=HEARTBEAT, every=10.0, stop=None):
    """Touch `path` every few seconds from a daemon thread: the pod's probes read its age."""
    stop = stop or threading.Event()

    def beat():
        while not stop.is_set():
            with open(path, "w") as handle:
                handle.write(str(time.time()))
            stop.wait(every)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def parse_s3_url(url):
    """s3://bucket/prefix -> (bucket, prefix)."""
    if not url.startswith("s3://"):
        raise ValueError("not an s3:// URL: %r" % url)
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError("no bucket in %r" % url)
    return bucket, prefix


def object_url(endpoint, region, bucket, key=""):
    """Path-style URL on an S3-compatible endpoint, virtual-hosted URL on AWS S3."""
    path = urllib.parse.quote(key, safe="/~")
    if endpoint:
        return "%s/%s/%s" % (endpoint.rstrip("/"), bucket, path)
    return "https://%s.s3.%s.amazonaws.com/%s" % (bucket, region, path)


def _uri_encode(text):
    return urllib.parse.quote(text, safe="-_.~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sign_v4(method, url, region, access_key, secret_key, amz_date, payload_hash=EMPTY_SHA256,
            headers=None, service="s3"):
    """Headers for an AWS Signature Version 4 request (Authorization included)."""
    parts = urllib.parse.urlsplit(url)
    all_headers = {"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    for name, value in (headers or {}).items():
        all_headers[name.lower()] = value
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    canonical_query = "&".join("%s=%s" % (_uri_encode(k), _uri_encode(v)) for k, v in sorted(query))
    names = sorted(all_headers)
    canonical_headers = "".join("%s:%s\n" % (n, " ".join(str(all_headers[n]).split())) for n in names)
    signed = ";".join(names)
    canonical = "\n".join([method, parts.path or "/", canonical_query, canonical_headers, signed, payload_hash])
    day = amz_date[:8]
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode("utf-8"), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    out = dict(all_headers)
    del out["host"]
    out["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key, scope, signed, signature)
    return out


def parse_list_objects(xml_bytes):
    """(keys with sizes, next continuation token or None) from a ListObjectsV2 answer."""
    root = ET.fromstring(xml_bytes)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    items = []
    for c in root.findall(ns + "Contents"):
        items.append((c.findtext(ns + "Key"), int(c.findtext(ns + "Size") or 0)))
    cursor = None
    if (root.findtext(ns + "IsTruncated") or "").lower() == "true":
        cursor = root.findtext(ns + "NextContinuationToken")
    return items, cursor


def dataset_files(items, fmt):
    suffix = ".parquet" if fmt == "parquet" else ".csv"
    return sorted(key for key, _ in items if key.endswith(suffix))


def drift_summary(snapshot_dict):
    """(drifted columns, drift share) from Snapshot.dict() of a DataDriftPreset report."""
    for metric in snapshot_dict.get("metrics", []):
        name = str(metric.get("metric_name") or metric.get("config", {}).get("type", ""))
        if "DriftedColumnsCount" in name:
            value = metric.get("value") or {}
            return int(value.get("count", 0)), float(value.get("share", 0.0))
    raise ValueError("the report has no DriftedColumnsCount metric")


def pushgateway_path(job, project):
    """Grouping key path; the project label is base64url-encoded so any name is safe."""
    encoded = base64.urlsafe_b64encode(project.encode("utf-8")).decode("ascii")
    return "/metrics/job/%s/project@base64/%s" % (job, encoded)


def metrics_body(drifted, share, threshold, finished_at):
    detected = 1 if share >= threshold else 0
    lines = [
        "# HELP evidently_drift_detected 1 when the share of drifted columns reached the threshold.",
        "# TYPE evidently_drift_detected gauge",
        "evidently_drift_detected %d" % detected,
        "# HELP evidently_drift_share Share of columns whose distribution drifted.",
        "# TYPE evidently_drift_share gauge",
        "evidently_drift_share %r" % float(share),
        "# HELP evidently_drifted_columns Number of drifted columns.",
        "# TYPE evidently_drifted_columns gauge",
        "evidently_drifted_columns %d" % drifted,
        "# HELP evidently_drift_last_run_timestamp_seconds When the drift run finished.",
        "# TYPE evidently_drift_last_run_timestamp_seconds gauge",
        "evidently_drift_last_run_timestamp_seconds %d" % int(finished_at),
    ]
    return "\n".join(lines) + "\n"


STS_VERSION = "2011-06-15"


def sts_endpoint(region):
    """The regional STS endpoint (EKS pods get AWS_STS_REGIONAL_ENDPOINTS=regional), else the global one."""
    return "https://sts.%s.amazonaws.com/" % region if region else "https://sts.amazonaws.com/"


def assume_role_request(role_arn, web_identity_token, session_name, region):
    """(url, form body) of an STS AssumeRoleWithWebIdentity call. The call is unsigned: the
    projected service-account token is the proof of identity."""
    body = urllib.parse.urlencode([
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", STS_VERSION),
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", web_identity_token),
    ])
    return sts_endpoint(region), body


def parse_assume_role(xml_bytes):
    """(access key, secret key, session token) from an AssumeRoleWithWebIdentity answer."""
    root = ET.fromstring(xml_bytes)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    creds = root.find(".//%sCredentials" % ns)
    if creds is None:
        raise ValueError("the STS answer has no Credentials element")
    values = [creds.findtext(ns + name) for name in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
    if not all(values):
        raise ValueError("the STS answer lacks AccessKeyId, SecretAccessKey or SessionToken")
    return tuple(values)


def session_name(env):
    """RoleSessionName (2-64 of letters, digits and +=,.@-_); the pod name (HOSTNAME) says which run it was."""
    raw = "omgml-drift-" + env.get("HOSTNAME", "job")
    return "".join(ch if ch.isalnum() or ch in "+=,.@-_" else "-" for ch in raw)[:64]


def credentials_from_env(env, post=None):
    """(access key, secret key, session token or None). Static keys win when they are set; with
    them empty (IRSA on AWS S3: the keys Secret holds empty values) the pod's web-identity token
    is exchanged for temporary credentials of the role in AWS_ROLE_ARN."""
    access_key, secret_key = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if access_key and secret_key:
        return access_key, secret_key, env.get("AWS_SESSION_TOKEN") or None
    role_arn, token_file = env.get("AWS_ROLE_ARN", ""), env.get("AWS_WEB_IDENTITY_TOKEN_FILE", "")
    if not (role_arn and token_file):
        raise SystemExit("no object store credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or annotate "
                         "the job's ServiceAccount with an IRSA role (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)")
    with open(token_file) as handle:
        identity = handle.read().strip()
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "")
    url, body = assume_role_request(role_arn, identity, session_name(env), region)
    return parse_assume_role((post or _post_form)(url, body))


def _post_form(url, body):
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def request_headers(headers, session_token):
    """Extra headers to sign: temporary credentials need x-amz-security-token on every request."""
    out = dict(headers or {})
    if session_token:
        out["x-amz-security-token"] = session_token
    return out


class Store:
    def __init__(self, endpoint, region, access_key, secret_key, session_token=None):
        self.endpoint, self.region = endpoint, region or "us-east-1"
        self.access_key, self.secret_key, self.session_token = access_key, secret_key, session_token

    def get(self, url, headers=None):
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        signed = sign_v4("GET", url, self.region, self.access_key, self.secret_key, amz_date,
                         headers=request_headers(headers, self.session_token))
        request = urllib.request.Request(url, headers=signed, method="GET")
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def list(self, bucket, prefix):
        items, cursor = [], None
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if cursor:
                query["continuation-token"] = cursor
            url = object_url(self.endpoint, self.region, bucket) + "?" + urllib.parse.urlencode(query)
            page, cursor = parse_list_objects(self.get(url))
            items.extend(page)
            if not cursor:
                return items

    def read_dataset(self, s3_url, fmt):
        import pandas as pd

        bucket, prefix = parse_s3_url(s3_url)
        items = self.list(bucket, prefix)
        keys = dataset_files(items, fmt)
        if not keys:
            raise SystemExit("no %s files under %s" % (fmt, s3_url))
        sizes = dict(items)
        total = sum(sizes[k] for k in keys)
        if total > MAX_BYTES:
            raise SystemExit("%s holds %d bytes of data, over the job's %d byte limit; sample it first"
                             % (s3_url, total, MAX_BYTES))
        frames = []
        for key in keys:
            raw = io.BytesIO(self.get(object_url(self.endpoint, self.region, bucket, key)))
            frames.append(pd.read_parquet(raw) if fmt == "parquet" else pd.read_csv(raw))
        return pd.concat(frames, ignore_index=True)


def push_metrics(pushgateway, project, body):
    url = pushgateway.rstrip("/") + pushgateway_path("evidently_drift", project)
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="PUT",
                                     headers={"Content-Type": "text/plain; version=0.0.4"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def upload_snapshot(ui_url, secret, project_name, snapshot):
    from evidently.ui.workspace import RemoteWorkspace

    workspace = RemoteWorkspace(ui_url, secret=secret)
    found = [p for p in workspace.search_project(project_name) if p.name == project_name]
    project = found[0] if found else workspace.create_project(project_name, description="omgml data drift")
    workspace.add_run(project.id, snapshot, include_data=False)


def main():
    from evidently import Report
    from evidently.presets import DataDriftPreset

    env = os.environ
    fmt = env.get("DATASET_FORMAT", "parquet")
    threshold = float(env.get("DRIFT_SHARE", "0.5"))
    project = env["EVIDENTLY_PROJECT"]
    store = Store(env.get("S3_ENDPOINT_URL", ""), env.get("AWS_REGION", ""), *credentials_from_env(env))
    reference = store.read_dataset(env["REFERENCE_PATH"], fmt)
    current = store.read_dataset(env["CURRENT_PATH"], fmt)
    common = [c for c in reference.columns if c in set(current.columns)]
    if not common:
        raise SystemExit("the reference and current datasets share no column")
    report = Report([DataDriftPreset(drift_share=threshold)])
    snapshot = report.run(current[common], reference[common])
    drifted, share = drift_summary(snapshot.dict())
    print("drift: %d columns, share %.3f (threshold %.3f)" % (drifted, share, threshold))
    failures = 0
    if env.get("PUSHGATEWAY_URL"):
        try:
            push_metrics(env["PUSHGATEWAY_URL"], project, metrics_body(drifted, share, threshold, time.time()))
        except Exception as exc:  # keep going: the UI upload is independent
            print("pushing drift metrics failed: %s" % exc, file=sys.stderr)
            failures += 1
    try:
        upload_snapshot(env["EVIDENTLY_URL"], env["EVIDENTLY_SECRET"], project, snapshot)
    except Exception as exc:
        print("uploading the snapshot failed: %s" % exc, file=sys.stderr)
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    start_heartbeat()
    sys.exit(main())
'''


def dataset_url(path: str, bucket: str) -> str:
    """A spec dataset path as s3://bucket/prefix (relative paths live in `bucket`)."""
    if path.startswith("s3://"):
        return path
    return f"s3://{bucket}/{path.lstrip('/')}"


def _dataset_env(env_name: str, path: str, bucket: pulumi.Input[str] | None) -> JsonDict:
    if path.startswith("s3://") or bucket is None:
        return plain_env(env_name, path)
    if isinstance(bucket, str):
        return plain_env(env_name, dataset_url(path, bucket))
    value = pulumi.Output.concat(bucket).apply(lambda b: dataset_url(path, b))
    return {"name": env_name, "value": value}


def drift_job_script() -> str:
    """The drift job's source, mounted from a ConfigMap (configuration comes from env)."""
    return DRIFT_JOB_SCRIPT


def script_checksum(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()[:16]


def _labels(r: ResolvedEvidently, component: str) -> dict[str, str]:
    return standard_labels("evidently", r.args.instance, component, VERSION)


def _secret_ref(env_name: str, secret_name: pulumi.Input[str], key: str) -> JsonDict:
    """omgml.k8s.secret_env for a Secret whose name may be an Output of an earlier phase."""
    if isinstance(secret_name, str):
        return secret_env(env_name, secret_name, key)
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def ui_deployment(r: ResolvedEvidently) -> JsonDict:
    a = r.args
    container: JsonDict = {
        "name": "evidently",
        "image": IMAGE,
        # The image's entrypoint is `evidently ui --host 0.0.0.0`; these are its extra options.
        "args": ["--workspace", WORKSPACE, "--port", str(UI_PORT)],
        "env": [
            secret_env(SECRET_KEY, r.secret_name, SECRET_KEY),
            plain_env("HOME", "/tmp"),
            # No usage telemetry (and no internet egress to send it over).
            plain_env("DO_NOT_TRACK", "1"),
        ],
        "ports": [{"name": "http", "containerPort": UI_PORT, "protocol": "TCP"}],
        "resources": UI_SIZES[a.profile].resources(),
        "readinessProbe": http_probe("/api/version", "http", period=10),
        "livenessProbe": http_probe("/api/version", "http", period=20, failures=5),
        "startupProbe": http_probe("/api/version", "http", period=5, failures=60),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "workspace", "mountPath": WORKSPACE}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "replicas": 1,
        # A file workspace on a ReadWriteOnce volume has one writer.
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": selector_labels("evidently", a.instance, "ui")},
        "template": {
            "metadata": {"labels": _labels(r, "ui")},
            "spec": {
                "serviceAccountName": r.name,
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": restricted_pod_security_context(UID, UID, UID),
                "containers": [container],
                "volumes": [
                    {"name": "workspace", "persistentVolumeClaim": {"claimName": r.name}},
                    {"name": "tmp", "emptyDir": {}},
                ],
            },
        },
    }


def ui_service(r: ResolvedEvidently) -> JsonDict:
    return service_spec(selector_labels("evidently", r.args.instance, "ui"), [("http", UI_PORT)])


def workspace_pvc(r: ResolvedEvidently) -> JsonDict:
    return claim_spec(r.args.storage_gib)


HEARTBEAT_FILE = "/tmp/drift-heartbeat"
# Exit 0 while the job's heartbeat thread (see the script) touched the file in the last minute.
HEARTBEAT_CHECK = ("import os, sys, time; "
                   f"sys.exit(0 if time.time() - os.path.getmtime({HEARTBEAT_FILE!r}) < 60 else 1)")


def drift_cronjob(r: ResolvedEvidently) -> JsonDict:
    a = r.args
    env: list[JsonDict] = [
        plain_env("EVIDENTLY_URL", r.ui_url),
        secret_env(SECRET_KEY, r.secret_name, SECRET_KEY),
        plain_env("EVIDENTLY_PROJECT", a.project),
        _dataset_env("REFERENCE_PATH", a.reference_path, a.default_bucket),
        _dataset_env("CURRENT_PATH", a.current_path, a.default_bucket),
        plain_env("DATASET_FORMAT", a.dataset_format),
        plain_env("DRIFT_SHARE", repr(float(a.drift_share))),
        {"name": "S3_ENDPOINT_URL", "value": a.endpoint_url},
        {"name": "AWS_REGION", "value": a.region},
        # On IRSA the (empty) key variables stay out: the script exchanges the web identity.
        *([] if a.irsa_role_arn is not None else [
            _secret_ref("AWS_ACCESS_KEY_ID", a.store_secret, a.access_key_key),
            _secret_ref("AWS_SECRET_ACCESS_KEY", a.store_secret, a.secret_key_key),
        ]),
        plain_env("HOME", "/tmp"),
        plain_env("DO_NOT_TRACK", "1"),
    ]
    if a.pushgateway_url:
        env.append(plain_env("PUSHGATEWAY_URL", a.pushgateway_url))
    container: JsonDict = {
        "name": "drift",
        "image": IMAGE,
        "command": ["python", f"{SCRIPT_DIR}/{SCRIPT_NAME}"],
        "env": env,
        "resources": JOB_SIZES[a.profile].resources(),
        # A batch step serves nothing: the probes watch its heartbeat, so a run wedged in a
        # dead connection is restarted instead of idling until activeDeadlineSeconds.
        "readinessProbe": exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, delay=20),
        "livenessProbe": exec_probe(["python", "-c", HEARTBEAT_CHECK], period=30, failures=4, delay=30),
        "securityContext": restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "schedule": " ".join(a.schedule.split()),
        # A slow run is never doubled up; a missed start (controller down) is not made up later.
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 1,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "metadata": {"labels": _labels(r, "drift-job")},
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 3600,
                "ttlSecondsAfterFinished": 86400,
                "template": {
                    "metadata": {"labels": _labels(r, "drift-job"),
                                 "annotations": {"omgml.dev/script-checksum": script_checksum(drift_job_script())}},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": r.job_name,
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": restricted_pod_security_context(UID, UID, UID),
                        "containers": [container],
                        "volumes": [
                            {"name": "script", "configMap": {"name": r.script_configmap, "defaultMode": 0o444}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
    }


class Evidently(pulumi.ComponentResource):
    """Evidently UI + drift CronJob; `ui_url` and the write secret's name are its outputs."""

    ui_url: str
    secret_name: str
    service_name: str

    def __init__(self, name: str, args: EvidentlyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        r = resolve_evidently(args)
        ns = args.namespace
        child = pulumi.ResourceOptions(parent=self)
        keep = args.profile != "laptop"

        def meta(obj_name: str, component: str) -> JsonDict:
            return {"name": obj_name, "namespace": ns, "labels": _labels(r, component)}

        secret = GeneratedSecret(f"{name}-write-secret", GeneratedSecretArgs(
            namespace=ns, secret_name=r.secret_name, password_keys=(SECRET_KEY,),
            app_name="evidently", instance=args.instance, source=args.credentials), child)
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(r.name, "ui"),
                                        automount_service_account_token=False, opts=child)
        pvc = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-workspace", metadata=meta(r.name, "workspace"), spec=workspace_pvc(r),
            opts=pulumi.ResourceOptions(parent=self, protect=keep, retain_on_delete=keep))
        k8s.apps.v1.Deployment(f"{name}-ui", metadata=meta(r.name, "ui"), spec=ui_deployment(r),
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, pvc, secret]))
        k8s.core.v1.Service(f"{name}-service", metadata=meta(r.name, "ui"), spec=ui_service(r), opts=child)

        script = k8s.core.v1.ConfigMap(f"{name}-drift-script", metadata=meta(r.script_configmap, "drift-job"),
                                       data={SCRIPT_NAME: drift_job_script()}, opts=child)
        # Only the drift job reads the bucket, so only its ServiceAccount carries the IRSA role.
        job_sa_meta = meta(r.job_name, "drift-job")
        if args.irsa_role_arn is not None:
            job_sa_meta["annotations"] = {ROLE_ARN_ANNOTATION: args.irsa_role_arn}
        job_sa = k8s.core.v1.ServiceAccount(f"{name}-drift-sa", metadata=job_sa_meta,
                                            automount_service_account_token=False, opts=child)
        k8s.batch.v1.CronJob(f"{name}-drift", metadata=meta(r.job_name, "drift-job"), spec=drift_cronjob(r),
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[script, job_sa, secret]))

        self.ui_url = r.ui_url
        self.secret_name = r.secret_name
        self.service_name = r.name
        self.register_outputs({"ui_url": self.ui_url, "secret_name": self.secret_name})
