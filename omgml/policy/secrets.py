"""No secret value where anyone with read access to ConfigMaps, pods or annotations sees it.

Heuristics, tuned to miss little and to stay quiet on references: a secret-like key name
(password, secret, token, api key, …) with a literal value, or a value that looks like a
credential (a private key block, an AWS access key, a URI with an inline password, a known
token format). The synth masks secret Outputs as MASK; seeing MASK in a ConfigMap, an env
literal or an annotation means a generated password was copied into plain text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from omgml.policy.findings import Finding, Manifest, resource_id
from omgml.policy.pods import manifest_containers, pod_spec_at
from omgml.synth.manifests import MASK

POLICY_ID = "no-plaintext-secrets"

_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "secret", "token", "credential", "credentials",
                           "apikey", "passphrase"})
_SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
                           ("auth", "key"), ("client", "secret"), ("signing", "key"), ("encryption", "key")})
# A key ending in one of these names where a secret is, or something about it, not the secret.
_REFERENCE_WORDS = frozenset({"name", "names", "file", "path", "ref", "url", "uri", "endpoint", "ttl",
                              "expiry", "seconds", "length", "type", "header", "env", "id", "namespace",
                              "enabled", "key", "checksum", "hash", "sha", "sha256", "digest", "version",
                              "count", "size", "format", "backend", "provider", "store", "method", "mode"})
_PLACEHOLDER = re.compile(r"^(\$\(|\$\{|\{\{|<).*|^$")
# A switch about a secret (automountServiceAccountToken: false), never a secret itself.
_SWITCH = re.compile(r"^(true|false)$", re.IGNORECASE)
_CREDENTIAL_VALUES = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:(?!\$\(|\$\{|\{\{)[^/\s@]+@"), "a URI with an inline password"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"), "a JWT"),
)
# "key = value" / "key: value" lines inside config files carried by a ConfigMap.
_CONFIG_LINE = re.compile(r"^\s*[\"']?([A-Za-z0-9_.-]+)[\"']?\s*[:=]\s*[\"']?([^\"'#\s][^\"'#]*?)[\"']?\s*$")


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def secret_like_key(key: str) -> bool:
    words = _words(key.rsplit("/", 1)[-1])  # annotation keys: the part after the prefix
    if not words or (words[-1] in _REFERENCE_WORDS and not _pair_at_end(words)):
        return False
    if any(w in _SECRET_WORDS or "password" in w or "passwd" in w for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def _pair_at_end(words: list[str]) -> bool:
    return len(words) >= 2 and (words[-2], words[-1]) in _SECRET_PAIRS


def credential_in(value: str) -> str | None:
    """What kind of credential `value` holds, if it looks like one."""
    if MASK in value:
        return "a generated secret (masked in the render)"
    for pattern, what in _CREDENTIAL_VALUES:
        if pattern.search(value):
            return what
    return None


def value_problem(key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    found = credential_in(value)
    if found:
        return f"{key!r} holds {found}"
    if secret_like_key(key) and not (_PLACEHOLDER.match(value.strip()) or _SWITCH.match(value.strip())) \
            and "\n" not in value:
        return f"{key!r} looks like a secret and has a literal value"
    if "\n" in value:
        for line in value.splitlines():
            mline = _CONFIG_LINE.match(line)
            literal = mline.group(2).strip() if mline else ""
            if mline and secret_like_key(mline.group(1)) and not (_PLACEHOLDER.match(literal) or _SWITCH.match(literal)):
                return f"{key!r} sets {mline.group(1)!r} to a literal value"
    return None


def _annotations(m: Manifest) -> Iterator[tuple[str, str, Any]]:
    for k, v in ((m.get("metadata") or {}).get("annotations") or {}).items():
        yield f"metadata.annotations.{k}", k, v
    pod = pod_spec_at(m)
    if pod is not None:
        prefix = pod.path.removesuffix(".spec") + ".metadata.annotations"
        for k, v in (pod.template_meta.get("annotations") or {}).items():
            yield f"{prefix}.{k}", k, v


def check_secrets(m: Manifest) -> list[Finding]:
    rid = resource_id(m)
    out: list[Finding] = []
    fix_cm = "move it into a Secret (GeneratedSecret) and mount it or read it with secretKeyRef"
    if m.get("kind") == "ConfigMap":
        for section in ("data", "binaryData"):
            for k, v in (m.get(section) or {}).items():
                problem = value_problem(k, v)
                if problem:
                    out.append(Finding(POLICY_ID, "error", rid, f"{section}.{k}", f"ConfigMap {problem}", fix_cm))
    for path, k, v in _annotations(m):
        problem = value_problem(k, v)
        if problem:
            out.append(Finding(POLICY_ID, "error", rid, path, f"annotation {problem}",
                               "keep credentials out of annotations; reference a Secret instead"))
    for c in manifest_containers(m):
        for i, env in enumerate(c.container.get("env") or []):
            if "value" not in env:
                continue
            problem = value_problem(str(env.get("name", "")), env["value"])
            if problem:
                out.append(Finding(POLICY_ID, "error", rid, f"{c.path}.env[{i}].value",
                                   f"container {c.name!r}: env {problem}",
                                   "use valueFrom.secretKeyRef (omgml.k8s.secret_env)"))
    return out
