"""Pure builders for the pieces every workload repeats: security contexts, resources, probes,
secret references. Components call these so every container meets the same bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pulumi

JsonDict = dict[str, Any]

# The ServiceAccount annotation EKS's pod identity webhook reads (IRSA): pods of the account get
# the role's web-identity token. Plain text, so local renders never import the AWS SDK for it.
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
# Why a NetworkPolicy lets pods out to 0.0.0.0/0: the policy `aws-no-open-egress` accepts such a
# rule only when its policy says why (the Kubernetes API, alert receivers, a git host, the
# team's own choice to open a namespace).
EGRESS_REASON_ANNOTATION = "omgml.dev/egress-reason"
# Makes the webhook set AWS_STS_REGIONAL_ENDPOINTS=regional: SDKs then call STS in the region,
# through the VPC's STS interface endpoint, instead of the global sts.amazonaws.com on the internet.
STS_REGIONAL_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"


@dataclass(frozen=True)
class Size:
    """Requests and limits of one container (Kubernetes quantity strings)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def resources(self) -> JsonDict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def restricted_container_security_context(read_only_root: bool = True) -> JsonDict:
    """What Pod Security "restricted" asks of a container, plus a read-only root where possible."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_pod_security_context(uid: int, gid: int | None = None, fs_group: int | None = None) -> JsonDict:
    ctx: JsonDict = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid if gid is not None else uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if fs_group is not None:
        ctx["fsGroup"] = fs_group
        # Only chown the volume when its root does not already match: fast restarts on big PVCs.
        ctx["fsGroupChangePolicy"] = "OnRootMismatch"
    return ctx


def secret_env(env_name: str, secret_name: pulumi.Input[str], key: str) -> JsonDict:
    """An env var read from a Secret by secretKeyRef: the only way credentials enter a container.

    The Secret's name may be an Output (a stack output of an earlier phase)."""
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def plain_env(env_name: str, value: str) -> JsonDict:
    return {"name": env_name, "value": value}


def _probe(handler: JsonDict, period: int, failures: int, delay: int, timeout: int) -> JsonDict:
    probe: JsonDict = {**handler, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": timeout}
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def http_probe(path: str, port: int | str, *, period: int = 10, failures: int = 3, delay: int = 0,
               timeout: int = 5) -> JsonDict:
    return _probe({"httpGet": {"path": path, "port": port}}, period, failures, delay, timeout)


def http_probes(path: str, port: int | str, *, startup: tuple[int, int], ready_period: int = 10,
                live: tuple[int, int] = (30, 5)) -> JsonDict:
    """The startup, readiness and liveness probes of a server whose one HTTP health endpoint
    answers all three: `startup` (period, failures) is the time it may take to come up (a schema
    migration, a first load), readiness fails after three misses, and liveness (period, failures)
    waits 10 s for an answer, since a busy server answers slowly long before it is stuck."""
    return {
        "startupProbe": http_probe(path, port, period=startup[0], failures=startup[1]),
        "readinessProbe": http_probe(path, port, period=ready_period, failures=3),
        "livenessProbe": http_probe(path, port, period=live[0], failures=live[1], timeout=10),
    }


def tcp_probe(port: int | str, *, period: int = 10, failures: int = 3, delay: int = 0,
              timeout: int = 5) -> JsonDict:
    return _probe({"tcpSocket": {"port": port}}, period, failures, delay, timeout)


def exec_probe(command: list[str], *, period: int = 10, failures: int = 3, delay: int = 0,
               timeout: int = 5) -> JsonDict:
    return _probe({"exec": {"command": command}}, period, failures, delay, timeout)


def tcp_exec_probe(host: str, port: int, *, period: int = 10, failures: int = 3, delay: int = 0) -> JsonDict:
    """A probe for a container without a port of its own (a batch step): it checks that the
    server the step works against still accepts connections, so a step stuck on a vanished
    server is restarted instead of idling until its deadline. Needs python in the image."""
    check = f"import socket; socket.create_connection(({host!r}, {port}), timeout=3).close()"
    return exec_probe(["python", "-c", check], period=period, failures=failures, delay=delay)


def metadata(name: str, namespace: str | None, labels: dict[str, str],
             annotations: Mapping[str, pulumi.Input[str]] | None = None) -> JsonDict:
    meta: JsonDict = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


@dataclass(frozen=True)
class Metadata:
    """The metadata of one component's objects, set up once in its build(): `meta(name, part)` is
    metadata(name, namespace, labels(part)); `namespace` and `annotations` vary per object."""

    namespace: str | None
    # A part (app.kubernetes.io/component) → the component's labels for it.
    labels: Callable[[str], dict[str, str]]
    # The part of an object that names none.
    part: str = ""

    def __call__(self, name: str, part: str | None = None, *, namespace: str | None = None,
                 annotations: Mapping[str, pulumi.Input[str]] | None = None) -> JsonDict:
        return metadata(name, namespace or self.namespace, self.labels(self.part if part is None else part), annotations)


def service_spec(selector: dict[str, str], ports: list[tuple[str, int]], *, headless: bool = False) -> JsonDict:
    """A Service spec whose ports target the containers' named ports of the same name.

    Named targetPorts keep Service and container in step: renaming a port breaks a test, not traffic.
    """
    spec: JsonDict = {
        "selector": dict(selector),
        "ports": [{"name": name, "port": port, "targetPort": name, "protocol": "TCP"} for name, port in ports],
    }
    if headless:
        spec["clusterIP"] = "None"
    else:
        spec["type"] = "ClusterIP"
    return spec


def pdb_spec(selector: dict[str, str]) -> JsonDict:
    """maxUnavailable 1 (not minAvailable) so a single replica never blocks a node drain."""
    return {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector)}}


