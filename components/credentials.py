"""The one secret helper: generated credentials stored in a Kubernetes Secret.

Passwords come from pulumi_random (secret Outputs, encrypted in state, masked in diffs) and
reach containers only through `secretKeyRef` (see omgml.k8s.secret_env). Nothing here ever
holds a literal password.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from omgml.labels import standard_labels

TYPE_TOKEN = "omgml:core:GeneratedSecret"


@dataclass(frozen=True)
class GeneratedSecretArgs:
    namespace: pulumi.Input[str]
    secret_name: str
    # Keys whose values are generated passwords (URL-safe: no characters that break URIs).
    password_keys: tuple[str, ...] = ()
    # Further keys computed from other Outputs (e.g. a connection URI holding a password).
    derived: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    length: int = 32
    app_name: str = "omgml"
    instance: str = "omgml"


class GeneratedSecret(pulumi.ComponentResource):
    """RandomPassword per key + one Secret holding them. `.passwords[key]` composes URIs."""

    passwords: dict[str, pulumi.Output[str]]
    secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: GeneratedSecretArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        if not args.password_keys and not args.derived:
            raise ValueError(f"{name}: GeneratedSecretArgs needs password_keys or derived values")
        child = pulumi.ResourceOptions(parent=self)
        self.passwords = {}
        for key in args.password_keys:
            pw = random.RandomPassword(
                f"{name}-{key.lower().replace('_', '-')}",
                length=args.length,
                special=False,
                min_lower=2,
                min_upper=2,
                min_numeric=2,
                opts=child,
            )
            self.passwords[key] = pw.result
        data: dict[str, pulumi.Input[str]] = {**self.passwords, **args.derived}
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={
                "name": args.secret_name,
                "namespace": args.namespace,
                "labels": standard_labels(args.app_name, args.instance, "credentials"),
            },
            type="Opaque",
            # Each value secret on its own: the manifest keeps its keys and masks only the values.
            string_data={k: pulumi.Output.secret(v) for k, v in data.items()},
            opts=child,
        )
        self.secret_name = secret.metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)
        self.register_outputs({"secret_name": self.secret_name})


def secret_checksum(*values: pulumi.Input[str]) -> pulumi.Output[str]:
    """A short digest of secret values, for a pod-template annotation: a rotated password then
    changes the template, so pods restart (and Jobs re-run) with it. Only the digest of
    high-entropy generated values leaves the secret, so it is safe to show in plain text."""
    digest = pulumi.Output.all(*values).apply(
        lambda vs: hashlib.sha256("\0".join(str(v) for v in vs).encode()).hexdigest()[:16]
    )
    return pulumi.Output.unsecret(digest)
