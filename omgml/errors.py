"""Errors that reach users. Each carries messages that name the field, the value and the fix."""

from __future__ import annotations


class OmgmlError(Exception):
    """Base for errors the CLI prints without a traceback."""


class SpecError(OmgmlError):
    """A spec or requirements file is wrong; one message per problem, each with its path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


class SynthError(OmgmlError):
    """The offline synth found something the engine would reject (e.g. a name collision)."""
