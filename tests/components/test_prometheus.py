"""Prometheus: generated scrape config, least RBAC, alert rules on exported metrics, optional parts."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from omgml.components.prometheus import Prometheus, PrometheusArgs, ScrapeTarget
from omgml.components.prometheus.alertmanager import alertmanager_config
from omgml.components.prometheus.dashboards import dashboard_metrics, serving_dashboard
from omgml.components.prometheus.exporters import METRIC_EXPORTERS
from omgml.components.prometheus.model import RETENTION_DAYS, ResolvedTarget, resolve_prometheus
from omgml.components.prometheus.promql import expr_metric_names, regex_literal
from omgml.components.prometheus.rules import alert_rules, serving_alerts
from omgml.components.prometheus.server import prometheus_config
from omgml.spec.serving import AlertReceiverSpec
from omgml.synth.engine import SynthResult
from omgml.synth.manifests import MASK, manifests
from tests.components.manifest_checks import assert_component_sound, env_of
from tests.synth_helpers import find, one, pod_spec, synth

NS = "omgml-serving"
TRITON = ScrapeTarget("model-server-triton", NS, "demo-triton", "metrics", exporter="triton")


def prom_args(**kw: Any) -> PrometheusArgs:
    base: dict[str, Any] = dict(namespace=NS, instance="demo", targets=(TRITON,), pushgateway_clients=("evidently",))
    base.update(kw)
    return PrometheusArgs(**base)


def run(*components: tuple[str, PrometheusArgs]) -> SynthResult:
    def program() -> None:
        for name, a in components:
            Prometheus(name, a)
    return synth(program)


def render(a: PrometheusArgs | None = None) -> list[dict[str, Any]]:
    return manifests(run(("prom", a or prom_args())))


def config_of(items: list[dict[str, Any]], instance: str = "demo") -> dict[str, Any]:
    cm = one(items, "ConfigMap", f"{instance}-prometheus")
    return dict(yaml.safe_load(cm["data"]["prometheus.yml"]))


def rules_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text = one(items, "ConfigMap", "demo-prometheus-rules")["data"]["serving.yml"]
    return list(yaml.safe_load(text)["groups"][0]["rules"])


def jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {j["job_name"]: j for j in config["scrape_configs"]}


def kept_service_port(job: dict[str, Any]) -> tuple[str, str]:
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep"
    service, port = keep["regex"].split(";")
    return service.replace("\\", ""), port.replace("\\", "")


# --- scrape configuration --------------------------------------------------------------------
def test_each_target_is_one_job_on_its_service_port() -> None:
    items = render()
    js = jobs(config_of(items))
    job = js["model-server-triton"]
    assert job["kubernetes_sd_configs"] == [{"role": "endpointslice", "namespaces": {"names": [NS]}}]
    assert job["relabel_configs"][0]["source_labels"] == ["__meta_kubernetes_service_name",
                                                           "__meta_kubernetes_endpointslice_port_name"]
    assert kept_service_port(job) == ("demo-triton", "metrics")
    assert job["metrics_path"] == "/metrics"


def test_own_parts_are_scraped_through_their_real_services() -> None:
    items = render(prom_args(grafana=True))
    js = jobs(config_of(items))
    for job_name in ("pushgateway", "alertmanager", "grafana"):
        service, port = kept_service_port(js[job_name])
        svc = one(items, "Service", service)
        assert port in {p["name"] for p in svc["spec"]["ports"]}
    # what the Pushgateway relays keeps the pusher's labels (job, project)
    assert js["pushgateway"]["honor_labels"] is True


def test_nothing_that_is_not_deployed_is_scraped() -> None:
    items = render(prom_args(targets=(), pushgateway=False, alertmanager=False, grafana=False,
                             kubelet_metrics=False, pushgateway_clients=()))
    config = config_of(items)
    assert set(jobs(config)) == {"prometheus", "kubernetes-pods"}
    assert "alerting" not in config
    assert not find(items, "ClusterRole")


def test_annotation_job_skips_omgml_pods_which_have_explicit_jobs() -> None:
    job = jobs(config_of(render()))["kubernetes-pods"]
    drop = [r for r in job["relabel_configs"] if r.get("action") == "drop"]
    assert {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_part_of"],
            "regex": "omgml", "action": "drop"} in drop
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [NS]


def test_kubelet_jobs_use_the_token_and_keep_only_needed_cadvisor_metrics() -> None:
    js = jobs(config_of(render()))
    assert js["kubelet"]["scheme"] == "https"
    assert js["kubelet"]["authorization"]["credentials_file"].endswith("serviceaccount/token")
    keep = js["cadvisor"]["metric_relabel_configs"][0]["regex"].split("|")
    assert "container_start_time_seconds" in keep and all(m.startswith("container_") for m in keep)


def test_numeric_port_targets_match_the_port_number() -> None:
    r = resolve_prometheus(prom_args())
    t = ResolvedTarget("x", NS, "svc", 9100, "/metrics", "", False)
    job = jobs(prometheus_config(r, [t], []))["x"]
    assert job["relabel_configs"][0]["source_labels"][1] == "__meta_kubernetes_endpointslice_port"


def test_regex_literal_escapes_dots() -> None:
    assert regex_literal("a.b-c") == r"a\.b-c"


def test_alertmanager_address_points_at_its_service() -> None:
    items = render()
    target = config_of(items)["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    host, port = target.split(":")
    svc = one(items, "Service", host.split(".")[0])
    assert svc["metadata"]["namespace"] == host.split(".")[1] and int(port) == svc["spec"]["ports"][0]["port"]


def test_output_service_names_resolve_into_the_config() -> None:
    def program() -> None:
        Prometheus("prom", prom_args(targets=(ScrapeTarget("x", NS, pulumi.Output.from_input("late-svc"), "http"),)))
    js = jobs(config_of(manifests(synth(program))))
    assert kept_service_port(js["x"]) == ("late-svc", "http")


def test_bad_targets_are_rejected() -> None:
    with pytest.raises(ValueError, match="repeat"):
        resolve_prometheus(prom_args(targets=(TRITON, TRITON)))
    with pytest.raises(ValueError, match="own jobs"):
        resolve_prometheus(prom_args(targets=(ScrapeTarget("kubelet", NS, "s", "p"),)))
    with pytest.raises(ValueError, match="METRIC_EXPORTERS"):
        resolve_prometheus(prom_args(targets=(ScrapeTarget("x", NS, "s", "p", exporter="nginx"),)))


# --- RBAC ---------------------------------------------------------------------------------------
def test_discovery_rbac_is_namespaced_and_read_only() -> None:
    items = render(prom_args(targets=(TRITON, ScrapeTarget("other", "omgml-data", "svc", "http"))))
    roles = find(items, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["omgml-data", NS]
    for role in roles:
        for rule in role["rules"]:
            assert set(rule["verbs"]) == {"get", "list", "watch"}
            assert set(rule["resources"]) <= {"pods", "services", "endpointslices"}
    for rb in find(items, "RoleBinding"):
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "demo-prometheus", "namespace": NS}]
        assert rb["roleRef"]["kind"] == "Role"


def test_cluster_role_only_for_kubelet_metrics_and_only_nodes() -> None:
    items = render()
    cr = one(items, "ClusterRole")
    assert {(tuple(r["resources"]), tuple(r["verbs"])) for r in cr["rules"]} == {
        (("nodes",), ("get", "list", "watch")), (("nodes/metrics",), ("get",))}
    crb = one(items, "ClusterRoleBinding")
    assert crb["roleRef"]["name"] == cr["metadata"]["name"]
    assert not find(render(prom_args(kubelet_metrics=False)), "ClusterRole")


def test_only_prometheus_mounts_an_api_token() -> None:
    items = render(prom_args(grafana=True))
    for dep in find(items, "Deployment"):
        automount = pod_spec(dep)["automountServiceAccountToken"]
        assert automount is (dep["metadata"]["name"] == "demo-prometheus"), dep["metadata"]["name"]


# --- storage and workloads ------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["laptop", "small", "production"])
def test_retention_and_volume_per_profile(profile: str) -> None:
    result = run(("prom", prom_args(profile=profile, storage_gib=20)))
    items = manifests(result)
    args_ = pod_spec(one(items, "Deployment", "demo-prometheus"))["containers"][0]["args"]
    assert f"--storage.tsdb.retention.time={RETENTION_DAYS[profile]}d" in args_  # type: ignore[index]
    assert "--storage.tsdb.retention.size=16GB" in args_
    assert one(items, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] == "20Gi"
    pvc = next(r for r in result.resources if r.type == "kubernetes:core/v1:PersistentVolumeClaim")
    assert pvc.retain_on_delete is (profile != "laptop") and pvc.protect is (profile != "laptop")


def test_all_parts_render_valid_and_sound() -> None:
    receivers = (AlertReceiverSpec(name="ops", kind="slack", url="https://hooks.slack.com/services/T0/B0/XYZ"),
                 AlertReceiverSpec(name="pager", kind="pagerduty", secret_name="pd-key", secret_key="key"),
                 AlertReceiverSpec(name="hook", kind="webhook", url="https://example.com/alert"))

    def program() -> None:
        # The pre-existing PagerDuty Secret the user created.
        k8s.core.v1.Secret("pd", metadata={"name": "pd-key", "namespace": NS}, string_data={"key": "x"})
        Prometheus("prom", prom_args(grafana=True, receivers=receivers))
    items = manifests(synth(program))
    # Only Prometheus reads the Kubernetes API (service discovery of the scrape targets).
    assert_component_sound(items, api_token={"demo-prometheus"})
    for dep in find(items, "Deployment"):
        for c in pod_spec(dep)["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
    # receiver URLs only in the (masked) Secret, never in a ConfigMap
    text = json.dumps([m for m in items if m["kind"] != "Secret"])
    assert "hooks.slack.com" not in text and "example.com/alert" not in text
    assert one(items, "Secret", "demo-alertmanager-receivers")["stringData"] == {"hook": MASK, "ops": MASK}
    am = yaml.safe_load(one(items, "ConfigMap", "demo-alertmanager")["data"]["alertmanager.yml"])
    files = {r["name"]: r for r in am["receivers"]}
    assert files["pager"]["pagerduty_configs"][0]["routing_key_file"] == "/etc/alertmanager/external/pager/key"
    assert files["ops"]["slack_configs"][0]["api_url_file"] == "/etc/alertmanager/receivers/ops"
    mounts = pod_spec(one(items, "Deployment", "demo-alertmanager"))["containers"][0]["volumeMounts"]
    assert {"name": "ext-pager", "mountPath": "/etc/alertmanager/external/pager", "readOnly": True} in mounts
    # receivers are outside the cluster: Alertmanager (only) may leave it on 443
    egress = one(items, "NetworkPolicy", "demo-alertmanager-egress")
    assert egress["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "alertmanager"


def test_alertmanager_routes_every_alert_to_every_receiver() -> None:
    recs = [AlertReceiverSpec(name="a", kind="webhook", url="https://x"),
            AlertReceiverSpec(name="b", kind="slack", secret_name="slack-url")]
    config = alertmanager_config(recs)
    assert [r["receiver"] for r in config["route"]["routes"]] == ["a", "b"]
    assert all(r["continue"] for r in config["route"]["routes"])
    assert "url" not in json.dumps(config["receivers"]).replace("url_file", "")


def test_receiver_spec_keeps_pagerduty_keys_out_of_the_spec() -> None:
    with pytest.raises(ValueError, match="secret_name"):
        AlertReceiverSpec(name="p", kind="pagerduty", url="https://events.pagerduty.com")
    with pytest.raises(ValueError, match="exactly one"):
        AlertReceiverSpec(name="s", kind="slack")


def test_receivers_need_alertmanager() -> None:
    with pytest.raises(ValueError, match="alertmanager"):
        resolve_prometheus(prom_args(alertmanager=False, receivers=(
            AlertReceiverSpec(name="a", kind="webhook", url="https://x"),)))


def test_grafana_is_provisioned_with_prometheus_and_a_generated_password() -> None:
    items = render(prom_args(grafana=True, dashboard_server="triton"))
    dep = one(items, "Deployment", "demo-grafana")
    env = env_of(pod_spec(dep)["containers"][0])
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == {"secretKeyRef": {"name": "demo-grafana-admin",
                                                                  "key": "GF_SECURITY_ADMIN_PASSWORD"}}
    assert one(items, "Secret", "demo-grafana-admin")["stringData"] == {"GF_SECURITY_ADMIN_PASSWORD": MASK}
    data = one(items, "ConfigMap", "demo-grafana-provisioning")["data"]
    ds = yaml.safe_load(data["datasource.yaml"])["datasources"][0]
    assert ds["url"] == "http://demo-prometheus.omgml-serving.svc:9090"
    dashboard = json.loads(data["serving.json"])
    assert any("nv_inference" in p["targets"][0]["expr"] for p in dashboard["panels"])


# --- alert rules ------------------------------------------------------------------------------
def test_rules_parse_and_read_only_metrics_of_deployed_exporters() -> None:
    items = render()
    rules = rules_of(items)
    names = {r["alert"] for r in rules}
    assert {"TritonQueueTimeHigh", "TritonInferenceFailures", "DataDriftDetected",
            "ContainerRestartingOften", "PersistentVolumeNearlyFull", "ScrapeTargetDown"} <= names
    assert not any(n.startswith(("TorchServe", "TfServing")) for n in names)
    deployed = {"triton", "evidently", "kubelet", "cadvisor", "prometheus"}
    for rule in rules:
        metrics = expr_metric_names(rule["expr"])
        assert metrics, rule["alert"]
        for m in metrics:
            assert METRIC_EXPORTERS[m] in deployed, (rule["alert"], m)
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_rules_follow_what_is_deployed() -> None:
    without = {r["alert"] for r in rules_of(render(prom_args(kubelet_metrics=False, pushgateway_clients=())))}
    assert "PersistentVolumeNearlyFull" not in without and "ContainerRestartingOften" not in without
    assert "DataDriftDetected" not in without
    # drift numbers need the Pushgateway to reach Prometheus at all
    no_pgw = {r["alert"] for r in rules_of(render(prom_args(pushgateway=False)))}
    assert "DataDriftDetected" not in no_pgw


@pytest.mark.parametrize("server", ["triton", "torchserve", "tf-serving"])
def test_every_server_has_failure_rules(server: str) -> None:
    rules = alert_rules({server, "prometheus"}, [NS])["groups"][0]["rules"]
    assert any("Failures" in r["alert"] for r in rules)
    assert all(METRIC_EXPORTERS[m] in {server, "prometheus"}
               for r in rules for m in expr_metric_names(r["expr"]))


def test_every_rule_metric_is_in_the_exporter_table() -> None:
    for rule in serving_alerts("ns"):
        assert expr_metric_names(rule.expr) <= set(METRIC_EXPORTERS), rule.name


def test_expr_metric_names_skips_functions_labels_and_keywords() -> None:
    expr = ('sum by (namespace, pod) (rate(:tensorflow:serving:request_count{status!="OK", x="a b"}[5m])) '
            "/ ignoring(le) histogram_quantile(0.9, foo_bucket) > bool 0.5 and up == 0")
    assert expr_metric_names(expr) == {":tensorflow:serving:request_count", "foo_bucket", "up"}


def test_dashboard_reads_only_exported_metrics() -> None:
    for server in ("triton", "torchserve", "tf-serving"):
        exporters = {server, "evidently", "cadvisor", "prometheus"}
        dashboard = serving_dashboard(server, exporters)
        assert dashboard["panels"]
        assert all(METRIC_EXPORTERS[m] in exporters for m in dashboard_metrics(dashboard))
    assert not serving_dashboard("triton", {"prometheus"})["panels"][0]["title"].startswith("Inference")


def test_container_restart_alert_says_what_its_expression_counts() -> None:
    import re

    [rule] = [r for r in rules_of(render(prom_args())) if r["alert"] == "ContainerRestartingOften"]
    # The expression counts container starts in a window and compares them with a threshold …
    m = re.search(r"count_over_time\(container_start_time_seconds\{[^}]*\}\[(\d+)m\]\)\) > (\d+)$", rule["expr"])
    assert m, rule["expr"]
    window, threshold = m.groups()
    # … and the text a person reads names the same count, unit and window.
    assert f"started more than {threshold} times in {window} minutes" in rule["annotations"]["summary"]
    assert f"in the last {window} minutes" in rule["annotations"]["description"]
