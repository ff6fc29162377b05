"""One way for commands to print tables and JSON.

A command builds its tables as `Table` values once and either prints them (rich) or dumps them
(`--json`/`-o json`), so both carry the same content. Printed tables never cut a value: piped
or redirected output (not a TTY) and `--wide` get lines as long as the values need; on a
terminal, long values fold onto the next line instead of ending in `…`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

# Wide enough for any value omgml prints on one line; rich tables take only the width they need.
UNLIMITED_WIDTH = 100_000

WideOption = Annotated[bool, typer.Option(
    "--wide", help="Never fold long values in tables (always so when the output is not a terminal).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the same content as JSON.")]
OUTPUT_FORMATS = ("text", "json", "markdown")


def _output_format(value: str) -> str:
    if value not in OUTPUT_FORMATS:
        from omgml.cli.common import fail

        raise fail(f"--output must be text, json or markdown, got {value!r}")
    return value


# `-o FORMAT` of the commands CI reads (check, cost, diff): refused before the command runs when
# it is not one of OUTPUT_FORMATS.
OutputOption = Annotated[str, typer.Option("--output", "-o", metavar="FORMAT", callback=_output_format,
                                           help="text, json or markdown (for CI).")]


def full_width(wide: bool = False, stream: Any = None) -> bool:
    """Whether to print every value on one line: asked for, or nobody reads it in a terminal."""
    stream = stream or sys.stdout
    return wide or not (hasattr(stream, "isatty") and stream.isatty())


def console(wide: bool = False, stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # highlight=False: values such as `[pytorch, onnx]` and numbers print as they are.
    return Console(highlight=False, stderr=stderr, width=UNLIMITED_WIDTH if full_width(wide, stream) else None)


@dataclass(frozen=True)
class Table:
    """A titled table of plain values (str, int, float, bool or None)."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    # Columns printed right-aligned (numbers).
    numeric: frozenset[str] = frozenset()

    def add(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"table {self.title!r}: {len(values)} values for columns {self.columns}")
        self.rows.append(values)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns), "rows": self.records()}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def print_table(out: Console, table: Table, *, bold_last: bool = False) -> None:
    """Print `table`; values are escaped (never read as rich markup)."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    rich_table = RichTable(title=escape(table.title))
    for column in table.columns:
        # fold: on a narrow terminal a long name continues on the next line instead of ending in `…`.
        rich_table.add_column(escape(column), justify="right" if column in table.numeric else "left",
                              overflow="fold")
    for i, row in enumerate(table.rows):
        cells = [escape(_cell(v)) for v in row]
        if bold_last and i == len(table.rows) - 1:
            cells = [f"[bold]{c}[/]" for c in cells]
        rich_table.add_row(*cells)
    out.print(rich_table)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))
