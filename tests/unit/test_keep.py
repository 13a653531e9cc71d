"""Keeper policies: which member of each cluster survives."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

import neardup
from neardup.config import KeepPolicy
from neardup.keep import choose_keepers

# two clusters: cluster 0 = {0, 2, 4}, cluster 1 = {1, 5}; document 3 is alone
LABELS = np.array([0, 1, 0, -1, 0, 1], dtype=np.int64)
ROOTS = np.array([0, 1], dtype=np.int64)
IDS = ["a", "b", "c", "d", "e", "f"]


def keep(spec: str, lengths=(1, 1, 1, 1, 1, 1), values=None) -> list[int]:
    out = choose_keepers(
        KeepPolicy.parse(spec),
        LABELS,
        ROOTS,
        np.array(lengths, dtype=np.int64),
        list(values) if values is not None else [None] * 6,
        IDS,
    )
    return out.tolist()


def test_first_keeps_the_root() -> None:
    assert keep("first", lengths=(1, 9, 9, 99, 9, 9)) == [0, 1]


def test_none_keeps_nothing() -> None:
    assert keep("none") == [-1, -1]


def test_longest() -> None:
    assert keep("longest", lengths=(10, 5, 30, 999, 20, 6)) == [2, 5]


def test_shortest() -> None:
    assert keep("shortest", lengths=(10, 5, 30, 1, 20, 6)) == [0, 1]
    assert keep("shortest", lengths=(10, 7, 3, 1, 20, 6)) == [2, 5]


def test_length_ties_go_to_the_first_member() -> None:
    assert keep("longest", lengths=(10, 5, 30, 1, 30, 5)) == [2, 1]
    assert keep("shortest", lengths=(10, 5, 30, 1, 10, 5)) == [0, 1]
    assert keep("longest", lengths=(7, 7, 7, 7, 7, 7)) == [0, 1]


def test_newest_by_iso_date_strings() -> None:
    values = ["2020-01-05", "2019-12-31", "2021-03-01", "2030-01-01", "2020-11-30", "2020-01-01"]
    assert keep("newest:published", values=values) == [2, 5]


def test_newest_by_datetime_and_date_objects() -> None:
    values = [
        datetime(2020, 1, 1, 12),
        date(2019, 1, 1),
        datetime(2020, 1, 1, 13),
        None,
        datetime(2019, 6, 1),
        date(2018, 1, 1),
    ]
    assert keep("newest:t", values=values) == [2, 1]


def test_priority_by_numbers() -> None:
    values = [0.5, 3, 2, 100, 1.5, 7]
    assert keep("priority:score", values=values) == [2, 5]


def test_field_value_ties_go_to_the_first_member() -> None:
    assert keep("priority:score", values=[5, 1, 5, 0, 5, 1]) == [0, 1]


def test_missing_field_values_lose() -> None:
    values = [None, None, None, None, 0, None]
    assert keep("priority:score", values=values) == [4, 1]
    values = [None, "2001-01-01", "1999-01-01", None, None, None]
    assert keep("newest:date", values=values) == [2, 1]
    # everyone missing: first member
    assert keep("newest:date") == [0, 1]


def test_mixed_numbers_and_strings_are_rejected() -> None:
    with pytest.raises(neardup.InputError) as info:
        keep("priority:score", values=[1, None, "high", None, None, None])
    msg = str(info.value)
    assert "field 'score'" in msg
    assert "'a' and 'c'" in msg
    assert "different types" in msg


def test_unsupported_value_type_is_rejected() -> None:
    with pytest.raises(neardup.InputError) as info:
        keep("priority:score", values=[1, None, [1, 2], None, None, None])
    assert "document 'c' has a list in the keeper field" in str(info.value)


def test_no_clusters() -> None:
    labels = np.full(3, -1, dtype=np.int64)
    roots = np.zeros(0, dtype=np.int64)
    for spec in ("first", "longest", "none", "priority:x"):
        out = choose_keepers(
            KeepPolicy.parse(spec), labels, roots, np.ones(3, np.int64), [None] * 3, ["a"] * 3
        )
        assert out.size == 0


@pytest.mark.parametrize(
    ("spec", "kind", "field"),
    [
        ("first", "first", None),
        ("LONGEST", "longest", None),
        (" shortest ", "shortest", None),
        ("none", "none", None),
        ("newest:published", "newest", "published"),
        ("priority:score", "priority", "score"),
    ],
)
def test_keep_policy_parse(spec: str, kind: str, field: str | None) -> None:
    p = KeepPolicy.parse(spec)
    assert (p.kind, p.field) == (kind, field)
    assert KeepPolicy.parse(p) is p
    assert KeepPolicy.parse(str(p)) == p


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("oldest", "unknown keeper policy 'oldest'"),
        ("newest", "keeper policy 'newest' needs a field name"),
        ("priority:", "keeper policy 'priority' needs a field name"),
        ("longest:len", "keeper policy 'longest' takes no field (got 'longest:len')"),
    ],
)
def test_keep_policy_parse_errors(spec: str, message: str) -> None:
    with pytest.raises(neardup.ConfigError) as info:
        KeepPolicy.parse(spec)
    assert info.value.message == message
    assert info.value.remedy
