"""Boilerplate units, the sentence-aware line rule, and stripping that keeps paragraphs apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup.text.boilerplate import apply_removed, strip_lines
from neardup.text.lines import BLANK, STARTS_LOWER, TERMINAL, line_batch

WIDGET = "Jane Doe\nJane Doe writes about farming for the Valley Courier.\nMore >"


def _paragraphs(seed: int, n: int = 4) -> list[str]:
    """Distinct paragraphs: the words are made of the seed so no two articles share a 5-gram."""
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n):
        words = [f"w{seed}x{p}x{int(k)}" for k in rng.integers(0, 10**6, size=40)]
        out.append(" ".join(words).capitalize() + ".")
    return out


def test_strip_lines_removes_the_blank_line_left_behind() -> None:
    text = "Title\n\nFirst paragraph.\n\n" + WIDGET + "\n\nSecond paragraph."
    mask = np.array([line in WIDGET.split("\n") for line in text.split("\n")])
    stripped, removed = strip_lines(text, mask)
    assert stripped == "Title\n\nFirst paragraph.\n\nSecond paragraph."
    assert removed == [5, 6, 7, 8]
    assert apply_removed(text, removed) == stripped


def test_strip_lines_at_the_end_and_inside_a_paragraph() -> None:
    text = "Body one.\n\nBody two.\n\nShare this article"
    mask = np.array([False, False, False, False, True])
    assert strip_lines(text, mask) == ("Body one.\n\nBody two.", [4, 5])
    glued = "Body line one\nShare this article\nBody line two"
    assert strip_lines(glued, np.array([False, True, False])) == (
        "Body line one\nBody line two",
        [2],
    )


def test_line_flags() -> None:
    lb = line_batch(["The U.S.\nsaid it would.\n  \nReuter", 'He said "yes."\n(more)'])
    f = lb.flags
    assert lb.line_offsets.tolist() == [0, 4, 6]
    assert not f[0] & TERMINAL  # "U.S." is an abbreviation
    assert f[1] & STARTS_LOWER and f[1] & TERMINAL
    assert f[2] & BLANK
    assert f[4] & TERMINAL  # closing quote after a full stop
    assert f[5] & STARTS_LOWER
    assert lb.block_of.tolist() == [0, 0, -1, 1, 2, 2]
    assert lb.tokens.tolist() == [3, 3, 0, 1, 3, 1]
    # case-insensitive line hashes
    again = line_batch(["REUTER"])
    assert again.hashes[0] == lb.hashes[3]


def _write(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": f"d{i:02d}", "text": t}) + "\n")
    return path


def _kept(out: Path) -> dict[str, str]:
    with open(out / "kept.jsonl", encoding="utf-8") as fh:
        return {r["id"]: r["text"] for r in map(json.loads, fh)}


def test_widget_in_many_articles_is_stripped_byte_for_byte(tmp_path: Path) -> None:
    articles = ["\n\n".join(_paragraphs(s)) for s in range(14)]
    texts = []
    for i, art in enumerate(articles):
        paras = art.split("\n\n")
        if i < 12:
            paras.insert(2, WIDGET)
        texts.append("\n\n".join(paras))
    result = neardup.dedup(
        _write(tmp_path / "in.jsonl", texts),
        tmp_path / "out",
        workers=1,
        strip_boilerplate=True,
        boilerplate_min_docs=10,
    )
    kept = _kept(tmp_path / "out")
    assert [kept[f"d{i:02d}"] for i in range(14)] == articles
    b = result.stats["boilerplate"]
    assert b["documents_with_boilerplate"] == 12
    assert b["lines_stripped"] == 36
    assert {row["line"] for row in b["lines"]} == set(WIDGET.split("\n"))
    # below the threshold nothing goes
    neardup.dedup(
        tmp_path / "in.jsonl",
        tmp_path / "out2",
        workers=1,
        strip_boilerplate=True,
        boilerplate_min_docs=13,
    )
    assert _kept(tmp_path / "out2") == {f"d{i:02d}": t for i, t in enumerate(texts)}


def test_a_paragraph_in_two_copies_of_one_article_is_kept(tmp_path: Path) -> None:
    shared = "A paragraph that only this article and its copy contain, word for word."
    base = _paragraphs(100, n=6)
    original = "\n\n".join([*base[:3], shared, *base[3:]])
    copy = "\n\n".join([*base[:3], shared, *base[3:5]])  # last paragraph dropped: near copy
    other = "\n\n".join(_paragraphs(200))
    # a line in two *unrelated* articles does count twice, and goes at min_docs = 2
    unrelated_a = "\n\n".join([*_paragraphs(300), "Subscribe to our newsletter."])
    unrelated_b = "\n\n".join([*_paragraphs(400), "Subscribe to our newsletter."])
    texts = [original, copy, other, unrelated_a, unrelated_b]
    result = neardup.dedup(
        _write(tmp_path / "in.jsonl", texts),
        tmp_path / "out",
        workers=1,
        strip_boilerplate=True,
        boilerplate_min_docs=2,
    )
    kept = _kept(tmp_path / "out")
    assert kept["d00"] == original
    assert "d01" not in kept  # removed as a near-duplicate of d00
    assert kept["d03"] == "\n\n".join(_paragraphs(300))
    assert [row["line"] for row in result.stats["boilerplate"]["lines"]] == [
        "Subscribe to our newsletter."
    ]


def test_mark_mode_keeps_the_text_and_lists_the_lines(tmp_path: Path) -> None:
    texts = []
    for s in range(11):
        paras = _paragraphs(s, n=3)
        paras.insert(1, WIDGET)
        texts.append("\n\n".join(paras))
    neardup.dedup(
        _write(tmp_path / "in.jsonl", texts),
        tmp_path / "out",
        workers=1,
        strip_boilerplate=True,
        boilerplate_mode="mark",
    )
    with open(tmp_path / "out" / "kept.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert [r["text"] for r in rows] == texts
    assert all(r["boilerplate_lines"] == [3, 4, 5, 6] for r in rows)


def test_boilerplate_command_reports_without_writing(tmp_path: Path, cli) -> None:
    texts = []
    for s in range(10):
        texts.append("\n\n".join([*_paragraphs(s, n=2), "Reuter"]))
    src = _write(tmp_path / "in.jsonl", texts)
    code, out, _ = cli("boilerplate", src, "--json", "--workers", "1")
    assert code == 0
    report = json.loads(out)
    assert report["documents"] == 10
    assert report["lines"][0]["line"] == "Reuter"
    assert report["lines"][0]["clusters"] == 10
    assert report["lines"][0]["examples"] == ["d00", "d01", "d02"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize("bad", [{"boilerplate_mode": "drop"}, {"boilerplate_min_docs": 0}])
def test_bad_boilerplate_parameters(bad: dict) -> None:
    with pytest.raises(neardup.ConfigError):
        neardup.DedupConfig(**bad)


def test_dedup_cli_strips_boilerplate(tmp_path: Path, cli) -> None:
    texts = [
        "\n\n".join([*_paragraphs(s, n=2), WIDGET, "Closing line of the story."]) for s in range(4)
    ]
    src = _write(tmp_path / "in.jsonl", texts)
    code, out, err = cli(
        "dedup",
        src,
        "-o",
        tmp_path / "out",
        "--strip-boilerplate",
        "--boilerplate-min-docs",
        "4",
        "--boilerplate-long-words",
        "30",
        "--workers",
        "1",
    )
    assert code == 0, err
    assert "boilerplate: 16 lines" in out
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["boilerplate"]["parameters"]["min_docs"] == 4
    assert stats["boilerplate"]["parameters"]["long_min_docs"] == 20
    kept = _kept(tmp_path / "out")
    assert kept["d00"] == "\n\n".join(_paragraphs(0, n=2))
    code, _, err = cli("dedup", src, "-o", tmp_path / "o2", "--boilerplate-mode", "drop")
    assert code == 2
    assert "drop" in err
