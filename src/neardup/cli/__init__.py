"""Command-line interface: parse → config → one library call → render.

Errors cross into the CLI in one place (:func:`main`), which prints the message with its remedy
and exits with the error's code: 2 for bad parameters, 3 for bad input, 4 for output problems,
130 when interrupted.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from neardup.cli import index as _index_commands  # noqa: F401 - registers the commands
from neardup.cli import plan as _plan_commands  # noqa: F401 - registers the commands
from neardup.cli import run as _run_commands  # noqa: F401 - registers the commands
from neardup.cli.base import cli
from neardup.errors import NeardupError

__all__ = ["cli", "main", "run"]


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neardup`` command.

    SIGTERM is handled like Ctrl-C, so a killed run also removes its temporary files."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="neardup", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("neardup: interrupted; no output was written", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("neardup: interrupted; no output was written", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except NeardupError as exc:
        click.echo(f"neardup: error: {exc.message}", err=True)
        if exc.remedy:
            click.echo(f"  -> {exc.remedy}", err=True)
        return exc.exit_code
    return 0


def run() -> None:
    """Console-script wrapper around :func:`main`."""
    sys.exit(main())
