"""Configuration files of the KFP install, built from typed values (pure functions).

The object store is the foundation's S3-compatible endpoint; its URL arrives as an Output,
so callers apply these functions to the resolved strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml

from omgml.components.kubeflow.release import (
    ARTIFACT_KEY_FORMAT,
    METADATA_ENVOY_PORT,
    METADATA_GRPC_PORT,
    METADATA_GRPC_SERVICE,
    MLMD_DB,
    MYSQL_USER,
)


@dataclass(frozen=True)
class S3Location:
    """Where the S3 API is, in the shapes the different KFP/Argo settings want."""

    url: str  # scheme://host[:port], for SDKs that take an endpoint URL
    host: str
    port: int
    secure: bool
    region: str

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"


def s3_location(endpoint_url: str, region: str) -> S3Location:
    """Parse the store's endpoint URL ("" means AWS S3 in `region`)."""
    if not region:
        raise ValueError("object store region is empty; the foundation must export object_store_region")
    if not endpoint_url:
        host = f"s3.{region}.amazonaws.com"
        return S3Location(f"https://{host}", host, 443, True, region)
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"object store endpoint {endpoint_url!r} is not an http(s) URL; expected e.g. "
            "http://objectstore.omgml-data.svc.cluster.local:8333"
        )
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    return S3Location(f"{parts.scheme}://{parts.hostname}:{port}", parts.hostname, port, secure, region)


@dataclass(frozen=True)
class KeySecret:
    """The Secret with a static key pair. Where a function takes `KeySecret | None`, None means
    IRSA: no keys at all, the AWS SDK's default credential chain finds the web-identity token."""

    name: str
    access_key: str  # key in the Secret holding the access key id
    secret_key: str


def pipeline_root(bucket: str) -> str:
    return f"s3://{bucket}/v2/artifacts"


def argo_artifact_repository(loc: S3Location, bucket: str, keys: KeySecret | None) -> str:
    """workflow-controller-configmap `artifactRepository`: step logs and Argo artifacts.

    Without keys, `useSDKCreds` (Argo v4.0.5 workflow/artifacts/s3/s3.go GetCredentials) makes
    argoexec load the AWS SDK v2 default config, whose chain includes the web identity; no
    Secret is read then."""
    s3: dict[str, object] = {
        "endpoint": loc.host_port,
        "bucket": bucket,
        "region": loc.region,
        "insecure": not loc.secure,
        "keyFormat": ARTIFACT_KEY_FORMAT,
    }
    if keys is None:
        s3["useSDKCreds"] = True
    else:
        s3["accessKeySecret"] = {"name": keys.name, "key": keys.access_key}
        s3["secretKeySecret"] = {"name": keys.name, "key": keys.secret_key}
    return yaml.safe_dump({"archiveLogs": True, "s3": s3}, sort_keys=False)


