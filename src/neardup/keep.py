"""Keeper policies: which member of each cluster survives.

See :class:`neardup.config.KeepPolicy` for the policies. Every policy breaks ties by input order,
so the choice is deterministic and independent of worker count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np

from neardup.config import KeepPolicy
from neardup.errors import InputError


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
    if policy.kind in ("longest", "shortest"):
        sign = -1 if policy.kind == "longest" else 1
        order = np.lexsort((members, sign * lengths[members].astype(np.int64), cl))
        sorted_cl = cl[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = sorted_cl[1:] != sorted_cl[:-1]
        keepers = np.empty(n_clusters, dtype=np.int64)
        keepers[sorted_cl[first]] = members[order][first]
        return keepers
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
