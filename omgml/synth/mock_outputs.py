"""Outputs the mock engine gives resources whose providers would compute them (ids, ARNs).

Values are deterministic so renders are stable; they are placeholders, never real endpoints.
"""

from __future__ import annotations

from typing import Any


def provider_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if typ.startswith("aws:"):
        region = "us-east-1"
        service = typ.split(":")[1].split("/")[0]
        out: dict[str, Any] = {
            "arn": f"arn:aws:{service}:{region}:123456789012:{name}",
            "id": f"{name}-id",
        }
        return out
    return {}


def invoke_outputs(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Answers for provider functions (invokes) called by the program."""
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": ["us-east-1a", "us-east-1b", "us-east-1c"], "zoneIds": ["use1-az1", "use1-az2", "use1-az3"]}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/mock", "userId": "mock"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": "us-east-1", "region": "us-east-1"}
    return {}
