"""Serving and observability phase: model server, Prometheus, Evidently.

The serving namespace itself belongs to the foundation (it copies the object-store and Redis
credentials into it, and owns its NetworkPolicies, including egress to the data namespace);
this phase deploys into it. Everything from the foundation arrives as stack outputs
(`args.foundation`, a blueprints/contracts.FoundationOutputs).

What Prometheus scrapes comes from `scrape_targets(spec)`: exactly the components of this spec
that serve Prometheus metrics. The foundation's components serve none today, for these reasons
(FOUNDATION_METRICS); when one of them starts exporting, its entry there is the one place to
change:
- Kafka: the official apache/kafka image has no Prometheus exporter (JMX only).
- MLflow: `/metrics` exists only with `mlflow server --expose-prometheus`, which the MLflow
  component does not pass.
- Feast: the feature server serves metrics only with `feast serve --metrics`, not used.
- Redis: no redis_exporter is deployed.
- SeaweedFS: no metrics port is configured.
Model pods of other workloads annotated `prometheus.io/scrape: "true"` in the serving namespace
are still discovered by Prometheus' annotation job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from omgml import k8s as kube
from omgml.backup import backup_alert_rules, dumped_stores
from omgml.blueprints.contracts import FoundationOutputs, TrainingOutputs
from omgml.blueprints.gpu import EksNodeTarget, gpu_compute, needs_dcgm_exporter
from omgml.blueprints.phase import Phase
from omgml.blueprints.s3 import role_arn, uses_managed_s3
from omgml.components import evidently as evidently_component
from omgml.components import modelserver
from omgml.components import spark as spark_component
from omgml.components.contracts import StoreRef
from omgml.components.dcgm_exporter import PORT_NAME as DCGM_PORT_NAME
from omgml.components.dcgm_exporter import exporter_name
from omgml.components.evidently import Evidently, EvidentlyArgs
from omgml.components.modelserver import (
    ModelServer,
    ModelServerArgs,
    ModelVariant,
    metrics_endpoint,
    model_server_for,
    server_name,
    variant_server_name,
)
from omgml.components.prometheus import Prometheus, PrometheusArgs, ScrapeTarget
from omgml.components.prometheus.adapter import PrometheusAdapter, PrometheusAdapterArgs
from omgml.components.router import ModelRouter, RoutedExperiment, RoutedVariant, RouterArgs, router_name
from omgml.components.serving_route import ModelServerRoute, ModelServerRouteArgs
from omgml.components.spark import SparkBatchScoring, SparkBatchScoringArgs
from omgml.labels import standard_labels
from omgml.naming import k8s_name
from omgml.spec import GpuPoolSpec, PlatformSpec

TYPE_TOKEN = "omgml:blueprints:Serving"
# MSK's IAM auth as Kafka client settings (components/aws/msk.py keeps the same values; plain
# strings here so local renders never import the AWS SDK).
MSK_SECURITY_PROTOCOL = "SASL_SSL"
MSK_SASL_MECHANISM = "OAUTHBEARER"
# Triton on aws scales on its queue: keep the average wait per request under 20 ms (well
# inside the alert's 100 ms, and a fraction of a real-time scoring budget).
QUEUE_TARGET_US = 20_000


def scales_on_queue(spec: PlatformSpec) -> bool:
    """Triton on aws with Prometheus: prometheus-adapter serves its queue time to the HPA
    (metrics-server, an EKS add-on, keeps serving CPU for everything else)."""
    s = spec.phases.serving
    return spec.target == "aws" and s.server.enabled and s.server.kind == "triton" and s.prometheus.enabled

# Foundation component → (serves Prometheus metrics?, why / how). Only entries marked True
# become scrape targets.
FOUNDATION_METRICS: dict[str, tuple[bool, str]] = {
    "kafka": (False, "apache/kafka has no Prometheus exporter (JMX only)"),
    "mlflow": (False, "needs `mlflow server --expose-prometheus`, not passed by the MLflow component"),
    "feast": (False, "needs `feast serve --metrics`, not passed by the Feast component"),
    "redis": (False, "no redis_exporter is deployed"),
    "object_store": (False, "SeaweedFS runs without a metrics port"),
}


@dataclass(frozen=True)
class ServingArgs:
    spec: PlatformSpec
    foundation: FoundationOutputs
    training: TrainingOutputs | None


def serving_gpu_pool(spec: PlatformSpec) -> GpuPoolSpec | None:
    """The pool the model server lands on: the named one, else the first inference pool, else
    the first pool; None when the server runs on CPU nodes."""
    server = spec.phases.serving.server
    if not server.gpu:
        return None
    pools = spec.all_gpu_pools()
    if server.gpu_pool is not None:
        named = [p for p in pools if p.name == server.gpu_pool]
        if not named:
            raise ValueError(f"phases.serving.server.gpu_pool: no pool named {server.gpu_pool!r}; "
                             f"choose one of {[p.name for p in pools]}")
        return named[0]
    inference = [p for p in pools if p.purpose == "inference"]
    return (inference or pools)[0] if pools else None


def scrape_targets(spec: PlatformSpec) -> list[ScrapeTarget]:
    """One target per deployed component that serves Prometheus metrics (Prometheus adds its
    own Pushgateway, Alertmanager and Grafana)."""
    s = spec.phases.serving
    targets: list[ScrapeTarget] = []
    pools = spec.all_gpu_pools()
    if needs_dcgm_exporter(spec, pools):
        # GPU metrics from the exporter next to the device plugin (blueprints/gpu.py).
        targets.append(ScrapeTarget(job="dcgm-exporter", namespace=spec.phases.training.device_plugin_namespace,
                                    service=exporter_name(spec.name), port=DCGM_PORT_NAME, exporter="dcgm"))
    if s.server.enabled:
        ep = metrics_endpoint(s.server.kind)
        targets.append(ScrapeTarget(job=f"model-server-{s.server.kind}", namespace=s.namespace,
                                    service=server_name(spec.name, s.server.kind), port=ep.port_name,
                                    path=ep.path, exporter=s.server.kind))
    if s.server.enabled and s.experiments:
        targets.append(ScrapeTarget(job="model-router", namespace=s.namespace, service=router_name(spec.name),
                                    port="metrics", path="/metrics", exporter="haproxy"))
    return targets


def model_env_keys(spec: PlatformSpec) -> list[str]:
    """Keys of the ConfigMap model containers read with envFrom (values come from the foundation)."""
    f = spec.phases.foundation
    keys = []
    if f.feast.enabled:
        keys.append("FEAST_FEATURE_SERVER_URL")
    if f.redis.enabled:
        keys += ["REDIS_HOST", "REDIS_PORT", "REDIS_TLS"]
    if f.mlflow.enabled:
        keys.append("MLFLOW_TRACKING_URI")
    if spec.logs_inferences():
        keys += ["KAFKA_BOOTSTRAP_SERVERS", "INFERENCE_LOG_TOPIC"]
        if spec.target == "aws" and f.kafka.managed:
            # MSK admits IAM identities only (TLS + SASL on 9098); a client signs with the
            # pod's IRSA credentials (aws-msk-iam-sasl-signer-python, aws-msk-iam-auth).
            keys += ["KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM"]
    return keys


def _model_env_values(spec: PlatformSpec, fnd: FoundationOutputs) -> dict[str, pulumi.Input[str]]:
    source: dict[str, pulumi.Input[str]] = {
        "FEAST_FEATURE_SERVER_URL": fnd.feast_endpoint if spec.phases.foundation.feast.enabled else "",
        "REDIS_HOST": fnd.redis_host if spec.phases.foundation.redis.enabled else "",
        "REDIS_PORT": fnd.redis_port if spec.phases.foundation.redis.enabled else "",
        # ElastiCache requires TLS (and checks the host name above); the in-cluster Redis is plain.
        "REDIS_TLS": fnd.redis_tls if spec.phases.foundation.redis.enabled else "",
        "MLFLOW_TRACKING_URI": fnd.mlflow_tracking_uri if spec.phases.foundation.mlflow.enabled else "",
        "KAFKA_BOOTSTRAP_SERVERS": fnd.kafka_bootstrap if spec.phases.foundation.kafka.enabled else "",
        "INFERENCE_LOG_TOPIC": spec.phases.serving.inference_log_topic,
        "KAFKA_SECURITY_PROTOCOL": MSK_SECURITY_PROTOCOL,
        "KAFKA_SASL_MECHANISM": MSK_SASL_MECHANISM,
    }
    return {k: source[k] for k in model_env_keys(spec)}


def route_args(spec: PlatformSpec, fnd: FoundationOutputs, server: ModelServer) -> ModelServerRouteArgs:
    """The model server's way in from outside the cluster: an ALB Ingress admitting the VPC
    (aws.ingress decides the rest), or the kind NodePort admitting the nodes' private range."""
    s = spec.phases.serving
    route = ModelServerRouteArgs(namespace=s.namespace, instance=spec.name, target=spec.target,
                                 service_name=server.service_name, selector=server.selector,
                                 http_port=server.http_port, health_path=server.health_path,
                                 sources=list(kube.PRIVATE_RANGES))
    if spec.target != "aws":
        return route
    eks = fnd.require_eks()
    return replace(route, sources=pulumi.Output.from_input(eks.vpc_cidr).apply(lambda c: [str(c)]),
                   ingress_class=eks.ingress_class, https=spec.aws.ingress.certificate_arn is not None)


