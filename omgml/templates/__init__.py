"""Requirement presets shipped with omgml (one documented YAML file each).

- starter: the smallest useful platform on a laptop (local, laptop profile);
- enterprise: all three phases with the full tool set (local; `--target aws` for EKS);
- fintech: enterprise plus PCI-DSS/SOC 2, 99.99 availability and < 50 ms real-time scoring (aws);
- research: GPU-heavy training with Kubeflow Pipelines and MLflow (aws);
- batch: batch scoring, no streaming, no online features (local).
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from omgml.errors import OmgmlError

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec
    from omgml.spec.requirements import Requirements

SUFFIX = ".yaml"


class TemplateError(OmgmlError):
    """An unknown template name."""


def template_names() -> list[str]:
    files = resources.files(__name__)
    return sorted(p.name[: -len(SUFFIX)] for p in files.iterdir() if p.name.endswith(SUFFIX))


def template_text(name: str) -> str:
    names = template_names()
    if name not in names:
        raise TemplateError(f"unknown template {name!r}; choose one of: {', '.join(names)}")
    return resources.files(__name__).joinpath(name + SUFFIX).read_text(encoding="utf-8")


def load_template(name: str) -> Requirements:
    import yaml

    from omgml.spec.requirements import requirements_from_dict

    text = template_text(name)
    return requirements_from_dict(yaml.safe_load(text), source=f"template {name}")


def template_platform_spec(name: str) -> PlatformSpec:
    """The PlatformSpec the engine recommends for template `name` (as shipped, on its own target)."""
    from omgml.recommend import recommend

    return recommend(load_template(name)).to_platform_spec()


__all__ = ["TemplateError", "load_template", "template_names", "template_platform_spec", "template_text"]
