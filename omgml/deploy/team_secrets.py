"""Secrets the team provides (omgml only references them), checked before a phase deploys.

Today: the W&B API key (phases.training.wandb). Pods read it by secretKeyRef from every namespace
that runs training code; a missing Secret would leave each of them stuck in
CreateContainerConfigError long after `up` reported success, so `omgml preview|up` look first
and refuse with one line per problem, naming the spec field and the command that fixes it.
The namespaces are the foundation's, so the check runs right before the training phase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from omgml.deploy.plan import DeployError
from omgml.spec import PlatformSpec

# (namespace, name) → the Secret's data (only its keys are looked at here), or None when it does not
# exist; omgml.deploy.preflight.cluster_secret_reader reads it from a cluster.
SecretReader = Callable[[str, str], Mapping[str, str] | None]


@dataclass(frozen=True)
class TeamSecret:
    namespace: str
    name: str
    key: str
    field: str  # the spec field that names it
    key_field: str
    what: str  # what the value is, for the fix


def team_secrets(spec: PlatformSpec) -> list[TeamSecret]:
    """Every Secret the platform references but never creates (pure)."""
    from omgml.spec.training_addons import training_namespaces

    t = spec.phases.training
    out: list[TeamSecret] = []
    if t.enabled and t.wandb.enabled:
        for ns in training_namespaces(spec):
            out.append(TeamSecret(ns, t.wandb.api_key_secret, t.wandb.api_key_key,
                                  "phases.training.wandb.api_key_secret", "phases.training.wandb.api_key_key",
                                  "your W&B API key"))
    return out


def secret_problems(required: list[TeamSecret], read: SecretReader) -> list[str]:
    """One line per missing Secret or key (empty: all there)."""
    problems: list[str] = []
    for s in required:
        keys = read(s.namespace, s.name)
        if keys is None:
            problems.append(f"{s.field}: Secret {s.name!r} does not exist in namespace {s.namespace!r}; create it: "
                            f"kubectl create secret generic {s.name} -n {s.namespace} "
                            f"--from-literal={s.key}=<{s.what}>")
        elif s.key not in keys:
            have = ", ".join(sorted(keys)) or "none"
            problems.append(f"{s.key_field}: Secret {s.namespace}/{s.name} has no key {s.key!r} (it has: {have}); add "
                            f"the key or set {s.key_field} to the one holding {s.what}")
    return problems


def check_team_secrets(spec: PlatformSpec, read: SecretReader) -> None:
    problems = secret_problems(team_secrets(spec), read)
    if problems:
        raise DeployError("\n".join(problems))
