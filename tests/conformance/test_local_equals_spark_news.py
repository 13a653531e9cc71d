"""News-archive options on both executors: keep=corrected[:FIELD] (corrections, then the latest,
then input order) makes the same decisions and writes the same bytes on Spark as locally, with
and without containment; --window is refused by Spark before any work."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import neardup
from neardup.errors import ConfigError

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
    [("corrected", {}), ("corrected:date", {"containment": 0.9}), ("corrected:date", {})],
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


def test_window_refused_by_spark(spark, corpus, tmp_path):
    from neardup.executors.spark import SparkExecutor

    path = _write(tmp_path / "w.jsonl", corpus(22, bases=5))
    with pytest.raises(ConfigError, match="--window"):
        neardup.dedup(
            path, tmp_path / "o", executor=SparkExecutor(session=spark), window="date:3.5d"
        )
    assert not (tmp_path / "o").exists() or os.listdir(tmp_path / "o") == []
