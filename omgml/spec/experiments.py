"""A/B tests and canaries: versions of one model served side by side behind a weighted router.

`phases.serving.experiments: [{model, variants: [{version, weight}], sticky_header}]`. Each
variant is a model-server Deployment that holds exactly that version of the model (its
`<model>/<version>/` directory of the model repository); the router (omgml.components.router)
sends each request for the model to one variant, in proportion to the weights, or by a hash
of `sticky_header` so one caller keeps its variant.

What can be checked here is checked here (weights, version numbers, repeats). Whether a
version exists in the bucket is only known at deploy time: the variant's sync container then
refuses to start with a message naming the experiment, and the router sends that variant's
share to the variants that are up.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from omgml.spec.base import StrictModel, raise_problems, repeated

# What the model servers accept as a model (directory) name (same as ModelServerSpec.models).
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
# An HTTP header name (RFC 9110 token), restricted to what people actually use.
HEADER_NAME = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
MAX_VARIANTS = 10


class VariantSpec(StrictModel):
    # The model version: the number of its directory in the model repository (`<model>/<n>/`),
    # which is also its version in Triton's and TF Serving's APIs.
    version: int = Field(ge=1, le=2**31 - 1)
    # Percent of the model's requests this variant answers; the variants' weights add up to 100.
    weight: int = Field(ge=0, le=100)

    @field_validator("version", mode="before")
    @classmethod
    def _version_number(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, str) and not v.strip().isdigit()) or isinstance(v, float):
            raise ValueError(
                f"{v!r} is not a model version: use the version number, the name of the model's "
                "directory in the model repository (`<model>/<n>/`, e.g. 3)")
        return v


class ExperimentSpec(StrictModel):
    model: str = Field(pattern=MODEL_NAME)
    variants: list[VariantSpec] = Field(min_length=2, max_length=MAX_VARIANTS)
    # Requests carrying this header (e.g. X-User-Id) are routed by a hash of its value, so one
    # caller always meets the same variant; requests without it are routed by weight at random.
    sticky_header: str | None = None

    @field_validator("sticky_header")
    @classmethod
    def _header_name(cls, v: str | None) -> str | None:
        if v is not None and not re.match(HEADER_NAME, v):
            raise ValueError(f"{v!r} is not an HTTP header name; use letters, digits and '-' (e.g. X-User-Id)")
        return v

    @model_validator(mode="after")
    def _weights_and_versions(self) -> ExperimentSpec:
        problems = []
        total = sum(v.weight for v in self.variants)
        if total != 100:
            weights = " + ".join(str(v.weight) for v in self.variants)
            problems.append(f"experiment {self.model!r}: the variants' weights add up to {total} ({weights}), "
                            "not 100; make them percentages that sum to 100")
        twice = repeated([v.version for v in self.variants])
        if twice:
            problems.append(f"experiment {self.model!r}: version(s) {twice} appear in more than one variant; "
                            "give each variant its own version (one variant per version, with the summed weight)")
        raise_problems(problems)
        return self


def experiment_problems(experiments: list[ExperimentSpec], server_enabled: bool, server_kind: str,
                        server_models: list[str], path: str = "phases.serving") -> list[str]:
    """Cross-field rules between the experiments and the model server they run on."""
    out: list[str] = []
    if not experiments:
        return out
    if not server_enabled:
        out.append(f"{path}.experiments: the variants are model servers, but {path}.server.enabled is false; "
                   "enable the server or remove the experiments")
        return out
    if server_kind == "torchserve":
        out.append(f"{path}.experiments: TorchServe keeps a model's versions inside its .mar archives, not in "
                   "version directories a variant can hold one of; use server kind triton or tf-serving")
    for m in repeated([e.model for e in experiments]):
        out.append(f"{path}.experiments: model {m!r} has more than one experiment; put all its variants in one")
    if server_models:
        for i, e in enumerate(experiments):
            if e.model not in server_models:
                out.append(f"{path}.experiments[{i}].model: {e.model!r} is not one of the models the server "
                           f"serves ({path}.server.models: {server_models}); add it there or fix the name")
    return out


__all__ = ["MAX_VARIANTS", "ExperimentSpec", "VariantSpec", "experiment_problems"]
