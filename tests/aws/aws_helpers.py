"""Shared builders for the AWS target tests: specs, one cached synth per variant, lookups."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pulumi

from omgml.components.aws.platform import AwsFoundation, AwsFoundationArgs
from omgml.components.contracts import S3Consumer
from omgml.components.postgres import PostgresConsumer
from omgml.spec import PlatformSpec, spec_from_dict
from omgml.synth.engine import RecordedResource, SynthResult, is_secret_wrapper
from omgml.synth.manifests import inventory_entries
from tests.synth_helpers import synth

DATA_NS = "omgml-data"
SERVING_NS = "omgml-serving"
BUCKETS = {"mlflow": "demo-mlflow", "features": "demo-features", "models": "demo-models"}
ALL_MANAGED = {s: {"managed": True} for s in ("postgres", "redis", "kafka", "object_store")}


def aws_spec(profile: str = "production", zones: int = 3, audit: bool = True, managed: bool = True,
             **aws: Any) -> PlatformSpec:
    return spec_from_dict({
        "name": "demo", "target": "aws", "profile": profile,
        "aws": {"availability_zones": zones, "audit_logging": audit, **aws},
        "phases": {"foundation": ALL_MANAGED if managed else {}},
    })


def foundation_program(spec: PlatformSpec) -> Any:
    """The AwsFoundation plus every in-cluster side, wired the way the blueprint does."""

    def program() -> None:
        f = AwsFoundation("fnd", AwsFoundationArgs(spec=spec, buckets=dict(BUCKETS)))
        m = f.managed_postgres, f.managed_redis, f.managed_kafka, f.managed_object_store
        if m[0]:
            f.postgres((PostgresConsumer("mlflow", DATA_NS), PostgresConsumer("feast", SERVING_NS)), DATA_NS)
        if m[1]:
            f.redis(DATA_NS, (SERVING_NS,))
        if m[2]:
            f.kafka((DATA_NS, SERVING_NS))
        if m[3]:
            f.object_store((S3Consumer("mlflow", DATA_NS, "mlflow", ("mlflow",)),
                            S3Consumer("triton", SERVING_NS, "triton", ("models",), read_only=True)),
                           (DATA_NS, SERVING_NS))
        for k, v in f.exports.items():
            pulumi.export(k, v)

    return program


@lru_cache(maxsize=16)
def synth_foundation(profile: str = "production", zones: int = 3, audit: bool = True,
                     managed: bool = True) -> SynthResult:
    return synth(foundation_program(aws_spec(profile, zones, audit, managed)))


def of_type(result: SynthResult, typ: str) -> list[RecordedResource]:
    return [r for r in result.resources if r.type == typ]


def only(result: SynthResult, typ: str) -> RecordedResource:
    found = of_type(result, typ)
    assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
    return found[0]


def plain(value: Any) -> Any:
    """A recorded input with secret wrappers removed (for asserting on its shape)."""
    if is_secret_wrapper(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def policy(resource: RecordedResource, key: str) -> dict[str, Any]:
    return dict(json.loads(resource.inputs[key]))


def inventory(result: SynthResult) -> dict[str, Any]:
    return {"resources": inventory_entries(result, "foundation")}


def synth_of(make: Any) -> SynthResult:
    """synth() of a program that only constructs something (a lambda returning a component)."""

    def program() -> None:
        make()

    return synth(program)
