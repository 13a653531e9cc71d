"""Time windows: ``--window FIELD:DURATION`` (documents further apart in time are never
duplicates) — the spec, and the times read from records.

A news wire repeats its templates ("FED SETS TWO BILLION DLR CUSTOMER REPURCHASE") on different
days in the same words; a re-sent or corrected story follows its original within hours. With a
window, a pair of documents whose FIELD times differ by more than DURATION is never a
duplicate pair, whatever its similarity.

Times are read as seconds since 1970-01-01 UTC from:

* numbers (seconds since the epoch; booleans are refused);
* ISO 8601 strings (``2026-11-30``, ``2026-11-30T09:14:03Z``, ``… +01:00``; no zone: UTC);
* RFC 2822 dates as mail and Usenet headers write them (``Thu, 29 Apr 1993 11:57:19 GMT``);
* Reuters-21578's ``26-FEB-1987 15:01:01.79`` (day, English month, year, time).

A record without the field (or with null or an empty string) has no time: it can be a
duplicate of another document without a time, never of one with a time (it is neither removed
for a copy of unknown date nor lets a chain join two stories the window keeps apart), and
``stats.json`` counts such documents (``window_undated_documents``). A value that is present
but none of the above is bad input, named by file, line and field (or skipped with
``--on-error skip``), never guessed.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from neardup.errors import ConfigError

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd])\s*$")
_REUTERS = re.compile(r"^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_window(spec: str) -> tuple[str, float]:
    """``FIELD:DURATION`` → ``(field, seconds)``; DURATION is a number and a unit ``s``, ``m``,
    ``h`` or ``d`` (``date:3.5d``)."""
    if not isinstance(spec, str):
        raise ConfigError(
            f"window must be FIELD:DURATION, got {spec!r}", remedy="pass e.g. --window date:3.5d"
        )
    fld, sep, duration = spec.rpartition(":")
    m = _DURATION.match(duration)
    if not sep or not fld.strip() or m is None:
        raise ConfigError(
            f"window must be FIELD:DURATION with a unit s, m, h or d, got {spec!r}",
            remedy="pass e.g. --window date:3.5d (3.5 days) or --window published:12h",
        )
    seconds = float(m.group(1)) * UNITS[m.group(2)]
    if not seconds > 0:
        raise ConfigError(
            f"window duration must be more than 0, got {duration!r}",
            remedy="pass a positive duration such as 3.5d",
        )
    return fld.strip(), seconds


def parse_time(value: Any) -> float:
    """Seconds since the epoch (UTC) of a field value, NaN when it has none (module docstring).
    Raises ValueError for a value that is not a time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"expected a date or a number of seconds, got {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number of seconds, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a date or a number of seconds, got {type(value).__name__}")
    text = value.strip()
    m = _REUTERS.match(text)
    if m is not None and m.group(2).lower() in _MONTHS:
        day, mon, year = int(m.group(1)), _MONTHS[m.group(2).lower()], int(m.group(3))
        hh, mm, ss = (int(g) if g else 0 for g in m.group(4, 5, 6))
        return datetime(year, mon, day, hh, mm, ss, tzinfo=UTC).timestamp()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(
                f"cannot read {value!r} as a date (ISO 8601, RFC 2822, 26-FEB-1987 15:01:01 "
                "or seconds since 1970)"
            ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
