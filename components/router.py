"""The model router: A/B tests and canaries between model versions (HAProxy).

One Deployment of the official `haproxy` image in the serving namespace, configured by omgml
(haproxy.cfg in a ConfigMap, written by `haproxy_config`). Clients call the router instead of
the model server: a request for a model under experiment goes to one of its variants (model
server Deployments that each hold one version, components/modelserver.ModelVariant); every
other request goes to the model server unchanged.

- Weighted split: each request draws a bucket 0-99 (`rand(100)`); variant i answers buckets
  [w1+…+w(i-1), w1+…+wi). The weights are env vars of the router container, not text of its
  config file, so `omgml diff` shows a weight change as exactly the changed weights.
- Stickiness: with `sticky_header`, a request carrying the header gets the bucket
  `xxh32(value) mod 100` instead, so one caller always meets the same variant (and the share
  of callers per variant follows the weights).
- A variant whose health check fails (HAProxy checks the model's readiness endpoint) gets no
  traffic: its bucket falls to the first variant that is up, in the spec's order.
- Per-variant metrics: HAProxy's built-in Prometheus exporter (USE_PROMEX, in the official
  image and in Debian's package) serves `haproxy_backend_*{proxy="ab_<model>_v<version>"}`:
  requests, responses by status class, average response time. The serving dashboard has a
  panel per measure and the ModelVariantDegraded alerts read them (components/prometheus).

Why HAProxy, and not Gateway API weights or nginx: docs of the serving ADR
(omgml.recommend.engine, area "experiments"), in short: a weighted HTTPRoute needs a gateway
controller that differs between kind and EKS and has no header-hash stickiness in its standard
channel; nginx OSS has no per-upstream metrics; HAProxy does all three natively.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml import sizes
from omgml.components.base import Component
from omgml.components.options import Children
from omgml.labels import selector_labels, standard_labels
from omgml.naming import k8s_name
from omgml.spec.common import Profile, per_profile

TYPE_TOKEN = "omgml:serving:ModelRouter"

# The 2.6 LTS branch, as Debian 12 ships it (2.6.12), so the configuration and the metric names
# the conformance tier checks with Debian's binary are the image's.
HAPROXY_VERSION = "2.6.31"
IMAGE = f"haproxy:{HAPROXY_VERSION}"
UID = 99  # the image's `haproxy` user
CONFIG_DIR = "/usr/local/etc/haproxy"  # where the image's CMD looks for haproxy.cfg
HTTP_PORT = 8080
METRICS_PORT = 8404
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
HEALTH_CHECK_SECONDS = 5

RouterKind = Literal["triton", "tf-serving"]

SIZES = sizes.container("model-router")
MAXCONN = per_profile(laptop=1024, small=4096, production=16384)


@dataclass(frozen=True)
class RoutedVariant:
    version: int
    weight: int  # percent
    host: str  # the variant's Service, fully qualified
    port: int


@dataclass(frozen=True)
class RoutedExperiment:
    model: str
    variants: tuple[RoutedVariant, ...]
    sticky_header: str | None = None


@dataclass(frozen=True)
class RouterArgs:
    namespace: str
    instance: str
    kind: RouterKind
    # The model server every request outside an experiment goes to.
    default_host: str
    default_port: int
    experiments: tuple[RoutedExperiment, ...]
    profile: Profile = "laptop"
    replicas: int = 1


@dataclass(frozen=True)
class ResolvedRouter:
    args: RouterArgs
    name: str  # Deployment, Service, ConfigMap, ServiceAccount, PDB
    size: kube.Size
    url: str


def backend_name(model: str, version: int) -> str:
    """A variant's HAProxy backend: the `proxy` label of its metrics (`ab_<model>_v<version>`)."""
    return f"ab_{model}_v{version}"


# What a variant's backend name looks like to PromQL (label_replace in rules and panels).
BACKEND_REGEX = "ab_(.+)_v([0-9]+)"


def router_name(instance: str) -> str:
    return k8s_name(instance, "model-router")


def resolve_router(args: RouterArgs) -> ResolvedRouter:
    if args.kind not in ("triton", "tf-serving"):
        raise ValueError(f"RouterArgs.kind: {args.kind!r}; the router knows the URL paths of triton and tf-serving")
    if not args.experiments:
        raise ValueError("RouterArgs.experiments is empty: without an experiment there is nothing to route; "
                         "leave the router out")
    if args.replicas < 1:
        raise ValueError(f"RouterArgs.replicas: {args.replicas} must be ≥ 1")
    for e in args.experiments:
        total = sum(v.weight for v in e.variants)
        if total != 100 or len(e.variants) < 2:
            raise ValueError(f"experiment {e.model!r}: needs ≥ 2 variants whose weights add up to 100, got "
                             f"{[v.weight for v in e.variants]} (phases.serving.experiments)")
    envs = [(weight_env(e.model, v.version), e.model) for e in args.experiments for v in e.variants]
    names = [n for n, _ in envs]
    clash = sorted({f"{n} ({m})" for n, m in envs if names.count(n) > 1})
    if clash:
        raise ValueError(f"phases.serving.experiments: models {clash} differ only in '-', '.' or case and would share "
                         "the router's weight variables; rename one of the models")
    name = router_name(args.instance)
    return ResolvedRouter(args, name, SIZES[args.profile], f"http://{name}.{args.namespace}.svc:{HTTP_PORT}")


