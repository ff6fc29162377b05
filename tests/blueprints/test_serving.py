"""The serving phase, rendered through the real program with the earlier phases' outputs."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from omgml.blueprints.serving import FOUNDATION_METRICS, model_env_keys, scrape_targets, serving_gpu_pool
from omgml.capacity import total_requests
from omgml.components.gpupool import GPU_RESOURCE, gpu_node_selector, gpu_tolerations
from omgml.components.modelserver import metrics_endpoint, server_name
from omgml.components.prometheus.exporters import METRIC_EXPORTERS
from omgml.components.prometheus.promql import expr_metric_names
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.components.manifest_checks import (
    assert_credentials_by_secret_ref,
    assert_no_generated_values,
    assert_selectors_match_pod_labels,
    assert_services_reach_container_ports,
    env_of,
)
from tests.synth_helpers import assert_valid, find, one, pod_spec

NS = "omgml-serving"
POOL = {"name": "infer", "purpose": "inference", "min_size": 1, "desired_size": 1}
Manifests = list[dict[str, Any]]


def spec(**serving: Any) -> PlatformSpec:
    data: dict[str, Any] = {"name": "demo"}
    target = serving.pop("target", None)
    local = serving.pop("local", None)
    if target:
        data["target"] = target
    if local:
        data["local"] = local
    data["phases"] = {"serving": serving} if serving else {}
    return spec_from_dict(data)


@cache
def _render(key: str) -> PlatformRender:
    return render_platform(PlatformSpec.model_validate_json(key))


def render(s: PlatformSpec) -> PlatformRender:
    return _render(s.model_dump_json())


def serving(s: PlatformSpec) -> Manifests:
    return next(p.manifests for p in render(s).phases if p.phase == "serving")


def everything(s: PlatformSpec) -> Manifests:
    return render(s).all_manifests()


def prometheus_jobs(items: Manifests) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(one(items, "ConfigMap", "demo-prometheus")["data"]["prometheus.yml"])
    return {j["job_name"]: j for j in config["scrape_configs"]}


def service_port_jobs(items: Manifests) -> dict[str, tuple[str, str, str]]:
    """job → (namespace, service, port name) for the jobs that scrape one Service port."""
    out = {}
    for name, job in prometheus_jobs(items).items():
        sd = job.get("kubernetes_sd_configs", [{}])[0]
        if sd.get("role") != "endpointslice":
            continue
        service, port = job["relabel_configs"][0]["regex"].split(";")
        out[name] = (sd["namespaces"]["names"][0], service.replace("\\", ""), port.replace("\\", ""))
    return out


DEFAULT = spec()


def test_default_serving_phase_validates_strictly() -> None:
    items = serving(DEFAULT)
    assert_valid(items)
    assert_selectors_match_pod_labels(items)
    assert_services_reach_container_ports(items)
    assert_no_generated_values(items)


def test_serving_deploys_into_the_namespace_the_foundation_owns() -> None:
    items = serving(DEFAULT)
    assert not find(items, "Namespace")
    assert {m["metadata"].get("namespace") for m in items} <= {NS, None}
    ns = [m for m in everything(DEFAULT) if m["kind"] == "Namespace" and m["metadata"]["name"] == NS]
    assert len(ns) == 1 and ns[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_secrets_referenced_by_serving_pods_exist_in_the_serving_namespace() -> None:
    # the object-store and Redis credentials are copied here by the foundation
    all_items = everything(DEFAULT)
    serving_workloads = [m for m in serving(DEFAULT) if m["kind"] in ("Deployment", "CronJob")]
    secrets = [m for m in all_items if m["kind"] == "Secret"]
    assert_credentials_by_secret_ref(serving_workloads + secrets)


def test_scrape_config_targets_every_deployed_metrics_port_and_nothing_else() -> None:
    all_items = everything(DEFAULT)
    jobs = service_port_jobs(serving(DEFAULT))
    assert set(jobs) == {"model-server-triton", "pushgateway", "alertmanager"}
    for job, (ns, service, port) in jobs.items():
        svcs = [m for m in all_items if m["kind"] == "Service" and m["metadata"]["name"] == service
                and m["metadata"]["namespace"] == ns]
        assert len(svcs) == 1, f"{job}: no Service {ns}/{service}"
        svc_ports = {p["name"]: p for p in svcs[0]["spec"]["ports"]}
        assert port in svc_ports, f"{job}: Service {service} has no port {port}"
    # the model server's job reads its real metrics port and path
    ep = metrics_endpoint("triton")
    triton = one(serving(DEFAULT), "Service", server_name("demo", "triton"))
    assert {p["name"]: p["port"] for p in triton["spec"]["ports"]}[ep.port_name] == ep.port
    assert prometheus_jobs(serving(DEFAULT))["model-server-triton"]["metrics_path"] == ep.path


def test_foundation_components_without_metrics_are_not_scraped() -> None:
    jobs = set(prometheus_jobs(serving(DEFAULT)))
    assert not any(component in job for component in FOUNDATION_METRICS for job in jobs)
    assert not any(exposed for exposed, _ in FOUNDATION_METRICS.values())


def test_disabled_parts_are_not_scraped() -> None:
    s = spec(server={"enabled": False}, evidently={"enabled": False},
             prometheus={"pushgateway": False, "alertmanager": False})
    items = serving(s)
    assert service_port_jobs(items) == {}
    assert not find(items, "Deployment", "demo-pushgateway") and not find(items, "CronJob")
    rules = yaml.safe_load(one(items, "ConfigMap", "demo-prometheus-rules")["data"]["serving.yml"])
    assert not [r for r in rules["groups"][0]["rules"] if r["alert"].startswith(("Triton", "DataDrift"))]


@pytest.mark.parametrize("kind", ["triton", "torchserve", "tf-serving"])
def test_each_server_kind_renders_and_is_scraped(kind: str) -> None:
    s = spec(server={"kind": kind})
    items = serving(s)
    assert_valid(items)
    dep = one(items, "Deployment", server_name("demo", kind))  # type: ignore[arg-type]
    hpa = one(items, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert scrape_targets(s)[0].exporter == kind
    assert f"model-server-{kind}" in service_port_jobs(items)


def test_model_server_reads_the_models_bucket_with_the_store_credentials() -> None:
    items = serving(DEFAULT)
    c = pod_spec(one(items, "Deployment", "demo-triton"))["containers"][0]
    bucket = next(m for m in everything(DEFAULT) if m["kind"] == "Job" and "buckets" in m["metadata"]["name"])
    created = env_of(pod_spec(bucket)["containers"][0])["BUCKETS"].split()
    repo = next(a for a in c["command"] if a.startswith("--model-repository="))
    assert repo.endswith("/demo-models") and "demo-models" in created
    assert env_of(c)["AWS_ACCESS_KEY_ID"]["secretKeyRef"]["key"] == "AWS_ACCESS_KEY_ID"


def test_online_feature_settings_reach_the_model_containers() -> None:
    items = serving(DEFAULT)
    cm = one(items, "ConfigMap", "demo-model-env")
    assert set(cm["data"]) == set(model_env_keys(DEFAULT))
    assert cm["data"]["FEAST_FEATURE_SERVER_URL"].startswith("http://")
    assert cm["data"]["KAFKA_BOOTSTRAP_SERVERS"].endswith(":9092")
    assert cm["data"]["INFERENCE_LOG_TOPIC"] == "inference-logs"
    c = pod_spec(one(items, "Deployment", "demo-triton"))["containers"][0]
    assert c["envFrom"] == [{"configMapRef": {"name": "demo-model-env"}}]
    assert env_of(c)["REDIS_PASSWORD"]["secretKeyRef"]["key"] == "password"
    # no credential in the ConfigMap
    assert not any("password" in k.lower() for k in cm["data"])


def test_without_kafka_no_inference_logging_settings() -> None:
    s = spec_from_dict({"name": "demo", "phases": {"foundation": {"kafka": {"enabled": False}}}})
    assert "KAFKA_BOOTSTRAP_SERVERS" not in model_env_keys(s)
    assert "KAFKA_BOOTSTRAP_SERVERS" not in one(serving(s), "ConfigMap", "demo-model-env")["data"]


# --- GPU scheduling ----------------------------------------------------------------------------
def _server_pod(s: PlatformSpec) -> dict[str, Any]:
    return pod_spec(one(serving(s), "Deployment", "demo-triton"))


def test_gpu_on_aws_gets_limit_toleration_and_selector() -> None:
    s = spec(target="aws", server={"gpu": True}, gpu_pools=[POOL])
    pool = serving_gpu_pool(s)
    assert pool is not None and pool.name == "infer"
    ps = _server_pod(s)
    assert ps["containers"][0]["resources"]["limits"][GPU_RESOURCE] == "1"
    assert ps["tolerations"] == gpu_tolerations([pool])
    assert ps["nodeSelector"] == gpu_node_selector(pool)
    assert total_requests(serving(s))[2] == 1


def test_gpu_on_local_without_gpu_keeps_toleration_and_selector_only() -> None:
    s = spec(server={"gpu": True}, gpu_pools=[POOL])
    ps = _server_pod(s)
    assert GPU_RESOURCE not in ps["containers"][0]["resources"]["limits"]
    assert ps["tolerations"] and ps["nodeSelector"] == {"omgml.dev/pool": "infer"}


def test_gpu_on_local_with_a_real_gpu_gets_the_limit() -> None:
    s = spec(server={"gpu": True}, gpu_pools=[POOL], local={"gpu": "nvidia"})
    assert _server_pod(s)["containers"][0]["resources"]["limits"][GPU_RESOURCE] == "1"


def test_cpu_server_is_not_scheduled_on_gpu_nodes() -> None:
    ps = _server_pod(DEFAULT)
    assert "tolerations" not in ps and "nodeSelector" not in ps


def test_named_pool_wins_over_the_first_inference_pool() -> None:
    s = spec(server={"gpu": True, "gpu_pool": "b"},
             gpu_pools=[{**POOL, "name": "a"}, {**POOL, "name": "b", "purpose": "training", "min_size": 0,
                                               "desired_size": 0}])
    pool = serving_gpu_pool(s)
    assert pool is not None and pool.name == "b"


# --- Evidently and alerts ------------------------------------------------------------------------
def test_drift_cronjob_schedule_comes_from_the_spec_and_uses_the_write_secret() -> None:
    s = spec(evidently={"schedule": "30 2 * * *", "reference_path": "s3://refs/x/"})
    items = serving(s)
    cj = one(items, "CronJob")
    assert cj["spec"]["schedule"] == "30 2 * * *"
    env = env_of(pod_spec(cj)["containers"][0])
    secret = env["EVIDENTLY_SECRET"]["secretKeyRef"]["name"]
    assert one(items, "Secret", secret)["metadata"]["namespace"] == NS
    assert env["REFERENCE_PATH"] == "s3://refs/x/"
    assert env["CURRENT_PATH"] == "s3://demo-features/drift/current/"  # the features bucket by default
    assert env["PUSHGATEWAY_URL"] == "http://demo-pushgateway.omgml-serving.svc:9091"


def test_alert_expressions_name_metrics_of_deployed_components() -> None:
    items = serving(DEFAULT)
    rules = yaml.safe_load(one(items, "ConfigMap", "demo-prometheus-rules")["data"]["serving.yml"])
    rules = rules["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {"TritonQueueTimeHigh", "TritonInferenceFailures", "DataDriftDetected",
                                           "ContainerRestartingOften", "PersistentVolumeNearlyFull"}
    jobs = prometheus_jobs(items)
    # every exporter a rule relies on is something this render scrapes
    scraped = {"prometheus"}
    if "model-server-triton" in jobs:
        scraped.add("triton")
    if "pushgateway" in jobs and find(items, "CronJob"):
        scraped.add("evidently")
    if "kubelet" in jobs:
        scraped.add("kubelet")
    if "cadvisor" in jobs:
        scraped.add("cadvisor")
    for r in rules:
        for m in expr_metric_names(r["expr"]):
            assert METRIC_EXPORTERS[m] in scraped, (r["alert"], m)


def test_drift_job_pushes_the_metric_the_drift_alert_reads() -> None:
    from omgml.components.evidently.drift_job import metrics_body
    pushed = {line.split(" ", 1)[0] for line in metrics_body(2, 0.6, 0.5, 0).splitlines() if not line.startswith("#")}
    rules = yaml.safe_load(one(serving(DEFAULT), "ConfigMap", "demo-prometheus-rules")["data"]["serving.yml"])
    drift = next(r for r in rules["groups"][0]["rules"] if r["alert"] == "DataDriftDetected")
    assert expr_metric_names(drift["expr"]) <= pushed


# --- budget ----------------------------------------------------------------------------------
def test_laptop_requests_of_the_serving_phase_stay_modest() -> None:
    cpu, mem, gpu = total_requests(serving(DEFAULT))
    assert cpu <= 1000 and mem <= 2 * 2**30 and gpu == 0


def test_whole_laptop_platform_fits_the_budget() -> None:
    cpu = mem = 0
    for p in render(DEFAULT).phases:
        c, m, _ = total_requests(p.manifests)
        cpu, mem = cpu + c, mem + m
    assert cpu <= 4000 and mem <= 8 * 2**30, (cpu, mem / 2**30)


def test_disabled_serving_phase_renders_nothing() -> None:
    s = spec(enabled=False)
    assert serving(s) == []
    assert next(p for p in render(s).phases if p.phase == "serving").result.exports == {"serving_enabled": False}


@pytest.mark.parametrize("kind", ["triton", "torchserve", "tf-serving"])
def test_no_mount_point_lies_inside_another_volume(kind: str) -> None:
    """A mount point inside a ConfigMap/Secret volume cannot be created (read-only), so every
    container's mounts are siblings."""
    s = spec(server={"kind": kind}, prometheus={"grafana": True})
    for w in serving(s):
        if w["kind"] not in ("Deployment", "CronJob"):
            continue
        ps = pod_spec(w)
        for c in ps["containers"] + ps.get("initContainers", []):
            paths = [m["mountPath"].rstrip("/") for m in c.get("volumeMounts", [])]
            for a in paths:
                for b in paths:
                    assert a == b or not b.startswith(a + "/"), (w["metadata"]["name"], c["name"], a, b)


