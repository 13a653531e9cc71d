"""Input and output formats of `neardup dedup`: JSONL (.gz, .zst), Parquet, CSV, .txt folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import (
    HARBOUR,
    HARBOUR_NEAR,
    NOTES,
    OBSERVATORY,
    ORCHARD,
    decompressed,
    jsonl_bytes,
    read_clusters,
    read_records,
    read_stats,
    write_csv,
    write_jsonl,
    write_parquet,
)

EXPECTED_REMOVED = {"h2": ("h1", "exact"), "o2": ("o1", "near")}
EXPECTED_KEPT = ["h1", "o1", "s1", "w1", "n1", "n2"]


def check_outputs(out: Path, ext: str, records: list[dict]) -> None:
    """kept/removed hold the expected records with every input field unchanged."""
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["clusters.jsonl", "stats.json", f"kept.{ext}", f"removed.{ext}"]
    )
    by_id = {str(r["id"]): r for r in records}
    kept = read_records(out / f"kept.{ext}")
    removed = read_records(out / f"removed.{ext}")
    assert [str(r["id"]) for r in kept] == EXPECTED_KEPT
    for r in kept:
        assert r == by_id[str(r["id"])]
    assert [str(r["id"]) for r in removed] == ["h2", "o2"]
    for r in removed:
        original = by_id[str(r["id"])]
        assert {k: r[k] for k in original} == original
        kept_id, reason = EXPECTED_REMOVED[str(r["id"])]
        assert str(r["kept_id"]) == kept_id
        assert r["reason"] == reason
        similarity = float(r["similarity"])
        assert similarity == 1.0 if reason == "exact" else 0.8 <= similarity < 1.0
    stats = read_stats(out)
    assert (stats["documents"], stats["kept"], stats["removed"]) == (8, 6, 2)
    assert (stats["removed_exact"], stats["removed_near"], stats["clusters"]) == (1, 1, 2)


def test_jsonl(tmp_path, corpus_jsonl, corpus_records, cli) -> None:
    code, out, err = cli("dedup", corpus_jsonl, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    check_outputs(tmp_path / "out", "jsonl", corpus_records)
    assert "8 documents → 6 kept, 2 removed (1 exact, 1 near) in 2 clusters" in out
    assert "cluster 0: kept h1; removed h2 (exact, J=1.000)" in out
    clusters = read_clusters(tmp_path / "out")
    assert [(c["cluster_id"], c["members"], c["kept_id"], c["size"]) for c in clusters] == [
        (0, ["h1", "h2"], "h1", 2),
        (1, ["o1", "o2"], "o1", 2),
    ]
    assert clusters[0]["min_similarity"] == clusters[0]["max_similarity"] == 1.0


def test_kept_jsonl_lines_are_byte_identical(tmp_path, corpus_records, cli) -> None:
    # unusual but valid formatting: spacing, key order, escaped unicode, CRLF, no final newline
    lines = [
        json.dumps(r, ensure_ascii=True, indent=None, separators=(" ,", " : ")).encode()
        for r in corpus_records
    ]
    lines[3] += b"\r"
    src = tmp_path / "odd.jsonl"
    src.write_bytes(b"\n".join(lines))
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    kept_lines = (tmp_path / "out" / "kept.jsonl").read_bytes().splitlines(keepends=True)
    wanted = [i for i, r in enumerate(corpus_records) if r["id"] in EXPECTED_KEPT]
    expected = [lines[i] + b"\n" for i in wanted]
    assert kept_lines == expected


def test_jsonl_gz(tmp_path, corpus_records, cli) -> None:
    src = write_jsonl(tmp_path / "corpus.jsonl.gz", corpus_records)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    check_outputs(tmp_path / "out", "jsonl.gz", corpus_records)
    kept_lines = decompressed(tmp_path / "out" / "kept.jsonl.gz").splitlines(keepends=True)
    by_id = {r["id"]: r for r in corpus_records}
    assert kept_lines == [jsonl_bytes([by_id[i]]) for i in EXPECTED_KEPT]


def test_jsonl_zst(tmp_path, corpus_records, cli) -> None:
    src = write_jsonl(tmp_path / "corpus.jsonl.zst", corpus_records)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    check_outputs(tmp_path / "out", "jsonl.zst", corpus_records)


def test_parquet(tmp_path, corpus_records, cli) -> None:
    src = write_parquet(tmp_path / "corpus.parquet", corpus_records)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    check_outputs(tmp_path / "out", "parquet", corpus_records)
    removed = read_records(tmp_path / "out" / "removed.parquet")
    assert removed[0]["n"] == 3  # integers stay integers
    assert removed[0]["cluster_id"] == 0


def test_csv(tmp_path, corpus_records, cli) -> None:
    as_strings = [{k: str(v) for k, v in r.items()} for r in corpus_records]
    src = write_csv(tmp_path / "corpus.csv", as_strings)
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    check_outputs(tmp_path / "out", "csv", as_strings)
    header = (tmp_path / "out" / "removed.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,text,source,n,kept_id,cluster_id,similarity,reason"


def test_folder_of_txt_files(tmp_path, cli) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "b.txt").write_text(ORCHARD, encoding="utf-8")
    (folder / "sub" / "c.txt").write_text(HARBOUR_NEAR, encoding="utf-8")
    (folder / "sub" / "d.txt").write_text(ORCHARD + "\n\n", encoding="utf-8")
    (folder / "notes.md").write_text(HARBOUR, encoding="utf-8")  # not a .txt file: ignored
    code, _, err = cli("dedup", folder, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "clusters.jsonl",
        "kept.jsonl",
        "removed.jsonl",
        "stats.json",
    ]
    kept = read_records(out / "kept.jsonl")
    removed = read_records(out / "removed.jsonl")
    assert kept == [{"id": "a.txt", "text": HARBOUR}, {"id": "b.txt", "text": ORCHARD}]
    assert [(r["id"], r["kept_id"], r["reason"]) for r in removed] == [
        ("sub/c.txt", "a.txt", "near"),
        ("sub/d.txt", "b.txt", "exact"),
    ]
    assert removed[1]["text"] == ORCHARD + "\n\n"
    assert read_stats(out)["inputs"][0]["format"] == "txt"


def test_several_inputs_in_one_run(tmp_path, cli) -> None:
    a = write_jsonl(
        tmp_path / "a.jsonl", [{"id": "a1", "text": HARBOUR}, {"id": "a2", "text": NOTES[0]}]
    )
    b = write_jsonl(
        tmp_path / "b.jsonl.gz", [{"id": "b1", "text": ORCHARD}, {"id": "b2", "text": HARBOUR_NEAR}]
    )
    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "t1.txt").write_text(ORCHARD.lower(), encoding="utf-8")
    (folder / "t2.txt").write_text(OBSERVATORY, encoding="utf-8")
    code, _, err = cli("dedup", a, b, folder, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    out = tmp_path / "out"
    # the first input decides the compression: plain JSONL
    assert (out / "kept.jsonl").exists() and not (out / "kept.jsonl.gz").exists()
    clusters = read_clusters(out)
    assert [c["members"] for c in clusters] == [["a1", "b2"], ["b1", "t1.txt"]]
    assert [r["id"] for r in read_records(out / "kept.jsonl")] == ["a1", "a2", "b1", "t2.txt"]
    stats = read_stats(out)
    assert [i["format"] for i in stats["inputs"]] == ["jsonl", "jsonl", "txt"]
    assert stats["parameters"]["output_format"] == "jsonl"


def test_gz_first_gives_gz_output(tmp_path, cli) -> None:
    b = write_jsonl(tmp_path / "b.jsonl.gz", [{"id": "b1", "text": HARBOUR}])
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "a1", "text": HARBOUR}])
    code, _, err = cli("dedup", b, a, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    assert [r["id"] for r in read_records(tmp_path / "out" / "removed.jsonl.gz")] == ["a1"]


def test_mixed_formats_need_an_output_format(tmp_path, cli) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "a1", "text": HARBOUR}])
    c = write_csv(tmp_path / "c.csv", [{"id": "c1", "text": HARBOUR}])
    code, _, err = cli("dedup", a, c, "-o", tmp_path / "out", "--workers", "1")
    assert code == 2
    assert "inputs have different formats (csv, jsonl)" in err
    assert "--output-format" in err
    code, _, err = cli(
        "dedup", a, c, "-o", tmp_path / "out", "--workers", "1", "--output-format", "parquet"
    )
    assert code == 0, err
    assert read_records(tmp_path / "out" / "removed.parquet")[0]["id"] == "c1"


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst", "parquet", "csv"])
def test_output_format_option(tmp_path, corpus_jsonl, corpus_records, cli, fmt: str) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", corpus_jsonl, "-o", out, "--workers", "1", "--output-format", fmt)
    assert code == 0, err
    if fmt == "csv":
        corpus_records = [{k: str(v) for k, v in r.items()} for r in corpus_records]
    check_outputs(out, fmt, corpus_records)
    assert read_stats(out)["parameters"]["output_format"] == fmt
