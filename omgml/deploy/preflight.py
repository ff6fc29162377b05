"""Checks that run before the engine starts, each failing with what to install or do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from omgml.deploy.plan import DeployError

PULUMI_DIST = "pulumi"
KUBERNETES_DIST = "pulumi-kubernetes"
TOOLCHAIN_HINT = "build it with scripts/toolchain.sh (offline, from the Go module proxy) and put its bin/ on PATH"


def sdk_version(dist: str) -> str:
    return metadata.version(dist)


def parse_version(text: str) -> str | None:
    m = re.search(r"v?(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else None


def check_pulumi_cli(which: Callable[[str], str | None] = shutil.which,
                     run: Callable[[list[str]], str] | None = None) -> str:
    """The Pulumi CLI must exist and be at least as new as the Python SDK (same major): a newer
    CLI serves an older SDK, an older one may lack what the SDK asks for. Returns its path."""
    path = which("pulumi")
    want = sdk_version(PULUMI_DIST)
    if path is None:
        raise DeployError(
            f"the Pulumi CLI is not on PATH; install Pulumi {want} (the SDK's version) from pulumi.com, "
            f"or {TOOLCHAIN_HINT}"
        )
    out = (run or _run)([path, "version"])
    have = parse_version(out)
    if have is None or not _serves(have, want):
        raise DeployError(
            f"the Pulumi CLI at {path} is {out.strip() or 'of unknown version'}, but the Python SDK is {want}; "
            f"install CLI {want} or newer (same major) or {TOOLCHAIN_HINT}"
        )
    return path


def _serves(cli: str, sdk: str) -> bool:
    c, s = (tuple(int(x) for x in v.split(".")) for v in (cli, sdk))
    return c[0] == s[0] and c >= s


def check_kubernetes_plugin(which: Callable[[str], str | None] = shutil.which,
                            pulumi_home: Path | None = None) -> str:
    """The Kubernetes provider plugin must be installed or on PATH. Returns where it was found."""
    want = sdk_version(KUBERNETES_DIST)
    ambient = which("pulumi-resource-kubernetes")
    if ambient:
        return ambient
    home = pulumi_home or Path(os.environ.get("PULUMI_HOME", Path.home() / ".pulumi"))
    installed = home / "plugins" / f"resource-kubernetes-v{want}"
    if installed.exists():
        return str(installed)
    raise DeployError(
        f"the Pulumi Kubernetes provider plugin v{want} is missing; with internet run "
        f"`pulumi plugin install resource kubernetes v{want}`, or {TOOLCHAIN_HINT}"
    )


def check_passphrase(env: Mapping[str, str]) -> None:
    if not (env.get("PULUMI_CONFIG_PASSPHRASE") or env.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        raise DeployError(
            "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this project's "
            "secrets in the local state backend; keep it somewhere safe, it cannot be recovered"
        )


def check_cluster(context: str | None, kubeconfig: str | None = None, timeout: float = 5.0) -> str:
    """The Kubernetes API server of `context` must answer. Returns its version string."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, FileNotFoundError, TypeError) as exc:
        raise DeployError(
            f"no kubeconfig context {context or '(current)'}: {exc}; create the cluster with "
            "`omgml local up PROJECT` or set kubernetes:context in the stack config"
        ) from None
    try:
        info = client.VersionApi(api_client).get_code(_request_timeout=timeout)
    except Exception as exc:  # any transport error means the same to the user
        raise DeployError(
            f"the cluster of context {context or '(current)'} is unreachable ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no answer'}); start it (`omgml local up PROJECT`) "
            "or fix the kubeconfig"
        ) from None
    return str(info.git_version)


def _run(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeployError(f"cannot run {' '.join(cmd)}: {exc}") from None
    return out.stdout + out.stderr


def cluster_secret_reader(context: str | None, kubeconfig: str | None = None,
                          timeout: float = 10.0) -> Callable[[str, str], Mapping[str, str] | None]:
    """Reads Secrets from the cluster of `context` (decoded), None for a missing one. Values stay
    in this process: they are checked, never printed, never handed to the engine."""
    import base64

    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig, context=context))

    def read(namespace: str, name: str) -> Mapping[str, str] | None:
        try:
            secret = api.read_namespaced_secret(name, namespace, _request_timeout=timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise DeployError(f"cannot read Secret {namespace}/{name} in context {context or '(current)'}: "
                              f"HTTP {exc.status} {exc.reason}; the deploying user needs `get` on Secrets there"
                              ) from None
        return {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (secret.data or {}).items()}

    return read


def check_existing_secrets(required: list[Any], read: Callable[[str, str], Mapping[str, str] | None],
                           project: str = "PROJECT") -> None:
    """credentials: existing - every Secret and key the platform references must be in the cluster
    before the engine creates anything. Raises one line per problem."""
    from omgml.existing_secrets import secret_problems

    problems = secret_problems(required, read, project)
    if problems:
        raise DeployError(f"credentials: existing, but {len(problems)} problem(s) with the team's Secrets "
                          "(nothing was deployed):\n  " + "\n  ".join(problems))


def create_missing_secrets(context: str | None, required: list[Any]) -> list[str]:
    """Create (never replace) the listed Secrets that are missing, with values made here; returns
    `namespace/name` of each one created. For local clusters only: a team's real cluster gets its
    Secrets from its vault."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    from omgml.existing_secrets import missing_secret_data

    api = client.CoreV1Api(config.new_client_from_config(context=context))
    created: list[str] = []
    for req, data in missing_secret_data(required, cluster_secret_reader(context)):
        try:
            api.read_namespace(req.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            api.create_namespace({"metadata": {"name": req.namespace}})
        api.create_namespaced_secret(req.namespace, {
            "metadata": {"name": req.name, "annotations": {"omgml.dev/created-by": "omgml local up --create-secrets"}},
            "type": "Opaque", "stringData": data})
        created.append(req.ref)
    return created
