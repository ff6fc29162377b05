"""Click classes behind the omgml CLI: plain-text help without type decorations, and a group
that imports a command's module only when that command is used.

Why not typer's defaults: its rich help formatter imports rich.markdown and friends (about
0.15 s, as long as the whole --help budget), shows `<bool>`/`<str>` after every option and
`{project}` in the usage line; and a group's unset --help flag is coerced through a pydantic
TypeAdapter (importing pydantic) on every sub-command call.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any

import typer
from typer import _click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# Metavars for options declared without one, by annotation (explicit metavars are preferred).
_TYPE_METAVARS = {"Path": "PATH", "str": "TEXT", "int": "N", "float": "NUMBER"}


def _default_metavar(param: _click.Parameter) -> str:
    if isinstance(param, TyperArgument):
        return (param.name or "arg").upper()
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return _TYPE_METAVARS.get(getattr(annotation, "__name__", ""), "VALUE")


def finish_params(command: _click.Command) -> None:
    """Give every argument and valued option a metavar (typer would print `<type>` instead)."""
    for param in command.params:
        if isinstance(param, TyperOption) and (param.is_flag or param.count):
            continue
        if param.metavar is None:
            param.metavar = _default_metavar(param)


def _false_by_default(help_option: Any) -> Any:
    # Unset, the flag's value is None, which typer coerces through a pydantic TypeAdapter; a
    # plain False skips that (typer passes bools through), so `omgml X --help` stays light.
    if help_option is not None and help_option.default is None:
        help_option.default = False
    return help_option


def _help_records(command: _click.Command, ctx: _click.Context) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    arguments: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if isinstance(param, TyperArgument):
            # typer appends the argument's type (`PROJECT <path>`); the metavar says enough.
            arguments.append((param.metavar or _default_metavar(param), record[1]))
        else:
            options.append(record)
    return arguments, options


def _format_params(command: _click.Command, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
    arguments, options = _help_records(command, ctx)
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    if options:
        with formatter.section("Options"):
            formatter.write_dl(options)


def _usage_pieces(command: _click.Command, ctx: _click.Context) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = param.metavar or _default_metavar(param)
            pieces.append(name if param.required else f"[{name}]")
    return pieces


class OmgmlCommand(TyperCommand):
    """A leaf command with plain help: `Usage: omgml render [OPTIONS] PROJECT`."""

    def get_help_option(self, ctx: _click.Context) -> Any:
        return _false_by_default(super().get_help_option(ctx))

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_params(self, ctx, formatter)


class OmgmlGroup(TyperGroup):
    """A group of commands (`omgml local`) with the same plain help."""

    def get_help_option(self, ctx: _click.Context) -> Any:
        return _false_by_default(super().get_help_option(ctx))

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            finish_params(command)
        return command

    def resolve_command(self, ctx: _click.Context, args: list[str]) -> tuple[str | None, _click.Command | None, list[str]]:
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise


def click_command(name: str, target: Any) -> _click.Command:
    """The click command for a typer function or a typer.Typer sub-app, named `name`."""
    if isinstance(target, typer.Typer):
        group: _click.Command = typer.main.get_group(target)
        group.name = name
        finish_params(group)
        return group
    app = typer.Typer(rich_markup_mode=None, add_completion=False, pretty_exceptions_enable=False)
    app.command(name, cls=OmgmlCommand)(target)
    command = typer.main.get_command(app)
    finish_params(command)
    return command


class LazyGroup(OmgmlGroup):
    """The root group: `lazy_commands` maps a command name to (module, attribute), imported
    when the command is resolved, so `omgml render --help` imports cli/render.py alone."""

    lazy_commands: Mapping[str, tuple[str, str]] = {}

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*self.commands, *(n for n in self.lazy_commands if n not in self.commands)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            module, attribute = self.lazy_commands[cmd_name]
            command = click_command(cmd_name, getattr(importlib.import_module(module), attribute))
            self.commands[cmd_name] = command
        return command
