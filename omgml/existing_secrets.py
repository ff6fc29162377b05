"""The Secrets a platform with `credentials: existing` needs, checked and templated.

The list comes from the platform's own program: with `existing`, the one secret helper
(omgml.components.credentials) records, instead of creating anything, which Secret, keys and
namespaces it expects; the offline synth reads those records. So the list cannot drift from what
the components reference. Everything after that is pure: `secret_problems` (one line per missing
Secret, missing key or unusable value), `template_manifests` and `template_commands`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec
    from omgml.synth.render import PlatformRender

EXISTING_TYPE_TOKEN = "omgml:core:ExistingSecret"  # = omgml.components.credentials.EXISTING_TYPE_TOKEN
# Marks every value the user must replace; the cluster check refuses a Secret that still holds it.
PLACEHOLDER = "FILL-ME-IN"
PASSWORD_RE = re.compile(r"^[A-Za-z0-9._~-]{16,}$")
FORMAT_HELP = {
    "password": "at least 16 characters from A-Z a-z 0-9 . _ ~ - (it is placed in connection URIs as is)",
    "fernet": "a Fernet key: 32 random bytes, URL-safe base64 with padding (44 characters)",
}
# How `template_commands` makes each kind of value on the user's machine (never a fixed value).
GENERATORS = {
    "password": "$(openssl rand -hex 24)",
    "fernet": "$(openssl rand -base64 32 | tr '+/' '-_')",
}


@dataclass(frozen=True)
class RequiredKey:
    name: str
    format: str  # password | fernet | literal
    value: str | None = None  # the exact value of a literal key


@dataclass(frozen=True)
class RequiredSecret:
    namespace: str
    name: str
    keys: tuple[RequiredKey, ...]
    app: str
    phase: str
    # For a copy: (namespace, name) of the Secret whose values it must repeat.
    copy_of: tuple[str, str] | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def required_secrets_from_render(render: PlatformRender) -> list[RequiredSecret]:
    """Every Secret (and copy) the rendered platform expects the team to provide, in phase order."""
    out: list[RequiredSecret] = []
    for entry in render.inventory()["resources"]:
        if entry["type"] != EXISTING_TYPE_TOKEN:
            continue
        props: Mapping[str, Any] = entry["inputs"]
        keys = tuple(RequiredKey(k, str(v["format"]), v.get("value")) for k, v in sorted(props["keys"].items()))
        primary = RequiredSecret(str(props["namespace"]), str(props["secretName"]), keys, str(props["app"]),
                                 str(entry["phase"]))
        out.append(primary)
        for ns in props.get("copiesIn", []):
            out.append(RequiredSecret(str(ns), primary.name, keys, primary.app, primary.phase,
                                      copy_of=(primary.namespace, primary.name)))
    return out


def required_secrets(spec: PlatformSpec) -> list[RequiredSecret]:
    """The Secrets `spec` needs from the team (none with `credentials: generated`)."""
    if spec.credentials != "existing":
        return []
    from omgml.synth.render import render_platform

    return required_secrets_from_render(render_platform(spec))


def value_problem(key: RequiredKey, value: str) -> str | None:
    """Why a team-provided value cannot work (None when it can). Never echoes the value."""
    if PLACEHOLDER in value:
        return "still holds the template placeholder; put the real value in"
    if key.format == "literal":
        return None if value == key.value else f"must be exactly {key.value!r}"
    if key.format == "fernet":
        try:
            ok = len(base64.urlsafe_b64decode(value.encode())) == 32
        except (binascii.Error, ValueError):
            ok = False
        return None if ok else f"is not {FORMAT_HELP['fernet']}"
    return None if PASSWORD_RE.match(value) else f"must be {FORMAT_HELP['password']}"


# Reads one Secret's decoded data; None when the Secret (or its namespace) does not exist.
SecretReader = Callable[[str, str], Mapping[str, str] | None]


def secret_problems(required: list[RequiredSecret], read: SecretReader, project: str = "PROJECT") -> list[str]:
    """One line per missing Secret, missing key, unusable value or copy that differs from its source."""
    problems: list[str] = []
    seen: dict[tuple[str, str], Mapping[str, str] | None] = {}

    def get(ns: str, name: str) -> Mapping[str, str] | None:
        if (ns, name) not in seen:
            seen[(ns, name)] = read(ns, name)
        return seen[(ns, name)]

    for req in required:
        data = get(req.namespace, req.name)
        if data is None:
            problems.append(f"Secret {req.ref} is missing (keys {', '.join(k.name for k in req.keys)}; "
                            f"needed by {req.app}); create it: `omgml secrets template {project}`")
            continue
        for key in req.keys:
            if key.name not in data:
                problems.append(f"Secret {req.ref} has no key {key.name!r} (needed by {req.app}); add it")
                continue
            why = value_problem(key, data[key.name])
            if why:
                problems.append(f"Secret {req.ref} key {key.name!r} {why}")
            elif req.copy_of is not None:
                source = get(*req.copy_of)
                if source is not None and source.get(key.name) not in (None, data[key.name]):
                    problems.append(f"Secret {req.ref} key {key.name!r} differs from {'/'.join(req.copy_of)}; "
                                    "a copy must hold the same value")
    return problems


def _placeholder(key: RequiredKey) -> str:
    return f"{PLACEHOLDER}: {FORMAT_HELP[key.format]}"


def template_manifests(required: list[RequiredSecret]) -> str:
    """Namespaces + Secrets as YAML to fill in and `kubectl apply`; every value to choose is a
    marked placeholder (the cluster check refuses it), literal keys carry their exact value."""
    docs: list[dict[str, Any]] = []
    for ns in sorted({r.namespace for r in required}):
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for req in required:
        data = {k.name: (k.value if k.format == "literal" and k.value is not None else _placeholder(k))
                for k in req.keys}
        annotations = {"omgml.dev/needed-by": req.app, "omgml.dev/phase": req.phase}
        if req.copy_of is not None:
            annotations["omgml.dev/same-values-as"] = "/".join(req.copy_of)
        docs.append({"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": req.name, "namespace": req.namespace, "annotations": annotations},
                     "type": "Opaque", "stringData": data})
    header = (f"# Secrets for credentials: existing. Replace every {PLACEHOLDER} value (copies marked\n"
              "# omgml.dev/same-values-as must hold the same values as their source), then `kubectl apply -f`.\n")
    return header + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True)


def _var(req: RequiredSecret, key: RequiredKey) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"{req.namespace}_{req.name}_{key.name}".upper()).strip("_")


def template_commands(required: list[RequiredSecret]) -> str:
    """A POSIX shell script that makes every value once on the user's machine (openssl) and creates
    the namespaces and Secrets with kubectl; copies reuse the values of their source."""
    lines = ["#!/bin/sh", "# Secrets for credentials: existing (`omgml secrets template PROJECT --format commands`).",
             "# Values are made here with openssl and never printed; set KUBECTL_CONTEXT to choose the cluster.",
             "set -eu", 'K="kubectl ${KUBECTL_CONTEXT:+--context $KUBECTL_CONTEXT}"', ""]
    for ns in sorted({r.namespace for r in required}):
        lines.append(f"$K create namespace {ns} --dry-run=client -o yaml | $K apply -f - >/dev/null")
    lines.append("")
    for req in required:
        source = req if req.copy_of is None else RequiredSecret(req.copy_of[0], req.copy_of[1], req.keys, req.app,
                                                                req.phase)
        if req.copy_of is None:
            for key in req.keys:
                if key.format != "literal":
                    lines.append(f'{_var(req, key)}="{GENERATORS[key.format]}"')
        args = []
        for key in req.keys:
            if key.format == "literal":
                args.append(f"--from-literal={key.name}={_shell_quote(key.value or '')}")
            else:
                args.append(f'--from-literal={key.name}="${_var(source, key)}"')
        lines.append(f"$K -n {req.namespace} create secret generic {req.name} {' '.join(args)}")
    lines.append(f'echo "created {len(required)} Secrets"')
    return "\n".join(lines) + "\n"


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def fresh_value(key: RequiredKey) -> str:
    """A new value for a key, made here (never a fixed default)."""
    import os
    import secrets

    if key.format == "literal":
        return key.value or ""
    if key.format == "fernet":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_hex(24)


def missing_secret_data(required: list[RequiredSecret], read: SecretReader) -> list[tuple[RequiredSecret, dict[str, str]]]:
    """For `omgml local up --create-secrets`: the data of every listed Secret that does not exist
    yet, with fresh values; a copy takes its source's values (from the cluster, or the ones made
    here for it). Existing Secrets are never touched."""
    made: dict[tuple[str, str], dict[str, str]] = {}
    out: list[tuple[RequiredSecret, dict[str, str]]] = []
    for req in required:
        if read(req.namespace, req.name) is not None:
            continue
        source: Mapping[str, str] | None = None
        if req.copy_of is not None:
            source = made.get(req.copy_of) or read(*req.copy_of)
        data = {k.name: (source[k.name] if source is not None and k.name in source else fresh_value(k))
                for k in req.keys}
        made[(req.namespace, req.name)] = data
        out.append((req, data))
    return out
