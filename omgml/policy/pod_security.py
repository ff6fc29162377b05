"""Pod Security Standards ("baseline" and "restricted") over rendered pod specs.

A pod must meet "restricted" unless its Namespace is explicitly allowed a weaker level: the
`pod-security.kubernetes.io/enforce` label says baseline or privileged AND the annotation
`omgml.dev/pod-security-reason` says why (components/namespace.py writes both). A weaker label
without a reason is itself a finding, and the pods in that namespace are still held to
"restricted".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from omgml.policy.findings import Finding, Manifest, resource_id
from omgml.policy.pods import PodSpecAt, containers_at, namespace_of, pod_spec_at

POLICY_ID = "pod-security-restricted"
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
REASON_ANNOTATION = "omgml.dev/pod-security-reason"
Level = Literal["restricted", "baseline", "privileged"]
_RANK: dict[str, int] = {"privileged": 0, "baseline": 1, "restricted": 2}

# Namespaces the platform does not own; node agents (device plugins) run there. Pod Security
# Admission labels on them are the cluster operator's, so the policy does not second-guess them.
SYSTEM_NAMESPACES: dict[str, str] = {
    "kube-system": "cluster system namespace: node agents such as the NVIDIA device plugin need host access",
}

_BASELINE_CAPS = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
_RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
_VOLUME_META_KEYS = frozenset({"name"})
_SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
_GOOD_PROFILES = ("RuntimeDefault", "Localhost")


@dataclass(frozen=True)
class Violation:
    level: Level  # the weakest Pod Security level that forbids it
    field: str
    message: str
    fix: str


@dataclass(frozen=True)
class Allowance:
    level: Level
    reason: str


def namespace_allowances(items: Iterable[Manifest]) -> dict[str, Allowance]:
    """Namespaces allowed below "restricted", with the reason they declare."""
    out = {ns: Allowance("privileged", why) for ns, why in SYSTEM_NAMESPACES.items()}
    for m in items:
        if m.get("kind") != "Namespace":
            continue
        meta = m.get("metadata") or {}
        level = str((meta.get("labels") or {}).get(ENFORCE_LABEL, "restricted"))
        reason = str((meta.get("annotations") or {}).get(REASON_ANNOTATION, "")).strip()
        if level in ("baseline", "privileged") and reason:
            out[str(meta.get("name"))] = Allowance(level, reason)  # type: ignore[arg-type]
    return out


def check_namespace(m: Manifest) -> list[Finding]:
    """A Namespace labelled weaker than restricted must say why."""
    if m.get("kind") != "Namespace":
        return []
    meta = m.get("metadata") or {}
    level = str((meta.get("labels") or {}).get(ENFORCE_LABEL, ""))
    reason = str((meta.get("annotations") or {}).get(REASON_ANNOTATION, "")).strip()
    if level in ("baseline", "privileged") and not reason:
        return [Finding(
            POLICY_ID, "error", resource_id(m), f"metadata.annotations.{REASON_ANNOTATION}",
            f"namespace enforces Pod Security {level!r} without a stated reason; its pods are held to 'restricted'",
            f"set NamespaceArgs.pod_security_reason (annotation {REASON_ANNOTATION}) or use 'restricted'",
        )]
    return []


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj.get("securityContext") or {})


def pod_violations(pod: PodSpecAt) -> list[Violation]:
    """Every Pod Security violation of one pod spec, tagged with the level that forbids it."""
    out: list[Violation] = []
    spec, p = pod.spec, pod.path
    psc = _sc(spec)
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            out.append(Violation("baseline", f"{p}.{host}", f"{host} shares the node's namespace",
                                 f"remove {host} or run the pod in a namespace allowed 'privileged'"))
    for i, vol in enumerate(spec.get("volumes") or []):
        kinds = [k for k in vol if k not in _VOLUME_META_KEYS]
        for k in kinds:
            if k == "hostPath":
                out.append(Violation("baseline", f"{p}.volumes[{i}].hostPath", "hostPath volume mounts the node's files",
                                     "use a PVC, emptyDir or configMap volume"))
            elif k not in _RESTRICTED_VOLUMES:
                out.append(Violation("restricted", f"{p}.volumes[{i}].{k}", f"volume type {k!r} is not allowed",
                                     f"use one of {', '.join(sorted(_RESTRICTED_VOLUMES))}"))
    for i, sysctl in enumerate(psc.get("sysctls") or []):
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            out.append(Violation("baseline", f"{p}.securityContext.sysctls[{i}]",
                                 f"sysctl {sysctl.get('name')!r} is not in the safe set", "remove the sysctl"))
    pod_non_root = psc.get("runAsNonRoot")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp == "Unconfined":
        out.append(Violation("baseline", f"{p}.securityContext.seccompProfile.type", "seccomp is Unconfined",
                             "set seccompProfile.type: RuntimeDefault"))
    if psc.get("runAsUser") == 0:
        out.append(Violation("restricted", f"{p}.securityContext.runAsUser", "pod runs as root (uid 0)",
                             "run as a non-zero uid"))
    for c in containers_at(pod):
        out.extend(_container_violations(c.path, _sc(c.container), c.container, pod_non_root, pod_seccomp))
    return out


def _container_violations(cp: str, sc: dict[str, Any], c: dict[str, Any], pod_non_root: Any,
                          pod_seccomp: Any) -> list[Violation]:
    out: list[Violation] = []
    s = f"{cp}.securityContext"
    if sc.get("privileged"):
        out.append(Violation("baseline", f"{s}.privileged", "privileged container", "remove privileged: true"))
    caps = sc.get("capabilities") or {}
    added = {str(x) for x in caps.get("add") or []}
    if added - _BASELINE_CAPS:
        out.append(Violation("baseline", f"{s}.capabilities.add", f"adds {sorted(added - _BASELINE_CAPS)}",
                             "drop the added capabilities"))
    elif added - {"NET_BIND_SERVICE"}:
        out.append(Violation("restricted", f"{s}.capabilities.add", f"adds {sorted(added - {'NET_BIND_SERVICE'})}",
                             "add at most NET_BIND_SERVICE"))
    if "ALL" not in [str(x) for x in caps.get("drop") or []]:
        out.append(Violation("restricted", f"{s}.capabilities.drop", "capabilities are not dropped",
                             "set capabilities.drop: [ALL] (omgml.k8s.restricted_container_security_context)"))
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append(Violation("restricted", f"{s}.allowPrivilegeEscalation",
                             "privilege escalation is not disabled", "set allowPrivilegeEscalation: false"))
    non_root = sc.get("runAsNonRoot", pod_non_root)
    if non_root is not True or sc.get("runAsNonRoot") is False or pod_non_root is False:
        out.append(Violation("restricted", f"{s}.runAsNonRoot", "the container may run as root",
                             "set runAsNonRoot: true on the pod or the container"))
    if sc.get("runAsUser") == 0:
        out.append(Violation("restricted", f"{s}.runAsUser", "container runs as root (uid 0)",
                             "run as a non-zero uid"))
    seccomp = (sc.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined":
        out.append(Violation("baseline", f"{s}.seccompProfile.type", "seccomp is Unconfined",
                             "set seccompProfile.type: RuntimeDefault"))
    elif (seccomp or pod_seccomp) not in _GOOD_PROFILES:
        out.append(Violation("restricted", f"{s}.seccompProfile", "no seccomp profile",
                             "set seccompProfile.type: RuntimeDefault on the pod or the container"))
    if (sc.get("appArmorProfile") or {}).get("type") == "Unconfined":
        out.append(Violation("baseline", f"{s}.appArmorProfile.type", "AppArmor is Unconfined",
                             "remove appArmorProfile or use RuntimeDefault"))
    if sc.get("procMount") not in (None, "Default"):
        out.append(Violation("baseline", f"{s}.procMount", "unmasked /proc", "remove procMount"))
    for j, port in enumerate(c.get("ports") or []):
        if port.get("hostPort"):
            out.append(Violation("baseline", f"{cp}.ports[{j}].hostPort", "hostPort binds a node port",
                                 "remove hostPort; expose the pod through a Service"))
    return out


def check_pod_security(m: Manifest, allowances: dict[str, Allowance]) -> list[Finding]:
    pod = pod_spec_at(m)
    if pod is None:
        return []
    allowed = allowances.get(namespace_of(m))
    allowed_rank = _RANK[allowed.level] if allowed else _RANK["restricted"]
    findings = []
    for v in pod_violations(pod):
        # A violation counts when the namespace's level is at least as strict as the rule's level.
        if allowed_rank >= _RANK[v.level]:
            findings.append(Finding(POLICY_ID, "error", resource_id(m), v.field, v.message, v.fix))
    return findings
