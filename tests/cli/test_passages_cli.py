"""``neardup passages``: what it writes (kept, removed, spans.jsonl, stats.json), its modes and
keeper policies, and how it fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    HARBOUR,
    NOTES,
    OBSERVATORY,
    ORCHARD,
    WORKSHOP,
    jsonl_bytes,
    read_records,
    read_stats,
    write_jsonl,
)

import neardup

HARBOUR_WORDS, WORKSHOP_WORDS, NOTE_WORDS = 111, 101, 5
NOTE = "Remember to water the tomatoes."

# a: ORCHARD + HARBOUR            first copy of HARBOUR: untouched
# b: OBSERVATORY + HARBOUR + WORKSHOP   loses HARBOUR (source a); first copy of WORKSHOP
# c: a note + HARBOUR             loses HARBOUR, 5 words left < 10: removed whole
# d: WORKSHOP                     loses everything: removed whole
# e: a note                       untouched
RECORDS: list[dict[str, Any]] = [
    {"id": "a", "text": f"{ORCHARD}\n\n{HARBOUR}", "n": 1},
    {"id": "b", "text": f"{OBSERVATORY}\n\n{HARBOUR}\n\n{WORKSHOP}", "n": 2},
    {"id": "c", "text": f"{NOTE} {HARBOUR}", "n": 3},
    {"id": "d", "text": WORKSHOP, "n": 4},
    {"id": "e", "text": NOTES[1], "n": 5},
]
B_HARBOUR = len(OBSERVATORY) + 2  # where HARBOUR starts in b
SPANS = [
    # HARBOUR and the blank line after it
    {
        "id": "b",
        "start": B_HARBOUR,
        "end": B_HARBOUR + len(HARBOUR) + 2,
        "words": HARBOUR_WORDS,
        "source_id": "a",
        "source_start": len(ORCHARD) + 2,
        "source_end": len(ORCHARD) + 2 + len(HARBOUR) - 1,  # word-exact: without the full stop
    },
    # to the end of c: with the space before it
    {
        "id": "c",
        "start": len(NOTE),
        "end": len(NOTE) + 1 + len(HARBOUR),
        "words": HARBOUR_WORDS,
        "source_id": "a",
        "source_start": len(ORCHARD) + 2,
        "source_end": len(ORCHARD) + 2 + len(HARBOUR) - 1,
    },
    {
        "id": "d",
        "start": 0,
        "end": len(WORKSHOP),
        "words": WORKSHOP_WORDS,
        "source_id": "b",
        "source_start": B_HARBOUR + len(HARBOUR) + 2,
        "source_end": B_HARBOUR + len(HARBOUR) + 2 + len(WORKSHOP) - 1,
    },
]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", RECORDS)


def read_spans(out: Path) -> list[dict[str, Any]]:
    return read_records(out / "spans.jsonl")


def names(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()}


def test_passages_writes_kept_removed_spans_and_stats(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli("passages", src, "-o", out)
    assert code == 0, err
    assert "5 documents" in stdout and "2 removed whole" in stdout
    assert names(out) == {"kept.jsonl", "removed.jsonl", "spans.jsonl", "stats.json"}

    assert read_spans(out) == SPANS
    stats = read_stats(out)
    assert stats["command"] == "passages"
    counts = {
        k: stats[k]
        for k in ("documents", "kept", "removed", "documents_with_cuts", "cuts", "skipped_records")
    }
    assert counts == {
        "documents": 5,
        "kept": 3,
        "removed": 2,
        "documents_with_cuts": 3,
        "cuts": 3,
        "skipped_records": 0,
    }
    assert stats["words_cut"] == 2 * HARBOUR_WORDS + WORKSHOP_WORDS
    assert stats["characters_cut"] == sum(s["end"] - s["start"] for s in SPANS)
    assert stats["top_sources"] == [
        {"id": "a", "words": 2 * HARBOUR_WORDS},
        {"id": "b", "words": WORKSHOP_WORDS},
    ]
    assert stats["errors"] == []
    params = stats["parameters"]
    assert (params["min_words"], params["min_words_left"], params["k"], params["window"]) == (
        50,
        10,
        12,
        39,
    )
    assert (params["mode"], params["keep"]) == ("remove", "first")
    assert stats["outputs"] == {
        "kept": str(out / "kept.jsonl"),
        "removed": str(out / "removed.jsonl"),
        "spans": str(out / "spans.jsonl"),
        "stats": str(out / "stats.json"),
    }

    kept = read_records(out / "kept.jsonl")
    removed = read_records(out / "removed.jsonl")
    # every input document exactly once, in input order within each file
    assert [r["id"] for r in kept] == ["a", "b", "e"]
    assert [r["id"] for r in removed] == ["c", "d"]
    assert kept[0] == RECORDS[0] and kept[2] == RECORDS[4]
    assert kept[1] == {"id": "b", "text": f"{OBSERVATORY}\n\n{WORKSHOP}", "n": 2}
    # the passage stays only in the first document
    assert [HARBOUR in r["text"] for r in kept] == [True, False, False]
    assert [WORKSHOP in r["text"] for r in kept] == [False, True, False]
    assert removed == [
        {**RECORDS[2], "reason": "passages", "words_left": NOTE_WORDS, "source_id": "a"},
        {**RECORDS[3], "reason": "passages", "words_left": 0, "source_id": "b"},
    ]
    # records without cuts are the input lines, byte for byte
    lines = (out / "kept.jsonl").read_bytes().splitlines(keepends=True)
    assert lines[0] == jsonl_bytes([RECORDS[0]]) and lines[2] == jsonl_bytes([RECORDS[4]])


def test_min_words_left_decides_what_is_removed_whole(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    code, _, err = cli("passages", src, "-o", out, "--min-words-left", "0")
    assert code == 0, err
    kept = read_records(out / "kept.jsonl")
    assert [r["id"] for r in kept] == ["a", "b", "c", "d", "e"]
    assert read_records(out / "removed.jsonl") == []
    assert kept[2]["text"] == NOTE
    assert kept[3]["text"] == ""
    stats = read_stats(out)
    assert (stats["kept"], stats["removed"], stats["cuts"]) == (5, 0, 3)
    assert read_spans(out) == SPANS


def test_annotate_writes_only_spans_and_stats(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    before = src.read_bytes()
    code, _, err = cli("passages", src, "-o", out, "--mode", "annotate")
    assert code == 0, err
    assert names(out) == {"spans.jsonl", "stats.json"}
    assert read_spans(out) == SPANS
    stats = read_stats(out)
    assert (stats["documents"], stats["kept"], stats["removed"], stats["cuts"]) == (5, 5, 0, 3)
    assert stats["parameters"]["mode"] == "annotate"
    assert set(stats["outputs"]) == {"spans", "stats"}
    assert src.read_bytes() == before


def test_annotate_over_an_earlier_remove_result_drops_kept_and_removed(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    assert cli("passages", src, "-o", out)[0] == 0
    code, _, err = cli("passages", src, "-o", out, "--mode", "annotate")
    assert code == 0, err
    assert names(out) == {"spans.jsonl", "stats.json"}
    assert read_stats(out)["parameters"]["mode"] == "annotate"


def test_keep_longest_keeps_the_passage_in_the_longest_document(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    code, _, err = cli("passages", src, "-o", out, "--keep", "longest")
    assert code == 0, err
    spans = read_spans(out)
    assert [(s["id"], s["source_id"]) for s in spans] == [("a", "b"), ("c", "b"), ("d", "b")]
    kept = read_records(out / "kept.jsonl")
    assert [r["id"] for r in kept] == ["a", "b", "e"]
    assert kept[0]["text"] == ORCHARD  # the cut to the end takes the blank line before it
    assert kept[1] == RECORDS[1]
    assert [r["id"] for r in read_records(out / "removed.jsonl")] == ["c", "d"]
    assert read_stats(out)["parameters"]["keep"] == "longest"


def test_keep_priority_field(tmp_path, cli) -> None:
    records = [
        {"id": "x", "text": f"First. {HARBOUR}", "p": 1},
        {"id": "y", "text": f"Second. {HARBOUR}", "p": 9},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    code, _, err = cli("passages", src, "-o", out, "--keep", "priority:p", "--min-words-left", "0")
    assert code == 0, err
    [span] = read_spans(out)
    assert (span["id"], span["source_id"]) == ("x", "y")
    kept = read_records(out / "kept.jsonl")
    assert [r["text"] for r in kept] == ["First.", f"Second. {HARBOUR}"]


def test_malformed_json_line_exits_3_naming_file_and_line(tmp_path, cli) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_bytes(
        jsonl_bytes(RECORDS[:2]) + b'{"id": "x", "text": "unterminated\n' + jsonl_bytes(RECORDS[2:])
    )
    out = tmp_path / "out"
    code, stdout, err = cli("passages", src, "-o", out)
    assert code == 3
    first = err.splitlines()[0]
    assert first.startswith(f"neardup: error: {src}, line 3: malformed JSON")
    assert "->" in err and stdout == ""
    assert not out.exists() or list(out.iterdir()) == []

    code, _, err = cli("passages", src, "-o", out, "--on-error", "skip")
    assert code == 0, err
    stats = read_stats(out)
    assert (stats["documents"], stats["skipped_records"]) == (5, 1)
    assert stats["errors"][0].startswith(f"{src}, line 3: malformed JSON")
    assert read_spans(out) == SPANS


def test_duplicate_ids_exit_3(tmp_path, cli) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [RECORDS[0], {**RECORDS[1], "id": "a"}])
    code, _, err = cli("passages", src, "-o", tmp_path / "out")
    assert code == 3
    assert "duplicate id 'a'" in err and f"{src}, line 2" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-words", "1"], "min_words must be a whole number of at least 2, got 1"),
        (["--min-words", "0"], "min_words must be a whole number of at least 2, got 0"),
        (["--min-words-left", "-1"], "min_words_left must be a whole number of at least 0"),
        (["--batch-size", "0"], "batch_size must be a whole number of at least 1"),
        (["--keep", "none"], "keep=none would cut every copy of a passage"),
    ],
)
def test_bad_parameters_exit_2(tmp_path, cli, src, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli("passages", src, "-o", out, *args)
    assert code == 2
    assert err.startswith(f"neardup: error: {message}")
    assert "->" in err and stdout == ""
    assert not out.exists()


def test_an_earlier_dedup_result_is_replaced(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--output-format", "parquet")
    assert code == 0, err
    assert "clusters.jsonl" in names(out) and "kept.parquet" in names(out)
    code, _, err = cli("passages", src, "-o", out)
    assert code == 0, err
    stats = read_stats(out)
    # stats.json describes exactly the files beside it
    assert names(out) == {Path(p).name for p in stats["outputs"].values()}
    assert names(out) == {"kept.jsonl", "removed.jsonl", "spans.jsonl", "stats.json"}
    assert stats["command"] == "passages"
    assert read_spans(out) == SPANS
    assert len(read_records(out / "kept.jsonl")) == stats["kept"] == 3


def test_a_dedup_run_over_an_earlier_passages_result_drops_its_spans(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    assert cli("passages", src, "-o", out)[0] == 0
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1")
    assert code == 0, err
    stats = read_stats(out)
    assert names(out) == {Path(p).name for p in stats["outputs"].values()}


def test_spans_are_byte_identical_across_runs_and_batch_sizes(tmp_path, cli, src) -> None:
    outs = [tmp_path / "one", tmp_path / "two", tmp_path / "batches"]
    assert cli("passages", src, "-o", outs[0])[0] == 0
    assert cli("passages", src, "-o", outs[1])[0] == 0
    assert cli("passages", src, "-o", outs[2], "--batch-size", "2")[0] == 0
    first = outs[0] / "spans.jsonl"
    assert first.read_bytes() != b""
    for out in outs[1:]:
        for name in ("spans.jsonl", "kept.jsonl", "removed.jsonl"):
            assert (out / name).read_bytes() == (outs[0] / name).read_bytes(), name


def test_parquet_output_from_jsonl_input(tmp_path, cli, src) -> None:
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert cli("passages", src, "-o", ref)[0] == 0
    code, _, err = cli("passages", src, "-o", out, "--output-format", "parquet")
    assert code == 0, err
    assert names(out) == {"kept.parquet", "removed.parquet", "spans.jsonl", "stats.json"}
    assert read_records(out / "kept.parquet") == read_records(ref / "kept.jsonl")
    assert read_records(out / "removed.parquet") == read_records(ref / "removed.jsonl")
    assert (out / "spans.jsonl").read_bytes() == (ref / "spans.jsonl").read_bytes()
    assert read_stats(out)["parameters"]["output_format"] == "parquet"


def test_json_summary_is_stats_json(tmp_path, cli, src) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli("passages", src, "-o", out, "--json")
    assert code == 0, err
    assert json.loads(stdout) == read_stats(out)


def test_generated_ids_and_another_text_field(tmp_path, cli) -> None:
    records = [{"body": r["text"]} for r in RECORDS]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    code, _, err = cli("passages", src, "-o", out, "--text-field", "body")
    assert code == 0, err
    spans = read_spans(out)
    assert [(s["id"], s["source_id"]) for s in spans] == [
        (f"{src}:2", f"{src}:1"),
        (f"{src}:3", f"{src}:1"),
        (f"{src}:4", f"{src}:2"),
    ]
    removed = read_records(out / "removed.jsonl")
    assert [r["source_id"] for r in removed] == [f"{src}:1", f"{src}:2"]
    assert "id" not in removed[0]


def test_the_python_api_writes_the_same_files(tmp_path, cli, src) -> None:
    ref = tmp_path / "ref"
    assert cli("passages", src, "-o", ref)[0] == 0
    result = neardup.passages(src, tmp_path / "api", neardup.PassagesConfig(min_words=50))
    assert result.stats["cuts"] == 3
    assert result.outputs["spans"] == str(tmp_path / "api" / "spans.jsonl")
    for name in ("spans.jsonl", "kept.jsonl", "removed.jsonl"):
        assert (tmp_path / "api" / name).read_bytes() == (ref / name).read_bytes()
    texts = [r["text"] for r in RECORDS]
    found = neardup.find_passages(texts, min_words=50)
    ids = [r["id"] for r in RECORDS]
    assert [{**s, "id": ids[s["id"]], "source_id": ids[s["source_id"]]} for s in found] == SPANS


@pytest.mark.parametrize(
    "failure",
    [OSError("704150 requested and 392704 written"), OSError(28, "No space left on device")],
)
def test_a_full_disk_is_an_output_error_and_changes_nothing(
    tmp_path, cli, src, monkeypatch, failure
) -> None:
    out = tmp_path / "out"
    assert cli("passages", src, "-o", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def full(*_: Any, **__: Any) -> None:
        raise failure

    monkeypatch.setattr("neardup.sharedtext.engine.SharedTextIndex.append", full)
    code, _, err = cli("passages", src, "-o", out)
    assert code == 4
    assert f"cannot write in output folder {out}: No space left on device" in err
    assert f"({out} was not changed)" in err
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
