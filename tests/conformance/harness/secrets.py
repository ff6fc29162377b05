"""A render with real credentials: the synth's stand-ins replaced by freshly generated values.

`omgml render` masks every generated value; the synth itself gives each random resource a
deterministic stand-in (omgml.synth.engine.mock_secret_text). At deploy time the random provider
generates the real values from each resource's arguments. This module does the same to an
in-process render: for every RandomPassword/RandomString it draws a value that honours the
resource's length, character classes and minimums, for every RandomId fresh bytes, and replaces
each stand-in wherever it appears (Secrets, URIs composed from it, config files), so the tier runs
with credentials shaped exactly like the deployed ones.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from omgml.synth.engine import RecordedResource, is_secret_wrapper, mock_secret_text

PASSWORD = "random:index/randomPassword:RandomPassword"
RANDOM_STRING = "random:index/randomString:RandomString"
RANDOM_ID = "random:index/randomId:RandomId"
# The random provider's default special characters (RandomPassword/RandomString docs).
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


@dataclass(frozen=True)
class GeneratedValue:
    """One stand-in and the value that replaces it."""

    urn: str
    stand_in: str
    value: str


def _flag(inputs: dict[str, Any], key: str, default: bool) -> bool:
    value = inputs.get(key)
    return default if value is None else bool(value)


def _count(inputs: dict[str, Any], key: str) -> int:
    return int(inputs.get(key) or 0)


def random_text(inputs: dict[str, Any]) -> str:
    """A value as the random provider draws it: `length` characters from the enabled classes,
    with at least `min_*` of each, in random order."""
    length = int(inputs.get("length") or 16)
    classes: list[tuple[str, int]] = []
    if _flag(inputs, "lower", True):
        classes.append((string.ascii_lowercase, _count(inputs, "minLower")))
    if _flag(inputs, "upper", True):
        classes.append((string.ascii_uppercase, _count(inputs, "minUpper")))
    if _flag(inputs, "numeric", _flag(inputs, "number", True)):
        classes.append((string.digits, _count(inputs, "minNumeric")))
    if _flag(inputs, "special", True):
        classes.append((str(inputs.get("overrideSpecial") or DEFAULT_SPECIAL), _count(inputs, "minSpecial")))
    if not classes:
        raise ValueError(f"random resource arguments enable no character class: {inputs}")
    rng = secrets.SystemRandom()
    chars = [rng.choice(alphabet) for alphabet, minimum in classes for _ in range(minimum)]
    pool = "".join(alphabet for alphabet, _ in classes)
    chars += [rng.choice(pool) for _ in range(max(0, length - len(chars)))]
    rng.shuffle(chars)
    return "".join(chars)


def _id_replacements(res: RecordedResource) -> list[GeneratedValue]:
    """RandomId: every encoding of the synth's bytes → the same encoding of fresh bytes."""
    import hashlib

    size = int(res.inputs.get("byteLength", 16))
    old = hashlib.sha256(res.urn.encode()).digest()[:size]
    new = secrets.token_bytes(size)

    def encodings(raw: bytes) -> list[str]:
        return [base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode(), raw.hex()]

    return [GeneratedValue(res.urn, o, n) for o, n in zip(encodings(old), encodings(new), strict=True)]


def generated_values(resources: Iterable[RecordedResource]) -> list[GeneratedValue]:
    """The stand-in → value table for every random resource of a synth."""
    table: list[GeneratedValue] = []
    for res in resources:
        if res.type == PASSWORD:
            table.append(GeneratedValue(res.urn, mock_secret_text(res.urn, "password"), random_text(res.inputs)))
        elif res.type == RANDOM_STRING:
            table.append(GeneratedValue(res.urn, mock_secret_text(res.urn, "string"), random_text(res.inputs)))
        elif res.type == RANDOM_ID:
            table.extend(_id_replacements(res))
    return table


def reveal(value: Any, table: list[GeneratedValue]) -> Any:
    """A copy of a recorded input with secrets unwrapped and every stand-in replaced."""
    if is_secret_wrapper(value):
        return reveal(value["value"], table)
    if isinstance(value, dict):
        return {k: reveal(v, table) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [reveal(v, table) for v in value]
    if isinstance(value, str):
        for gen in table:
            if gen.stand_in in value:
                value = value.replace(gen.stand_in, gen.value)
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
