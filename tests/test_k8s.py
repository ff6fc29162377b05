"""The shared Kubernetes builders of omgml.k8s, checked on their own (the components' tests
check what each component makes of them)."""

from __future__ import annotations

from omgml import k8s as kube


def test_cronjob_runs_never_overlap_and_missed_starts_are_not_made_up() -> None:
    job = kube.job_spec({"spec": {}}, backoff_limit=0, active_deadline_seconds=60)
    spec = kube.cronjob_spec(" 0  3 * * *\n", job, starting_deadline_seconds=900, job_labels={"a": "b"},
                             successful_jobs_history=2)
    assert spec["schedule"] == "0 3 * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 900
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (2, 3)
    assert spec["jobTemplate"] == {"metadata": {"labels": {"a": "b"}}, "spec": job}
    # Without job labels the Jobs carry only what the controller gives them.
    assert kube.cronjob_spec("@daily", job, starting_deadline_seconds=60)["jobTemplate"] == {"spec": job}


def test_cross_namespace_policies_name_the_peer_namespace_pods_and_port() -> None:
    peer = kube.namespace_peer("serving", {"app": "pushgateway"})
    assert peer == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "serving"}},
                    "podSelector": {"matchLabels": {"app": "pushgateway"}}}
    assert "podSelector" not in kube.namespace_peer("serving")
    egress = kube.egress_to_spec({"app": "run"}, [peer], 9091)
    assert egress == {"podSelector": {"matchLabels": {"app": "run"}}, "policyTypes": ["Egress"],
                      "egress": [{"to": [peer], "ports": [{"protocol": "TCP", "port": 9091}]}]}
    ingress = kube.ingress_from_spec({"app": "pushgateway"}, [kube.namespace_peer("data")], 9091)
    assert ingress["policyTypes"] == ["Ingress"]
    assert ingress["ingress"] == [{"from": [kube.namespace_peer("data")], "ports": [{"protocol": "TCP", "port": 9091}]}]


def test_http_probes_share_one_endpoint_with_their_own_patience() -> None:
    probes = kube.http_probes("/health", "http", startup=(5, 60), ready_period=15, live=(20, 6))
    assert set(probes) == {"startupProbe", "readinessProbe", "livenessProbe"}
    assert {p["httpGet"]["path"] for p in probes.values()} == {"/health"}
    assert {p["httpGet"]["port"] for p in probes.values()} == {"http"}
    # Coming up may take 5 s × 60; ready drops after 3 misses; a slow answer is not yet death.
    assert (probes["startupProbe"]["periodSeconds"], probes["startupProbe"]["failureThreshold"]) == (5, 60)
    assert (probes["readinessProbe"]["periodSeconds"], probes["readinessProbe"]["failureThreshold"]) == (15, 3)
    assert probes["livenessProbe"] == {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 20,
                                       "failureThreshold": 6, "timeoutSeconds": 10}


def test_metadata_of_a_component_labels_each_part_and_places_each_object() -> None:
    meta = kube.Metadata("data", lambda part: {"app.kubernetes.io/component": part}, "server")
    assert meta("mlflow") == {"name": "mlflow", "namespace": "data", "labels": {"app.kubernetes.io/component": "server"}}
    assert meta("mlflow-migrate", "db-upgrade", annotations={"pulumi.com/replaceUnready": "true"}) == {
        "name": "mlflow-migrate", "namespace": "data", "labels": {"app.kubernetes.io/component": "db-upgrade"},
        "annotations": {"pulumi.com/replaceUnready": "true"}}
    assert meta("copy", namespace="serving")["namespace"] == "serving"
    assert "namespace" not in kube.Metadata(None, lambda part: {})("cluster-wide")
