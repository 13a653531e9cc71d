"""Nothing lost, nothing mixed: damaged or unusual inputs are read whole or refused by name.

Truncated and corrupt compressed streams, folders of shards, CSV quirks (byte order mark,
unterminated quotes, repeated columns, a header without rows), byte order marks in JSONL and
.txt files, corrupt Parquet files, and Parquet outputs whose fields change type.
"""

from __future__ import annotations

import codecs
import gzip
import io
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
    write_csv,
    write_jsonl,
    write_parquet,
)

import neardup
from neardup.errors import InputError
from neardup.io.sources import FieldSpec, open_source, parse_batch

BOM = codecs.BOM_UTF8
DOCS = [{"id": f"n{i}", "text": f"{NOTES[i % 4]} Entry {i} of the log."} for i in range(12)]


def read_ids(path: Path, batch_size: int = 4) -> list[Any]:
    """The ids of every document of one input, read through its reader; bad records fail."""
    ids: list[Any] = []
    for raw in open_source(path).batches(batch_size):
        parsed = parse_batch(raw, FieldSpec())
        assert parsed.errors == []
        ids += parsed.ids
    return ids


# --------------------------------------------------------------------------------------------
# compressed JSONL: a stream that stops early or is not what its name says
# --------------------------------------------------------------------------------------------
def zstd_in_blocks(lines: list[bytes]) -> tuple[bytes, list[int]]:
    """One zstd frame without a content size, one block per line; returns the frame and the
    offsets where blocks end (the last one is the end of the frame)."""
    import zstandard

    cobj = zstandard.ZstdCompressor(write_content_size=False).compressobj()
    data = b""
    ends = []
    for line in lines:
        data += cobj.compress(line) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        ends.append(len(data))
    data += cobj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
    ends.append(len(data))
    return data, ends


