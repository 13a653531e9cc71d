"""--window FIELD:DURATION: documents further apart in time are never duplicates; times read
from ISO 8601, RFC 2822, Reuters dates and epoch seconds; missing times are not constrained and
counted; a value that is not a time is bad input named by file, line and field."""

from __future__ import annotations

import gzip
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import HARBOUR, ORCHARD, write_jsonl

import neardup
from neardup.stages.window import window_pairs, within_window
from neardup.timewindow import parse_time, parse_window

DAY = 86400.0
T0 = datetime(1987, 2, 26, 15, 1, 1, tzinfo=UTC).timestamp()


def test_parse_window() -> None:
    assert parse_window("date:3.5d") == ("date", 3.5 * DAY)
    assert parse_window("meta:published:12h") == ("meta:published", 12 * 3600.0)
    assert parse_window("t:90s") == ("t", 90.0)
    assert parse_window("t:15m") == ("t", 900.0)
    for bad in ("date", "date:3", "date:3w", ":3d", "date:0d", "date:-1d"):
        with pytest.raises(neardup.ConfigError, match="window"):
            parse_window(bad)
    with pytest.raises(neardup.ConfigError, match="FIELD:DURATION"):
        neardup.DedupConfig(window="date")


@pytest.mark.parametrize(
    "value",
    [
        "26-FEB-1987 15:01:01.79",
        "26-feb-1987 15:01:01",
        "1987-02-26T15:01:01Z",
        "1987-02-26T16:01:01+01:00",
        "1987-02-26 15:01:01",
        "Thu, 26 Feb 1987 15:01:01 GMT",
        T0,
        int(T0),
    ],
)
def test_parse_time_formats(value: Any) -> None:
    assert parse_time(value) == pytest.approx(T0, abs=1.0)


def test_parse_time_missing_and_bad() -> None:
    assert math.isnan(parse_time(None)) and math.isnan(parse_time("  "))
    assert parse_time("1987-02-26") == datetime(1987, 2, 26, tzinfo=UTC).timestamp()
    for bad in ("yesterday", "26-XYZ-1987", True, [1], float("inf")):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_within_window() -> None:
    ta = np.array([0.0, 0.0, np.nan, 0.0])
    tb = np.array([3 * DAY, 4 * DAY, 9 * DAY, np.nan])
    assert within_window(ta, tb, 3.5 * DAY).tolist() == [True, False, False, False]
    assert within_window(np.array([np.nan]), np.array([np.nan]), DAY).tolist() == [True]
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    times = np.array([0.0, DAY, 10 * DAY])
    assert window_pairs(pairs, times, 2 * DAY).tolist() == [[0, 1]]
    assert window_pairs(pairs, None, None) is pairs


def _date(days: float) -> str:
    return datetime.fromtimestamp(T0 + days * DAY, UTC).isoformat()


DOCS = [
    {"id": "a", "text": HARBOUR, "date": _date(0)},
    {"id": "a-resent", "text": HARBOUR, "date": _date(0.2)},
    {"id": "a-next-month", "text": HARBOUR, "date": _date(30)},
    {"id": "a-near-next-month", "text": HARBOUR + " Updated.", "date": _date(31)},
    {"id": "a-undated", "text": HARBOUR + " Again."},
    {"id": "a-undated-too", "text": HARBOUR + " Again.", "date": None},
    {"id": "b", "text": ORCHARD, "date": _date(1)},
]


def _removed(out: Path) -> dict[str, str]:
    lines = (out / "removed.jsonl").read_text().splitlines()
    return {r["id"]: r["kept_id"] for r in map(json.loads, lines)}


def test_dedup_with_window(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    plain = neardup.dedup(corpus, tmp_path / "plain")
    assert plain.removed == 5
    res = neardup.dedup(corpus, tmp_path / "w", window="date:3.5d")
    removed = _removed(tmp_path / "w")
    # the copies a month later are duplicates of each other, not of the first story; the
    # undated copies only of each other
    assert removed == {
        "a-resent": "a",
        "a-near-next-month": "a-next-month",
        "a-undated-too": "a-undated",
    }
    assert res.stats["window_undated_documents"] == 2
    assert res.stats["window_rejected_pairs"] > 0
    assert res.stats["parameters"]["window"] == "date:3.5d"
    assert "window" not in plain.stats["parameters"]


def test_star_keeps_removals_within_the_window(tmp_path: Path) -> None:
    words = HARBOUR.split()
    # a chain: each link within 3.5 days, the ends 6 days apart
    docs = [
        {"id": "d0", "text": HARBOUR, "date": _date(0)},
        {"id": "d3", "text": " ".join(words[:-2]), "date": _date(3)},
        {"id": "d6", "text": " ".join(words[:-2]) + " Later.", "date": _date(6)},
    ]
    corpus = write_jsonl(tmp_path / "chain.jsonl", docs)
    neardup.dedup(corpus, tmp_path / "c", window="date:3.5d")
    neardup.dedup(corpus, tmp_path / "s", window="date:3.5d", clustering="star")
    assert _removed(tmp_path / "c") == {"d3": "d0", "d6": "d0"}  # a chain (README)
    star = _removed(tmp_path / "s")
    assert star == {"d3": "d0"}


def test_bad_time_is_bad_input(tmp_path: Path, cli: Any) -> None:
    corpus = write_jsonl(tmp_path / "docs.jsonl", [*DOCS, {"id": "x", "text": "x", "date": "soon"}])
    code, _, err = cli("dedup", corpus, "-o", tmp_path / "o", "--window", "date:3.5d")
    assert code == 3
    assert "line 8" in err and "'date'" in err and "'soon'" in err
    code, _, err = cli(
        "dedup", corpus, "-o", tmp_path / "o", "--window", "date:3.5d", "--on-error", "skip"
    )
    assert code == 0, err
    code, _, err = cli("dedup", corpus, "-o", tmp_path / "o", "--window", "date:3x")
    assert code == 2 and "FIELD:DURATION" in err


SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REUTERS = SHARED / "data" / "reuters21578" / "docs.jsonl.gz"


@pytest.mark.skipif(not REUTERS.exists(), reason="shared corpora not available")
def test_reuters_templates_on_other_days(tmp_path: Path) -> None:
    """Without a window, 24 of Reuters' 493 removals lie more than 3.5 days from the story kept
    for them (another day's Fed operation or Bundesbank decision in the same words). With
    ``--window date:3.5d`` 473 are removed and 2 lie further (chains of copies, each link
    within the window); with ``--clustering star`` as well, 470 and none."""
    dates = {}
    with gzip.open(REUTERS, "rt") as fh:
        for line in fh:
            d = json.loads(line)
            dates[str(d["id"])] = parse_time(d["date"])

    def far(out: Path) -> int:
        n = 0
        with gzip.open(out / "removed.jsonl.gz", "rt") as fh:
            for line in fh:
                r = json.loads(line)
                n += abs(dates[str(r["id"])] - dates[str(r["kept_id"])]) > 3.5 * DAY
        return n

    runs = {
        "plain": {},
        "window": {"window": "date:3.5d"},
        "star": {"window": "date:3.5d", "clustering": "star"},
    }
    got = {}
    for name, options in runs.items():
        res = neardup.dedup(REUTERS, tmp_path / name, progress=False, **options)
        got[name] = (res.removed, far(tmp_path / name))
    assert got == {"plain": (493, 24), "window": (473, 2), "star": (470, 0)}
    assert res.stats["window_undated_documents"] == 0
    assert res.stats["window_rejected_pairs"] == 48
