"""The kube-system controllers (Karpenter, the AWS Load Balancer Controller) share one pod shape:
system nodes only, spread over zones, the image's user as fsGroup, one replica on a laptop."""

from __future__ import annotations

from omgml.components.aws.system_controller import SystemController, replicas
from omgml.components.gpupool import POOL_LABEL
from omgml.synth.manifests import manifests
from tests.aws.aws_helpers import synth_foundation

CONTROLLER = SystemController("demo-controller", "demo-sa", 1234, "1.0.0")


def test_the_pod_runs_on_system_nodes_only_and_spreads_over_zones() -> None:
    pod = CONTROLLER.pod_spec({"name": "c"})
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": ["system"]}]}]
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["labelSelector"]["matchLabels"] == CONTROLLER.selector
    assert CONTROLLER.selector.items() <= CONTROLLER.labels.items()
    assert pod["securityContext"]["fsGroup"] == 1234 and pod["securityContext"]["runAsNonRoot"] is True
    # A controller talks to the API server: its token is mounted.
    assert pod["serviceAccountName"] == "demo-sa" and pod["automountServiceAccountToken"] is True
    assert "volumes" not in pod and "terminationGracePeriodSeconds" not in pod
    with_extras = CONTROLLER.pod_spec({"name": "c"}, termination_grace_seconds=10, volumes=[{"name": "v"}])
    assert with_extras["terminationGracePeriodSeconds"] == 10 and with_extras["volumes"] == [{"name": "v"}]


def test_a_second_replica_takes_over_outside_the_laptop() -> None:
    assert (replicas("laptop"), replicas("small"), replicas("production")) == (1, 2, 2)


def test_both_controllers_deploy_with_a_pdb_and_metrics_service_bound_to_their_accounts() -> None:
    items = manifests(synth_foundation())
    for app, account in (("karpenter", "karpenter"), ("aws-load-balancer-controller", "aws-load-balancer-controller")):
        of_app = [m for m in items if m["metadata"].get("labels", {}).get("app.kubernetes.io/name") == app]
        kinds = {m["kind"] for m in of_app}
        assert {"Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "ClusterRoleBinding"} <= kinds, app
        [deploy] = [m for m in of_app if m["kind"] == "Deployment"]
        assert deploy["spec"]["replicas"] == 2  # the helpers' foundation is a production spec
        for binding in (m for m in of_app if m["kind"] in ("ClusterRoleBinding", "RoleBinding")):
            assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "kube-system"}]
