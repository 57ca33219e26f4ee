"""Help pages without a type column: Typer prints each parameter's Python type (``<int>``,
``<bool>``, ``<str>``) beside it, which repeats what the help text already says. An option
shows the metavar it declares (``--as-of COMMIT|TIME``), flags and arguments show nothing.
Docstrings are reflowed: Rich help keeps their line breaks, which the terminal then wraps
again mid-sentence."""

from __future__ import annotations

import inspect
from typing import Any

import typer.core


class Argument(typer.core.TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None


class Option(typer.core.TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar or ""


def _plain(params: list[Any]) -> list[Any]:
    # Typer chooses the parameter classes itself; these subclasses only override display.
    for param in params:
        if type(param) is typer.core.TyperArgument:
            param.__class__ = Argument
        elif type(param) is typer.core.TyperOption:
            param.__class__ = Option
    return params


def _reflow(text: str | None) -> str | None:
    if not text:
        return text
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n"))


class Command(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class Group(typer.core.TyperGroup):
    """The root group: every command and group below it, whichever module added it, gets
    the same help page."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if type(command) is typer.core.TyperGroup:
            command.__class__ = Group
        elif type(command) is typer.core.TyperCommand:
            command.__class__ = Command
        if command is not None:
            command.help = _reflow(command.help)
        return command