def test_zstd_cut_at_every_block_boundary_and_inside_blocks_is_refused(tmp_path) -> None:
    lines = [jsonl_bytes([d]) for d in DOCS]
    data, ends = zstd_in_blocks(lines)
    whole = tmp_path / "whole.jsonl.zst"
    whole.write_bytes(data)
    assert read_ids(whole) == [d["id"] for d in DOCS]
    starts = [0, *ends[:-1]]
    cuts = set(ends[:-1]) | {0, 1, 4, len(data) - 1}
    cuts |= {(a + b) // 2 for a, b in zip(starts, ends, strict=True)}
    cuts |= {a + 1 for a in starts} | {b - 1 for b in ends}
    assert len(cuts) > 40
    for cut in sorted(cuts):
        path = tmp_path / f"cut-{cut}.jsonl.zst"
        path.write_bytes(data[:cut])
        with pytest.raises(InputError) as info:
            read_ids(path)
        assert info.value.path == str(path)
        assert "truncated or corrupt zstd stream" in str(info.value), cut
        assert "compress it again" in info.value.remedy


def test_zstd_of_several_frames_is_read_whole_and_cut_inside_a_frame_is_refused(
    tmp_path,
) -> None:
    import zstandard

    cctx = zstandard.ZstdCompressor(write_content_size=False)
    frames = [cctx.compress(jsonl_bytes(DOCS[i : i + 4])) for i in range(0, 12, 4)]
    whole = tmp_path / "frames.jsonl.zst"
    whole.write_bytes(b"".join(frames))
    assert read_ids(whole) == [d["id"] for d in DOCS]
    cut = tmp_path / "cut.jsonl.zst"
    cut.write_bytes(frames[0] + frames[1][: len(frames[1]) // 2])
    with pytest.raises(InputError, match="truncated or corrupt zstd stream"):
        read_ids(cut)


def test_zstd_cut_between_blocks_exits_3_on_the_command_line(tmp_path, cli) -> None:
    data, ends = zstd_in_blocks([jsonl_bytes([d]) for d in DOCS])
    path = tmp_path / "corpus.jsonl.zst"
    path.write_bytes(data[: ends[5]])
    code, _, err = cli("dedup", path, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{path}: cannot read file: truncated or corrupt zstd stream" in err
    assert not (tmp_path / "out" / "stats.json").exists()


@pytest.mark.parametrize("content", [b"", b"not zstd at all\n", b"(\xb5/\xfd" + bytes(40)])
def test_zstd_file_that_is_not_zstd_is_an_input_error(tmp_path, content) -> None:
    path = tmp_path / "corpus.jsonl.zst"
    path.write_bytes(content)
    with pytest.raises(InputError, match="truncated or corrupt zstd stream") as info:
        read_ids(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize("suffix", ["jsonl.gz", "csv.gz", "csv.zst"])
def test_truncated_gzip_and_compressed_csv_are_refused(tmp_path, suffix) -> None:
    if suffix.startswith("csv"):
        plain = ("id,text\n" + "".join(f"{d['id']},{d['text']}\n" for d in DOCS)).encode()
    else:
        plain = jsonl_bytes(DOCS)
    if suffix.endswith("gz"):
        data = gzip.compress(plain)
    else:
        data = zstd_in_blocks(plain.splitlines(keepends=True))[0]
    kind = "gzip" if suffix.endswith("gz") else "zstd"
    for cut in (0, 10, len(data) // 2, len(data) - 4, len(data) - 1):
        path = tmp_path / f"cut-{cut}.{suffix}"
        path.write_bytes(data[:cut])
        with pytest.raises(InputError, match=f"truncated or corrupt {kind} stream"):
            read_ids(path)


def test_gzip_file_with_garbage_inside_is_refused(tmp_path) -> None:
    data = bytearray(gzip.compress(jsonl_bytes(DOCS)))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "corpus.jsonl.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="truncated or corrupt gzip stream"):
        read_ids(path)


# --------------------------------------------------------------------------------------------
# folders: shards of one format are read as their union; anything else is refused
# --------------------------------------------------------------------------------------------
SHARD_DOCS = [
    [{"id": "h1", "text": HARBOUR}, {"id": "o1", "text": ORCHARD}],
    [{"id": "w1", "text": WORKSHOP}, {"id": "h2", "text": HARBOUR}],
    [{"id": "s1", "text": OBSERVATORY}, {"id": "o2", "text": ORCHARD}],
]


def write_shards(folder: Path, ext: str, shards: list[list[dict[str, Any]]]) -> None:
    """Shards named like Spark's part files, created last first, plus the marker and
    checksum files Spark and Hadoop leave beside them."""
    folder.mkdir()
    for k in sorted(range(len(shards)), reverse=True):
        path = folder / f"part-{k:04d}.{ext}"
        if ext == "parquet":
            write_parquet(path, shards[k])
        elif ext == "csv":
            write_csv(path, shards[k])
        else:
            write_jsonl(path, shards[k])
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-0000.crc").write_bytes(b"\x00\x01")
    (folder / "_temporary").mkdir()
    write_jsonl(folder / "_temporary" / "part-0009.jsonl", [{"id": "x", "text": "partial"}])


@pytest.mark.parametrize("ext", ["jsonl", "jsonl.gz", "jsonl.zst", "parquet", "csv"])
def test_folder_of_shards_is_read_as_their_union(tmp_path, ext) -> None:
    folder = tmp_path / "corpus"
    write_shards(folder, ext, SHARD_DOCS)
    out = tmp_path / "out"
    result = neardup.dedup(folder, out, workers=1)
    stats = read_stats(out)
    assert stats["documents"] == 6
    assert [i["path"] for i in stats["inputs"]] == [
        str(folder / f"part-{k:04d}.{ext}") for k in range(3)
    ]
    assert (result.kept, result.removed) == (4, 2)
    kept = read_records(out / f"kept.{ext}")
    assert [str(r["id"]) for r in kept] == ["h1", "o1", "w1", "s1"]
    removed = read_records(out / f"removed.{ext}")
    assert [(r["id"], r["kept_id"]) for r in removed] == [("h2", "h1"), ("o2", "o1")]


def test_shards_without_ids_get_ids_naming_the_shard_and_line(tmp_path) -> None:
    folder = tmp_path / "corpus"
    shards = [[{"text": d["text"]} for d in shard] for shard in SHARD_DOCS]
    write_shards(folder, "jsonl", shards)
    neardup.dedup(folder, tmp_path / "out", workers=1)
    removed = read_records(tmp_path / "out" / "removed.jsonl")
    assert [(r["kept_id"], r["reason"]) for r in removed] == [
        (f"{folder}/part-0000.jsonl:1", "exact"),
        (f"{folder}/part-0000.jsonl:2", "exact"),
    ]


def test_id_repeated_in_two_shards_names_both_shards(tmp_path) -> None:
    folder = tmp_path / "corpus"
    write_shards(folder, "jsonl", [[{"id": "a", "text": HARBOUR}], [{"id": "a", "text": ORCHARD}]])
    with pytest.raises(InputError) as info:
        neardup.dedup(folder, tmp_path / "out", workers=1)
    assert info.value.detail == (
        f"id 'a' appears twice: first at {folder}/part-0000.jsonl:1, "
        f"again at {folder}/part-0001.jsonl:1"
    )


def test_folder_of_txt_files_is_still_one_document_per_file(tmp_path) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "sub" / "b.txt").write_text(HARBOUR, encoding="utf-8")
    (folder / "notes.md").write_text("not a document", encoding="utf-8")
    (folder / "_SUCCESS").write_bytes(b"")
    result = neardup.dedup(folder, tmp_path / "out", workers=1)
    assert (result.kept, result.removed) == (1, 1)
    assert read_stats(tmp_path / "out")["inputs"][0]["path"] == str(folder)
    assert [r["id"] for r in read_records(tmp_path / "out" / "removed.jsonl")] == ["sub/b.txt"]


@pytest.mark.parametrize(
    ("files", "found"),
    [
        (["part-0.jsonl", "part-1.parquet"], "jsonl (1 file, e.g. part-0.jsonl), parquet"),
        (["a.txt", "b.txt", "c.jsonl.gz"], "jsonl (1 file, e.g. c.jsonl.gz), txt (2 files"),
        (["x/part-0.csv", "y/part-0.jsonl"], "csv (1 file, e.g. x/part-0.csv), jsonl"),
    ],
)
def test_folder_mixing_formats_is_refused(tmp_path, cli, files, found) -> None:
    folder = tmp_path / "corpus"
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")
    with pytest.raises(InputError) as info:
        neardup.dedup(folder, tmp_path / "out", workers=1)
    assert info.value.path == str(folder)
    assert info.value.detail.startswith(f"folder mixes formats: {found}")
    assert "one format per folder" in info.value.remedy
    code, _, err = cli("dedup", folder, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{folder}: folder mixes formats" in err


def test_folder_without_data_files_is_refused(tmp_path, cli) -> None:
    folder = tmp_path / "corpus"
    (folder / "_temporary").mkdir(parents=True)
    (folder / "_temporary" / "part-0.jsonl").write_bytes(jsonl_bytes(DOCS))
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / "README.md").write_text("shards", encoding="utf-8")
    code, _, err = cli("dedup", folder, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{folder}: no .jsonl/.parquet/.csv/.txt files in this folder" in err


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------
def test_csv_with_byte_order_mark_keeps_its_ids(tmp_path) -> None:
    path = tmp_path / "corpus.csv"
    body = "id,text\n" + "".join(f"{d['id']},{d['text']}\n" for d in DOCS)
    path.write_bytes(BOM + body.encode())
    assert read_ids(path) == [d["id"] for d in DOCS]
    neardup.dedup(path, tmp_path / "out", workers=1)
    kept = read_records(tmp_path / "out" / "kept.csv")
    assert list(kept[0]) == ["id", "text"]
    assert [r["id"] for r in kept] == [d["id"] for d in DOCS]


def test_csv_quote_never_closed_is_refused_at_the_line_it_opens(tmp_path) -> None:
    path = tmp_path / "corpus.csv"
    path.write_text('id,text\na,"first, quoted"\nb,"second\nc,third\nd,fourth\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_ids(path)
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert info.value.detail.startswith("a quoted field opened in the row that starts on this")
    assert "never closed" in info.value.detail


def test_csv_quoted_value_with_a_newline_is_still_one_value(tmp_path) -> None:
    path = tmp_path / "corpus.csv"
    path.write_text('id,text\na,"two\nlines"\nb,"say ""hi"""\n', encoding="utf-8")
    raws = list(open_source(path).batches(10))
    assert [line for raw in raws for line, _ in raw.items] == [3, 4]
    assert [row["text"] for raw in raws for _, row in raw.items] == ["two\nlines", 'say "hi"']


def test_csv_column_named_twice_is_refused(tmp_path) -> None:
    path = tmp_path / "corpus.csv"
    path.write_text("id,text,lang,text\na,hello,en,world\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_ids(path)
    assert (info.value.path, info.value.line, info.value.field) == (str(path), 1, "text")
    assert "appears twice in the header" in info.value.detail


# --------------------------------------------------------------------------------------------
# byte order marks in JSONL and .txt
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz", "jsonl.zst"])
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_jsonl_with_byte_order_mark_is_read_whole(tmp_path, suffix, on_error) -> None:
    import zstandard

    data = BOM + jsonl_bytes(DOCS)
    if suffix.endswith("gz"):
        data = gzip.compress(data)
    elif suffix.endswith("zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / f"corpus.{suffix}"
    path.write_bytes(data)
    result = neardup.dedup(path, tmp_path / "out", workers=1, on_error=on_error)
    assert read_stats(tmp_path / "out")["skipped_records"] == 0
    assert result.kept == len(DOCS)
    kept = read_records(tmp_path / "out" / f"kept.{suffix}")
    assert kept == DOCS


def test_jsonl_byte_order_mark_split_from_its_line_by_a_tiny_first_read(tmp_path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(BOM + jsonl_bytes(DOCS[:2]))
    assert read_ids(path, batch_size=1) == ["n0", "n1"]


def test_byte_order_mark_is_dropped_where_raw_batches_are_parsed() -> None:
    """The Spark reader hands over raw lines and files as they are; parsing drops the mark."""
    from neardup.io.sources import RawBatch

    line = jsonl_bytes(DOCS[:1]).rstrip(b"\n")
    parsed = parse_batch(RawBatch("s.jsonl", "jsonl", [(1, BOM + line)]), FieldSpec())
    assert (parsed.errors, parsed.ids, parsed.lines) == ([], ["n0"], [1])
    parsed = parse_batch(RawBatch("docs", "txt", [("a.txt", BOM + b"hello")]), FieldSpec())
    assert parsed.texts == ["hello"]


def test_txt_file_with_byte_order_mark_has_no_mark_in_its_text(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(BOM + HARBOUR.encode())
    (folder / "b.txt").write_bytes(HARBOUR.encode())
    result = neardup.dedup(folder, tmp_path / "out", workers=1)
    assert (result.kept, result.removed) == (1, 1)
    removed = read_records(tmp_path / "out" / "removed.jsonl")
    assert (removed[0]["id"], removed[0]["reason"]) == ("b.txt", "exact")
    assert read_records(tmp_path / "out" / "kept.jsonl")[0]["text"] == HARBOUR


def test_csv_with_header_only_keeps_its_header_in_the_outputs(tmp_path) -> None:
    path = tmp_path / "corpus.csv"
    path.write_text("id,text,lang\n", encoding="utf-8")
    result = neardup.dedup(path, tmp_path / "out", workers=1)
    assert (result.kept, result.removed) == (0, 0)
    assert (tmp_path / "out" / "kept.csv").read_bytes() == b"id,text,lang\r\n"
    assert (tmp_path / "out" / "removed.csv").read_bytes() == (
        b"id,text,lang,kept_id,cluster_id,similarity,reason\r\n"
    )


# --------------------------------------------------------------------------------------------
# Parquet inputs with flipped bytes: the right documents, or an error saying the file is corrupt
# --------------------------------------------------------------------------------------------
PARQUET_DOCS = [
    {"id": f"d{i}", "text": f"document {i} is about topic {i * 7} and has some words " * 3}
    for i in range(20)
]


def flip_outcomes(path: Path, data: bytes, offsets: range) -> dict[str, list[int]]:
    """Flip each byte in turn and read the file: ``same`` (the flip hit bytes nothing reads),
    ``corrupt`` (an InputError saying so), ``other`` (anything else)."""
    outcomes: dict[str, list[int]] = {"same": [], "corrupt": [], "other": []}
    want = ([d["id"] for d in PARQUET_DOCS], [d["text"] for d in PARQUET_DOCS])
    for off in offsets:
        damaged = bytearray(data)
        damaged[off] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            ids: list[Any] = []
            texts: list[str] = []
            for raw in open_source(path).batches(7):
                parsed = parse_batch(raw, FieldSpec())
                if parsed.errors:
                    raise parsed.errors[0]
                ids += parsed.ids
                texts += parsed.texts
        except InputError as exc:
            key = (
                "corrupt"
                if "cannot read Parquet file: corrupt or unreadable" in str(exc)
                else "other"
            )
            outcomes[key].append(off)
            continue
        outcomes["same" if (ids, texts) == want else "other"].append(off)
    return outcomes


def test_parquet_with_page_checksums_flipped_anywhere_is_read_right_or_called_corrupt(
    tmp_path,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(PARQUET_DOCS), buf, write_page_checksum=True)
    data = buf.getvalue()
    outcomes = flip_outcomes(tmp_path / "corpus.parquet", data, range(len(data)))
    assert outcomes["other"] == []
    assert len(outcomes["corrupt"]) > len(data) // 3


def test_parquet_without_checksums_damaged_footer_or_pages_is_called_corrupt(tmp_path) -> None:
    """Without page checksums a flipped byte inside a value cannot be seen; a damaged
    structure must still be reported as a corrupt file, never as a traceback."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(PARQUET_DOCS), buf)
    data = buf.getvalue()
    path = tmp_path / "corpus.parquet"
    footer = len(data) - 8 - int.from_bytes(data[-8:-4], "little")
    structural = [0, 1, 2, 3, 4, footer, footer + 1, len(data) - 8, len(data) - 5, len(data) - 1]
    outcomes = flip_outcomes(path, data, range(len(data)))  # raises on anything but InputError
    assert set(structural) <= set(outcomes["corrupt"])
    assert len(outcomes["corrupt"]) > len(data) // 3


def test_parquet_whose_footer_turned_a_text_column_into_bytes_is_called_corrupt(
    tmp_path,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "corpus.parquet"
    pq.write_table(pa.Table.from_pylist(PARQUET_DOCS), path)
    arrow_schema = pq.ParquetFile(path).metadata.metadata[b"ARROW:schema"]
    # the same file as a reader sees it when the footer lost the UTF8 annotation of "id"
    table = pa.Table.from_pylist(PARQUET_DOCS)
    table = table.set_column(0, "id", table.column("id").cast(pa.binary()))
    pq.write_table(table.replace_schema_metadata({b"ARROW:schema": arrow_schema}), path)
    with pytest.raises(InputError, match="corrupt or unreadable") as info:
        read_ids(path)
    assert "column 'id' is text in the file's Arrow schema but binary" in str(info.value)


def test_corrupt_parquet_exits_3_naming_the_file(tmp_path, cli) -> None:
    path = write_parquet(tmp_path / "corpus.parquet", PARQUET_DOCS)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    code, _, err = cli("dedup", path, "-o", tmp_path / "out", "--workers", "1")
    assert code == 3
    assert f"{path}: cannot read Parquet file: corrupt or unreadable (" in err


def test_parquet_written_by_neardup_has_checked_pages(tmp_path) -> None:
    src = write_jsonl(tmp_path / "corpus.jsonl", PARQUET_DOCS)
    neardup.dedup(src, tmp_path / "out", workers=1, output_format="parquet")
    kept = tmp_path / "out" / "kept.parquet"
    data = kept.read_bytes()
    outcomes = flip_outcomes(tmp_path / "copy.parquet", data, range(len(data)))
    assert outcomes["other"] == []


# --------------------------------------------------------------------------------------------
# Parquet outputs: a field whose type changes between records
# --------------------------------------------------------------------------------------------
def test_parquet_output_field_with_two_types_is_an_output_error(tmp_path, cli) -> None:
    src = write_jsonl(
        tmp_path / "corpus.jsonl",
        [
            {"id": "a", "text": HARBOUR, "meta": 1},
            {"id": "b", "text": ORCHARD, "meta": "one"},
        ],
    )
    out = tmp_path / "out"
    code, _, err = cli("dedup", src, "-o", out, "--workers", "1", "--output-format", "parquet")
    assert code == 4
    assert (
        f"{out / 'kept.parquet'}: field 'meta' has type integer in some records and string in "
        "others; Parquet needs one type per column\n"
        "  -> write JSONL with --output-format jsonl, or give the field one type in every record"
    ) in err
    assert not (out / "stats.json").exists()


def many(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", **fields} for i in range(n)]


def write_sink_records(path: Path, records: list[dict[str, Any]]) -> None:
    from neardup.io.sinks import open_sink

    sink = open_sink(path, "parquet")
    try:
        for rec in records:
            sink.write(rec)
        sink.close()
    except BaseException:
        sink.abort()
        raise
    sink.commit()


def test_parquet_output_type_change_after_the_first_records_is_named(tmp_path) -> None:
    from neardup.errors import OutputError

    path = tmp_path / "kept.parquet"
    with pytest.raises(OutputError) as info:
        write_sink_records(path, many(4096, meta=1) + many(10, meta="x"))
    assert info.value.message == (
        f"{path}: field 'meta' has type int64 in some records and string in others; "
        "Parquet needs one type per column"
    )
    assert not path.exists()


@pytest.mark.parametrize(
    ("first", "later", "types"),
    [
        (1, 2.5, "int64 in some records and double"),  # the file's column is already int64
        (  # a cast would drop "b"
            {"a": 1},
            {"a": 2, "b": "y"},
            "struct<a: int64> in some records and struct<a: int64, b: string>",
        ),
    ],
)
def test_parquet_output_refuses_to_narrow_or_drop_after_the_first_records(
    tmp_path, first, later, types
) -> None:
    from neardup.errors import OutputError

    path = tmp_path / "kept.parquet"
    with pytest.raises(OutputError) as info:
        write_sink_records(path, many(4096, meta=first) + many(1, meta=later))
    assert info.value.message == (
        f"{path}: field 'meta' has type {types} in others; Parquet needs one type per column"
    )
    assert not path.exists()


@pytest.mark.parametrize(
    ("first", "later"),
    [
        (None, "x"),  # a field empty in the first records takes its first values' type
        (None, {"a": 1}),
        ([], [1, 2]),  # an empty list holds nulls until values come
    ],
)
def test_parquet_output_field_empty_in_the_first_records_takes_later_type(
    tmp_path, first, later
) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "kept.parquet"
    write_sink_records(path, many(5000, meta=first) + many(3, meta=later))
    meta = pq.read_table(path).column("meta").to_pylist()
    assert meta == [first] * 5000 + [later] * 3


def test_parquet_output_mixed_numbers_in_one_batch_are_doubles(tmp_path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "kept.parquet"
    write_sink_records(path, many(2, meta=1) + many(1, meta=2.5))
    assert pq.read_table(path).column("meta").to_pylist() == [1.0, 1.0, 2.5]


def test_parquet_output_field_missing_from_later_records_is_null(tmp_path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "kept.parquet"
    write_sink_records(path, [*many(4096, meta="m"), {"id": "last"}])
    rows = pq.read_table(path).to_pylist()
    assert rows[-1] == {"id": "last", "meta": None}
    assert len(rows) == 4097


def test_parquet_output_keeps_fields_the_first_record_lacks(tmp_path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "kept.parquet"
    write_sink_records(path, [{"id": "a"}, {"id": "b", "meta": "m"}, {"meta": "n", "id": "c"}])
    assert pq.read_table(path).to_pylist() == [
        {"id": "a", "meta": None},
        {"id": "b", "meta": "m"},
        {"id": "c", "meta": "n"},
    ]


def test_parquet_output_nested_values_that_cannot_share_a_type_are_named(tmp_path) -> None:
    from neardup.errors import OutputError

    path = tmp_path / "kept.parquet"
    with pytest.raises(OutputError) as info:
        write_sink_records(path, [{"id": "a", "meta": [1]}, {"id": "b", "meta": ["x"]}])
    assert info.value.message.startswith(
        f"{path}: the values of field 'meta' cannot be stored in one Parquet column (the types "
        "inside its list values differ: "
    )


@pytest.mark.parametrize("how", ["same size", "appended", "txt file"])
def test_input_rewritten_during_the_run_is_refused_and_nothing_kept(
    tmp_path, monkeypatch, how: str
) -> None:
    """The write pass copies kept runs from the file as it is then; a rewrite after the
    fingerprint pass (even one that keeps the size) stops the run before anything is kept."""
    from neardup.api import run as api_run

    if how == "txt file":
        src = tmp_path / "docs"
        src.mkdir()
        for i, text in enumerate([HARBOUR, HARBOUR, ORCHARD]):
            (src / f"{i}.txt").write_text(text)
        victim = src / "1.txt"
    else:
        src = tmp_path / "in.jsonl"
        write_jsonl(src, [{"id": str(i), "text": t} for i, t in enumerate([HARBOUR, HARBOUR])])
        victim = src
    out = tmp_path / "out"
    neardup.dedup(src, out, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = api_run.write_clusters

    def rewrite_then_write_clusters(*args: Any, **kwargs: Any) -> None:
        data = victim.read_bytes()
        if how == "appended":
            victim.write_bytes(data + b'{"id": "9", "text": "late"}\n')
        else:  # one space becomes a newline: same size, a line split in two
            i = data.index(b" ", 20)
            with victim.open("r+b") as fh:
                fh.seek(i)
                fh.write(b"\n")
        real(*args, **kwargs)

    monkeypatch.setattr(api_run, "write_clusters", rewrite_then_write_clusters)
    with pytest.raises(InputError, match="the input changed while neardup was reading it"):
        neardup.dedup(src, out, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier result