def test_serving_provisions_its_own_pools_when_training_is_off() -> None:
    """An inference pool must get GPU nodes even when no training stack will be deployed."""
    from omgml.spec import spec_from_dict
    from omgml.synth.render import render_platform

    spec = spec_from_dict({
        "name": "srv", "target": "aws", "profile": "small",
        "phases": {"training": {"enabled": False},
                   "serving": {"server": {"gpu": True},
                               "gpu_pools": [{"name": "infer", "purpose": "inference", "min_size": 1,
                                              "desired_size": 1}]}},
    })
    render = render_platform(spec)
    serving = next(p for p in render.phases if p.phase == "serving")
    # The pool's Karpenter NodePool (and its EC2NodeClass) come with the serving stack.
    [pool] = [m for m in serving.manifests if m["kind"] == "NodePool"]
    assert pool["spec"]["template"]["metadata"]["labels"]["omgml.dev/pool"] == "infer"
    assert [m["metadata"]["name"] for m in serving.manifests if m["kind"] == "EC2NodeClass"] == [pool["metadata"]["name"]]
    assert serving.result.exports["gpu_node_groups"] == ["infer"]
    assert any(m["kind"] == "DaemonSet" for m in serving.manifests)  # the device plugin
    assert not [r for r in render.phases[0].result.resources if r.type == "aws:eks/nodeGroup:NodeGroup"
                and "infer" in r.name]


