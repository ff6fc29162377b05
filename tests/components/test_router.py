"""A/B tests: the spec's rules, the router's HAProxy config, and the rendered variants + router."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml

from omgml.components.modelserver import variant_server_name
from omgml.components.prometheus.exporters import METRIC_EXPORTERS
from omgml.components.prometheus.promql import expr_metric_names
from omgml.components.router import (
    HAPROXY_VERSION,
    IMAGE,
    RoutedExperiment,
    RoutedVariant,
    RouterArgs,
    backend_name,
    haproxy_config,
    resolve_router,
    weight_envs,
)
from omgml.errors import SpecError
from omgml.policy import check_manifests
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from tests.components.manifest_checks import (
    assert_selectors_match_pod_labels,
    assert_services_reach_container_ports,
)
from tests.synth_helpers import assert_valid, find, one, pod_spec

NS = "omgml-serving"
EXPERIMENT = {"model": "fraud", "variants": [{"version": 3, "weight": 90}, {"version": 4, "weight": 10}],
              "sticky_header": "X-User-Id"}


def spec_with(experiments: list[dict[str, Any]], **server: Any) -> PlatformSpec:
    return spec_from_dict({"name": "demo", "phases": {"serving": {"experiments": experiments,
                                                                   "server": server or {}}}})


def problems(experiments: list[dict[str, Any]], **server: Any) -> str:
    with pytest.raises(SpecError) as err:
        spec_with(experiments, **server)
    return str(err.value)


# --- the spec ----------------------------------------------------------------------------------
def test_weights_that_do_not_sum_to_100_are_refused_with_the_sum() -> None:
    msg = problems([{"model": "fraud", "variants": [{"version": 1, "weight": 90}, {"version": 2, "weight": 20}]}])
    assert "phases.serving.experiments[0]" in msg and "add up to 110 (90 + 20), not 100" in msg


def test_a_version_that_is_not_a_version_number_is_refused() -> None:
    msg = problems([{"model": "fraud", "variants": [{"version": "latest", "weight": 50},
                                                     {"version": 2, "weight": 50}]}])
    assert "experiments[0].variants[0].version" in msg and "'latest' is not a model version" in msg
    assert "experiments[0].variants[0].version" in problems(
        [{"model": "fraud", "variants": [{"version": 0, "weight": 50}, {"version": 2, "weight": 50}]}])


def test_one_version_in_two_variants_is_refused() -> None:
    msg = problems([{"model": "fraud", "variants": [{"version": 2, "weight": 50}, {"version": 2, "weight": 50}]}])
    assert "version(s) [2] appear in more than one variant" in msg


def test_a_model_the_server_does_not_serve_is_refused() -> None:
    msg = problems([EXPERIMENT], models=["churn"])
    assert "experiments[0].model: 'fraud' is not one of the models the server serves" in msg


def test_a_single_variant_a_bad_header_and_torchserve_are_refused() -> None:
    assert "experiments[0].variants" in problems([{"model": "m", "variants": [{"version": 1, "weight": 100}]}])
    assert "'X User' is not an HTTP header name" in problems([{**EXPERIMENT, "sticky_header": "X User"}])
    assert "TorchServe keeps a model's versions inside its .mar archives" in problems([EXPERIMENT], kind="torchserve")
    assert "server.enabled is false" in problems([EXPERIMENT], enabled=False)


# --- the router's configuration ------------------------------------------------------------------
def router_args(*experiments: RoutedExperiment, kind: Any = "triton") -> RouterArgs:
    return RouterArgs(namespace=NS, instance="demo", kind=kind, default_host="demo-triton.x.svc.cluster.local",
                      default_port=8000, experiments=experiments)


def variants(*pairs: tuple[int, int]) -> tuple[RoutedVariant, ...]:
    return tuple(RoutedVariant(v, w, f"v{v}.svc", 8000) for v, w in pairs)


def use_backend_lines(config: str) -> list[str]:
    return [line.strip() for line in config.splitlines() if line.strip().startswith("use_backend")]


def test_each_variant_answers_its_share_of_the_buckets_in_the_spec_order() -> None:
    r = resolve_router(router_args(RoutedExperiment("fraud", variants((3, 70), (4, 20), (5, 10)))))
    config = haproxy_config(r)
    assert {e["name"]: e["value"] for e in weight_envs(r)} == {
        "AB_WEIGHT_FRAUD_V3": "70", "AB_WEIGHT_FRAUD_V4": "20", "AB_WEIGHT_FRAUD_V5": "10"}
    # rest_i = bucket - w_1 - ... - w_(i-1); variant i answers when 0 <= rest_i < w_i
    assert 'set-var(txn.exp0_rest1) var(txn.exp0_bucket),sub("${AB_WEIGHT_FRAUD_V3}")' in config
    assert 'set-var(txn.exp0_rest2) var(txn.exp0_rest1),sub("${AB_WEIGHT_FRAUD_V4}")' in config
    lines = use_backend_lines(config)
    assert lines[0].startswith("use_backend ab_fraud_v3 if exp0 { var(txn.exp0_bucket) -m int ge 0 } "
                               '{ var(txn.exp0_bucket) -m int lt "${AB_WEIGHT_FRAUD_V3}" }')
    assert lines[2].startswith("use_backend ab_fraud_v5 if exp0 { var(txn.exp0_rest2) -m int ge 0 } "
                               '{ var(txn.exp0_rest2) -m int lt "${AB_WEIGHT_FRAUD_V5}" }')
    # a bucket whose variant is down goes to the first variant with traffic that is up
    assert lines[3] == "use_backend ab_fraud_v3 if exp0 { env(AB_WEIGHT_FRAUD_V3) -m int gt 0 } { nbsrv(ab_fraud_v3) gt 0 }"
    assert "default_backend model-server" in config
    # the weights are not in the file: a weight change leaves it as it is
    moved = resolve_router(router_args(RoutedExperiment("fraud", variants((3, 10), (4, 10), (5, 80)))))
    assert haproxy_config(moved) == config


def test_models_whose_weight_variables_would_clash_are_refused() -> None:
    with pytest.raises(ValueError, match="would share the router's weight variables"):
        resolve_router(router_args(RoutedExperiment("a-b", variants((1, 50), (2, 50))),
                                   RoutedExperiment("a.b", variants((1, 50), (2, 50)))))


def test_stickiness_hashes_the_header_and_falls_back_to_random() -> None:
    sticky = haproxy_config(resolve_router(router_args(RoutedExperiment("m", variants((1, 50), (2, 50)), "X-User-Id"))))
    assert ("http-request set-var(txn.exp0_bucket) req.hdr(X-User-Id),xxh32,mod(100) if exp0 "
            "{ req.hdr(X-User-Id) -m found }") in sticky
    assert "http-request set-var(txn.exp0_bucket) rand(100) if exp0 !{ var(txn.exp0_bucket) -m found }" in sticky
    plain = haproxy_config(resolve_router(router_args(RoutedExperiment("m", variants((1, 50), (2, 50))))))
    assert "req.hdr" not in plain


def test_the_model_paths_and_health_checks_follow_the_server_kind() -> None:
    triton = haproxy_config(resolve_router(router_args(RoutedExperiment("m", variants((1, 50), (2, 50))))))
    assert "acl exp0 path_beg /v2/models/m/" in triton and "option httpchk GET /v2/models/m/ready" in triton
    tf = haproxy_config(resolve_router(router_args(RoutedExperiment("m", variants((1, 50), (2, 50))),
                                                   kind="tf-serving")))
    assert "acl exp0 path_beg /v1/models/m:" in tf and "option httpchk GET /v1/models/m\n" in tf


def test_the_router_refuses_weights_that_the_spec_would_have_refused() -> None:
    with pytest.raises(ValueError, match="weights add up to 100"):
        resolve_router(router_args(RoutedExperiment("m", variants((1, 50), (2, 40)))))


# --- the render ----------------------------------------------------------------------------------
@cache
def _render(key: str) -> PlatformRender:
    return render_platform(PlatformSpec.model_validate_json(key))


def serving(s: PlatformSpec) -> list[dict[str, Any]]:
    return next(p.manifests for p in _render(s.model_dump_json()).phases if p.phase == "serving")


def test_each_variant_is_a_model_server_holding_only_its_version() -> None:
    items = serving(spec_with([EXPERIMENT]))
    for version in (3, 4):
        name = variant_server_name("demo", "triton", "fraud", version)
        deployment = one(items, "Deployment", name)
        pod = pod_spec(deployment)
        server = pod["containers"][0]
        assert "--model-repository=/models" in server["command"]
        assert "--model-control-mode=explicit" in server["command"] and "--load-model=fraud" in server["command"]
        assert server["readinessProbe"]["httpGet"]["path"] == "/v2/models/fraud/ready"
        sync = pod["initContainers"][0]
        env = {e["name"]: e.get("value") for e in sync["env"]}
        assert env["VARIANT_MODEL"] == "fraud" and env["VARIANT_VERSION"] == str(version)
        assert '--include "${VARIANT_VERSION}/*"' in sync["command"][2]
        assert "fix the version in phases.serving.experiments" in sync["command"][2]
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert labels["omgml.dev/model-version"] == str(version)
    # the main server's Service does not select variant pods
    main = one(items, "Service", "demo-triton")["spec"]["selector"]
    assert main["app.kubernetes.io/component"] == "model-server"


def test_the_router_is_rendered_restricted_valid_and_policy_clean() -> None:
    items = serving(spec_with([EXPERIMENT]))
    assert_valid(items)
    assert_selectors_match_pod_labels(items)
    assert_services_reach_container_ports(items)
    router = one(items, "Deployment", "demo-model-router")
    container = pod_spec(router)["containers"][0]
    assert container["image"] == IMAGE == f"haproxy:{HAPROXY_VERSION}"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    config = one(items, "ConfigMap", "demo-model-router")["data"]["haproxy.cfg"]
    for version in (3, 4):
        host = f"{variant_server_name('demo', 'triton', 'fraud', version)}.{NS}.svc.cluster.local:8000"
        assert f"server v{version} {host} check" in config
    assert f"server server demo-triton.{NS}.svc.cluster.local:8000 check" in config
    findings = [f for f in check_manifests(items) if f.severity == "error"]
    assert not findings, findings


def test_prometheus_scrapes_the_router_and_alerts_on_a_degrading_variant() -> None:
    items = serving(spec_with([EXPERIMENT]))
    config = yaml.safe_load(one(items, "ConfigMap", "demo-prometheus")["data"]["prometheus.yml"])
    assert "model-router" in {j["job_name"] for j in config["scrape_configs"]}
    rules = _rules_from_any(items)
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"ModelVariantErrors", "ModelVariantSlower"} <= names
    without = serving(spec_with([]))
    assert "model-router" not in yaml.safe_load(
        one(without, "ConfigMap", "demo-prometheus")["data"]["prometheus.yml"]).__str__()


def _rules_from_any(items: list[dict[str, Any]]) -> dict[str, Any]:
    for m in find(items, "ConfigMap"):
        for key, text in (m.get("data") or {}).items():
            if key.endswith(".yml") and "groups" in text:
                data: dict[str, Any] = yaml.safe_load(text)
                return data
    raise AssertionError("no rules file rendered")


def test_every_router_metric_the_rules_read_is_one_the_exporter_serves() -> None:
    from omgml.components.prometheus.rules import variant_alerts

    for rule in variant_alerts():
        assert expr_metric_names(rule.expr) <= {m for m, e in METRIC_EXPORTERS.items() if e == "haproxy"}


def test_a_weight_change_is_exactly_that_change_in_the_diff() -> None:
    from omgml.diff import diff_snapshots, snapshot

    def snap(experiment: dict[str, Any]) -> Any:
        r = _render(spec_with([experiment]).model_dump_json())
        return snapshot({p.phase: p.manifests for p in r.phases}, {"resources": []})

    moved = {**EXPERIMENT, "variants": [{"version": 3, "weight": 50}, {"version": 4, "weight": 50}]}
    diffs = diff_snapshots(snap(EXPERIMENT), snap(moved))
    assert [(d.key, d.kind, d.risk) for d in diffs] == [
        (f"Deployment/{NS}/demo-model-router", "changed", None)], diffs
    changed = {(c.path, c.old, c.new) for c in diffs[0].changes}
    assert changed == {
        ("spec.template.spec.containers.haproxy.env.AB_WEIGHT_FRAUD_V3.value", "90", "50"),
        ("spec.template.spec.containers.haproxy.env.AB_WEIGHT_FRAUD_V4.value", "10", "50"),
    }, changed


def test_backend_names_carry_model_and_version() -> None:
    assert backend_name("fraud_v2", 3) == "ab_fraud_v2_v3"
