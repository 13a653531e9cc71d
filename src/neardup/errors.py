"""One exception hierarchy for neardup.

Every error names what went wrong, where (file, line, field when known) and what to do about it.
Leaves also subclass the matching built-in (``ValueError``, ``TypeError``, ``OSError``) so callers
that already catch those keep working.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from typing import Any


class NeardupError(Exception):
    """Root of every error neardup raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        self.message = message
        self.remedy = remedy
        super().__init__(f"{message}\n  -> {remedy}" if remedy else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # keep every attribute when errors cross process boundaries
        return (_rebuild, (type(self), self.args, self.__dict__))


class ConfigError(NeardupError, ValueError):
    """A parameter is out of range or inconsistent with another one."""

    exit_code = 2


class InputError(NeardupError, ValueError):
    """An input file or record cannot be used.

    Carries ``path``, ``line`` (1-based, when the format has lines) and ``field`` so tools can
    point at the offending place.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        remedy: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.detail = message  # without the location prefix
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message, remedy=remedy)


class RecordTypeError(InputError, TypeError):
    """A record field has the wrong type (for example a number where text is expected)."""


class DuplicateIdError(InputError):
    """Two records share one id; ids must be unique across all inputs of a run."""


class OutputError(NeardupError, OSError):
    """An output cannot be written."""

    exit_code = 4


class DependencyError(NeardupError, ImportError):
    """An optional dependency (an extra) is missing."""

    exit_code = 5


def _rebuild(cls: type[NeardupError], args: tuple[Any, ...], state: dict[str, Any]) -> NeardupError:
    err = Exception.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


# -- operating-system errors ----------------------------------------------------------------------
_OS_REMEDIES = {
    errno.ENOSPC: "free space on that disk, or choose an --output folder on another disk; "
    "then run again",
    errno.EDQUOT: "free space within your disk quota, or choose an --output folder elsewhere; "
    "then run again",
    errno.EFBIG: "the file system cannot hold a file this large; choose an --output folder "
    "on another file system",
    errno.EROFS: "the file system is mounted read-only; choose a writable --output folder",
    errno.EACCES: "make the folder writable for this user (chmod/chown), or choose another "
    "--output folder",
    errno.EPERM: "make the folder writable for this user (chmod/chown), or choose another "
    "--output folder",
}


def os_error_remedy(exc: OSError) -> str:
    """What to do about an operating-system error met while reading or writing."""
    return _OS_REMEDIES.get(
        exc.errno or 0, "check the path, its permissions and the disk, then run again"
    )


def output_error(
    exc: OSError, where: object, *, doing: str = "cannot write", state: str | None = None
) -> NeardupError:
    """An :class:`OutputError` for an operating-system error met while writing ``where`` (a
    path): the path, the system's reason, the remedy for that reason, and (``state``) what the
    output folder holds now. A :class:`NeardupError` is returned as it is."""
    if isinstance(exc, NeardupError):
        return exc
    path = where
    reason = exc.strerror or str(exc) or type(exc).__name__
    remedy = os_error_remedy(exc)
    if state:
        remedy = f"{remedy} ({state})"
    err = OutputError(f"{doing} {path}: {reason}", remedy=remedy)
    err.errno = exc.errno
    return err


# -- interrupts -----------------------------------------------------------------------------------
INTERRUPTED = "interrupted; no output was written"


def interrupt_message(exc: BaseException) -> str:
    """What the command line prints for an interrupt: the message a command attached to it
    (:func:`on_interrupt`), else :data:`INTERRUPTED`."""
    return getattr(exc, "neardup_message", None) or INTERRUPTED


@contextlib.contextmanager
def on_interrupt(message: str | Callable[[], str | None]) -> Iterator[None]:
    """Say what an interrupt (Ctrl-C, SIGTERM) inside the block leaves behind.

    ``message`` (or what it returns, called when the interrupt arrives) is attached to the
    ``KeyboardInterrupt`` unless an inner block attached one already; the command line prints
    ``neardup: <message>`` and exits with 130::

        with on_interrupt(lambda: f"interrupted; {done} batches were added to the index"):
            ...
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        note_interrupt(exc, message() if callable(message) else message)
        raise


def note_interrupt(exc: BaseException, message: str | None) -> None:
    """Attach ``message`` to an interrupt unless one is attached already (inner code knows
    best); ``None`` or ``""`` leaves the default."""
    if message and not getattr(exc, "neardup_message", None):
        exc.neardup_message = message  # type: ignore[attr-defined]
