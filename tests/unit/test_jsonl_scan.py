"""The compiled JSONL reader (neardup.io.jsonl_scan) gives exactly what the general path gives:
ids, lines, lengths, fingerprints, errors and repairs, on awkward lines of every kind."""

from __future__ import annotations

import numpy as np
import pytest

from neardup import pipeline
from neardup.config import DedupConfig
from neardup.io import jsonl_scan
from neardup.io.sources import RawBatch
from neardup.pipeline import StageParams, fingerprint_batch
from neardup.text.fold import fold_table

WORDS = "the quick brown fox jumps over the lazy dog again and again today"
LINES = [
    '{"id": "a", "text": "@"}'.replace("@", WORDS),
    '  {"text": "@ \\n\\"quoted\\" \\\\ \\/ \\b\\f\\r\\t", "id": 7}  '.replace("@", WORDS),
    '{"id": -12, "text": "caf\\u00e9 \\ud83d\\ude00 emoji @"}'.replace("@", WORDS),
    '{"id": "u", "text": "Straße … ﬁne\u00a0DAY ＦＵＬＬ @"}'.replace(
        "@", WORDS
    ),  # folded in the kernel
    '{"id": "c", "text": "cafe\u0301 combining @"}'.replace("@", WORDS),  # prepared in Python
    '{"id": "s", "text": "lone \\ud83d surrogate @"}'.replace("@", WORDS),  # repaired by json
    '{"id": "bad", "text": "invalid \xff byte"}',
    '{"id": "n", "meta": {"a": [1, 2.5, -3e+10, true, false, null, {"b": []}]}, "text": "x y"}',
    '{"id": "e", "big": 1e400, "text": "exponent too large for orjson"}',
    '{"id": "big", "n": 123456789012345678901234567890, "text": "big number"}',
    '{"text": "first", "id": "d", "text": "second wins @"}'.replace("@", WORDS),
    '{"id": "x", "id": null, "text": "id null after a string"}',
    '{"id": 1.5, "text": "float id"}',
    '{"id": true, "text": "bool id"}',
    '{"id": 1234567890123456789012, "text": "long integer id"}',
    '{"id": "esc\\u0061ped", "text": "escaped id"}',
    '{"id": "m"}',
    '{"id": "tn", "text": null}',
    '{"id": "t5", "text": 5}',
    '["not", "an", "object"]',
    '{"id": "tc", "text": "trailing comma",}',
    '{"id": "tg", "text": "trailing garbage"} x',
    '{"id": "k", "t\\u0065xt": "escaped key"}',
    '{"id": "ctl", "text": "raw \x01 control"}',
    '{"id": "deep", "x": @, "text": "deep"}'.replace("@", "[" * 200 + "]" * 200),
    '\x0c{"id": "ff", "text": "form feed first"}',
    '{"id": "empty", "text": ""}',
    "{}",
    '{"id": "crlf", "text": "carriage return line end"}\r',
    "   ",
    "\x0c",
    '{"id": "a", "text": "duplicate id, for the gather step"}',
]


def _block(lines: list[str], bom: bool = False) -> bytes:
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    return (b"\xef\xbb\xbf" if bom else b"") + data.replace("\xff".encode(), b"\xff") + b"\n"


def _general(raw: RawBatch, params: StageParams, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setattr(pipeline, "_scans", lambda *_: False)
        return fingerprint_batch(raw, params)


def _same(a: object, b: object) -> None:
    for name in ("ids", "lines", "keep_values", "invalid_utf8"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("lengths", "exact", "signatures", "shingles", "shingle_counts", "modes"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert [str(e) for e in a.errors] == [str(e) for e in b.errors]  # type: ignore[attr-defined]


@pytest.mark.parametrize("bom", [False, True])
def test_one_block_equals_the_general_path(bom: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    params = StageParams.from_config(DedupConfig(on_error="skip"))
    raw = RawBatch("f.jsonl", "jsonl", [(1, _block(LINES, bom))])
    fast = fingerprint_batch(raw, params)
    _same(fast, _general(raw, params, monkeypatch))
    assert len(fast.errors) == 12 and fast.invalid_utf8 == 3  # lone surrogate, \xff, 1e400


def test_single_line_items_equal_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Spark executor hands lines over one by one, blank lines left out."""
    params = StageParams.from_config(DedupConfig(on_error="skip", ngram=3))
    items = [(n + 1, line.encode()) for n, line in enumerate(LINES[:5]) if line.strip()]
    raw = RawBatch("f.jsonl", "jsonl", [(10 + k * 3, v) for k, (_, v) in enumerate(items)])
    _same(fingerprint_batch(raw, params), _general(raw, params, monkeypatch))


def test_status_of_each_kind_of_line() -> None:
    block = _block([LINES[0], LINES[3], LINES[4], LINES[5], "", LINES[19]])
    lines, status, spans, id_kind, n_chars, out = jsonl_scan.scan_block(
        np.frombuffer(block, np.uint8),
        -1,
        jsonl_scan._key("text"),
        jsonl_scan._key("id"),
        fold_table().kind,
    )
    assert lines.tolist() == [0, 1, 2, 3, 5]  # the blank line 4 is left out
    assert (
        status.tolist()
        == [jsonl_scan.FAST, jsonl_scan.FAST, jsonl_scan.PREPARE] + [jsonl_scan.SLOW] * 2
    )
    assert id_kind.tolist()[:3] == [jsonl_scan.ID_STR] * 3
    assert bytes(out[spans[0, 2] : spans[0, 3]]).decode() == WORDS
    assert n_chars[0] == len(WORDS)


def test_a_folded_line_then_a_prepared_line_equal_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """U+FDFA folds to 33 bytes; the next line (a combining accent: prepared in Python) must
    not be written over the end of the batch's buffers."""
    params = StageParams.from_config(DedupConfig())
    block = _block(
        ['{"text":"' + "\ufdfa" * 50 + '"}', '{"text":"e\u0301 ' + "hello " * 200 + '"}']
    )
    raw = RawBatch("f.jsonl", "jsonl", [(1, block)])
    _same(fingerprint_batch(raw, params), _general(raw, params, monkeypatch))


def test_text_and_id_from_one_field_equal_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = StageParams.from_config(DedupConfig(text_field="text", id_field="text"))
    raw = RawBatch("f.jsonl", "jsonl", [(1, _block(['{"text":"hello world"}']))])
    fast = fingerprint_batch(raw, params)
    assert fast.ids == ["hello world"]
    _same(fast, _general(raw, params, monkeypatch))