def test_training_and_foundation_share_the_aws_keys() -> None:
    from omgml.blueprints.contracts import FOUNDATION_KEYS
    from omgml.components.contracts import AWS_FOUNDATION_KEYS

    assert set(AWS_FOUNDATION_KEYS) <= set(FOUNDATION_KEYS)


def test_locally_the_model_server_is_reachable_on_the_laptops_loopback_through_kind() -> None:
    from omgml.components.serving_route import route_name
    from omgml.kind import LOCAL_HOST_PORT, LOOPBACK, MODEL_SERVER_NODE_PORT, kind_config

    s = spec()
    items = serving(s)
    route = one(items, "Service", route_name("demo"))
    [port] = route["spec"]["ports"]
    assert route["spec"]["type"] == "NodePort" and port["nodePort"] == MODEL_SERVER_NODE_PORT
    # The route selects the model server's pods and names the port its container listens on.
    assert_services_reach_container_ports(items)
    server = next(d for d in find(items, "Deployment") if d["metadata"]["name"] == server_name("demo", "triton"))
    assert route["spec"]["selector"].items() <= server["spec"]["template"]["metadata"]["labels"].items()
    # kind forwards the laptop's loopback only (like an internal ALB: nobody else on the network).
    [mapping] = kind_config(s)["nodes"][0]["extraPortMappings"]
    assert mapping == {"containerPort": MODEL_SERVER_NODE_PORT, "hostPort": LOCAL_HOST_PORT, "protocol": "TCP",
                       "listenAddress": LOOPBACK}
    # The serving namespace admits the route on the server's HTTP port only.
    policy = one(items, "NetworkPolicy", route_name("demo"))
    assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": port["port"]}]
    assert route["spec"]["ports"][0]["port"] == next(
        p["containerPort"] for c in pod_spec(server)["containers"] for p in c.get("ports", []) if p["name"] == "http")
    exports = next(p.result.exports for p in render(s).phases if p.phase == "serving")
    assert exports["model_server_endpoint"] == f"http://127.0.0.1:{LOCAL_HOST_PORT}"