def claim_spec(storage_gib: int) -> JsonDict:
    """A ReadWriteOnce claim on the cluster's default StorageClass."""
    return {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{storage_gib}Gi"}}}


def service_account_annotations(role_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The annotations that give a ServiceAccount's pods an IAM role (IRSA, target aws), fetched
    from the regional STS endpoint."""
    return {ROLE_ARN_ANNOTATION: role_arn, STS_REGIONAL_ANNOTATION: "true"}


def service_account_metadata(name: str, namespace: str, labels: dict[str, str],
                             role_arn: pulumi.Input[str] | None = None) -> JsonDict:
    """ServiceAccount metadata, annotated with the IAM role when the account has one."""
    return metadata(name, namespace, labels, service_account_annotations(role_arn) if role_arn is not None else None)


def restricted_pod_spec(service_account: str, uid: int, containers: list[JsonDict], *, gid: int | None = None,
                        fs_group: int | None = None, automount_token: bool = False,
                        init_containers: list[JsonDict] | None = None, volumes: list[JsonDict] | None = None,
                        **fields: Any) -> JsonDict:
    """A pod spec that meets Pod Security "restricted": its own ServiceAccount, an API token only
    when the pod talks to the Kubernetes API, no service links (they inject *_PORT variables that
    some images read as settings), a non-root uid and RuntimeDefault seccomp. `fields` are further
    pod-spec fields as written in the manifest (restartPolicy, terminationGracePeriodSeconds, …)."""
    spec: JsonDict = {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": automount_token,
        "enableServiceLinks": False,
        "securityContext": restricted_pod_security_context(uid, gid, fs_group),
        "containers": containers,
        **fields,
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if volumes is not None:
        spec["volumes"] = volumes
    return spec


def pod_template(labels: dict[str, str], spec: JsonDict,
                 annotations: Mapping[str, pulumi.Input[str]] | None = None) -> JsonDict:
    """A pod template: labels (and annotations, when there are any) and the pod spec."""
    meta: JsonDict = {"labels": labels}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta, "spec": spec}


def job_spec(template: JsonDict, *, backoff_limit: int, active_deadline_seconds: int,
             ttl_seconds_after_finished: int | None = None) -> JsonDict:
    """A Job spec: bounded retries and a deadline, so a stuck run ends with a failed Job."""
    spec: JsonDict = {"backoffLimit": backoff_limit, "activeDeadlineSeconds": active_deadline_seconds}
    if ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = ttl_seconds_after_finished
    spec["template"] = template
    return spec


def cronjob_spec(schedule: str, job: JsonDict, *, starting_deadline_seconds: int, job_labels: dict[str, str] | None = None,
                 successful_jobs_history: int = 1, failed_jobs_history: int = 3) -> JsonDict:
    """A CronJob spec whose runs never overlap (a slow run is not doubled up) and whose start,
    missed by more than `starting_deadline_seconds` (controller down), waits for the next one
    instead of being made up later. `job` is the Job spec (job_spec); `job_labels`, when given,
    label the Jobs themselves. The schedule's white space is folded to single spaces."""
    template: JsonDict = {"metadata": {"labels": job_labels}} if job_labels is not None else {}
    template["spec"] = job
    return {
        "schedule": " ".join(schedule.split()),
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": starting_deadline_seconds,
        "successfulJobsHistoryLimit": successful_jobs_history,
        "failedJobsHistoryLimit": failed_jobs_history,
        "jobTemplate": template,
    }


def pvc_retention(keep: bool) -> JsonDict:
    """A StatefulSet's persistentVolumeClaimRetentionPolicy: the volumes outlive it when `keep`
    (components pass omgml.components.options.keeps_data(profile))."""
    return {"whenDeleted": "Retain" if keep else "Delete", "whenScaled": "Retain"}


def statefulset_spec(selector: dict[str, str], service_name: str, template: JsonDict, *, replicas: int = 1,
                     data_gib: int | None = None, keep_data: bool = True, **fields: Any) -> JsonDict:
    """A StatefulSet spec; with `data_gib`, each pod gets a `data` volume claim of that size,
    kept when the StatefulSet goes away if `keep_data` (see pvc_retention)."""
    spec: JsonDict = {"serviceName": service_name, "replicas": replicas,
                      "selector": {"matchLabels": dict(selector)}, **fields, "template": template}
    if data_gib is not None:
        spec["persistentVolumeClaimRetentionPolicy"] = pvc_retention(keep_data)
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data", "labels": dict(selector)},
                                         "spec": claim_spec(data_gib)}]
    return spec


