"""The local and the Spark executor make the same decisions and write the same bytes.

Each case runs one corpus through both executors and compares kept and removed records (the
Spark part files concatenated in name order against the local file), clusters.jsonl and every
count in stats.json — for several corpus seeds, MinHash seeds, partition counts, keeper
policies, both clustering rules, every input format the Spark path reads, bad records, and
both ways of computing connected components.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import neardup
from neardup.errors import ConfigError, InputError

pytestmark = pytest.mark.spark

SPLIT_BYTES = 16 * 1024  # every JSONL input is read as several splits
COUNTS = (
    "documents",
    "kept",
    "removed",
    "removed_exact",
    "removed_near",
    "clusters",
    "largest_cluster",
    "documents_in_clusters",
    "candidate_pairs",
    "verified_pairs",
    "rejected_pairs",
    "exact_pairs",
    "empty_documents",
    "similarity_histogram",
    "character_shingled_documents",
    "skipped_records",
    "invalid_utf8_records",
    "errors",
)


def _write_jsonl(path: Path, records: list[dict[str, Any]], extra: bytes = b"") -> Path:
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records) + extra
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" and data else data


def _spark_file(folder: Path) -> bytes:
    assert folder.is_dir(), folder
    return b"".join(_read(p) for p in sorted(folder.glob("part-*")))


def _run_both(
    spark, tmp_path: Path, inputs: list[Path], partitions: int = 3, edges: int = 10**7, **cfg: Any
):
    from neardup.executors.spark import SparkExecutor

    local = neardup.dedup(inputs, tmp_path / "local", workers=2, **cfg)
    ex = SparkExecutor(
        session=spark, partitions=partitions, collect_edges=edges, split_bytes=SPLIT_BYTES
    )
    dist = neardup.dedup(inputs, tmp_path / "spark", executor=ex, **cfg)
    return local, dist


def _assert_same(local, dist, tmp_path: Path) -> None:
    for key in COUNTS:
        assert dist.stats[key] == local.stats[key], key
    for which in ("kept", "removed"):
        assert _spark_file(Path(dist.outputs[which])) == _read(Path(local.outputs[which])), which
    assert _spark_file(Path(dist.outputs["clusters"])) == _read(Path(local.outputs["clusters"]))
    assert (tmp_path / "spark" / "stats.json").is_file()
    assert not [p for p in (tmp_path / "spark").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(("seed", "partitions"), [(1, 1), (2, 3), (3, 7)])
def test_planted_corpus_same_decisions(spark, corpus, tmp_path, seed, partitions):
    path = _write_jsonl(tmp_path / "corpus.jsonl", corpus(seed, bases=80))
    local, dist = _run_both(spark, tmp_path, [path], partitions, seed=seed * 11)
    _assert_same(local, dist, tmp_path)
    # the planted structure is really there, so the comparison is not between empty results
    assert local.stats["removed_exact"] > 0 and local.stats["removed_near"] > 0
    assert local.stats["rejected_pairs"] > 0 and local.stats["largest_cluster"] >= 4
    assert dist.stats["spark"]["partitions"] == partitions
    assert dist.stats["spark"]["input_splits"] == -(-path.stat().st_size // SPLIT_BYTES)


def test_two_sources_gzip_longest_star(spark, corpus, tmp_path):
    a = _write_jsonl(tmp_path / "a.jsonl.gz", corpus(4, bases=50))
    copies = [dict(r, id="b-" + r["id"]) for r in corpus(4, bases=30)[:40]]
    b = _write_jsonl(tmp_path / "b.jsonl.gz", copies)
    local, dist = _run_both(spark, tmp_path, [a, b], 4, keep="longest", clustering="star")
    assert local.stats["parameters"]["output_format"] == "jsonl.gz"
    assert all(p.suffix == ".gz" for p in Path(dist.outputs["kept"]).iterdir())
    _assert_same(local, dist, tmp_path)


def test_generated_ids_bad_records_skipped(spark, corpus, tmp_path):
    records = corpus(5, bases=60, with_ids=False)
    bad = b'{"text": "broken\n{"id": 7}\n\n{"text": "caf\xe9 au lait with invalid bytes"}\n'
    path = _write_jsonl(tmp_path / "c.jsonl", records, extra=bad)
    local, dist = _run_both(spark, tmp_path, [path], 2, keep="newest:date", on_error="skip")
    assert local.stats["skipped_records"] == 2
    assert local.stats["invalid_utf8_records"] == 1
    assert any(
        ":" in json.loads(line)["kept_id"]
        for line in _read(Path(local.outputs["removed"])).splitlines()
    )
    _assert_same(local, dist, tmp_path)


def test_repeated_ids_keep_none_unverified(spark, corpus, tmp_path):
    records = corpus(6, bases=50)
    records.append(dict(records[3]))  # the same id (and text) again: skipped, not a duplicate
    path = _write_jsonl(tmp_path / "d.jsonl", records)
    local, dist = _run_both(spark, tmp_path, [path], 3, keep="none", verify=False, on_error="skip")
    assert local.stats["skipped_records"] == 1 and "appears twice" in local.stats["errors"][0]
    _assert_same(local, dist, tmp_path)


def test_txt_folder_and_parquet(spark, corpus, tmp_path):
    records = corpus(7, bases=40)
    folder = tmp_path / "docs"
    for i, rec in enumerate(records[:60]):
        sub = folder / ("a" if i % 2 else "a.b")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:03d}.txt").write_text(rec["text"])
    table = pa.Table.from_pylist(records[60:])
    pq.write_table(table, tmp_path / "rest.parquet", row_group_size=16)
    inputs = [folder, tmp_path / "rest.parquet"]
    local, dist = _run_both(spark, tmp_path, inputs, 3, output_format="jsonl")
    _assert_same(local, dist, tmp_path)
    assert local.stats["removed"] > 0


def test_components_by_large_and_small_star(spark, corpus, tmp_path):
    path = _write_jsonl(tmp_path / "e.jsonl", corpus(8, bases=80))
    # edges=0: no edge table is collected to the driver; max_bucket=2 windows big buckets
    local, dist = _run_both(spark, tmp_path, [path], 5, max_bucket=2, edges=0)
    _assert_same(local, dist, tmp_path)


def test_bad_record_raises_the_same_error(spark, corpus, tmp_path):
    from neardup.executors.spark import SparkExecutor

    path = _write_jsonl(tmp_path / "f.jsonl", corpus(9, bases=30), extra=b"[1, 2]\n")
    with pytest.raises(InputError) as local_err:
        neardup.dedup(path, tmp_path / "local")
    with pytest.raises(InputError) as spark_err:
        neardup.dedup(path, tmp_path / "spark", executor=SparkExecutor(session=spark))
    assert str(spark_err.value) == str(local_err.value)
    assert "line 55" in str(spark_err.value) or "line" in str(spark_err.value)
    assert not (tmp_path / "spark" / "kept").exists()


def test_refuses_what_it_cannot_do(spark, corpus, tmp_path):
    from neardup.executors.spark import SparkExecutor

    path = _write_jsonl(tmp_path / "g.jsonl", corpus(10, bases=5))
    csv = tmp_path / "h.csv"
    csv.write_text("id,text\n1,hello\n")
    ex = SparkExecutor(session=spark)
    with pytest.raises(ConfigError, match="CSV inputs are not read by the Spark executor"):
        neardup.dedup(csv, tmp_path / "o", executor=ex)
    with pytest.raises(ConfigError, match="strip-boilerplate"):
        neardup.dedup(path, tmp_path / "o", executor=ex, strip_boilerplate=True)
    with pytest.raises(ConfigError, match="output format parquet"):
        neardup.dedup(path, tmp_path / "o", executor=ex, output_format="parquet")
    assert os.listdir(tmp_path / "o") == [] if (tmp_path / "o").exists() else True


def test_task_retries_and_a_rerun_after_a_crash(spark, corpus, tmp_path, monkeypatch):
    """A task that fails after writing part of its output is retried without duplicating it;
    a run that dies leaves no result files, and running it again gives the local result."""
    from neardup.api import spark_plan
    from neardup.executors.spark import SparkExecutor

    path = _write_jsonl(tmp_path / "r.jsonl", corpus(12, bases=40))
    local = neardup.dedup(path, tmp_path / "local")
    real = spark_plan.jsonl_output_partition
    marker = str(tmp_path / "failed-once")

    def fails_once(batches, *args):
        first = not os.path.exists(marker)
        for batch in real(batches, *args):
            yield batch
            if first:
                open(marker, "w").close()
                raise RuntimeError("injected task failure")

    monkeypatch.setattr(spark_plan, "jsonl_output_partition", fails_once)
    ex = SparkExecutor(session=spark, partitions=2, split_bytes=SPLIT_BYTES)
    retried = neardup.dedup(path, tmp_path / "spark", executor=ex)
    assert os.path.exists(marker)
    _assert_same(local, retried, tmp_path)

    # a run that dies half-way: its staging folder stays (as after kill -9), no result moves
    def always_fails(batches, *args):
        raise RuntimeError("injected crash")
        yield

    monkeypatch.setattr(spark_plan, "cluster_partition", always_fails)
    out = tmp_path / "crashed"
    (out / ".neardup-staging-stale").mkdir(parents=True)  # left by an earlier killed run
    with pytest.raises(Exception, match="injected crash"):
        neardup.dedup(path, out, executor=SparkExecutor(session=spark, partitions=2))
    assert sorted(p.name for p in out.iterdir()) == []
    monkeypatch.undo()
    again = neardup.dedup(path, out, executor=SparkExecutor(session=spark, partitions=2))
    for which in ("kept", "removed", "clusters"):
        assert _spark_file(out / which) == _spark_file(Path(retried.outputs[which]))
    assert again.stats["kept"] == local.stats["kept"]


def test_cli_runs_on_the_active_session(spark, corpus, tmp_path, cli):
    path = _write_jsonl(tmp_path / "cli.jsonl", corpus(13, bases=30))
    local = neardup.dedup(path, tmp_path / "local")
    code, out, err = cli(
        "dedup",
        path,
        "-o",
        tmp_path / "spark",
        "--executor",
        "spark",
        "--partitions",
        "2",
        "--json",
    )
    assert code == 0, err
    stats = json.loads(out)
    assert stats["executor"] == "spark" and stats["spark"]["partitions"] == 2
    assert {k: stats[k] for k in COUNTS} == {k: local.stats[k] for k in COUNTS}
    assert spark.sparkContext._jsc is not None  # the session it found is left running


@pytest.mark.parametrize("direct", [True, False])
def test_blank_lines_bom_crlf_on_both_output_paths(spark, corpus, tmp_path, monkeypatch, direct):
    """Kept lines are the input's bytes whether the JVM copies them (each split one partition)
    or Python renders every line (the general path): blank and whitespace-only lines, a byte
    order mark on line 1, CRLF line ends and a bad record skipped by position."""
    from neardup.api import spark_plan

    lines = [json.dumps(r).encode() for r in corpus(13, bases=40)]
    data = (
        b"\xef\xbb\xbf"
        + lines[0]
        + b"\r\n\n   \t\n"
        + b"\r\n".join(lines[1:30])
        + b"\r\n\n{broken\n"
        + b"\n".join(lines[30:])
        + b"\n\x0c\n"
    )
    path = tmp_path / "blank.jsonl"
    path.write_bytes(data)
    used: list[bool] = []
    real = spark_plan._direct_kept

    def spy(*args: Any) -> Any:
        table = real(*args) if direct else None
        used.append(table is not None)
        return table

    monkeypatch.setattr(spark_plan, "_direct_kept", spy)
    if not direct:  # as if a partition held several splits: lines numbered by Python
        layout = spark_plan.InputLayout
        monkeypatch.setattr(
            spark_plan, "InputLayout", lambda specs, offsets, _one=True: layout(specs, offsets)
        )
    local, dist = _run_both(spark, tmp_path, [path], 3, on_error="skip")
    assert used == [direct]
    assert local.stats["skipped_records"] == 1 and local.stats["removed"] > 0
    _assert_same(local, dist, tmp_path)