def test_without_a_model_server_there_is_no_route_and_no_port_mapping() -> None:
    from omgml.kind import kind_config

    s = spec(server={"enabled": False})
    assert not [m for m in serving(s) if m["metadata"]["name"].endswith("model-server-route")]
    assert "extraPortMappings" not in kind_config(s)["nodes"][0]


def test_the_alb_listens_on_https_and_redirects_http_when_a_certificate_is_given() -> None:
    from omgml.components.serving_route import ALB, ingress_annotations, node_port_service, route_ingress_policy

    plain, tls = ingress_annotations("/v2/health/ready", False), ingress_annotations("/v2/health/ready", True)
    assert plain[f"{ALB}listen-ports"] == '[{"HTTP":80}]' and f"{ALB}ssl-redirect" not in plain
    assert tls[f"{ALB}listen-ports"] == '[{"HTTP":80},{"HTTPS":443}]' and tls[f"{ALB}ssl-redirect"] == "443"
    assert tls[f"{ALB}target-type"] == "ip" and tls[f"{ALB}healthcheck-path"] == "/v2/health/ready"
    with pytest.raises(ValueError, match=re.escape("node_port=8000: use 30000 to 32767")):
        node_port_service({"app": "x"}, 8000, 8000)
    with pytest.raises(ValueError, match="sources is empty"):
        route_ingress_policy({"app": "x"}, 8000, [])
