"""`omgml schema requirements|platform`: the JSON Schema of a file omgml reads, for editors and CI."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from omgml.cli.common import fail

KINDS = ("requirements", "platform")


def schema(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="requirements (the requirements file) or platform (omgml.yaml's "
                                             "platform section).")],
) -> None:
    """Print the JSON Schema of the requirements file or the platform spec."""
    if kind not in KINDS:
        raise fail(f"schema: {kind!r} is not a schema omgml has; use one of {', '.join(KINDS)}")
    if kind == "requirements":
        from omgml.spec.requirements_doc import requirements_schema

        data = requirements_schema()
    else:
        from omgml.spec import PlatformSpec

        data = PlatformSpec.model_json_schema()
        data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        data["title"] = "omgml platform spec"
    typer.echo(json.dumps(data, indent=2))
