"""Schema validation of rendered manifests against the Kubernetes OpenAPI schemas."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from omgml.errors import OmgmlError

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec

# Manifests validated without a project (tests of single components): the minor of kind's node
# image and of the e2e toolchain. A project is validated against its own version (schema_version).
KUBERNETES_VERSION = "1.36.0"


class ValidatorMissing(RuntimeError):
    pass


class SchemaVersionError(OmgmlError):
    """The project's Kubernetes version has no schemas in the installed kubernetes-validate."""


def _kubernetes_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError:  # pragma: no cover - depends on the install
        raise ValidatorMissing(
            "kubernetes-validate is not installed; install omgml with the [validate] or [dev] extra"
        ) from None
    return kubernetes_validate


def target_kubernetes_version(spec: PlatformSpec) -> tuple[str, str]:
    """(minor version, where it comes from) of the cluster the project deploys to."""
    if spec.target == "aws":
        return spec.aws.kubernetes_version, "aws.kubernetes_version (the EKS control plane)"
    from omgml.kind import NODE_IMAGE

    match = re.search(r":v(\d+\.\d+)", NODE_IMAGE)
    assert match, NODE_IMAGE
    return match.group(1), f"the kind node image {NODE_IMAGE}"


def schema_version(spec: PlatformSpec) -> str:
    """The Kubernetes schema version a project's manifests are validated against.

    Raises SchemaVersionError when kubernetes-validate has no schemas for it: validating against
    another version would pass fields the cluster rejects (or reject ones it accepts).
    """
    minor, source = target_kubernetes_version(spec)
    kv = _kubernetes_validate()
    versions = sorted({kv.utils.major_minor(v) for v in kv.utils.all_versions()},
                      key=lambda v: tuple(int(x) for x in v.split(".")))
    if minor not in versions:
        raise SchemaVersionError(
            f"Kubernetes {minor} ({source}) has no schemas in kubernetes-validate "
            f"{getattr(kv, '__version__', '')} (it has {versions[0]}–{versions[-1]}); choose a supported version"
            + (" in aws.kubernetes_version" if spec.target == "aws" else "")
            + " or upgrade kubernetes-validate"
        )
    return f"{minor}.0"


def validate_manifest(manifest: dict[str, Any], *, strict: bool = True,
                      version: str = KUBERNETES_VERSION) -> list[str]:
    """Problems with one manifest (empty when valid). Strict: unknown fields are errors."""
    kubernetes_validate = _kubernetes_validate()
    meta = manifest.get("metadata", {})
    where = f"{manifest.get('kind')}/{meta.get('namespace', '') + '/' if meta.get('namespace') else ''}{meta.get('name')}"
    try:
        kubernetes_validate.validate(manifest, version, strict)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(root)"
        return [f"{where}: {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        # Custom resources (CRD instances) have no built-in schema; their CRDs are validated.
        if not is_builtin_api(str(manifest.get("apiVersion", ""))):
            return []
        return [f"{where}: no schema for {manifest.get('apiVersion')} {manifest.get('kind')} "
                f"in Kubernetes {version}"]
    return []


def is_builtin_api(api_version: str) -> bool:
    group = api_version.split("/")[0] if "/" in api_version else ""
    return group == "" or "." not in group or group.endswith(".k8s.io")


def validate_manifests(items: list[dict[str, Any]], *, strict: bool = True,
                       version: str = KUBERNETES_VERSION) -> list[str]:
    problems: list[str] = []
    for m in items:
        problems.extend(validate_manifest(m, strict=strict, version=version))
    return problems