class Serving(Phase[ServingArgs], type_token=TYPE_TOKEN):
    def build(self, name: str, args: ServingArgs, child: pulumi.ResourceOptions) -> dict[str, Any]:
        spec = args.spec
        s = spec.phases.serving
        exports: dict[str, Any] = {"serving_enabled": s.enabled}
        if not s.enabled:
            return exports
        fnd = args.foundation
        ns = s.namespace
        instance = spec.name
        store = StoreRef(endpoint_url=fnd.object_store_endpoint, region=fnd.object_store_region,
                         secret_name=fnd.object_store_secret)
        # AWS S3: each workload's own IRSA role from the foundation (blueprints/s3.py), no keys.
        s3_roles = uses_managed_s3(spec)
        exports["serving_namespace"] = ns
        if not spec.phases.training.enabled and s.gpu_pools:
            # No training stack will provision these pools: this phase does (blueprints/gpu.py).
            eks = EksNodeTarget.from_foundation(fnd) if spec.target == "aws" else None
            plugin_ns, node_groups = gpu_compute(name, spec, s.gpu_pools, eks, self)
            exports["gpu_node_groups"] = node_groups
            exports["device_plugin_namespace"] = plugin_ns

        if s.server.enabled:
            env_keys = model_env_keys(spec)
            env_cm: str | None = None
            if env_keys:
                env_cm = k8s_name(instance, "model-env")
                k8s.core.v1.ConfigMap(
                    f"{name}-model-env",
                    metadata={"name": env_cm, "namespace": ns,
                              "labels": standard_labels("model-env", instance, "config")},
                    data=_model_env_values(spec, fnd), opts=child)
            extra_env: list[kube.JsonDict] = []
            if spec.phases.foundation.redis.enabled:
                # The Redis password stays in its Secret (copied here by the foundation).
                extra_env.append(kube.secret_env("REDIS_PASSWORD", fnd.redis_secret, "password"))
            pool = serving_gpu_pool(spec)
            server_cls = model_server_for(s.server.kind)
            server = server_cls(f"{name}-model-server", ModelServerArgs(
                namespace=ns, instance=instance, kind=s.server.kind,
                store=store, bucket=fnd.models_bucket,
                replicas=s.server.replicas, max_replicas=s.server.max_replicas,
                model_control_mode=s.server.model_control_mode, profile=spec.profile,
                repository_prefix=s.server.repository_prefix, models=tuple(s.server.models),
                gpu=s.server.gpu, gpu_pool=pool, gpu_available=spec.gpu_available(),
                features_configmap=env_cm, extra_env=tuple(extra_env),
                irsa_role_arn=role_arn(fnd, modelserver.s3_consumers(
                    ns, instance, s.server.kind, "models")) if s3_roles else None,
                queue_target_us=QUEUE_TARGET_US if scales_on_queue(spec) else None,
            ), child)
            exports["model_server_service"] = server.service_name
            exports["model_server_url"] = f"http://{server.deployment_name}.{ns}.svc:{server.http_port}"
            route = ModelServerRoute(f"{name}-model-server-route", route_args(spec, fnd, server), child)
            exports["model_server_endpoint"] = route.endpoint
            if s.experiments:
                variant_args = ModelServerArgs(
                    namespace=ns, instance=instance, kind=s.server.kind, store=store, bucket=fnd.models_bucket,
                    replicas=s.server.replicas, max_replicas=s.server.max_replicas, profile=spec.profile,
                    repository_prefix=s.server.repository_prefix, gpu=s.server.gpu, gpu_pool=pool,
                    gpu_available=spec.gpu_available(), features_configmap=env_cm, extra_env=tuple(extra_env))
                router = self._experiments(name, args, server_cls, variant_args, server.http_port, child)
                exports["model_router_url"] = router.url

        prometheus = None
        if s.prometheus.enabled:
            p = s.prometheus
            prometheus = Prometheus(f"{name}-prometheus", PrometheusArgs(
                namespace=ns, instance=instance, profile=spec.profile, targets=tuple(scrape_targets(spec)),
                retention_days=p.retention_days, storage_gib=p.storage_gib,
                scrape_interval_seconds=p.scrape_interval_seconds, kubelet_metrics=p.kubelet_metrics,
                alertmanager=p.alertmanager, receivers=tuple(p.receivers), pushgateway=p.pushgateway,
                # Batch jobs that push: the drift CronJob and backups here, the data-quality runs of the foundation.
                pushgateway_clients=(*(("evidently",) if s.evidently.enabled else ()),
                                     *(("backup",) if dumped_stores(spec) else ()),
                                     *(("great_expectations",) if spec.phases.foundation.data_quality.enabled else ())),
                extra_rules=tuple(backup_alert_rules(spec)),
                grafana=p.grafana, dashboard_server=s.server.kind if s.server.enabled else None,
                credentials=spec.credentials,
            ), child)
            exports["prometheus_url"] = prometheus.url
            if scales_on_queue(spec):
                PrometheusAdapter(f"{name}-prometheus-adapter", PrometheusAdapterArgs(
                    namespace=ns, instance=instance, prometheus_url=prometheus.url + "/",
                    api_server_cidrs=(str(spec.aws.vpc_cidr),), profile=spec.profile,
                ), pulumi.ResourceOptions(parent=self, depends_on=[prometheus]))
            if prometheus.grafana_secret_name:
                exports["grafana_admin_secret"] = prometheus.grafana_secret_name

        if s.evidently.enabled:
            e = s.evidently
            evidently = Evidently(f"{name}-evidently", EvidentlyArgs(
                namespace=ns, instance=instance, reference_path=e.reference_path, current_path=e.current_path,
                store=store, default_bucket=fnd.features_bucket,
                pushgateway_url=prometheus.pushgateway_url if prometheus is not None else None,
                schedule=e.schedule, profile=spec.profile, storage_gib=e.storage_gib, project=e.project,
                drift_share=e.drift_share, dataset_format=e.dataset_format,
                # Only the consumer's name matters here; its buckets were settled by the foundation.
                irsa_role_arn=role_arn(fnd, evidently_component.s3_consumers(ns, instance, ()))
                if s3_roles else None,
                credentials=spec.credentials,
            ), child)
            exports["evidently_url"] = evidently.ui_url

        if s.batch_scoring.enabled:
            b = s.batch_scoring
            t = spec.phases.training
            kfp = t.enabled and t.kubeflow.enabled
            scoring = SparkBatchScoring(f"{name}-batch-scoring", SparkBatchScoringArgs(
                namespace=ns, instance=instance, schedule=b.schedule, model=b.model, alias=b.alias,
                features_path=b.features_path, predictions_path=b.predictions_path, store=store,
                mlflow_tracking_uri=fnd.mlflow_tracking_uri, default_bucket=fnd.features_bucket,
                features_format=b.features_format, keep_columns=tuple(b.keep_columns),
                python_packages=tuple(b.python_packages), input_gb=b.input_gb, executors=b.executors,
                profile=spec.profile, pipelines_namespace=t.kubeflow.user_namespace if kfp else None,
                irsa_role_arn=role_arn(fnd, spark_component.s3_consumers(ns, instance, ()))
                if s3_roles else None,
            ), child)
            exports["batch_scoring_cronjob"] = scoring.cronjob_name

        return exports

    def _experiments(self, name: str, args: ServingArgs, server_cls: type[modelserver.ModelServer],
                     base: ModelServerArgs, http_port: int, child: pulumi.ResourceOptions) -> ModelRouter:
        """One model server per variant (holding that version only), then the router in front.
        On AWS S3 each variant's ServiceAccount has its own IRSA role (blueprints/s3.py)."""
        spec = args.spec
        s = spec.phases.serving
        ns, kind = s.namespace, s.server.kind
        variants: list[modelserver.ModelServer] = []
        routed: list[RoutedExperiment] = []
        for e in s.experiments:
            hosts: list[RoutedVariant] = []
            for v in e.variants:
                variant = ModelVariant(e.model, v.version)
                irsa = role_arn(args.foundation, (modelserver.variant_s3_consumer(
                    ns, spec.name, kind, variant, "models"),)) if uses_managed_s3(spec) else None
                variants.append(server_cls(f"{name}-variant-{e.model}-v{v.version}", replace(
                    base, variant=variant, irsa_role_arn=irsa), child))
                host = f"{variant_server_name(spec.name, kind, e.model, v.version)}.{ns}.svc.cluster.local"
                hosts.append(RoutedVariant(v.version, v.weight, host, http_port))
            routed.append(RoutedExperiment(e.model, tuple(hosts), e.sticky_header))
        assert kind != "torchserve"  # platform_problems refuses experiments on TorchServe
        return ModelRouter(f"{name}-model-router", RouterArgs(
            namespace=ns, instance=spec.name, kind=kind,
            default_host=f"{server_name(spec.name, kind)}.{ns}.svc.cluster.local", default_port=http_port,
            experiments=tuple(routed), profile=spec.profile, replicas=s.server.replicas,
        ), pulumi.ResourceOptions(parent=self, depends_on=variants))