RECREATE: JsonDict = {"type": "Recreate"}
# One new pod in before an old one goes: for stateless servers whose state lives elsewhere.
SURGE_ONE: JsonDict = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def deployment_spec(selector: dict[str, str], template: JsonDict, *, replicas: int = 1,
                    strategy: JsonDict | None = None) -> JsonDict:
    """A Deployment spec; `strategy` None keeps Kubernetes' default (RollingUpdate, 25 %)."""
    spec: JsonDict = {"replicas": replicas, "selector": {"matchLabels": dict(selector)}}
    if strategy is not None:
        spec["strategy"] = dict(strategy)
    spec["template"] = template
    return spec


# Private address ranges: "outside the cluster" rules leave them to the explicit in-cluster allows.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
# The Kubernetes API server: :443 on EKS, :6443 on kind. Its address differs per cluster and
# policies see it after the `kubernetes` Service is translated, so rules name ports only.
KUBE_API_PORTS = (443, 6443)


def with_egress_reason(meta: JsonDict, reason: str) -> JsonDict:
    """NetworkPolicy metadata that states why the policy opens egress beyond the platform."""
    if not reason:
        raise ValueError("with_egress_reason: give the reason the pods must reach outside the platform")
    return {**meta, "annotations": {**(meta.get("annotations") or {}), EGRESS_REASON_ANNOTATION: reason}}


# Reasons shared by every component that talks to the Kubernetes API from a pod.
KUBE_API_EGRESS_REASON = ("the Kubernetes API server's addresses (the control plane's network interfaces) differ per "
                          "cluster and no NetworkPolicy peer can name them; the rule opens its ports only")


def egress_policy_spec(pod_selector: JsonDict, ports: Sequence[int] = (), *, external_only: bool = False) -> JsonDict:
    """NetworkPolicy spec: the selected pods may open TCP connections to `ports` (every port when
    empty) anywhere, or only outside the private ranges with `external_only`."""
    block: JsonDict = {"cidr": "0.0.0.0/0"}
    if external_only:
        block["except"] = list(PRIVATE_RANGES)
    rule: JsonDict = {"to": [{"ipBlock": block}]}
    if ports:
        rule["ports"] = [{"protocol": "TCP", "port": p} for p in ports]
    return {"podSelector": pod_selector, "policyTypes": ["Egress"], "egress": [rule]}


