"""Command-line interface: parse → config → one library call → render.

Errors cross into the CLI in one place (:func:`main`), which prints the message with its remedy
and exits with the error's code: 2 for bad parameters, 3 for bad input, 4 for output problems
(an operating-system error a command did not wrap, such as a full disk or a read-only folder,
counts as one), 130 when interrupted. Any other exception is a bug: it prints one line,
``neardup: internal error: …``, and exits with 1; ``neardup --debug …`` (or
``NEARDUP_DEBUG=1``) prints the traceback as well, for every error.

Interrupts print ``neardup: interrupted; no output was written`` unless the command said what
its interrupt leaves behind with :func:`neardup.errors.on_interrupt`.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sys
import threading
import traceback
from typing import Any

import click

from neardup.cli import index as _index_commands  # noqa: F401 - registers the commands
from neardup.cli import judge as _judge_commands  # noqa: F401 - registers the commands
from neardup.cli import passages as _passages_commands  # noqa: F401 - registers the commands
from neardup.cli import plan as _plan_commands  # noqa: F401 - registers the commands
from neardup.cli import run as _run_commands  # noqa: F401 - registers the commands
from neardup.cli.base import cli
from neardup.errors import NeardupError, interrupt_message, os_error_remedy
from neardup.openblas import numba_without_scipy_blas

__all__ = ["cli", "main", "run"]

_debug = False


def _set_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    global _debug
    _debug = _debug or bool(value)


cli.params.append(
    click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Print the traceback of an error (also NEARDUP_DEBUG=1).",
    )
)


class _Stderr(logging.Handler):
    """Library messages meant for the user (``neardup.output``), as ``neardup: …`` lines."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"neardup: {record.getMessage()}", err=True)


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neardup`` command.

    SIGTERM is handled like Ctrl-C, so a killed run also removes its temporary files."""
    global _debug
    _debug = os.environ.get("NEARDUP_DEBUG", "") not in ("", "0")
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    log = logging.getLogger("neardup.output")
    handler = _Stderr(logging.INFO)
    log.addHandler(handler)
    level = log.level
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    # The modules imported so far (numba, numpy, pyarrow: some 10⁵ objects) live as long as
    # the process; out of the collector's sight, they are not traversed again by each full
    # collection that the run's own allocations set off (0.1 of 2.2 s at 50k documents).
    gc.freeze()
    try:
        return _run(argv)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="neardup", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt into Abort
        _trace(exc)
        click.echo(f"neardup: {interrupt_message(exc.__cause__ or exc)}", err=True)
        return 130
    except KeyboardInterrupt as exc:
        _trace(exc)
        click.echo(f"neardup: {interrupt_message(exc)}", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except NeardupError as exc:
        _trace(exc)
        click.echo(f"neardup: error: {exc.message}", err=True)
        if exc.remedy:
            click.echo(f"  -> {exc.remedy}", err=True)
        return exc.exit_code
    except OSError as exc:  # not wrapped by the command: a disk, permission or device problem
        _trace(exc)
        where = f"{exc.filename}: " if exc.filename is not None else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        click.echo(f"neardup: error: {where}{reason}", err=True)
        click.echo(f"  -> {os_error_remedy(exc)}", err=True)
        return 4
    except MemoryError as exc:
        _trace(exc)
        click.echo("neardup: error: out of memory", err=True)
        click.echo(
            "  -> run with fewer --workers or a smaller --batch-size, or on a larger machine",
            err=True,
        )
        return 1
    except Exception as exc:
        if _debug:
            traceback.print_exc(file=sys.stderr)
        detail = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(
            f"neardup: internal error: {type(exc).__name__}" + (f": {detail}" if detail else ""),
            err=True,
        )
        if not _debug:
            click.echo("  run again with --debug for the traceback", err=True)
        return 1
    return 0


def _trace(exc: BaseException) -> None:
    """The traceback of an error that is shown as a message, with ``--debug`` only."""
    if _debug:
        traceback.print_exception(exc, file=sys.stderr)


def _return_freed_memory(threshold: int = 1 << 20) -> None:
    """Ask glibc to give large freed blocks back to the system.

    glibc serves a request of at least ``M_MMAP_THRESHOLD`` bytes from its own memory map, and
    raises the threshold each time such a block is freed; after a run of large numpy arrays,
    later ones come from the heap and stay resident when freed (about 300 MB of a 100k-document
    ``passages`` run). A fixed 1 MiB threshold keeps them apart. Elsewhere this does nothing.

    ``dedup`` passes 8 MiB: its batches allocate the same few arrays of 1-8 MiB over and over,
    and a block mapped afresh each time is zeroed and faulted in page by page (50k documents:
    490k page faults and 1.25 s of system time with 1 MiB, 330k and 0.7 s with 8 MiB, for the
    same peak memory; 32 MiB faults least but keeps ~20 MB more resident at that size)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        libc.mallopt(m_mmap_threshold, threshold)
    except (OSError, AttributeError):
        pass


def _command(argv: list[str]) -> str | None:
    """The command named on a command line (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def run() -> None:
    """Console-script wrapper around :func:`main`."""
    if sys.platform.startswith("linux"):
        _return_freed_memory(8 << 20 if _command(sys.argv[1:]) == "dedup" else 1 << 20)
    numba_without_scipy_blas()
    sys.exit(main())
