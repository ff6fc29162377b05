from __future__ import annotations

import pytest

from omgml.policy.secrets import check_secrets, secret_like_key
from omgml.synth.manifests import MASK
from tests.policy.fixtures import deployment


def configmap(data: dict[str, str]) -> dict:  # type: ignore[type-arg]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "apps"}, "data": data}


@pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "PGPASSWORD", "apiKey", "AWS_SECRET_ACCESS_KEY",
                                 "slack.token", "client_secret", "SECRET_KEY"])
def test_secret_like_keys(key: str) -> None:
    assert secret_like_key(key)


@pytest.mark.parametrize("key", ["secretName", "TOKEN_PATH", "password_file", "partition_key", "AWS_ACCESS_KEY_ID",
                                 "tokenizer", "MLFLOW_TRACKING_URI", "cache_key",
                                 "omgml.dev/credentials-checksum", "SECRET_BACKEND"])
def test_reference_keys_are_not_secrets(key: str) -> None:
    assert not secret_like_key(key)


def test_configmap_with_literal_password_and_credential_values_is_flagged() -> None:
    cm = configmap({
        "DB_PASSWORD": "hunter2",
        "DATABASE_URL": "postgresql://mlflow:hunter2@postgres:5432/mlflow",
        "app.ini": "[db]\nhost = postgres\npassword = hunter2\n",
        "copied": MASK,
    })
    fields = {f.field for f in check_secrets(cm)}
    assert fields == {"data.DB_PASSWORD", "data.DATABASE_URL", "data.app.ini", "data.copied"}


def test_configmap_with_references_and_placeholders_passes() -> None:
    cm = configmap({
        "DB_PASSWORD_FILE": "/run/secrets/db",
        "DB_PASSWORD": "${DB_PASSWORD}",
        "DATABASE_URL": "postgresql://mlflow:$(DB_PASSWORD)@postgres:5432/mlflow",
        "app.ini": "[db]\nhost = postgres\npassword = ${DB_PASSWORD}\nsecret_name = pg\n",
        "MLFLOW_TRACKING_URI": "http://mlflow.apps:5000",
        # A pod spec a pipeline step copies: a switch about the token, not a token.
        "step-pod.yaml": "spec:\n  automountServiceAccountToken: false\n  containers: []\n",
        "GIT_TOKEN_REQUIRED": "true",
    })
    assert check_secrets(cm) == []


def test_env_literal_secret_is_flagged_and_secret_key_ref_passes() -> None:
    d = deployment()
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["env"] = [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis", "key": "password"}}},
        {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAABCDEFGHIJKLMNOP"},
        {"name": "API_TOKEN", "value": "s3cr3t-t0ken"},
    ]
    findings = check_secrets(d)
    assert [f.field for f in findings] == ["spec.template.spec.containers[0].env[2].value",
                                          "spec.template.spec.containers[0].env[3].value"]
    assert "AWS access key" in findings[0].message
    c["env"] = c["env"][:2]
    assert check_secrets(d) == []


def test_annotations_on_object_and_pod_template_are_checked() -> None:
    d = deployment()
    d["metadata"]["annotations"] = {"example.com/webhook-token": "abc123"}
    d["spec"]["template"]["metadata"]["annotations"] = {"note": "-----BEGIN RSA PRIVATE KEY-----\nMII"}
    fields = [f.field for f in check_secrets(d)]
    assert fields == ["metadata.annotations.example.com/webhook-token",
                      "spec.template.metadata.annotations.note"]
    d["metadata"]["annotations"] = {"omgml.dev/pod-security-reason": "needs a token from the kubelet"}
    del d["spec"]["template"]["metadata"]["annotations"]
    assert check_secrets(d) == []


def test_secret_objects_are_where_secrets_belong() -> None:
    s = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "apps"},
         "stringData": {"password": MASK}}
    assert check_secrets(s) == []
