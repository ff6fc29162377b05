"""The one secret helper: the credentials a component needs, as a Kubernetes Secret.

Two sources (`PlatformSpec.credentials`, passed down as `GeneratedSecretArgs.source`):

- `generated` (default): passwords come from pulumi_random (secret Outputs, encrypted in state,
  masked in diffs) and land in a Secret omgml owns.
- `existing`: the team creates the Secret beforehand (by hand, from a vault, or synced by External
  Secrets). omgml creates nothing random and reads no value: it records which Secret, keys and
  namespaces it expects (an `omgml:core:ExistingSecret` component whose inputs name them), and its
  consumers reach the values only through `secretKeyRef`. `omgml.existing_secrets` lists these
  records for `omgml secrets template` and for the cluster check before `omgml preview|up`.

Either way values reach containers only through `secretKeyRef` (see omgml.k8s.secret_env) and
nothing here ever holds a literal password.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from omgml.labels import standard_labels
from omgml.spec.common import CredentialSource

TYPE_TOKEN = "omgml:core:GeneratedSecret"
EXISTING_TYPE_TOKEN = "omgml:core:ExistingSecret"

# What a team-provided value must look like (checked by `omgml preview|up`, printed by the template):
#   password - at least 16 URL-safe characters (values are placed in connection URIs unescaped),
#   fernet   - 32 random bytes, URL-safe base64 (Airflow's Fernet key),
#   literal  - exactly the value omgml states (a host name, a port, a user name).
KeyFormat = Literal["password", "fernet", "literal"]


@dataclass(frozen=True)
class GeneratedSecretArgs:
    namespace: pulumi.Input[str]
    secret_name: str
    # Keys whose values are generated passwords (URL-safe: no characters that break URIs).
    password_keys: tuple[str, ...] = ()
    # Further keys computed from other Outputs (e.g. a connection URI holding a password). With
    # source=existing they must be plain strings: the team's Secret then carries them verbatim.
    derived: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    length: int = 32
    app_name: str = "omgml"
    instance: str = "omgml"
    source: CredentialSource = "generated"
    # Namespaces whose pods read a copy of this Secret under the same name. Generated: the
    # component copies it. Existing: the team provides each copy (with the same values).
    copies_in: tuple[str, ...] = ()
    # Keys whose team-provided value is not a password (source=existing only), e.g. a Fernet key.
    formats: dict[str, KeyFormat] = field(default_factory=dict)


class GeneratedSecret(pulumi.ComponentResource):
    """The Secret `args.secret_name` holding `password_keys` + `derived`.

    generated: a RandomPassword per key + the Secret; `.passwords[key]` composes URIs.
    existing: nothing is created and `.passwords` is empty; components that would compose a
    value from a password take it from the container's environment instead (`.generated` says
    which path to take)."""

    passwords: dict[str, pulumi.Output[str]]
    secret_name: pulumi.Output[str]
    generated: bool

    def __init__(self, name: str, args: GeneratedSecretArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.password_keys and not args.derived:
            raise ValueError(f"{name}: GeneratedSecretArgs needs password_keys or derived values")
        self.generated = args.source == "generated"
        self.passwords = {}
        if not self.generated:
            super().__init__(EXISTING_TYPE_TOKEN, name, existing_secret_props(name, args), opts)
            self.secret_name = pulumi.Output.from_input(args.secret_name)
            self.register_outputs({"secret_name": self.secret_name})
            return
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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


def existing_secret_props(name: str, args: GeneratedSecretArgs) -> dict[str, object]:
    """What an `existing` Secret must hold, as plain data (the ExistingSecret's recorded inputs).

    keys: {key: {"format": KeyFormat, "value": the literal for `literal` keys}}."""
    if not isinstance(args.namespace, str):
        raise ValueError(f"{name}: with credentials 'existing' the Secret's namespace must be a plain string")
    keys: dict[str, dict[str, str]] = {}
    for key in args.password_keys:
        keys[key] = {"format": args.formats.get(key, "password")}
    for key, value in args.derived.items():
        if not isinstance(value, str):
            raise ValueError(
                f"{name}: derived key {key!r} is computed at deploy time; with credentials 'existing' "
                "declare it in password_keys (with a format) so the team provides it"
            )
        keys[key] = {"format": "literal", "value": value}
    unknown = sorted(set(args.formats) - set(keys))
    if unknown:
        raise ValueError(f"{name}: formats name keys the Secret does not hold: {unknown}")
    return {
        "namespace": args.namespace,
        "secretName": args.secret_name,
        "keys": keys,
        "copiesIn": sorted(set(args.copies_in) - {args.namespace}),
        "app": args.app_name,
    }


def derived_id(*parts: str, byte_length: int = 16) -> str:
    """A stable identifier from names (URL-safe base64, no padding), for values that only need to be
    unique and fixed, never secret - e.g. a Kafka cluster id when nothing random may be created."""
    import base64

    raw = hashlib.sha256("\0".join(("omgml", *parts)).encode()).digest()[:byte_length]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The pod-template annotation that carries secret_checksum(...).
CHECKSUM_ANNOTATION = "omgml.dev/credentials-checksum"


def checksum_annotations(checksum: pulumi.Input[str] | None) -> dict[str, pulumi.Input[str]]:
    """The pod-template annotation of a secret_checksum: none without one (credentials 'existing')."""
    return {CHECKSUM_ANNOTATION: checksum} if checksum is not None else {}


def secret_checksum(*values: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    """A short digest of secret values, for a pod-template annotation: a rotated password then
    changes the template, so pods restart (and Jobs re-run) with it. Only the digest of
    high-entropy generated values leaves the secret, so it is safe to show in plain text.

    None values (credentials 'existing': omgml never sees them) are left out, and with none left
    there is no annotation (None): rotating existing Secrets is the team's job (restart the pods,
    or let a reloader do it)."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    digest = pulumi.Output.all(*known).apply(
        lambda vs: hashlib.sha256("\0".join(str(v) for v in vs).encode()).hexdigest()[:16]
    )
    return pulumi.Output.unsecret(digest)
