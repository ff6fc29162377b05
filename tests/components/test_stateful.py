"""The single-StatefulSet servers (Postgres, Redis, Kafka) share their args' checks
(components/stateful.py): each names its own args class in the error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from omgml.components.kafka import KafkaArgs, validate_kafka_args
from omgml.components.postgres import PostgresArgs, resolve_consumers
from omgml.components.redis import RedisArgs, validate_redis_args

SERVERS: list[tuple[str, Callable[..., Any], Callable[[Any], object]]] = [
    ("KafkaArgs", lambda **kw: KafkaArgs(brokers=1, **kw), validate_kafka_args),
    ("PostgresArgs", PostgresArgs, resolve_consumers),
    ("RedisArgs", RedisArgs, validate_redis_args),
]


@pytest.mark.parametrize(("owner", "make", "check"), SERVERS)
def test_good_args_pass(owner: str, make: Callable[..., Any], check: Callable[[Any], object]) -> None:
    check(make(namespace="data", storage_gib=1, profile="small"))


@pytest.mark.parametrize(("owner", "make", "check"), SERVERS)
@pytest.mark.parametrize(("bad", "message"), [
    ({"storage_gib": 0}, "{owner}.storage_gib=0 must be at least 1"),
    ({"namespace": "Data_NS"}, "{owner}.namespace"),
    ({"instance": "-x"}, "{owner}.instance"),
    ({"profile": "huge"}, "{owner}.profile: 'huge' is unknown"),
])
def test_bad_args_name_the_server_and_field(owner: str, make: Callable[..., Any], check: Callable[[Any], object],
                                            bad: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"namespace": "data", "storage_gib": 5, **bad}
    with pytest.raises(ValueError) as info:
        check(make(**fields))
    assert message.format(owner=owner) in str(info.value)
