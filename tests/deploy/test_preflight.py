"""Preflight errors say what to install or do."""

from __future__ import annotations

from pathlib import Path

import pytest

from omgml.deploy import preflight
from omgml.deploy.local import LocalCluster, choose_runtime, kwok_create_command, set_stack_context
from omgml.deploy.plan import DeployError


def test_missing_cli_says_what_to_install() -> None:
    with pytest.raises(DeployError) as info:
        preflight.check_pulumi_cli(which=lambda _: None)
    msg = str(info.value)
    assert "Pulumi CLI is not on PATH" in msg and preflight.sdk_version("pulumi") in msg
    assert "scripts/toolchain.sh" in msg


def test_cli_must_be_at_least_the_sdk_version() -> None:
    want = preflight.sdk_version("pulumi")
    major, minor, patch = (int(x) for x in want.split("."))
    for ok_version in (want, f"{major}.{minor + 4}.0"):
        ok = preflight.check_pulumi_cli(which=lambda _: "/bin/pulumi", run=lambda _, v=ok_version: f"v{v}\n")
        assert ok == "/bin/pulumi"
    for too_old in ("3.100.0", f"{major}.{minor - 1}.{patch}", f"{major + 1}.0.0"):
        with pytest.raises(DeployError, match=f"but the Python SDK is {want}; install CLI {want} or newer"):
            preflight.check_pulumi_cli(which=lambda _: "/bin/pulumi", run=lambda _, v=too_old: f"v{v}\n")


def test_missing_kubernetes_plugin(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"pulumi plugin install resource kubernetes v4\."):
        preflight.check_kubernetes_plugin(which=lambda _: None, pulumi_home=tmp_path)
    want = preflight.sdk_version("pulumi-kubernetes")
    (tmp_path / "plugins" / f"resource-kubernetes-v{want}").mkdir(parents=True)
    assert preflight.check_kubernetes_plugin(which=lambda _: None, pulumi_home=tmp_path).endswith(want)


def test_passphrase_required() -> None:
    with pytest.raises(DeployError, match="set PULUMI_CONFIG_PASSPHRASE"):
        preflight.check_passphrase({})
    preflight.check_passphrase({"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/pp"})


def test_unreachable_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        "clusters: [{name: dead, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: dead, context: {cluster: dead, user: u}}]\n")
    with pytest.raises(DeployError, match=r"the cluster of context dead is unreachable"):
        preflight.check_cluster("dead", str(kubeconfig), timeout=2)
    with pytest.raises(DeployError, match="no kubeconfig context nope"):
        preflight.check_cluster("nope", str(kubeconfig))


def test_runtime_choice() -> None:
    class Done:
        def __init__(self, code: int) -> None:
            self.returncode, self.stdout, self.stderr = code, "", ""

    tools = {"docker", "kind", "kwokctl"}
    assert choose_runtime(lambda t: t if t in tools else None, lambda _: Done(0)) == "kind"  # type: ignore[arg-type,return-value]
    # Docker client without an engine (this machine): kwok, simulated.
    assert choose_runtime(lambda t: t if t in tools else None, lambda _: Done(1)) == "kwok"  # type: ignore[arg-type,return-value]
    with pytest.raises(DeployError, match="install Docker and kind"):
        choose_runtime(lambda _: None)
    assert LocalCluster("kwok", "demo").context == "kwok-demo" and LocalCluster("kwok", "demo").simulated
    cmd = kwok_create_command("demo", which=lambda b: f"/tc/bin/{b}")
    assert cmd[cmd.index("--runtime") + 1] == "binary"
    assert cmd[cmd.index("--etcd-binary") + 1] == "/tc/bin/etcd"
    with pytest.raises(DeployError, match="kwok needs etcd on PATH"):
        kwok_create_command("demo", which=lambda b: None if b == "etcd" else b)


def test_set_stack_context_keeps_other_config(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    f = tmp_path / "stacks" / "Pulumi.dev-foundation.yaml"
    f.write_text("config:\n  omgml:phase: foundation\n  kubernetes:context: kind-demo\n")
    assert set_stack_context(tmp_path, "dev-foundation", "kwok-demo")
    assert not set_stack_context(tmp_path, "dev-foundation", "kwok-demo")
    text = f.read_text()
    assert "omgml:phase: foundation" in text and "kwok-demo" in text
