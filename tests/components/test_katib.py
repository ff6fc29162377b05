"""Katib v0.19.0 beside KFP: CRDs as upstream ships them, webhooks, least-privilege RBAC, db-manager on Postgres."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from omgml.components.katib import Katib, KatibArgs
from omgml.components.katib.component import resolve
from omgml.components.katib.crds import CRDS
from omgml.components.katib.release import IMAGES, INJECTION_LABEL, TRIAL_RESOURCES, VERSION
from omgml.components.postgres import Postgres, PostgresArgs, PostgresConsumer
from tests.components.manifest_checks import assert_no_generated_values, env_of
from tests.synth_helpers import assert_valid, find, one, pod_spec, synth_manifests

KFP = "kubeflow"
STEPS = "omgml-pipelines"
WRITE = {"create", "delete", "patch", "update", "*", "deletecollection"}


def render(**kw: Any) -> list[dict[str, Any]]:
    def program() -> None:
        pg = Postgres("pg", PostgresArgs(namespace="omgml-data", storage_gib=1, profile="laptop",
                                         consumers=(PostgresConsumer("katib", KFP),)))
        Katib("katib", KatibArgs(namespace=KFP, steps_namespace=STEPS,
                                 database_secret=pg.databases["katib"].secret, **kw))
    return synth_manifests(program)


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return render()


def test_renders_valid_manifests_without_credentials(items: list[dict[str, Any]]) -> None:
    assert_valid(items)
    assert_no_generated_values(items)


def test_crds_match_upstream_v0_19(items: list[dict[str, Any]]) -> None:
    crds = {c["metadata"]["name"]: c["spec"] for c in find(items, "CustomResourceDefinition")}
    assert set(crds) == {"experiments.kubeflow.org", "suggestions.kubeflow.org", "trials.kubeflow.org"}
    for spec in crds.values():
        (version,) = spec["versions"]
        assert version["name"] == "v1beta1" and version["storage"] and version["subresources"] == {"status": {}}
        assert version["schema"]["openAPIV3Schema"]["x-kubernetes-preserve-unknown-fields"] is True
        assert spec["names"]["categories"] == ["all", "kubeflow", "katib"]
    suggestion = crds["suggestions.kubeflow.org"]["versions"][0]["additionalPrinterColumns"]
    assert [c["name"] for c in suggestion] == ["Type", "Status", "Requested", "Assigned", "Age"]
    assert len(CRDS) == 3


def test_images_are_the_release_pinned(items: list[dict[str, Any]]) -> None:
    images = {c["image"] for d in find(items, "Deployment") for c in pod_spec(d)["containers"]}
    assert images == set(IMAGES.values()) and all(i.endswith(f":{VERSION}") for i in images)


def test_db_manager_runs_on_the_platform_postgres_by_secret_reference(items: list[dict[str, Any]]) -> None:
    db = one(items, "Deployment", "katib-db-manager")
    env = env_of(pod_spec(db)["containers"][0])
    assert env["DB_NAME"] == "postgres"
    secret = "postgres-katib-db"
    for var, key in (("DB_USER", "username"), ("DB_PASSWORD", "password"), ("KATIB_POSTGRESQL_DB_HOST", "host"),
                     ("KATIB_POSTGRESQL_DB_PORT", "port"), ("KATIB_POSTGRESQL_DB_DATABASE", "database")):
        assert env[var] == {"secretKeyRef": {"name": secret, "key": key}}, var
    # The consumer Secret lands in Katib's namespace, where the db-manager reads it.
    assert [s for s in find(items, "Secret", secret) if s["metadata"]["namespace"] == KFP]
    c = pod_spec(db)["containers"][0]
    assert c["livenessProbe"]["grpc"]["port"] == 6789 and c["readinessProbe"]["grpc"]["port"] == 6789


def test_every_pod_is_restricted_and_only_api_clients_mount_a_token(items: list[dict[str, Any]]) -> None:
    for d in find(items, "Deployment"):
        ps = pod_spec(d)
        name = d["metadata"]["name"]
        assert ps["securityContext"]["runAsNonRoot"] and ps["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert ps["automountServiceAccountToken"] is (name in ("katib-controller", "katib-ui")), name
        for c in ps["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), name
            assert "readinessProbe" in c and "livenessProbe" in c, name


def _roles(items: list[dict[str, Any]], kind: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {(r["metadata"].get("namespace", ""), r["metadata"]["name"]): r["rules"] for r in find(items, kind)}


def test_cluster_wide_rights_are_reads_except_katibs_own_webhook_configurations(items: list[dict[str, Any]]) -> None:
    for (_, name), rules in _roles(items, "ClusterRole").items():
        for rule in rules:
            writes = WRITE & set(rule["verbs"])
            if writes:
                assert rule["resourceNames"] == ["katib.kubeflow.org"], (name, rule)
                assert set(rule["resources"]) <= {"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}
            assert "secrets" not in rule["resources"], (name, rule)


def test_writes_happen_in_the_steps_namespace_and_secrets_only_in_katibs_own(items: list[dict[str, Any]]) -> None:
    roles = _roles(items, "Role")
    controller_steps = roles[(STEPS, "katib-controller")]
    assert any("jobs" in r["resources"] and "create" in r["verbs"] for r in controller_steps)
    assert not any("secrets" in r["resources"] for r in controller_steps)
    assert any(r["resources"] == ["secrets"] for r in roles[(KFP, "katib-controller")])
    bindings = {(b["metadata"]["namespace"], b["metadata"]["name"]): b for b in find(items, "RoleBinding")}
    subject = bindings[(STEPS, "katib-controller")]["subjects"][0]
    assert subject == {"kind": "ServiceAccount", "name": "katib-controller", "namespace": KFP}


def test_katib_config_runs_jobs_only_with_restricted_suggestions(items: list[dict[str, Any]]) -> None:
    config = yaml.safe_load(one(items, "ConfigMap", "katib-config")["data"]["katib-config.yaml"])
    assert config["kind"] == "KatibConfig"
    assert config["init"]["controller"]["trialResources"] == list(TRIAL_RESOURCES) == ["Job.v1.batch"]
    assert config["init"]["controller"]["injectSecurityContext"] is True
    assert config["init"]["certGenerator"] == {"enable": True, "webhookServiceName": "katib-controller",
                                               "webhookSecretName": "katib-webhook-cert"}
    names = [s["algorithmName"] for s in config["runtime"]["suggestions"]]
    assert {"random", "tpe", "bayesianoptimization", "grid"} <= set(names) and "pbt" not in names
    for s in config["runtime"]["suggestions"]:
        assert s["image"].endswith(f":{VERSION}")
        assert s["securityContext"]["runAsNonRoot"] and s["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(s["resources"]["limits"])


def test_webhooks_point_at_the_controller_and_pods_only_in_opted_in_namespaces(items: list[dict[str, Any]]) -> None:
    mutating = one(items, "MutatingWebhookConfiguration", "katib.kubeflow.org")["webhooks"]
    pod_hook = next(w for w in mutating if w["name"] == "mutator.pod.katib.kubeflow.org")
    assert pod_hook["namespaceSelector"] == {"matchLabels": {INJECTION_LABEL: "enabled"}}
    assert pod_hook["clientConfig"]["service"] == {"name": "katib-controller", "namespace": KFP,
                                                   "path": "/mutate-pod", "port": 443}
    assert f"system:serviceaccount:{KFP}:katib-controller" in pod_hook["matchConditions"][0]["expression"]
    svc = one(items, "Service", "katib-controller")
    webhook_port = next(p for p in svc["spec"]["ports"] if p["port"] == 443)
    controller = pod_spec(one(items, "Deployment", "katib-controller"))["containers"][0]
    assert webhook_port["targetPort"] in {p["name"] for p in controller["ports"]}
    policy = one(items, "NetworkPolicy", "katib-webhook-ingress")["spec"]
    assert policy["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8443}]}]


def test_without_the_ui_nothing_of_it_renders() -> None:
    items = render(ui=False)
    assert not find(items, "Deployment", "katib-ui") and not find(items, "Service", "katib-ui")
    assert not [r for r in find(items, "ClusterRole") if "katib-ui" in r["metadata"]["name"]]


def test_experiments_cannot_share_katibs_namespace() -> None:
    with pytest.raises(ValueError, match=r"KatibArgs\.steps_namespace: equals namespace"):
        resolve(KatibArgs(namespace=KFP, steps_namespace=KFP, database_secret="s"))


def test_pipeline_steps_still_start_while_the_controller_is_down(items: list[dict[str, Any]]) -> None:
    mutating = one(items, "MutatingWebhookConfiguration", "katib.kubeflow.org")["webhooks"]
    hooks = {w["name"]: w for w in mutating}
    assert hooks["mutator.pod.katib.kubeflow.org"]["failurePolicy"] == "Ignore"
    # Experiments themselves are still validated fail-closed (Kubernetes' default).
    assert "failurePolicy" not in hooks["defaulter.experiment.katib.kubeflow.org"]


def test_the_db_manager_encrypts_to_rds_which_forces_ssl() -> None:
    env = env_of(pod_spec(one(render(database_ssl_mode="require"), "Deployment", "katib-db-manager"))["containers"][0])
    assert env["KATIB_POSTGRESQL_SSL_MODE"] == "require"
    assert env_of(pod_spec(one(render(), "Deployment", "katib-db-manager"))["containers"][0])[
        "KATIB_POSTGRESQL_SSL_MODE"] == "disable"