def namespace_peer(namespace: str, pod_selector: Mapping[str, str] | None = None) -> JsonDict:
    """A NetworkPolicy peer: the pods of `namespace` (only those matching `pod_selector`, when
    given), chosen by the name label the API server sets on every namespace."""
    peer: JsonDict = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pod_selector is not None:
        peer["podSelector"] = {"matchLabels": dict(pod_selector)}
    return peer


def ingress_from_spec(pod_selector: Mapping[str, str], peers: Sequence[JsonDict], port: int) -> JsonDict:
    """NetworkPolicy spec: the selected pods accept TCP connections on `port` from `peers`
    (namespace_peer) only, for traffic that crosses namespaces."""
    return {
        "podSelector": {"matchLabels": dict(pod_selector)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": list(peers), "ports": [{"protocol": "TCP", "port": port}]}],
    }


def egress_to_spec(pod_selector: Mapping[str, str], peers: Sequence[JsonDict], port: int) -> JsonDict:
    """NetworkPolicy spec: the selected pods may open TCP connections to `peers` on `port`."""
    return {
        "podSelector": {"matchLabels": dict(pod_selector)},
        "policyTypes": ["Egress"],
        "egress": [{"to": list(peers), "ports": [{"protocol": "TCP", "port": port}]}],
    }


# --- CustomResourceDefinitions as minimal structural schemas ------------------------------------

STRING_SCHEMA: JsonDict = {"type": "string"}
# An object whose content the API server stores as given: validation is the controller's (and
# omgml's tests, which validate every custom resource omgml writes against the upstream schema).
OPEN_OBJECT: JsonDict = {
    "type": "object",
    "x-kubernetes-map-type": "atomic",
    "x-kubernetes-preserve-unknown-fields": True,
}


@dataclass(frozen=True)
class CrdFacts:
    """What a controller needs of a CRD (names, scope, version, subresources), read from its
    upstream definition; the schema is open (OPEN_OBJECT fields)."""

    group: str
    kind: str
    plural: str
    short_names: tuple[str, ...] = ()
    version: str = "v1alpha1"
    scope: str = "Namespaced"
    status_subresource: bool = False
    # Top-level fields besides apiVersion/kind/metadata: name → schema.
    fields: dict[str, JsonDict] = field(default_factory=dict)
    required: tuple[str, ...] = ("metadata", "spec")
    printer_columns: tuple[JsonDict, ...] = ()
    categories: tuple[str, ...] = ()
    # The scale subresource: (specReplicasPath, statusReplicasPath).
    scale: tuple[str, str] | None = None

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def singular(self) -> str:
        return self.kind.lower()


def crd_spec(c: CrdFacts) -> JsonDict:
    """The CustomResourceDefinition spec of `c`."""
    schema: JsonDict = {
        "type": "object",
        "required": list(c.required),
        "properties": {"apiVersion": STRING_SCHEMA, "kind": STRING_SCHEMA, "metadata": {"type": "object"},
                       **{k: dict(v) for k, v in c.fields.items()}},
    }
    version: JsonDict = {
        "name": c.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": schema},
    }
    subresources: JsonDict = {}
    if c.status_subresource:
        subresources["status"] = {}
    if c.scale is not None:
        subresources["scale"] = {"specReplicasPath": c.scale[0], "statusReplicasPath": c.scale[1]}
    if subresources:
        version["subresources"] = subresources
    if c.printer_columns:
        version["additionalPrinterColumns"] = [dict(col) for col in c.printer_columns]
    names: JsonDict = {"kind": c.kind, "listKind": f"{c.kind}List", "plural": c.plural, "singular": c.singular}
    if c.short_names:
        names["shortNames"] = list(c.short_names)
    if c.categories:
        names["categories"] = list(c.categories)
    return {"group": c.group, "names": names, "scope": c.scope, "versions": [version]}
