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
