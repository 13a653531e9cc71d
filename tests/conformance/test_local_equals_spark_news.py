"""News-archive options on both executors: keep=corrected[:FIELD] (corrections, then the latest,
then input order) and --window FIELD:DURATION (pairs further apart in time dropped before
clustering, undated documents matched only with undated ones) make the same decisions and
write the same bytes on Spark as locally, with and without containment and star clustering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import neardup
from neardup.errors import InputError

pytestmark = pytest.mark.spark


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    return path


def _part_files(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*")))


def _news(corpus: Any, seed: int) -> list[dict[str, Any]]:
    """A planted corpus where every fourth record is marked as a correction."""
    records = corpus(seed, bases=60)
    for i, rec in enumerate(records):
        if i % 4 == 1 and rec["text"]:
            rec["text"] = "CORRECTED - " + rec["text"]
    return records


@pytest.mark.parametrize(
    ("keep", "extra"),
    [("corrected:date", {"containment": 0.9})],
)
def test_corrected_keeper_same_on_both(spark, corpus, tmp_path, keep, extra):
    from neardup.executors.spark import SparkExecutor

    path = _write(tmp_path / "news.jsonl", _news(corpus, 21))
    local = neardup.dedup(path, tmp_path / "local", workers=2, keep=keep, **extra)
    ex = SparkExecutor(session=spark, partitions=3, split_bytes=16 * 1024)
    dist = neardup.dedup(path, tmp_path / "spark", executor=ex, keep=keep, **extra)
    for key in ("documents", "kept", "removed", "removed_exact", "removed_near", "clusters"):
        assert dist.stats[key] == local.stats[key], key
    for which in ("kept", "removed"):
        assert _part_files(Path(dist.outputs[which])) == Path(local.outputs[which]).read_bytes()
    assert (
        _part_files(Path(dist.outputs["clusters"])) == Path(local.outputs["clusters"]).read_bytes()
    )
    # the policy changed something: a correction is kept where the first member was not it
    first = neardup.dedup(path, tmp_path / "first", workers=2, **extra)
    assert first.stats["removed"] > 0
    kept = Path(local.outputs["kept"]).read_text()
    assert kept != Path(first.outputs["kept"]).read_text()


def _dated(corpus: Any, seed: int) -> list[dict[str, Any]]:
    """A planted corpus with times spread over a month, some missing or null."""
    records = corpus(seed, bases=60)
    for i, rec in enumerate(records):
        if i % 9 == 4:
            rec.pop("date", None)
        elif i % 9 == 7:
            rec["date"] = None
        else:
            rec["date"] = f"2024-03-{1 + (i * 7) % 28:02d}T{i % 24:02d}:00:00Z"
    return records


@pytest.mark.parametrize(
    "extra",
    [{}, {"clustering": "star", "containment": 0.9, "keep": "corrected:date"}],
)
def test_window_same_on_both(spark, corpus, tmp_path, extra):
    from neardup.executors.spark import SparkExecutor

    path = _write(tmp_path / "dated.jsonl", _dated(corpus, 23))
    options = {"window": "date:3.5d", **extra}
    local = neardup.dedup(path, tmp_path / "local", workers=2, **options)
    ex = SparkExecutor(session=spark, partitions=3, split_bytes=16 * 1024)
    dist = neardup.dedup(path, tmp_path / "spark", executor=ex, **options)
    for key in (
        "documents",
        "kept",
        "removed",
        "removed_exact",
        "removed_near",
        "clusters",
        "exact_pairs",
        "window_rejected_pairs",
        "window_undated_documents",
    ):
        assert dist.stats[key] == local.stats[key], key
    for which in ("kept", "removed", "clusters"):
        assert _part_files(Path(dist.outputs[which])) == Path(local.outputs[which]).read_bytes()
    # the window changed something
    plain = neardup.dedup(path, tmp_path / "plain", workers=2, **extra)
    assert local.stats["window_rejected_pairs"] > 0
    assert local.stats["window_undated_documents"] > 0
    assert local.stats["removed"] < plain.stats["removed"]


def test_bad_time_same_error_on_both(spark, corpus, tmp_path):
    from neardup.executors.spark import SparkExecutor

    records = _dated(corpus, 24)
    records[5]["date"] = "next tuesday"
    path = _write(tmp_path / "bad.jsonl", records)
    with pytest.raises(InputError) as local_err:
        neardup.dedup(path, tmp_path / "local", window="date:1d")
    with pytest.raises(InputError) as spark_err:
        neardup.dedup(
            path, tmp_path / "spark", window="date:1d", executor=SparkExecutor(session=spark)
        )
    assert str(spark_err.value) == str(local_err.value)
    assert "line 6" in str(local_err.value) and "next tuesday" in str(local_err.value)
