"""How every `sundial` command ends: its returned int is the exit code, and an ordinary
failure is one line on stderr (`sundial admin revoke-key: ...`), never a traceback unless
`--debug` (or SUNDIAL_DEBUG=1) asks for one. Exit codes: sundial.cli.exit_codes."""

import os
import traceback
from collections.abc import Callable
from typing import Any

import click

from sundial.api.call_errors import ApiError, RequestDocumentError
from sundial.cli import exit_codes
from sundial.domain.errors import SundialError

DEBUG_KEY = "sundial.debug"
# What click.option(...) returns.
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class CommandError(Exception):
    """A failure the command itself found (a bad file, no workspace given, ...)."""

    def __init__(self, message: str, exit_code: int = exit_codes.USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SundialCommand(click.Command):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            code = _exit_code_of(error)
            if code is None:
                raise
            if debugging(ctx):
                traceback.print_exc()
            click.echo(f"{ctx.command_path}: {_message_of(error)}", err=True)
            ctx.exit(code)
        if isinstance(result, int) and result != exit_codes.OK:
            ctx.exit(result)
        return result


class SundialGroup(click.Group):
    command_class = SundialCommand
    group_class = type  # subgroups are SundialGroups too


def debugging(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(DEBUG_KEY)) or os.environ.get("SUNDIAL_DEBUG", "") not in (
        "",
        "0",
        "false",
    )


def _exit_code_of(error: Exception) -> int | None:
    if isinstance(error, CommandError):
        return error.exit_code
    if isinstance(error, ApiError):
        return exit_codes.for_status_code(error.code)
    if isinstance(error, SundialError):
        return exit_codes.for_domain_error(error)
    if isinstance(error, RequestDocumentError):
        return exit_codes.USAGE
    return None


def _message_of(error: Exception) -> str:
    if isinstance(error, ApiError):
        return error.one_line()
    return str(error)
