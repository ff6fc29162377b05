"""The one naming helper: Kubernetes object names that are valid, short, stable and readable."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Self

MAX_NAME = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def k8s_name(*parts: str, max_length: int = MAX_NAME) -> str:
    """Join `parts` into a DNS-1123 label (also a valid DNS-1035 label: it starts with a letter).

    The result is deterministic. When the joined text had to be changed (invalid characters,
    too long, leading digit), an 8-hex-digit hash of the original text is appended so two
    different inputs that clean up to the same text still get different names.
    """
    if max_length < 12 or max_length > MAX_NAME:
        raise ValueError(f"max_length must be between 12 and {MAX_NAME}, got {max_length}")
    raw = "-".join(p for p in parts if p)
    if not raw:
        raise ValueError("k8s_name needs at least one non-empty part")
    clean = _DASHES.sub("-", _INVALID.sub("-", raw.lower())).strip("-")
    if not clean or not clean[0].isalpha():
        clean = f"n-{clean}".rstrip("-")
    if clean == raw and len(clean) <= max_length:
        return clean
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
    head = clean[: max_length - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


@dataclass(frozen=True, kw_only=True)
class ServerNames:
    """What every single-StatefulSet server (Postgres, Redis, Kafka) names after its instance:
    the StatefulSet and the ServiceAccount its pods run as (`<instance>`), and the headless
    Service that gives each pod its stable DNS name (`<instance>-headless`). A server's own
    names dataclass extends this one with its further objects."""

    statefulset: str
    headless: str
    service_account: str

    @classmethod
    def of(cls, instance: str, **more: str) -> Self:
        """The names of `instance`; `more` are the subclass's further names."""
        return cls(statefulset=k8s_name(instance), headless=k8s_name(instance, "headless"),
                   service_account=k8s_name(instance), **more)


def stack_name(prefix: str, phase: str) -> str:
    """Each phase is its own stack: `<prefix>-<phase>` (e.g. dev-foundation)."""
    return f"{prefix}-{phase}"


def stack_reference_name(org: str, project: str, prefix: str, phase: str) -> str:
    """Fully qualified stack name for a StackReference (`organization` on the file backend)."""
    return f"{org}/{project}/{stack_name(prefix, phase)}"


def service_host(service: str, namespace: str) -> str:
    """The cluster DNS name of a Service: the one address pods in every namespace reach it by
    (the short `<service>` only resolves inside its own namespace)."""
    return f"{service}.{namespace}.svc.cluster.local"


def service_url(service: str, namespace: str, port: int | None = None, path: str = "") -> str:
    """`http://<service_host>[:port]<path>`: a Service's in-cluster URL (no port: the Service
    listens on 80); `path` starts with '/' when given."""
    where = service_host(service, namespace) if port is None else f"{service_host(service, namespace)}:{port}"
    return f"http://{where}{path}"


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def require_dns_label(field: str, value: str) -> str:
    """`value` if it is a DNS-1123 label, else a ValueError naming `field`, the value and the fix."""
    if not _DNS_LABEL.match(value):
        raise ValueError(f"{field}: {value!r} is not a DNS-1123 label; use at most 63 lowercase letters, digits "
                         "and '-', starting and ending with a letter or digit")
    return value


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NEW_AWS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def require_bucket_name(field: str, value: str, *, new_on_aws: bool = False) -> str:
    """`value` if it is a valid S3 bucket name, else a ValueError naming `field`, the value and the fix.

    `new_on_aws`: a bucket omgml creates on AWS also avoids dots (virtual-hosted TLS names break
    on them), '--', the 'xn--' prefix and the '-s3alias' suffix, which AWS reserves."""
    if new_on_aws:
        if (not _NEW_AWS_BUCKET.match(value) or "--" in value or value.startswith("xn--")
                or value.endswith("-s3alias")):
            raise ValueError(f"{field}: {value!r} is not a valid name for a new S3 bucket; use 3-63 lowercase "
                             "letters, digits and single hyphens (no dots, no 'xn--' prefix, no '-s3alias' suffix)")
    elif not _BUCKET.match(value) or ".." in value:
        raise ValueError(f"{field}: {value!r} is not a valid S3 bucket name; use 3-63 lowercase letters, digits, '-' "
                         "or '.', starting and ending with a letter or digit, without '..'")
    return value