def model_path_acls(kind: RouterKind, acl: str, model: str) -> list[str]:
    """The requests that belong to `model`, as HAProxy ACL lines: Triton's KServe v2 paths
    (`/v2/models/<m>`, `/v2/models/<m>/...`) or TF Serving's REST paths (`/v1/models/<m>`,
    `/v1/models/<m>:predict`, `/v1/models/<m>/versions/...`)."""
    if kind == "triton":
        return [f"acl {acl} path /v2/models/{model}", f"acl {acl} path_beg /v2/models/{model}/"]
    return [f"acl {acl} path /v1/models/{model}", f"acl {acl} path_beg /v1/models/{model}/",
            f"acl {acl} path_beg /v1/models/{model}:"]


def readiness_path(kind: RouterKind, model: str) -> str:
    """The model's own readiness endpoint on a variant (200 once the version is loaded)."""
    return f"/v2/models/{model}/ready" if kind == "triton" else f"/v1/models/{model}"


def server_health_path(kind: RouterKind) -> str:
    return "/v2/health/ready" if kind == "triton" else "/v1/models"


def weight_env(model: str, version: int) -> str:
    """The router container's env var holding a variant's weight (percent)."""
    return f"AB_WEIGHT_{re.sub(r'[^A-Za-z0-9]', '_', model).upper()}_V{version}"


def weight_envs(r: ResolvedRouter) -> list[kube.JsonDict]:
    """The weights, as env of the router container: a weight change is a change of these values
    only (the config file stays the same), and the changed env rolls the router's pods."""
    return [kube.plain_env(weight_env(e.model, v.version), str(v.weight)) for e in r.args.experiments for v in e.variants]


def haproxy_config(r: ResolvedRouter) -> str:
    """haproxy.cfg: the monitor frontend (health + Prometheus), the models frontend with one
    weighted, optionally sticky choice per experiment, one backend per variant.

    The weights are not in the file: each is an env var (weight_env) that HAProxy expands where
    the file says "${NAME}". Variant i answers when the bucket minus the weights before it is in
    [0, w_i): `rest_i = bucket - w_1 - … - w_(i-1)`, computed with the `sub` converter."""
    a = r.args
    lines = [
        "# Written by omgml (components/router.py); edit phases.serving.experiments instead.",
        "# The variants' weights come from the container's AB_WEIGHT_* env vars.",
        "global",
        # Access logs to the container's stdout, one line per request with the chosen backend.
        "    log stdout format raw local0 info",
        f"    maxconn {MAXCONN[a.profile]}",
        "    hard-stop-after 30s",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    option forwardfor",
        "    timeout connect 5s",
        "    timeout http-request 10s",
        "    timeout client 65s",
        "    timeout server 60s",
        "    timeout check 3s",
        "",
        "frontend monitor",
        f"    bind :{METRICS_PORT}",
        f"    monitor-uri {HEALTH_PATH}",
        f"    http-request use-service prometheus-exporter if {{ path {METRICS_PATH} }}",
        # Probes and scrapes every few seconds: log only the ones that fail.
        "    option dontlog-normal",
        "",
        "frontend models",
        f"    bind :{HTTP_PORT}",
    ]
    backends: list[str] = []
    for i, e in enumerate(a.experiments):
        acl, bucket = f"exp{i}", f"txn.exp{i}_bucket"
        lines.append(f"    # experiment {i}: model {e.model}, variants "
                     + ", ".join(f"v{v.version}" for v in e.variants)
                     + (f", sticky by {e.sticky_header}" if e.sticky_header else ""))
        lines += [f"    {line}" for line in model_path_acls(a.kind, acl, e.model)]
        if e.sticky_header:
            lines.append(f"    http-request set-var({bucket}) req.hdr({e.sticky_header}),xxh32,mod(100) "
                         f"if {acl} {{ req.hdr({e.sticky_header}) -m found }}")
        lines.append(f"    http-request set-var({bucket}) rand(100) if {acl} !{{ var({bucket}) -m found }}")
        rests = [bucket]
        for j, v in enumerate(e.variants[:-1]):
            rest = f"txn.exp{i}_rest{j + 1}"
            lines.append(f'    http-request set-var({rest}) var({rests[-1]}),sub("${{{weight_env(e.model, v.version)}}}")'
                         f" if {acl}")
            rests.append(rest)
        for v, rest in zip(e.variants, rests, strict=True):
            be = backend_name(e.model, v.version)
            lines.append(f"    use_backend {be} if {acl} {{ var({rest}) -m int ge 0 }} "
                         f'{{ var({rest}) -m int lt "${{{weight_env(e.model, v.version)}}}" }} {{ nbsrv({be}) gt 0 }}')
        # A variant that is down: its share goes to the first variant with traffic that is up.
        for v in e.variants:
            be = backend_name(e.model, v.version)
            lines.append(f"    use_backend {be} if {acl} {{ env({weight_env(e.model, v.version)}) -m int gt 0 }} "
                         f"{{ nbsrv({be}) gt 0 }}")
        # None up: the first variant answers (503), which the error-ratio alert sees.
        lines.append(f"    use_backend {backend_name(e.model, e.variants[0].version)} if {acl}")
        for v in e.variants:
            backends += [
                "",
                f"backend {backend_name(e.model, v.version)}",
                f"    option httpchk GET {readiness_path(a.kind, e.model)}",
                "    http-check expect status 200",
                f"    server v{v.version} {v.host}:{v.port} check inter {HEALTH_CHECK_SECONDS}s fall 3 rise 2",
            ]
    lines += ["    default_backend model-server", "", "backend model-server",
              f"    option httpchk GET {server_health_path(a.kind)}",
              f"    server server {a.default_host}:{a.default_port} check inter {HEALTH_CHECK_SECONDS}s fall 3 rise 2"]
    return "\n".join(lines + backends) + "\n"


