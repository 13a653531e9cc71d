"""The Spark executor the way a user runs it: no partition count, Spark's own defaults (200
shuffle partitions, most of them empty for a small corpus; adaptive execution on), the result
byte for byte the local one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import neardup

pytestmark = pytest.mark.spark

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEEDS = SHARED / "seeds"
CLOUGH = SHARED / "data" / "clough-plagiarised-short-answers" / "docs.jsonl"


def _joined(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*")))


def _assert_same_files(local: Path, spark: Path) -> None:
    for which in ("kept", "removed", "clusters"):
        assert _joined(spark / which) == (local / f"{which}.jsonl").read_bytes(), which
    a = json.loads((local / "stats.json").read_text())
    b = json.loads((spark / "stats.json").read_text())
    for key in ("documents", "kept", "removed", "clusters", "candidate_pairs", "errors"):
        assert a[key] == b[key], key
    assert a["similarity_histogram"] == b["similarity_histogram"]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the checkout")
def test_cli_with_no_spark_flags_on_the_seeds(spark, tmp_path):
    """A fresh process, as a user types it: a session of its own at Spark's defaults."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    out = tmp_path / "spark"
    cmd = [sys.executable, "-m", "neardup.cli", "dedup", str(SEEDS), "--output", str(out)]
    run = subprocess.run(
        [*cmd, "--executor", "spark"], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "1 kept, 1 removed" in run.stdout
    local = neardup.dedup(SEEDS, tmp_path / "local")
    _assert_same_files(tmp_path / "local", out)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["spark"]["partitions"] == 200
    assert stats["spark"]["master"].startswith("local")
    assert local.stats["removed"] == 1


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the checkout")
def test_spark_submit_as_the_readme_shows_keeps_its_master(tmp_path):
    """spark-submit runs neardup's command-line module with the master it was given (a
    session neardup builds there must not replace it with its own local default)."""
    import shutil

    import neardup.cli

    submit = Path(sys.executable).with_name("spark-submit")
    if not submit.exists():
        submit = Path(shutil.which("spark-submit") or "spark-submit")
    main = Path(neardup.cli.__file__).with_name("__main__.py")
    out = tmp_path / "submitted"
    run = subprocess.run(
        [str(submit), "--master", "local[1]", str(main), "dedup", str(SEEDS), "-o", str(out),
         "--executor", "spark"],
        capture_output=True, text=True, env=dict(os.environ, PYSPARK_PYTHON=sys.executable),
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["spark"]["master"] == "local[1]"
    assert stats["removed"] == 1


@pytest.mark.skipif(not CLOUGH.is_file(), reason="../shared/data is not beside the checkout")
def test_cli_at_default_partitions_on_a_real_corpus(spark, tmp_path, cli):
    """The shared session at Spark's default 200 shuffle partitions, every keeper policy's
    code path through empty partitions, on the Clough–Stevenson answers."""
    assert spark.conf.get("spark.sql.shuffle.partitions") == "200"
    for keep, clustering in (("first", "components"), ("longest", "star")):
        out = tmp_path / f"spark-{keep}"
        code, _, err = cli(
            "dedup", CLOUGH, "-o", out, "--executor", "spark", "--keep", keep,
            "--clustering", clustering, "--threshold", "0.5",
        )  # fmt: skip
        assert code == 0, err
        local = tmp_path / f"local-{keep}"
        neardup.dedup(CLOUGH, local, keep=keep, clustering=clustering, threshold=0.5)
        _assert_same_files(local, out)
        assert json.loads((local / "stats.json").read_text())["removed"] > 0
