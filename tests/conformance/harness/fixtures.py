"""What the tier brings besides the platform: the outside systems a platform reaches.

- a git host (`pod_scripts/git_server.py`, git's own smart-HTTP backend) serving the team's
  feature repository, which the rendered Feast apply Job clones;
- a webhook receiver (`pod_scripts/alert_sink.py`) standing in for the team's incident tool,
  which the rendered Alertmanager delivers alerts to.

They run as pods of the tier in their own namespace ("outside" the platform), over HTTPS on port
443 with a certificate from a CA the tier creates for the run; every pod of the tier trusts that
CA the way a cluster's nodes trust a company CA (the CA bundle of the pods' root filesystem holds
it). Nothing about the platform's own objects changes.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTSIDE = "conformance-outside"
GIT_SERVICE = "git"
SINK_SERVICE = "alerts"
FIXTURE_IMAGE = "conformance/outside"
REPO_NAME = "features.git"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class Tls:
    ca_pem: str
    cert_pem: str
    key_pem: str


def host(service: str) -> str:
    return f"{service}.{OUTSIDE}.svc.cluster.local"


def make_tls(workdir: Path, hostnames: list[str]) -> Tls:
    """A CA for the run and a server certificate for `hostnames`, with the openssl CLI."""
    workdir.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        out = subprocess.run(["openssl", *args], cwd=workdir, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {out.stderr.strip()}")

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=omgml conformance CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    san = ",".join(f"DNS:{h}" for h in hostnames)
    (workdir / "ext.cnf").write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={hostnames[0]}", "-keyout", "tls.key", "-out", "tls.csr")
    run("x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext.cnf", "-out", "tls.crt")
    return Tls(*((workdir / n).read_text() for n in ("ca.crt", "tls.crt", "tls.key")))


def api_server_cert(workdir: Path, ip: str) -> tuple[Path, Path]:
    """A serving certificate for the tier's API server at `ip`, from the run's CA (make_tls
    created ca.key in `workdir`): what every pod's service-account ca.crt verifies."""
    names = "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    (workdir / "api-ext.cnf").write_text(f"subjectAltName=IP:{ip},{names}\nbasicConstraints=CA:FALSE\n")
    for args in (["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-keyout", "api.key",
                  "-out", "api.csr"],
                 ["x509", "-req", "-in", "api.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days",
                  "2", "-extfile", "api-ext.cnf", "-out", "api.crt"]):
        out = subprocess.run(["openssl", *args], cwd=workdir, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {out.stderr.strip()}")
    return workdir / "api.crt", workdir / "api.key"


def outside_tls(workdir: Path) -> Tls:
    names = [host(s) for s in (GIT_SERVICE, SINK_SERVICE)] + [f"{s}.{OUTSIDE}" for s in (GIT_SERVICE, SINK_SERVICE)]
    return make_tls(workdir, names)


def ca_bundle(tls: Tls) -> str:
    """The host's CA bundle plus the tier's CA: what the pods' /etc/ssl/certs file holds."""
    existing = HOST_CA_BUNDLE.read_text() if HOST_CA_BUNDLE.exists() else ""
    return existing.rstrip("\n") + "\n" + tls.ca_pem


def git_url() -> str:
    return f"https://{host(GIT_SERVICE)}/{REPO_NAME}"


def webhook_url() -> str:
    return f"https://{host(SINK_SERVICE)}/alerts"


def _service(name: str, script: str, env: dict[str, str], extra_volumes: list[dict[str, Any]],
             extra_mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "conformance"}
    meta = {"namespace": OUTSIDE, "labels": labels}
    container = {
        "name": name, "image": FIXTURE_IMAGE,
        "command": ["python3", f"/omgml-conformance/scripts/{script}"],
        "env": [{"name": k, "value": v} for k, v in {**env, "TLS_DIR": "/tls", "PORT": "443", "HOME": "/tmp"}.items()],
        "ports": [{"name": "https", "containerPort": 443}],
        "readinessProbe": {"tcpSocket": {"port": "https"}, "periodSeconds": 2},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True},
        "volumeMounts": [{"name": "tls", "mountPath": "/tls"}, {"name": "tmp", "mountPath": "/tmp"}, *extra_mounts],
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, **meta},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
                      "containers": [container],
                      "volumes": [{"name": "tls", "secret": {"secretName": "outside-tls", "defaultMode": 0o440}},
                                  {"name": "tmp", "emptyDir": {}}, *extra_volumes]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta},
         "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}},
    ]


def outside_manifests(repo_files: dict[str, str], tls: Tls) -> list[dict[str, Any]]:
    """The outside namespace: its TLS Secret, the git host (with the repository's files) and the
    webhook receiver."""
    b64 = {k: base64.b64encode(v.encode()).decode() for k, v in (("tls.crt", tls.cert_pem), ("tls.key", tls.key_pem))}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OUTSIDE}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "outside-tls", "namespace": OUTSIDE}, "data": b64},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "repo-source", "namespace": OUTSIDE},
         "data": repo_files},
        *_service(GIT_SERVICE, "git_server.py",
                  {"SOURCE_DIR": "/repo-source", "REPO_ROOT": "/srv/git", "REPO_NAME": REPO_NAME, "BRANCH": "main"},
                  [{"name": "source", "configMap": {"name": "repo-source"}}, {"name": "srv", "emptyDir": {}}],
                  [{"name": "source", "mountPath": "/repo-source"}, {"name": "srv", "mountPath": "/srv/git"}]),
        *_service(SINK_SERVICE, "alert_sink.py", {"STORE_DIR": "/tmp/received"}, [], []),
    ]


OPERATOR = "platform-operator"
# What `omgml status` reads across namespaces (docs/day-two.md lists the same rules).
STATUS_READ_RULES = [
    {"apiGroups": [""], "resources": ["pods", "services", "nodes"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets"], "verbs": ["get", "list"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["get", "list"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list"]},
]


def operator_access(namespace: str, api_server_ip: str) -> list[dict[str, Any]]:
    """What a team sets up to run `omgml status --in-cluster` from a pod in `namespace`: a
    ServiceAccount bound to a read-only ClusterRole, and egress from the operator's pods to the
    API server (the platform's namespaces deny egress by default)."""
    labels = {"app.kubernetes.io/name": OPERATOR}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": OPERATOR, "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": f"{OPERATOR}-status-reader"}, "rules": STATUS_READ_RULES},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"{OPERATOR}-status-reader"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{OPERATOR}-status-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": namespace}]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": f"{OPERATOR}-kube-api", "namespace": namespace},
         "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Egress"],
                  "egress": [{"to": [{"ipBlock": {"cidr": f"{api_server_ip}/32"}}],
                              "ports": [{"protocol": "TCP", "port": 443}]}]}},
    ]