def argo_executor() -> str:
    """The argoexec init/wait containers of every step pod meet Pod Security "restricted"."""
    doc = {
        "imagePullPolicy": "IfNotPresent",
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def argo_workflow_defaults() -> str:
    # KFP's defaults: finished workflows go after an hour (the persistence agent has copied
    # their state to MySQL by then); infrastructure errors are retried twice.
    doc = {"spec": {
        "ttlStrategy": {"secondsAfterCompletion": 3600, "secondsAfterSuccess": 3600, "secondsAfterFailure": 3600},
        "templateDefaults": {"retryStrategy": {"limit": "2", "retryPolicy": "OnError"}},
    }}
    return yaml.safe_dump(doc, sort_keys=False)


def launcher_providers(loc: S3Location, keys: KeySecret | None) -> str:
    """kfp-launcher `providers`: how driver and launcher reach s3:// pipeline roots
    (backend/src/v2/config/s3.go: S3ProviderConfig).

    Without keys, `fromEnv: true`: with the endpoint and region set, the launcher builds its
    client from the AWS SDK v2 default config and no static provider (v2/objectstore
    object_store.go newS3Client), so the step pod's web identity is used; the UI, reading the
    same session info from ML Metadata, then reads no Secret either."""
    credentials: dict[str, object] = {"fromEnv": True} if keys is None else {
        "fromEnv": False,
        "secretRef": {"secretName": keys.name, "accessKeyKey": keys.access_key, "secretKeyKey": keys.secret_key},
    }
    doc = {"s3": {"default": {
        "endpoint": loc.url,
        "region": loc.region,
        "disableSSL": not loc.secure,
        "forcePathStyle": True,
        "credentials": credentials,
    }}}
    return yaml.safe_dump(doc, sort_keys=False)


def ui_endpoint_rewrite(loc: S3Location) -> str:
    """MINIO_ENDPOINT_REWRITE of the UI server: `host=scheme://host:port`.

    The UI's "s3" client (configs.ts `aws`: AWS_S3_ENDPOINT, AWS_SSL) has no port setting, so
    minio-js would use 80 or 443. Every client the server builds passes through
    minio-helper.ts applyEndpointRewrite, which replaces a matching host (a rule without a
    port matches any) by the rule's host, port and scheme: this puts the store's port back.
    """
    return f"{loc.host}={loc.url}"


def envoy_config() -> str:
    """Envoy in front of the ML Metadata gRPC server, translating gRPC-Web for the UI.

    The admin interface listens on loopback only: it has no authentication and can stop Envoy.
    """
    cors = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [{"safe_regex": {"regex": ".*"}}],
        "allow_methods": "GET, PUT, DELETE, POST, OPTIONS",
        "allow_headers": "keep-alive,user-agent,cache-control,content-type,content-transfer-encoding,"
                         "custom-header-1,x-accept-content-transfer-encoding,x-accept-response-streaming,"
                         "x-user-agent,x-grpc-web,grpc-timeout",
        "max_age": "1728000",
        "expose_headers": "custom-header-1,grpc-status,grpc-message",
    }
    route = {
        "match": {"prefix": "/"},
        "route": {"cluster": "metadata-grpc", "max_stream_duration": {"grpc_timeout_header_max": "0s"}},
        "typed_per_filter_config": {"envoy.filter.http.cors": cors},
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                 "HttpConnectionManager",
        "codec_type": "auto",
        "stat_prefix": "ingress_http",
        "route_config": {"name": "local_route", "virtual_hosts": [
            {"name": "local_service", "domains": ["*"], "routes": [route]}]},
        "http_filters": [
            {"name": "envoy.filters.http.grpc_web", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"}},
            {"name": "envoy.filters.http.cors", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}},
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
    }
    cluster = {
        "name": "metadata-grpc",
        "connect_timeout": "30s",
        "type": "logical_dns",
        "lb_policy": "round_robin",
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}},
        }},
        "load_assignment": {"cluster_name": "metadata-grpc", "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": METADATA_GRPC_SERVICE, "port_value": METADATA_GRPC_PORT}},
        }}]}]},
    }
    doc = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9901}}},
        "static_resources": {
            "listeners": [{
                "name": "grpc-web",
                "address": {"socket_address": {"address": "0.0.0.0", "port_value": METADATA_ENVOY_PORT}},
                "filter_chains": [{"filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
            }],
            "clusters": [cluster],
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def mysql_init_sql() -> str:
    """Run once by the official image on an empty data directory, after it created MYSQL_USER
    with ALL on MYSQL_DATABASE (the pipeline DB): the same user also owns ML Metadata's DB."""
    return (
        f"CREATE DATABASE IF NOT EXISTS `{MLMD_DB}`;\n"
        f"GRANT ALL PRIVILEGES ON `{MLMD_DB}`.* TO '{MYSQL_USER}'@'%';\n"
    )


def mysql_args(data_dir: str, buffer_pool: str, laptop: bool) -> list[str]:
    args = [
        f"--datadir={data_dir}",
        # ML Metadata 1.14's client library only speaks mysql_native_password, which MySQL 8.4
        # ships disabled (upstream KFP sets the same two flags).
        "--authentication-policy=mysql_native_password",
        "--mysql-native-password=ON",
        # KFP uses no replication; binary logs would only fill the volume.
        "--disable-log-bin",
        f"--innodb-buffer-pool-size={buffer_pool}",
    ]
    if laptop:
        # performance_schema reserves ~100-200 MiB of instrumentation memory up front.
        args.append("--performance-schema=OFF")
    return args


def training_env(tracking_uri: str, loc: S3Location, endpoint_url: str, secret_name: str | None,
                 kfp_endpoint: str, bucket: str) -> dict[str, str]:
    """What pipeline steps and training jobs need to log to MLflow and read/write the store.

    MLFLOW_S3_ENDPOINT_URL is left out on AWS S3: an empty value breaks boto3.
    `secret_name` is None on IRSA: there is no key Secret worth loading (the foundation's holds
    empty values), so OMGML_OBJECT_STORE_ENV_FROM is absent and a step finds its credentials
    through the web identity of the ServiceAccount it runs as — the pipeline runner's, the
    only one in the steps namespace with an S3 role.
    """
    env = {"AWS_REGION": loc.region, "AWS_DEFAULT_REGION": loc.region}
    if secret_name is not None:
        # The Secret (same namespace) with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: envFrom it.
        env["OMGML_OBJECT_STORE_ENV_FROM"] = secret_name
    env["KFP_API_ENDPOINT"] = kfp_endpoint
    env["KFP_PIPELINE_ROOT"] = pipeline_root(bucket)
    if tracking_uri:  # "" when the platform runs without MLflow
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    if endpoint_url:
        env["MLFLOW_S3_ENDPOINT_URL"] = loc.url
        env["AWS_ENDPOINT_URL_S3"] = loc.url
    return env
