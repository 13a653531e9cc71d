"""What a run writes: ids, repaired text, empty documents, stats, clusters; and dedup()."""

from __future__ import annotations

import json

import pytest
from conftest import (
    HARBOUR,
    HARBOUR_NEAR,
    NOTES,
    ORCHARD,
    jsonl_bytes,
    read_clusters,
    read_records,
    read_stats,
    write_csv,
    write_jsonl,
    write_parquet,
)

import neardup


def test_generated_ids_when_the_id_field_is_absent(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"text": NOTES[0]}, {"text": HARBOUR}, {"text": ORCHARD}, {"text": HARBOUR_NEAR}],
    )
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 0, err
    [cluster] = read_clusters(out)
    assert cluster["members"] == [f"{src}:2", f"{src}:4"]
    assert cluster["kept_id"] == f"{src}:2"
    [removed] = read_records(out / "removed.jsonl")
    assert removed["kept_id"] == f"{src}:2"
    assert "id" not in removed  # the record itself is not given an id field
    # kept records are the input lines, unchanged
    assert (out / "kept.jsonl").read_bytes() == jsonl_bytes(
        [{"text": NOTES[0]}, {"text": HARBOUR}, {"text": ORCHARD}]
    )


def test_generated_ids_for_csv_and_parquet(tmp_path, cli) -> None:
    rows = [{"text": HARBOUR}, {"text": ORCHARD}, {"text": HARBOUR.upper()}]
    csv_src = write_csv(tmp_path / "in.csv", rows)
    code, _, err = cli("dedup", csv_src, "-o", tmp_path / "c", "--workers", "1")
    assert code == 0, err
    # CSV lines count the header: the first record is on line 2
    assert read_clusters(tmp_path / "c")[0]["members"] == [f"{csv_src}:2", f"{csv_src}:4"]
    pq_src = write_parquet(tmp_path / "in.parquet", rows)
    code, _, err = cli("dedup", pq_src, "-o", tmp_path / "p", "--workers", "1")
    assert code == 0, err
    assert read_clusters(tmp_path / "p")[0]["members"] == [f"{pq_src}:1", f"{pq_src}:3"]


def test_integer_ids_stay_integers(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": 10, "text": HARBOUR}, {"id": 20, "text": HARBOUR.lower()}]
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    [c] = read_clusters(tmp_path / "out")
    assert c["members"] == [10, 20] and c["kept_id"] == 10
    assert read_records(tmp_path / "out" / "removed.jsonl")[0]["kept_id"] == 10


def test_invalid_utf8_is_replaced_and_counted(tmp_path, cli) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        jsonl_bytes([{"id": "a", "text": HARBOUR}, {"id": "b", "text": HARBOUR}])
        + b'{"id": "bad", "text": "caf\xe9 au lait \xff\xfe and more"}\n'
        + jsonl_bytes([{"id": "c", "text": NOTES[1]}])
    )
    out = tmp_path / "out"
    code, text, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 0, err
    stats = read_stats(out)
    assert stats["invalid_utf8_records"] == 1
    assert stats["skipped_records"] == 0
    assert stats["documents"] == 4
    kept = {r["id"]: r for r in read_records(out / "kept.jsonl")}
    assert kept["bad"]["text"] == "caf\ufffd au lait \ufffd\ufffd and more"
    assert kept["c"]["text"] == NOTES[1]
    assert "1 records with invalid UTF-8 repaired" in text


def test_valid_lines_stay_byte_identical_beside_an_invalid_one(tmp_path, cli) -> None:
    good = b'{"id": "a",   "text": "' + HARBOUR.encode() + b'"}\n'
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        good + jsonl_bytes([{"id": "b", "text": HARBOUR}]) + b'{"id": "bad", "text": "caf\xe9"}\n'
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    assert (tmp_path / "out" / "kept.jsonl").read_bytes().splitlines(keepends=True)[0] == good


