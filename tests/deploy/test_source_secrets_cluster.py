"""`omgml up`'s data-source check against an API server: a loopback stand-in answering the three
reads it makes (a Secret, a namespace), so the lookup's 404 handling and key listing are real
HTTP through the kubernetes client."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from omgml.deploy.plan import DeployError
from omgml.deploy.sources import NamespaceMissing, check_source_secrets, kubernetes_lookup
from omgml.spec import spec_from_dict

SECRETS = {("omgml-data", "snowflake-credentials"): {"user": "feast", "password": "s3cr3t-value-never-shown"}}
NAMESPACES = {"omgml-data", "omgml-pipelines"}


class FakeApi(BaseHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                         "code": 404})

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 6 and parts[4] == "secrets":
            values = SECRETS.get((parts[3], parts[5]))
            if values is None:
                return self._not_found()
            data = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
            return self._send(200, {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": parts[5]},
                                    "data": data})
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 4:
            if parts[3] not in NAMESPACES:
                return self._not_found()
            return self._send(200, {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": parts[3]}})
        self._send(500, {"kind": "Status", "code": 500})


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
        "users": [{"name": "fake", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    }))
    import kubernetes.config.kube_config as kube_config

    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    yield "fake"
    server.shutdown()
    server.server_close()


def test_the_lookup_lists_key_names_and_tells_a_missing_secret_from_a_missing_namespace(cluster: str) -> None:
    lookup = kubernetes_lookup(cluster, timeout=5)
    assert lookup("omgml-data", "snowflake-credentials") == {"user", "password"}
    assert lookup("omgml-pipelines", "snowflake-credentials") is None
    with pytest.raises(NamespaceMissing):
        lookup("team-pipelines", "snowflake-credentials")


def test_up_refuses_before_deploying_when_a_pipeline_namespace_lacks_the_secret(cluster: str) -> None:
    spec = spec_from_dict({"name": "demo", "data": {"sources": [{
        "name": "warehouse", "kind": "snowflake", "secret": "snowflake-credentials", "account": "acme-fraud",
        "warehouse": "WH", "database": "FRAUD"}]},
        "phases": {"training": {"enabled": True, "kubeflow": {"enabled": True}}}})
    with pytest.raises(DeployError) as err:
        check_source_secrets(spec, kubernetes_lookup(cluster, timeout=5))
    text = str(err.value)
    assert "Secret snowflake-credentials does not exist in namespace omgml-pipelines" in text
    assert "omgml-data" not in text.split("\n", 1)[1]  # the data namespace has it
    assert "s3cr3t-value-never-shown" not in text