def config_checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _selector(r: ResolvedRouter) -> dict[str, str]:
    return selector_labels("haproxy", r.args.instance, "model-router")


def _labels(r: ResolvedRouter) -> dict[str, str]:
    return standard_labels("haproxy", r.args.instance, "model-router", HAPROXY_VERSION)


def router_deployment(r: ResolvedRouter, config: str) -> kube.JsonDict:
    a = r.args
    container: kube.JsonDict = {
        "name": "haproxy",
        "image": IMAGE,
        # What the image's entrypoint runs for `haproxy`: master-worker, foreground.
        "command": ["haproxy", "-W", "-db", "-f", f"{CONFIG_DIR}/haproxy.cfg"],
        "env": weight_envs(r),
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "resources": r.size.resources(),
        "readinessProbe": kube.http_probe(HEALTH_PATH, "metrics", period=5),
        "livenessProbe": kube.http_probe(HEALTH_PATH, "metrics", period=10, failures=3),
        "securityContext": kube.restricted_container_security_context(read_only_root=True),
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    pod = kube.restricted_pod_spec(r.name, UID, [container], volumes=[
        {"name": "config", "configMap": {"name": r.name}}], terminationGracePeriodSeconds=35)
    annotations = {
        "omgml.dev/config-checksum": config_checksum(config),
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(METRICS_PORT),
        "prometheus.io/path": METRICS_PATH,
    }
    return kube.deployment_spec(_selector(r), kube.pod_template(_labels(r), pod, annotations), replicas=a.replicas,
                           strategy=kube.SURGE_ONE)


def router_service(r: ResolvedRouter) -> kube.JsonDict:
    return kube.service_spec(_selector(r), [("http", HTTP_PORT), ("metrics", METRICS_PORT)])


class ModelRouter(Component[RouterArgs, ResolvedRouter], type_token=TYPE_TOKEN, resolve=resolve_router):
    """The router Deployment, its config, Service and PodDisruptionBudget; `url` is its output."""

    url: str
    service_name: str

    def build(self, name: str, args: RouterArgs, r: ResolvedRouter, children: Children) -> pulumi.Inputs:
        config = haproxy_config(r)
        meta = kube.metadata(r.name, args.namespace, _labels(r))
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, automount_service_account_token=False,
                                        opts=children())
        cm = k8s.core.v1.ConfigMap(f"{name}-config", metadata=meta, data={"haproxy.cfg": config}, opts=children())
        k8s.apps.v1.Deployment(f"{name}-deployment", metadata=meta, spec=router_deployment(r, config),
                               opts=children(sa, cm))
        k8s.core.v1.Service(f"{name}-service", metadata=meta, spec=router_service(r), opts=children())
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta, spec=kube.pdb_spec(_selector(r)),
                                          opts=children())
        self.url = r.url
        self.service_name = r.name
        return {"url": self.url}


__all__ = [
    "BACKEND_REGEX", "HAPROXY_VERSION", "IMAGE", "ModelRouter", "ResolvedRouter", "RoutedExperiment",
    "RoutedVariant", "RouterArgs", "backend_name", "haproxy_config", "resolve_router", "router_name",
]
