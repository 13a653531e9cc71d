"""One exception hierarchy for neardup.

Every error names what went wrong, where (file, line, field when known) and what to do about it.
Leaves also subclass the matching built-in (``ValueError``, ``TypeError``, ``OSError``) so callers
that already catch those keep working.
"""

from __future__ import annotations


class NeardupError(Exception):
    """Root of every error neardup raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        self.message = message
        self.remedy = remedy
        super().__init__(f"{message}\n  -> {remedy}" if remedy else message)

    def __reduce__(self):  # keep every attribute when errors cross process boundaries
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


def _rebuild(cls: type[NeardupError], args: tuple, state: dict) -> NeardupError:
    err = Exception.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err
