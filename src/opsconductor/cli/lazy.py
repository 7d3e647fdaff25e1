"""Command groups whose module is imported only when the command line names them.

Typer builds every command of the tree before it runs one, and building one imports its
module; `opsconductor ask` would pay for `assets`, `executions`, `credentials` and the rest.
The root group therefore knows those groups by module and help text alone, and imports a
group's module when that group is run or its own help is asked for. The root `--help` shows the
help text without importing anything (tests/cli/test_lazy_groups.py checks that the text here is
the text each group would show)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from difflib import get_close_matches

import typer

# This typer carries its own copy of click (typer._click); its Context and Command are the
# ones TyperGroup takes and returns.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyGroup:
    """A `typer.Typer` held as `attribute` of `module`, with the help its listing shows."""

    module: str
    attribute: str
    help: str

    def load(self, name: str) -> click.Command:
        sub = getattr(importlib.import_module(self.module), self.attribute)
        # As `add_typer` would make it: a group, without the completion options of a root.
        command = typer.main.get_group(sub)
        command.name = name
        command.help = self.help
        return command


class RootGroup(TyperGroup):
    """The root command: its own commands, then the lazy groups (in the order of `LAZY`)."""

    lazy: dict[str, LazyGroup] = {}  # set by main.py before the command line is read

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        if getattr(ctx, "_opsconductor_listing", False):
            # The root's help lists the group by name and help text: no import for that.
            return TyperCommand(cmd_name, help=self.lazy[cmd_name].help)
        command = self.lazy[cmd_name].load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx._opsconductor_listing = True  # type: ignore[attr-defined]
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx._opsconductor_listing = False  # type: ignore[attr-defined]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.UsageError as exc:
            # typer suggests from the commands built so far; suggest from all of them.
            if self.suggest_commands and args:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                message = exc.message.split(" Did you mean ")[0]
                if matches:
                    suggestions = ", ".join(f"{m!r}" for m in matches)
                    message = f"{message.rstrip('.')}. Did you mean {suggestions}?"
                exc.message = message
            raise