def test_invalid_utf8_in_txt_files_is_counted(tmp_path, cli) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"ol\xe9 \xff text")
    (folder / "b.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "c.txt").write_text(HARBOUR, encoding="utf-8")
    code, _, err = cli("dedup", folder, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    assert read_stats(tmp_path / "out")["invalid_utf8_records"] == 1
    kept = read_records(tmp_path / "out" / "kept.jsonl")
    assert kept[0] == {"id": "a.txt", "text": "ol\ufffd \ufffd text"}


def test_invalid_utf8_in_csv_is_counted(tmp_path, cli) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"id,text\n1,caf\xe9 au lait\n"
        + b'2,"' + HARBOUR.encode() + b'"\n3,"' + HARBOUR.encode() + b'"\n'
    )  # fmt: skip
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    kept = read_records(tmp_path / "out" / "kept.csv")
    assert kept[0] == {"id": "1", "text": "caf\ufffd au lait"}
    assert read_stats(tmp_path / "out")["invalid_utf8_records"] == 1


def test_empty_documents_are_kept_and_never_clustered(tmp_path, cli) -> None:
    records = [
        {"id": "e1", "text": ""},
        {"id": "h1", "text": HARBOUR},
        {"id": "e2", "text": "   \n\t "},
        {"id": "e3", "text": "?!... —"},
        {"id": "h2", "text": HARBOUR},
        {"id": "e4", "text": ""},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    code, text, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 0, err
    stats = read_stats(out)
    assert stats["empty_documents"] == 4
    assert [c["members"] for c in read_clusters(out)] == [["h1", "h2"]]
    assert [r["id"] for r in read_records(out / "kept.jsonl")] == ["e1", "h1", "e2", "e3", "e4"]
    assert "4 empty documents kept as they are" in text


def test_stats_contents(tmp_path, corpus_jsonl, cli) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", corpus_jsonl, "-o", out, "--workers", "1")
    assert code == 0, err
    s = read_stats(out)
    assert s["neardup_version"] == neardup.__version__
    assert (s["documents"], s["kept"], s["removed"]) == (8, 6, 2)
    assert (s["removed_exact"], s["removed_near"]) == (1, 1)
    assert (s["clusters"], s["largest_cluster"], s["documents_in_clusters"]) == (2, 2, 4)
    assert s["exact_pairs"] == 1
    assert s["verified_pairs"] >= 1
    assert s["candidate_pairs"] == s["verified_pairs"] + s["rejected_pairs"]
    assert (s["empty_documents"], s["skipped_records"], s["invalid_utf8_records"]) == (0, 0, 0)
    assert s["errors"] == []
    p = s["parameters"]
    assert (p["threshold"], p["num_perm"], p["ngram"], p["keep"]) == (0.8, 128, 5, "first")
    assert p["candidate_probability"]["0.80"] >= 0.995
    assert p["workers"] == 1
    assert s["inputs"] == [
        {"path": str(corpus_jsonl), "format": "jsonl", "bytes": corpus_jsonl.stat().st_size}
    ]
    assert s["outputs"] == {
        "kept": str(out / "kept.jsonl"),
        "removed": str(out / "removed.jsonl"),
        "clusters": str(out / "clusters.jsonl"),
        "stats": str(out / "stats.json"),
    }
    assert s["total_seconds"] >= 0


def test_clusters_file_lists_removed_members(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": HARBOUR},
            {"id": "b", "text": HARBOUR_NEAR},
            {"id": "c", "text": HARBOUR.upper()},
            {"id": "d", "text": ORCHARD},
        ],
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    [c] = read_clusters(tmp_path / "out")
    removed = {r["id"]: r for r in read_records(tmp_path / "out" / "removed.jsonl")}
    assert c["members"] == ["a", "b", "c"]
    assert c["size"] == 3
    assert c["kept_id"] == "a"
    assert c["max_similarity"] == 1.0
    assert c["min_similarity"] == removed["b"]["similarity"] < 1.0
    assert removed["c"]["reason"] == "exact" and removed["b"]["reason"] == "near"
    assert {r["cluster_id"] for r in removed.values()} == {c["cluster_id"]} == {0}


def test_rerun_into_the_same_folder_replaces_results(tmp_path, corpus_jsonl, cli) -> None:
    out = tmp_path / "out"
    assert cli("dedup", corpus_jsonl, "-o", out, "--workers", "1")[0] == 0
    assert cli("dedup", corpus_jsonl, "-o", out, "--workers", "1", "--keep", "none")[0] == 0
    assert read_stats(out)["removed"] == 4
    assert len(read_records(out / "removed.jsonl")) == 4


def test_dedup_api(tmp_path, corpus_jsonl) -> None:
    result = neardup.dedup([corpus_jsonl], tmp_path / "out", workers=1, threshold=0.95)
    assert isinstance(result, neardup.DedupResult)
    assert (result.kept, result.removed) == (7, 1)
    assert result.outputs["removed"] == str(tmp_path / "out" / "removed.jsonl")
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == result.stats


def test_dedup_api_needs_inputs(tmp_path) -> None:
    with pytest.raises(neardup.ConfigError, match="no inputs given"):
        neardup.dedup([], tmp_path / "out")


def test_dedup_api_accepts_a_config_object(tmp_path, corpus_jsonl) -> None:
    cfg = neardup.DedupConfig(keep="none", workers=1)
    result = neardup.dedup(str(corpus_jsonl), tmp_path / "out", cfg)
    assert result.removed == 4
    assert result.stats["parameters"]["keep"] == "none"


def test_corpus_without_duplicates(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "a", "text": HARBOUR}, {"id": "b", "text": ORCHARD}]
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    stats = read_stats(tmp_path / "out")
    assert (stats["kept"], stats["removed"], stats["clusters"]) == (2, 0, 0)
    assert read_clusters(tmp_path / "out") == []


def test_empty_input_file(tmp_path, cli) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"\n\n")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 0, err
    stats = read_stats(tmp_path / "out")
    assert (stats["documents"], stats["kept"], stats["removed"]) == (0, 0, 0)
    assert (tmp_path / "out" / "kept.jsonl").read_bytes() == b""
