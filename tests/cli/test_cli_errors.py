"""Bad input stops a run with exit 3 and a message naming file, line and field; output
problems exit 4; nothing half-written is left behind."""

from __future__ import annotations

import gc
import gzip
import json
import warnings
from pathlib import Path

import pytest
from conftest import HARBOUR, NOTES, ORCHARD, jsonl_bytes, read_records, read_stats, write_jsonl

import neardup

GOOD = [{"id": "g1", "text": HARBOUR}, {"id": "g2", "text": HARBOUR.upper()}]


def assert_no_results(out: Path) -> None:
    if out.exists():
        names = [p.name for p in out.iterdir()]
        assert names == [], names


BAD_LINES = {
    "malformed": (b'{"id": "b1", "text": "unterminated', "line 3", None, "malformed JSON"),
    "not_object": (b'["a", "list"]', "line 3", None, "expected a JSON object, got list"),
    "too_deep": (
        b'{"id": "b1", "text": "x", "n": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "line 3",
        None,
        "JSON nested too deeply",
    ),
    "missing_text": (b'{"id": "b1", "body": "x"}', "line 3", "text", "missing text field"),
    "null_text": (b'{"id": "b1", "text": null}', "line 3", "text", "missing text field"),
    "number_text": (b'{"id": "b1", "text": 42}', "line 3", "text", "expected a string, got int"),
    "list_text": (b'{"id": "b1", "text": ["a"]}', "line 3", "text", "expected a string, got list"),
    "float_id": (
        b'{"id": 1.5, "text": "words"}',
        "line 3",
        "id",
        "expected a string or an integer id, got float",
    ),
}


def bad_corpus(tmp_path: Path, bad: bytes) -> Path:
    src = tmp_path / "bad.jsonl"
    src.write_bytes(jsonl_bytes(GOOD) + bad + b"\n" + jsonl_bytes([{"id": "g3", "text": ORCHARD}]))
    return src


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_bad_record_stops_with_exit_3(tmp_path, cli, case: str) -> None:
    bad, line, field, message = BAD_LINES[case]
    src = bad_corpus(tmp_path, bad)
    out = tmp_path / "out"
    code, stdout, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 3
    first = err.splitlines()[0]
    assert first.startswith(f"neardup: error: {src}, {line}")
    if field is not None:
        assert f"field '{field}'" in first
    assert message in first
    assert "->" in err  # a remedy follows
    assert stdout == ""
    assert_no_results(out)


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_on_error_skip_skips_and_counts(tmp_path, cli, case: str) -> None:
    bad, line, _, message = BAD_LINES[case]
    src = bad_corpus(tmp_path, bad)
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--on-error", "skip")
    assert code == 0, err
    stats = read_stats(out)
    assert stats["skipped_records"] == 1
    assert stats["documents"] == 3
    assert len(stats["errors"]) == 1
    assert stats["errors"][0].startswith(f"{src}, {line}")
    assert message in stats["errors"][0]
    ids = [r["id"] for r in read_records(out / "kept.jsonl") + read_records(out / "removed.jsonl")]
    assert sorted(ids) == ["g1", "g2", "g3"]


def test_skip_counts_every_bad_record(tmp_path, cli) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_bytes(
        jsonl_bytes(GOOD)
        + b"{oops\n"
        + b'{"id": "x"}\n'
        + b"\n"  # blank lines are not records
        + b'{"id": "y", "text": 3}\n'
        + jsonl_bytes([{"id": "g3", "text": NOTES[0]}])
    )
    code, out_text, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1",
                              "--on-error", "skip")  # fmt: skip
    assert code == 0, err
    stats = read_stats(tmp_path / "out")
    assert stats["skipped_records"] == 3
    assert [e.split(":")[0] for e in stats["errors"]] == [
        f"{src}, line 3",
        f"{src}, line 4, field 'text'",
        f"{src}, line 6, field 'text'",
    ]
    assert "3 bad records skipped" in out_text


def test_duplicate_ids_across_files(tmp_path, cli) -> None:
    a = write_jsonl(
        tmp_path / "a.jsonl", [{"id": "one", "text": HARBOUR}, {"id": "dup", "text": NOTES[0]}]
    )
    b = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {"id": "two", "text": ORCHARD},
            {"id": "three", "text": NOTES[1]},
            {"id": "dup", "text": NOTES[2]},
        ],
    )
    out = tmp_path / "out"
    code, _, err = cli("dedup", a, b, "-o", out, "--workers", "1")
    assert code == 3
    assert "id 'dup' appears twice" in err
    assert f"{a}:2" in err
    assert f"{b}:3" in err
    assert "field 'id'" in err
    assert_no_results(out)


def test_duplicate_ids_skipped_keep_the_first(tmp_path, cli) -> None:
    a = write_jsonl(
        tmp_path / "a.jsonl", [{"id": "dup", "text": HARBOUR}, {"id": "x", "text": HARBOUR}]
    )
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "dup", "text": ORCHARD}])
    code, _, err = cli(
        "dedup", a, b, "-o", tmp_path / "out", "--workers", "1", "--on-error", "skip"
    )
    assert code == 0, err
    kept = read_records(tmp_path / "out" / "kept.jsonl")
    assert kept == [{"id": "dup", "text": HARBOUR}]
    assert read_stats(tmp_path / "out")["skipped_records"] == 1


