"""What the tier brings besides the platform: the outside systems a platform's Jobs reach.

The rendered Feast apply Job clones the team's feature repository from a git host over HTTPS.
Here that host is a pod of the tier (`pod_scripts/git_server.py`, git's own smart-HTTP backend)
in its own namespace, with a certificate from a CA the tier creates for the run; every pod of the
tier trusts that CA the way a cluster's nodes trust a company CA (the CA bundle of the pods' root
filesystem holds it). Nothing else about the Job changes.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIT_NAMESPACE = "conformance-git"
GIT_SERVICE = "git"
GIT_IMAGE = "conformance/git-server"
REPO_NAME = "features.git"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class Tls:
    ca_pem: str
    cert_pem: str
    key_pem: str


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


def ca_bundle(tls: Tls) -> str:
    """The host's CA bundle plus the tier's CA: what the pods' /etc/ssl/certs file holds."""
    host = HOST_CA_BUNDLE.read_text() if HOST_CA_BUNDLE.exists() else ""
    return host.rstrip("\n") + "\n" + tls.ca_pem


def git_url() -> str:
    return f"https://{GIT_SERVICE}.{GIT_NAMESPACE}.svc.cluster.local/{REPO_NAME}"


def git_server_manifests(files: dict[str, str], tls: Tls) -> list[dict[str, Any]]:
    """Namespace, TLS Secret, repository ConfigMap, Deployment and Service of the git host."""
    labels = {"app.kubernetes.io/name": "git-server", "app.kubernetes.io/part-of": "conformance"}
    b64 = {k: base64.b64encode(v.encode()).decode() for k, v in (("tls.crt", tls.cert_pem), ("tls.key", tls.key_pem))}
    meta = {"namespace": GIT_NAMESPACE, "labels": labels}
    env = {"SOURCE_DIR": "/repo-source", "REPO_ROOT": "/srv/git", "REPO_NAME": REPO_NAME, "BRANCH": "main",
           "TLS_DIR": "/tls", "PORT": "443", "HOME": "/tmp"}
    container = {
        "name": "git", "image": GIT_IMAGE,
        "command": ["python3", "/omgml-conformance/scripts/git_server.py"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "ports": [{"name": "https", "containerPort": 443}],
        "readinessProbe": {"tcpSocket": {"port": "https"}, "periodSeconds": 2},
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True},
        "volumeMounts": [{"name": "source", "mountPath": "/repo-source"}, {"name": "tls", "mountPath": "/tls"},
                         {"name": "srv", "mountPath": "/srv/git"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GIT_NAMESPACE}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git-tls", **meta}, "data": b64},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "repo-source", **meta}, "data": files},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "git", **meta},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
                      "containers": [container],
                      "volumes": [{"name": "source", "configMap": {"name": "repo-source"}},
                                  {"name": "tls", "secret": {"secretName": "git-tls", "defaultMode": 0o440}},
                                  {"name": "srv", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": GIT_SERVICE, **meta},
         "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}},
    ]
