"""Keeper policies: which member of each cluster survives.

See :class:`neardup.config.KeepPolicy` for the policies. Every policy breaks ties by input order,
so the choice is deterministic and independent of worker count.

``corrected[:FIELD]`` prefers, within a cluster of re-sends, a version that says it corrects
another — a headline (the first line of the text, or a ``title`` field) opening with
"CORRECTED -", "(CORRECTED) -" or "CORRECTION:", as Reuters and other wires mark them — then
the latest by FIELD (times read as :func:`neardup.timewindow.parse_time` reads them), then the
first in input order. Its keeper value, ``(is_correction, time)``, is made when a record is
parsed (:func:`correction_value`), so both executors rank the same values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np

from neardup.config import KeepPolicy
from neardup.errors import InputError

_CORRECTION = re.compile(r"^[\s(<\[]*(?:corrected|correction)[\s)>\]]*[-–—:]", re.IGNORECASE)


def is_correction(*headlines: Any) -> bool:
    """Whether a headline (the first line of each string given) marks a corrected version."""
    for h in headlines:
        if isinstance(h, str) and _CORRECTION.match(h.lstrip().split("\n", 1)[0]):
            return True
    return False


def correction_value(
    record: dict[str, Any], text: str, field: str | None, source: str, line: Any
) -> tuple[bool, float]:
    """The keeper value of ``corrected[:FIELD]``: whether the record is a correction (its text
    or ``title`` field), and its FIELD time (NaN without one); a FIELD value that is not a time
    is bad input."""
    from neardup.timewindow import parse_time

    when = math.nan
    if field:
        try:
            when = parse_time(record.get(field))
        except ValueError as exc:
            raise InputError(
                str(exc),
                path=source,
                line=line if isinstance(line, int) else None,
                field=field,
                remedy="write the time as ISO 8601 or seconds since 1970, leave it out (the "
                "document then ranks after dated ones), or pass --on-error skip",
            ) from None
    return is_correction(text, record.get("title")), when


def correction_flags(values: Sequence[Any]) -> np.ndarray:
    """Which documents are corrections, from ``corrected`` keeper values."""
    return _correction_keys(values, len(values))[0].astype(bool)


def _correction_keys(values: Sequence[Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(is_correction, time)`` arrays of keeper values; missing ones and NaN times last."""
    flags = np.zeros(n, dtype=np.int64)
    times = np.full(n, -np.inf)
    for x, v in enumerate(values):
        if v is not None:
            flags[x] = int(bool(v[0]))
            if not math.isnan(v[1]):
                times[x] = float(v[1])
    return flags, times


def _comparable(value: Any, field: str, doc_id: str) -> tuple[int, Any]:
    """Map a field value to a sortable key ``(kind, value)``; missing values sort lowest."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return (1, float(value))
    if isinstance(value, datetime | date):
        return (2, value.isoformat())
    if isinstance(value, str):
        return (2, value)
    raise InputError(
        f"document '{doc_id}' has a {type(value).__name__} in the keeper field",
        field=field,
        remedy="the keeper field must hold numbers, ISO dates or strings",
    )


def first_of_each(
    members: np.ndarray, clusters: np.ndarray, n_clusters: int, into: np.ndarray | None = None
) -> np.ndarray:
    """The first member of each cluster, for members sorted by cluster and then by preference,
    written into ``into`` (clusters without members keep its value) or a new array."""
    first = np.ones(clusters.size, dtype=bool)
    first[1:] = clusters[1:] != clusters[:-1]
    keepers = np.empty(n_clusters, dtype=np.int64) if into is None else into
    keepers[clusters[first]] = members[first]
    return keepers


def choose_keepers(
    policy: KeepPolicy,
    labels: np.ndarray,
    roots: np.ndarray,
    lengths: np.ndarray,
    values: Sequence[Any] | None = None,
    ids: Sequence[str] | None = None,
) -> np.ndarray:
    """The ordinal of the kept member of each cluster (``-1`` for every cluster under ``none``).

    ``labels[x]`` is the cluster of document ``x`` (-1 if alone), ``roots[c]`` the first member of
    cluster ``c``, ``lengths`` the text lengths, ``values`` the keeper field values.
    """
    n_clusters = roots.size
    if policy.kind == "none":
        return np.full(n_clusters, -1, dtype=np.int64)
    if policy.kind == "first" or n_clusters == 0:
        return roots.astype(np.int64).copy()
    members = np.flatnonzero(labels >= 0)
    cl = labels[members]
    if policy.kind == "corrected":
        flags, times = _correction_keys(values or [None] * lengths.size, lengths.size)
        order = np.lexsort((members, -times[members], -flags[members], cl))
        return first_of_each(members[order], cl[order], n_clusters)
    if policy.kind in ("longest", "shortest"):
        sign = -1 if policy.kind == "longest" else 1
        order = np.lexsort((members, sign * lengths[members].astype(np.int64), cl))
        return first_of_each(members[order], cl[order], n_clusters)
    if values is None or ids is None:
        raise ValueError("field-based keeper policies need values and ids")
    fld = policy.field or ""
    best_key: list[tuple[int, Any] | None] = [None] * n_clusters
    keepers = roots.astype(np.int64).copy()
    for x in members.tolist():  # ascending ordinal: ties keep the earlier member
        c = int(labels[x])
        key = _comparable(values[x], fld, ids[x])
        cur = best_key[c]
        if cur is not None and cur[0] not in (0, key[0]) and key[0] != 0:
            raise InputError(
                f"cluster members '{ids[keepers[c]]}' and '{ids[x]}' have keeper values of "
                "different types (numbers and strings cannot be compared)",
                field=fld,
                remedy="store the field with one type in every document",
            )
        if cur is None or key > cur:
            best_key[c] = key
            keepers[c] = x
    return keepers


def keeper_rank(
    policy: KeepPolicy,
    lengths: np.ndarray,
    values: Sequence[Any] | None = None,
    ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Every document's place in the policy's order of preference (0 = kept first); ties in
    input order. ``none`` ranks like ``first`` (the first member is the reference)."""
    n = lengths.size
    ordinal = np.arange(n, dtype=np.int64)
    if policy.kind in ("first", "none"):
        return ordinal
    if policy.kind in ("longest", "shortest"):
        sign = -1 if policy.kind == "longest" else 1
        order = np.lexsort((ordinal, sign * lengths.astype(np.int64)))
    elif policy.kind == "corrected":
        flags, times = _correction_keys(values or [None] * n, n)
        order = np.lexsort((ordinal, -times, -flags))
    else:
        if values is None or ids is None:
            raise ValueError("field-based keeper policies need values and ids")
        fld = policy.field or ""
        keys = [_comparable(values[x], fld, ids[x]) for x in range(n)]
        order = np.array(
            sorted(range(n), key=lambda x: (-keys[x][0], _negate(keys[x][1]), x)), dtype=np.int64
        )
    rank = np.empty(n, dtype=np.int64)
    rank[order] = ordinal
    return rank


class _negate:
    """Reverses the order of any comparable value (for 'largest first' sorts)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _negate) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _negate) and other.v == self.v

    __hash__ = None  # type: ignore[assignment]