def test_duplicate_ids_within_one_file(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "a.jsonl", [{"id": 7, "text": HARBOUR}, {"id": "7", "text": ORCHARD}]
    )
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"first at {src}:1, again at {src}:2" in err


def test_nonexistent_file(tmp_path, cli) -> None:
    missing = tmp_path / "missing.jsonl"
    code, _, err = cli("dedup", missing, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"neardup: error: {missing}: no such file or directory" in err
    assert not (tmp_path / "out").exists()


def test_unknown_extension(tmp_path, cli) -> None:
    src = tmp_path / "corpus.xml"
    src.write_text("<doc>text</doc>", encoding="utf-8")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{src}: cannot tell the format from the file name" in err
    assert ".jsonl" in err  # the remedy lists the formats
    assert not (tmp_path / "out").exists()


def test_not_gzip_data(tmp_path, cli) -> None:
    src = tmp_path / "corpus.jsonl.gz"
    src.write_bytes(b'{"id": 1, "text": "plain, not gzip"}\n')
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 3
    assert f"{src}: cannot read file" in err
    assert_no_results(out)


def test_truncated_gzip(tmp_path, cli) -> None:
    data = gzip.compress(
        b"".join(
            json.dumps({"id": i, "text": f"record number {i} of a long file"}).encode() + b"\n"
            for i in range(300)
        )
    )
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 3
    assert f"{src}: cannot read file" in err
    assert "truncated" in err
    assert_no_results(out)


def test_corrupt_parquet(tmp_path, cli) -> None:
    src = tmp_path / "corpus.parquet"
    src.write_bytes(b"PAR1 this is not really parquet")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{src}: cannot read Parquet file" in err


def test_csv_row_with_too_many_values(tmp_path, cli) -> None:
    src = tmp_path / "corpus.csv"
    src.write_text("id,text\n1,fine words\n2,one,two\n", encoding="utf-8")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{src}, line 3: row has more values than the header has columns" in err


def test_csv_missing_text_column(tmp_path, cli) -> None:
    src = tmp_path / "corpus.csv"
    src.write_text("id,body\n1,fine words\n", encoding="utf-8")
    code, _, err = cli("dedup", src, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{src}, line 2, field 'text': missing text field" in err


def test_field_clash_fails_without_leaving_files(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": HARBOUR}, {"id": "b", "text": HARBOUR, "reason": "copied"}],
    )
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 3
    assert f"{src}, line 2, field 'reason'" in err
    assert "neardup adds to removed records" in err
    assert_no_results(out)


def test_output_path_is_a_file(tmp_path, corpus_jsonl, cli) -> None:
    target = tmp_path / "taken"
    target.write_text("already here", encoding="utf-8")
    code, _, err = cli("dedup", corpus_jsonl, "-o", target, "--workers", "1")
    assert code == 4
    assert f"cannot create output folder {target}" in err
    assert target.read_text(encoding="utf-8") == "already here"


def test_output_path_below_a_file(tmp_path, corpus_jsonl, cli) -> None:
    code, _, err = cli("dedup", corpus_jsonl, "-o", corpus_jsonl / "out", "--workers", "1")
    assert code == 4
    assert "cannot create output folder" in err


def test_csv_output_needs_one_set_of_columns(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": HARBOUR},
            {"id": "b", "text": HARBOUR},
            {"id": "c", "text": NOTES[0], "extra": 1},
        ],
    )
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--output-format", "csv")
    assert code == 4
    assert "record has fields that the first record did not have" in err
    assert_no_results(out)


def test_no_leftover_temporary_files_after_success(tmp_path, corpus_jsonl, cli) -> None:
    out = tmp_path / "out"
    for fmt in ("jsonl", "parquet", "csv", "jsonl.gz"):
        code, _, err = cli(
            "dedup", corpus_jsonl, "-o", out, "--workers", "1", "--output-format", fmt
        )
        assert code == 0, err
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert hidden == []
    # only the last run's results: those of the earlier formats were removed when it committed
    assert sorted(p.name for p in out.iterdir()) == [
        "clusters.jsonl",
        "kept.jsonl.gz",
        "removed.jsonl.gz",
        "stats.json",
    ]


def test_failed_run_leaves_no_results(tmp_path, cli) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(GOOD * 1) + b"{broken\n")
    out = tmp_path / "out"
    code, _, _ = cli("dedup", src, "-o", out, "--workers", "1", "--batch-size", "1")
    assert code == 3
    assert not (out / "kept.jsonl").exists()
    assert not (out / "removed.jsonl").exists()
    assert not (out / "stats.json").exists()
    assert not (out / "clusters.jsonl").exists()
    assert_no_results(out)


def test_failed_run_closes_its_files(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(jsonl_bytes(GOOD) + b"{broken\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            neardup.dedup(src, tmp_path / "out", workers=1, batch_size=1)
        except neardup.InputError as exc:
            assert exc.line == 3
        else:
            pytest.fail("the bad line was not reported")
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
