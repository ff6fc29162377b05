"""Shared CLI plumbing: error printing and project loading. Imports nothing heavy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec

SPEC_FILE = "omgml.yaml"

ProjectArgument = Annotated[Path, typer.Argument(
    metavar="PROJECT", help="Project folder (with omgml.yaml) or a spec file.", show_default=False)]


def fail(message: str, code: int = 2) -> typer.Exit:
    from rich.console import Console
    from rich.markup import escape

    # Messages quote user values such as `[pytorch, onnx]`; escape them so rich shows them verbatim.
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print omgml's own errors as messages (never a traceback) and exit 2."""
    from omgml.errors import OmgmlError

    try:
        yield
    except OmgmlError as exc:
        raise fail(str(exc)) from None


def spec_path(project: Path) -> Path:
    """PROJECT may be a project folder (holding omgml.yaml) or a spec file itself."""
    if project.is_dir():
        return project / SPEC_FILE
    return project


def load_project_spec(project: Path) -> PlatformSpec:
    from omgml.errors import SpecError
    from omgml.spec import load_spec

    path = spec_path(project)
    if not path.exists():
        raise SpecError(str(path), [
            f"no {SPEC_FILE} here; create a project with `omgml init {project} --template starter` "
            "or point at a spec file"
        ])
    return load_spec(path)


Command = Callable[..., None]
