"""Schema validation of rendered manifests against the Kubernetes OpenAPI schemas."""

from __future__ import annotations

from typing import Any

# One Kubernetes minor for every check; kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.36.0"  # the minor of kind's node image and of the e2e toolchain


class ValidatorMissing(RuntimeError):
    pass


def validate_manifest(manifest: dict[str, Any], *, strict: bool = True,
                      version: str = KUBERNETES_VERSION) -> list[str]:
    """Problems with one manifest (empty when valid). Strict: unknown fields are errors."""
    try:
        import kubernetes_validate
    except ImportError:  # pragma: no cover - depends on the install
        raise ValidatorMissing(
            "kubernetes-validate is not installed; install omgml with the [validate] or [dev] extra"
        ) from None
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
