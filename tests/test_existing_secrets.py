"""credentials: existing — no random resource, every reference points at a listed Secret, the
cluster check and the templates (pure parts; the real cluster path is in tests/e2e)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from omgml.errors import SpecError
from omgml.existing_secrets import (
    PLACEHOLDER,
    RequiredKey,
    RequiredSecret,
    required_secrets_from_render,
    secret_problems,
    template_commands,
    template_manifests,
)
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.render import PlatformRender, render_platform
from omgml.templates import template_platform_spec as template_platform
from tests.components.manifest_checks import workloads
from tests.synth_helpers import containers, pod_spec

Manifest = dict[str, Any]


def _existing_spec(credentials: str = "existing") -> PlatformSpec:
    data = template_platform("enterprise").model_dump(mode="json")
    data["credentials"] = credentials
    # Airflow too: its Fernet key is the one value that is not a password.
    data["phases"]["training"]["airflow"]["enabled"] = True
    return spec_from_dict(data)


@pytest.fixture(scope="module")
def render() -> PlatformRender:
    return render_platform(_existing_spec())


@pytest.fixture(scope="module")
def required(render: PlatformRender) -> list[RequiredSecret]:
    return required_secrets_from_render(render)


def _ns(m: Manifest) -> str:
    return str(m["metadata"].get("namespace", ""))


def test_nothing_random_is_created(render: PlatformRender) -> None:
    types = {e["type"] for e in render.inventory()["resources"]}
    assert not [t for t in types if t.startswith("random:")], types
    generated = _existing_spec("generated")
    assert any(e["type"].startswith("random:") for e in render_platform(generated).inventory()["resources"])


def test_omgml_creates_none_of_the_listed_secrets(render: PlatformRender, required: list[RequiredSecret]) -> None:
    rendered = {(_ns(m), m["metadata"]["name"]) for m in render.all_manifests() if m["kind"] == "Secret"}
    listed = {(r.namespace, r.name) for r in required}
    assert listed and not listed & rendered, listed & rendered


def _references(items: list[Manifest]) -> list[tuple[str, str, str | None, str]]:
    """(namespace, secret, key or None for a whole-Secret volume, where) of every pod reference."""
    refs = []
    for w in workloads(items):
        where = f"{w['kind']}/{_ns(w)}/{w['metadata']['name']}"
        for c in containers(w):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.append((_ns(w), ref["name"], ref["key"], where))
            for src in c.get("envFrom", []):
                if "secretRef" in src:
                    refs.append((_ns(w), src["secretRef"]["name"], None, where))
        for v in pod_spec(w).get("volumes", []):
            if "secret" in v:
                items_ = v["secret"].get("items") or [{"key": None}]
                refs += [(_ns(w), v["secret"]["secretName"], i["key"], where) for i in items_]
    return refs


def test_every_reference_is_rendered_or_listed_with_its_key(
        render: PlatformRender, required: list[RequiredSecret]) -> None:
    items = render.all_manifests()
    rendered = {(_ns(m), m["metadata"]["name"]): set(m.get("stringData", {})) | set(m.get("data", {}))
                for m in items if m["kind"] == "Secret"}
    listed = {(r.namespace, r.name): {k.name for k in r.keys} for r in required}
    refs = _references(items)
    assert refs
    for ns, name, key, where in refs:
        keys = rendered.get((ns, name), listed.get((ns, name)))
        assert keys is not None, f"{where} reads Secret {ns}/{name}, which neither omgml nor the list provides"
        assert key is None or key in keys, f"{where} reads key {key!r} of {ns}/{name}, not among {sorted(keys)}"
    # And every Secret listed for the platform itself is read by one of its pods (copies in client
    # namespaces are there for the team's own pods: pipeline steps, task pods, notebooks).
    read = {(ns, name) for ns, name, _, _ in refs}
    primaries = {(r.namespace, r.name) for r in required if r.copy_of is None}
    assert primaries - read == set()


def test_values_are_taken_from_the_environment(render: PlatformRender) -> None:
    items = render.all_manifests()
    redis = next(w for w in workloads(items) if w["metadata"]["name"] == "redis")
    assert containers(redis)[0]["command"][-2:] == ["--requirepass", "$(REDISCLI_AUTH)"]
    conf = next(m for m in items if m["kind"] == "Secret" and m["metadata"]["name"].startswith("redis-config"))
    assert "requirepass" not in json.dumps(conf)
    store = next(w for w in workloads(items) if w["metadata"]["name"] == "objectstore")
    c = containers(store)[0]
    assert not [a for a in c["command"] if a.startswith("-s3.config")]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in c["env"]}
    assert env == {"AWS_ACCESS_KEY_ID": "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY"}


def test_kafka_cluster_id_is_stable_and_a_valid_kafka_id(render: PlatformRender) -> None:
    def cluster_id(r: PlatformRender) -> str:
        sts = next(w for w in workloads(r.all_manifests()) if w["kind"] == "StatefulSet"
                   and w["metadata"]["name"] == "kafka")
        return next(e["value"] for e in containers(sts)[0]["env"] if e["name"] == "CLUSTER_ID")

    first = cluster_id(render)
    assert first == cluster_id(render_platform(_existing_spec()))
    # Kafka wants 16 bytes, URL-safe base64 without padding (22 characters).
    assert len(first) == 22 and len(base64.urlsafe_b64decode(first + "==")) == 16


def test_copies_are_listed_per_client_namespace(required: list[RequiredSecret]) -> None:
    copies = [r for r in required if r.copy_of is not None]
    assert {r.name for r in copies} >= {"redis-auth", "objectstore-s3-credentials"}
    for c in copies:
        source = next(r for r in required if (r.namespace, r.name) == c.copy_of)
        assert c.keys == source.keys and c.namespace != source.namespace


# --- the cluster check ------------------------------------------------------------------------

PG = RequiredSecret("data", "pg", (RequiredKey("password", "password"), RequiredKey("port", "literal", "5432")),
                    "postgres", "foundation")
COPY = RequiredSecret("apps", "pg", PG.keys, "postgres", "foundation", copy_of=("data", "pg"))
FERNET = RequiredSecret("orch", "airflow", (RequiredKey("fernet-key", "fernet"),), "airflow", "training")
GOOD = "a" * 16 + "B7"


def _reader(secrets: dict[tuple[str, str], dict[str, str]]) -> Any:
    return lambda ns, name: secrets.get((ns, name))


def test_check_passes_for_good_secrets() -> None:
    fernet = base64.urlsafe_b64encode(os.urandom(32)).decode()
    data = {("data", "pg"): {"password": GOOD, "port": "5432"}, ("apps", "pg"): {"password": GOOD, "port": "5432"},
            ("orch", "airflow"): {"fernet-key": fernet}}
    assert secret_problems([PG, COPY, FERNET], _reader(data)) == []


@pytest.mark.parametrize(("data", "expected"), [
    ({}, "Secret data/pg is missing (keys password, port; needed by postgres)"),
    ({("data", "pg"): {"password": GOOD}}, "Secret data/pg has no key 'port'"),
    ({("data", "pg"): {"password": GOOD, "port": "5433"}}, "Secret data/pg key 'port' must be exactly '5432'"),
    ({("data", "pg"): {"password": "short", "port": "5432"}}, "Secret data/pg key 'password' must be at least 16"),
    ({("data", "pg"): {"password": "p@ss:word/with-uri-chars", "port": "5432"}}, "key 'password' must be"),
    ({("data", "pg"): {"password": f"{PLACEHOLDER}: x", "port": "5432"}}, "still holds the template placeholder"),
])
def test_check_names_each_problem_on_one_line(data: dict[tuple[str, str], dict[str, str]], expected: str) -> None:
    problems = secret_problems([PG], _reader(data))
    assert len(problems) == 1 and expected in problems[0], problems
    assert "\n" not in problems[0]
    # A value is never echoed back.
    for values in data.values():
        assert values.get("password", "§") not in problems[0]


def test_check_refuses_a_copy_with_other_values_and_a_bad_fernet_key() -> None:
    data = {("data", "pg"): {"password": GOOD, "port": "5432"},
            ("apps", "pg"): {"password": GOOD + "x", "port": "5432"},
            ("orch", "airflow"): {"fernet-key": GOOD}}
    problems = secret_problems([PG, COPY, FERNET], _reader(data))
    assert problems == ["Secret apps/pg key 'password' differs from data/pg; a copy must hold the same value",
                        "Secret orch/airflow key 'fernet-key' is not a Fernet key: 32 random bytes, URL-safe "
                        "base64 with padding (44 characters)"]


# --- the templates ------------------------------------------------------------------------------

def test_manifest_template_lists_everything_and_is_refused_until_filled(required: list[RequiredSecret]) -> None:
    docs = [d for d in yaml.safe_load_all(template_manifests(required)) if d]
    secrets = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["stringData"] for d in docs
               if d["kind"] == "Secret"}
    assert set(secrets) == {(r.namespace, r.name) for r in required}
    namespaces = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    assert namespaces == {r.namespace for r in required}
    problems = secret_problems(required, _reader(secrets))
    to_fill = [(r, k) for r in required for k in r.keys if k.format != "literal"]
    # Every value to choose is a placeholder the check refuses; the literal ones are already right.
    assert len(problems) == len(to_fill) and all("placeholder" in p for p in problems)


def test_command_template_creates_secrets_that_pass_the_check(
        required: list[RequiredSecret], tmp_path: Path) -> None:
    """Run the script with a stand-in kubectl that stores what it is asked to create."""
    store = tmp_path / "store"
    store.mkdir()
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys, pathlib\n"
        "a = sys.argv[1:]\n"
        f"store = pathlib.Path({str(store)!r})\n"
        "if 'namespace' in a or 'apply' in a:\n"
        "    sys.stdin.read(); sys.exit(0)\n"
        "ns = a[a.index('-n') + 1]; name = a[a.index('generic') + 1]\n"
        "data = dict(x.split('=', 1)[1].split('=', 1) for x in a if x.startswith('--from-literal='))\n"
        "(store / f'{ns}__{name}.json').write_text(json.dumps(data))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    script = tmp_path / "secrets.sh"
    script.write_text(template_commands(required))
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    out = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    created = {tuple(p.stem.split("__")): json.loads(p.read_text()) for p in store.iterdir()}
    assert secret_problems(required, _reader(created)) == []
    # Values are made on the user's machine, different per Secret (never one shared default).
    passwords = [v for (ns, name), d in created.items() for k, v in d.items()
                 if not any(r.copy_of for r in required if (r.namespace, r.name) == (ns, name))
                 and k in ("password", "root_password")]
    assert len(passwords) == len(set(passwords)) > 3


# --- spec and CLI -------------------------------------------------------------------------------

def test_spec_rejects_an_unknown_source_and_the_airflow_bundle() -> None:
    data = template_platform("starter").model_dump(mode="json")
    with pytest.raises(SpecError, match="credentials"):
        spec_from_dict({**data, "credentials": "vault"})
    data["credentials"] = "existing"
    data["phases"]["training"]["airflow"]["connections_bundle"] = True
    with pytest.raises(SpecError, match="connections_bundle: the bundle is a Secret made of the store keys"):
        spec_from_dict(data)


def test_secrets_template_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from omgml.cli.app import app

    spec = tmp_path / "omgml.yaml"
    data = template_platform("starter").model_dump(mode="json")
    spec.write_text(yaml.safe_dump({"platform": data}))
    refused = CliRunner().invoke(app, ["secrets", "template", str(spec)])
    assert refused.exit_code == 2 and "credentials is 'generated'" in refused.output
    spec.write_text(yaml.safe_dump({"platform": {**data, "credentials": "existing"}}))
    out = CliRunner().invoke(app, ["secrets", "template", str(spec), "--format", "commands"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("#!/bin/sh") and "create secret generic postgres-superuser" in out.output


def test_regulated_templates_use_existing_credentials_and_say_why() -> None:
    from omgml.project import compliance_adr
    from omgml.recommend.engine import recommend
    from omgml.templates import load_template

    fintech = recommend(load_template("fintech"))
    assert fintech.platform.credentials == "existing"
    adr = compliance_adr(11, fintech)
    assert "`credentials: existing` (pci-dss, soc2): no password is generated into Pulumi state" in adr
    assert recommend(load_template("enterprise")).platform.credentials == "generated"
    assert "credentials: existing" not in compliance_adr(11, recommend(load_template("enterprise")))
    # The team's own Airflow gets a bundle made of the values themselves: generated then.
    req = load_template("fintech")
    own_airflow = req.model_copy(update={
        "flags": [], "orchestration": req.orchestration.model_copy(update={"existing": "airflow"})})
    assert recommend(own_airflow).platform.phases.training.airflow.connections_bundle
    assert recommend(own_airflow).platform.credentials == "generated"


def test_missing_secret_data_makes_fresh_values_and_copies_share_them() -> None:
    from omgml.existing_secrets import missing_secret_data

    present = {("orch", "airflow"): {"fernet-key": "kept"}}
    made = missing_secret_data([PG, COPY, FERNET], _reader(present))
    assert [r.ref for r, _ in made] == ["data/pg", "apps/pg"]  # the existing Secret is left alone
    source, copy = made[0][1], made[1][1]
    assert source == copy and source["port"] == "5432" and len(source["password"]) == 48
    assert secret_problems([PG, COPY], _reader({("data", "pg"): source, ("apps", "pg"): copy})) == []
    again = missing_secret_data([PG], _reader({}))[0][1]
    assert again["password"] != source["password"]
    # A copy whose source already exists takes the source's values.
    only_copy = missing_secret_data([PG, COPY], _reader({("data", "pg"): {"password": GOOD, "port": "5432"}}))
    assert [(r.ref, d["password"]) for r, d in only_copy] == [("apps/pg", GOOD)]


def test_deploy_checks_the_secrets_of_the_phases_it_runs_before_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`omgml up` with a missing Secret stops in preflight: the engine is never started."""
    from omgml.cli import deploy
    from omgml.deploy import preflight
    from omgml.deploy.plan import DeployError

    spec = _existing_spec()
    project = tmp_path / "p"
    (project / "stacks").mkdir(parents=True)
    (project / "omgml.yaml").write_text(yaml.safe_dump({"platform": spec.model_dump(mode="json")}))
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    for phase in ("foundation", "training", "serving"):
        (project / "stacks" / f"Pulumi.dev-{phase}.yaml").write_text(
            yaml.safe_dump({"config": {"kubernetes:context": "kwok-p"}}))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    monkeypatch.setattr(preflight, "check_pulumi_cli", lambda: "pulumi")
    monkeypatch.setattr(preflight, "check_kubernetes_plugin", lambda: "plugin")
    monkeypatch.setattr(preflight, "check_cluster", lambda context: "v1.36.3")
    asked: list[tuple[str, str]] = []

    def reader(context: str | None) -> Any:
        assert context == "kwok-p"
        return lambda ns, name: asked.append((ns, name))

    monkeypatch.setattr(preflight, "cluster_secret_reader", reader)

    class NoEngine:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("the engine started although Secrets are missing")

    monkeypatch.setattr("omgml.deploy.runner.AutomationRunner", NoEngine)
    with pytest.raises(DeployError) as info:
        deploy.run_action("up", project, "foundation", "dev")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("credentials: existing, but ") and "nothing was deployed" in lines[0]
    foundation = {(r.namespace, r.name) for r in required_secrets_from_render(render_platform(spec))
                  if r.phase == "foundation"}
    assert set(asked) == foundation and len(lines) == 1 + len(foundation)
