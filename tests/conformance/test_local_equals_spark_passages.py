"""``neardup passages`` under the Spark executor: the local run's bytes and counts.

The corpora are made of paragraphs of random sentences; later documents copy paragraphs of
earlier ones, some are copies of a whole earlier document (removed whole), and a footer
paragraph stands in about a third of them (more holders than the anchors compare with). Each
case compares kept, removed and spans (the Spark part files concatenated in name order against
the local files) and every count of stats.json.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import neardup
from neardup.errors import InputError

pytestmark = pytest.mark.spark

SPLIT_BYTES = 16 * 1024
#: stats.json fields that describe the machine or the executor rather than the result
UNSHARED = {"executor", "spark", "stages", "total_seconds", "outputs"}


def _sentence(rng: random.Random, vocab: list[str]) -> str:
    words = [rng.choice(vocab) for _ in range(rng.randint(6, 16))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice(".!?.")


def _paragraph(rng: random.Random, vocab: list[str]) -> str:
    return " ".join(_sentence(rng, vocab) for _ in range(rng.randint(4, 9)))


def _records(seed: int, n: int = 150) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    letters = "aeioubcdfgklmnprstv"
    vocab = sorted({"".join(rng.choices(letters, k=rng.randint(2, 8))) for _ in range(4000)})
    footer = _paragraph(rng, vocab)
    out: list[dict[str, Any]] = []
    for i in range(n):
        paras = [_paragraph(rng, vocab) for _ in range(rng.randint(2, 5))]
        if out and rng.random() < 0.4:  # a paragraph of an earlier document
            earlier = rng.choice(out)["text"].split("\n\n")
            paras.insert(rng.randrange(len(paras) + 1), rng.choice(earlier))
        if out and rng.random() < 0.08:  # an earlier document and one more sentence
            paras = [*rng.choice(out)["text"].split("\n\n"), _sentence(rng, vocab)]
        if rng.random() < 0.3:
            paras.append(footer)
        out.append(
            {"id": f"s{seed}-{i:04d}", "text": "\n\n".join(paras), "date": f"2024-{i % 12 + 1:02d}"}
        )
    return out


def _write_jsonl(path: Path, records: list[dict[str, Any]], extra: bytes = b"") -> Path:
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records) + extra
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" and data else data


def _spark_file(folder: Path) -> bytes:
    assert folder.is_dir(), folder
    return b"".join(_read(p) for p in sorted(folder.glob("part-*")))


def _run_both(spark, tmp_path: Path, inputs: list[Path], partitions: int, **cfg: Any):
    from neardup.executors.spark import SparkExecutor

    local = neardup.passages(inputs, tmp_path / "local", **cfg)
    ex = SparkExecutor(session=spark, partitions=partitions, split_bytes=SPLIT_BYTES)
    dist = neardup.passages(inputs, tmp_path / "spark", executor=ex, **cfg)
    shared = {k: v for k, v in local.stats.items() if k not in UNSHARED}
    assert {k: dist.stats[k] for k in shared} == shared
    for which in ("kept", "removed", "spans"):
        if which in local.outputs:
            assert _spark_file(Path(dist.outputs[which])) == _read(Path(local.outputs[which])), (
                which
            )
        else:
            assert which not in dist.outputs
    assert (tmp_path / "spark" / "stats.json").is_file()
    assert not [p for p in (tmp_path / "spark").iterdir() if p.name.startswith(".")]
    return local.stats


def test_planted_passages(spark, tmp_path):
    path = _write_jsonl(tmp_path / "in.jsonl", _records(1))
    stats = _run_both(spark, tmp_path, [path], 3)
    assert stats["documents_with_cuts"] > 40 and stats["removed"] > 0
    assert stats["cuts"] > stats["documents_with_cuts"]  # some lose a paragraph and the footer
    assert len(stats["top_sources"]) == 20


def test_gzip_generated_ids_bad_records_repeated_ids_longest(spark, tmp_path):
    records = _records(2)
    a = _write_jsonl(
        tmp_path / "a.jsonl.gz", [{k: v for k, v in r.items() if k != "id"} for r in records[:80]]
    )
    repeated = [dict(records[90]), dict(records[91], id=1), dict(records[92], id="1")]
    bad = b'{"text": "broken\n[1, 2]\n'
    b = _write_jsonl(tmp_path / "b.jsonl.gz", records[80:] + repeated, extra=bad)
    stats = _run_both(spark, tmp_path, [a, b], 4, keep="longest", min_words=20, on_error="skip")
    assert stats["skipped_records"] == 3 and len(stats["errors"]) == 2  # the repeated id, 2 bad
    assert stats["removed"] > 0


def test_txt_folder_and_parquet_annotate_newest(spark, tmp_path):
    records = _records(3, n=120)
    folder = tmp_path / "docs"
    for i, rec in enumerate(records[:50]):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{i:03d}.txt").write_text(rec["text"])
    pq.write_table(pa.Table.from_pylist(records[50:]), tmp_path / "rest.parquet", row_group_size=16)
    inputs = [folder, tmp_path / "rest.parquet"]
    stats = _run_both(
        spark, tmp_path, inputs, 2, mode="annotate", keep="newest:date", output_format="jsonl"
    )
    assert stats["cuts"] > 0 and stats["removed"] == 0


def test_a_repeated_id_raises_the_same_error(spark, tmp_path):
    from neardup.executors.spark import SparkExecutor

    records = _records(4, n=30)
    path = _write_jsonl(tmp_path / "r.jsonl", [*records, dict(records[3])])
    with pytest.raises(InputError) as local_err:
        neardup.passages(path, tmp_path / "local")
    with pytest.raises(InputError) as spark_err:
        neardup.passages(path, tmp_path / "spark", executor=SparkExecutor(session=spark))
    assert str(spark_err.value) == str(local_err.value)
    assert not (tmp_path / "spark" / "spans").exists()


def test_cli_runs_on_the_active_session(spark, tmp_path, cli):
    path = _write_jsonl(tmp_path / "cli.jsonl", _records(5, n=40))
    local = neardup.passages(path, tmp_path / "local")
    out = tmp_path / "spark"
    code, stdout, err = cli(
        "passages", path, "-o", out, "--executor", "spark", "--partitions", "2", "--json"
    )
    assert code == 0, err
    stats = json.loads(stdout)
    assert stats["executor"] == "spark" and stats["spark"]["partitions"] == 2
    assert stats["words_cut"] == local.stats["words_cut"] > 0
    assert _spark_file(out / "spans") == _read(Path(local.outputs["spans"]))
    code, _, err = cli("passages", path, "-o", tmp_path / "x", "--partitions", "2")
    assert code != 0 and "need --executor spark" in err
