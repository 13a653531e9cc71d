"""Boilerplate counted by distinct context: a footer that dominates short notes is boilerplate,
the paragraphs of an article copied many times are not; and line ends that are abbreviations."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import neardup
from neardup.boilerplate_counts import candidate_units, frequent_units
from neardup.text.boilerplate import UnitCounter, batch_units
from neardup.text.lines import ABBREVIATION, STARTS_LOWER, TERMINAL, line_batch

#: 102 words, the same under every note.
FOOTER = (
    "This message and any attachments are confidential and intended solely for the addressee. "
    "If you have received it in error, please notify the sender and delete it from your "
    "system; you must not copy, forward, disclose or use any part of it. Opinions expressed "
    "here are those of the author and do not necessarily reflect the views of the Valley "
    "Courier Group. Although we scan mail for viruses, we accept no liability for damage caused "
    "by this message or its attachments. The Valley Courier Group is registered in England and "
    "Wales under number 04512876, registered office 12 Mill Lane, Harrowby, HB3 9QT."
)
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
VOCABULARY = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in "nrstl"]  # 24,500 words


def notes(n: int, lo: int, hi: int) -> list[str]:
    """``n`` unrelated notes of ``lo``..``hi`` distinct words drawn from 24,500: no two share a
    run of five words."""
    rng = random.Random(f"notes-{lo}-{hi}")
    return [
        " ".join(rng.sample(VOCABULARY, rng.randint(lo, hi))).capitalize() + "." for _ in range(n)
    ]


def _write(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": f"n{i:03d}", "text": t}) + "\n")
    return path


def _kept(out: Path) -> dict[str, str]:
    with open(out / "kept.jsonl", encoding="utf-8") as fh:
        return {r["id"]: r["text"] for r in map(json.loads, fh)}


def test_the_footer_has_102_words_and_the_notes_are_unrelated() -> None:
    assert len(FOOTER.split()) == 102
    short = notes(200, 6, 12)
    assert len(set(short)) == 200
    assert neardup.find_duplicates(short) == []


@pytest.mark.parametrize(("lo", "hi", "merged_raw"), [(6, 12, 200), (30, 60, 0)])
def test_a_footer_under_200_notes_is_stripped_from_all_and_no_note_is_removed(
    tmp_path: Path, lo: int, hi: int, merged_raw: int
) -> None:
    bodies = notes(200, lo, hi)
    texts = [f"{body}\n\n{FOOTER}" for body in bodies]
    # the footer dominates the short notes: with it, they are one cluster of near-duplicates
    clusters = neardup.find_duplicates(texts)
    assert sum(len(c.members) for c in clusters) == merged_raw
    result = neardup.dedup(
        _write(tmp_path / "in.jsonl", texts), tmp_path / "out", workers=1, strip_boilerplate=True
    )
    assert result.removed == 0
    assert _kept(tmp_path / "out") == {f"n{i:03d}": body for i, body in enumerate(bodies)}
    b = result.stats["boilerplate"]
    assert (b["documents_with_boilerplate"], b["lines_stripped"], b["frequent_units"]) == (
        200,
        200,
        1,
    )
    assert b["lines"] == [
        {"line": FOOTER, "clusters": 200, "documents": 200, "examples": ["n000", "n001", "n002"]}
    ]


def test_the_notes_without_the_footer_stay_intact(tmp_path: Path) -> None:
    bodies = notes(200, 6, 12)
    result = neardup.dedup(
        _write(tmp_path / "in.jsonl", bodies), tmp_path / "out", workers=1, strip_boilerplate=True
    )
    assert result.removed == 0
    assert _kept(tmp_path / "out") == {f"n{i:03d}": body for i, body in enumerate(bodies)}
    assert result.stats["boilerplate"]["lines_stripped"] == 0


def test_cli_strips_the_footer_and_reports_it(tmp_path: Path, cli) -> None:
    bodies = notes(200, 6, 12)
    src = _write(tmp_path / "in.jsonl", [f"{body}\n\n{FOOTER}" for body in bodies])
    code, out, err = cli("dedup", src, "-o", tmp_path / "out", "--strip-boilerplate")
    assert code == 0, err
    assert "200 documents → 200 kept, 0 removed" in out
    assert "boilerplate: 200 lines" in out
    assert _kept(tmp_path / "out") == {f"n{i:03d}": body for i, body in enumerate(bodies)}
    code, out, err = cli("boilerplate", src, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [(r["line"], r["clusters"], r["documents"]) for r in report["lines"]] == [
        (FOOTER, 200, 200)
    ]
    code, out, _ = cli("boilerplate", src)
    assert "in ≥ 10 distinct documents (≥ 50 if over 40 words; copies count once)" in out
    assert "    200 docs      200 distinct  'This message and any attachments" in out


def _paragraphs(seed: int, n: int = 5, words: int = 30) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        " ".join(f"w{seed}x{p}x{int(k)}" for k in rng.integers(0, 10**6, size=words)).capitalize()
        + "."
        for p in range(n)
    ]


def test_an_article_in_many_copies_keeps_its_paragraphs(tmp_path: Path) -> None:
    """Twelve copies of one article, each under its own byline: the article's paragraphs stand
    in twelve documents, but the copies still match without any one of them, so they are one
    context, nothing is stripped, and eleven copies go as near-duplicates. (Clustering with
    every paragraph of twelve documents stripped out would leave the copies their bylines.)"""
    article = "\n\n".join(_paragraphs(1))
    texts = [f"Posted by reporter {i} on site {i}.\n\n{article}" for i in range(12)]
    texts += ["\n\n".join(_paragraphs(s)) for s in range(100, 120)]
    result = neardup.dedup(
        _write(tmp_path / "in.jsonl", texts), tmp_path / "out", workers=1, strip_boilerplate=True
    )
    assert result.stats["boilerplate"]["frequent_units"] == 0
    assert result.removed == 11
    kept = _kept(tmp_path / "out")
    assert kept["n000"] == texts[0]
    assert all(f"n{i:03d}" not in kept for i in range(1, 12))


def _counter(texts: list[str]) -> UnitCounter:
    counter = UnitCounter()
    counter.append(*batch_units(texts))
    return counter


def test_a_unit_counts_once_per_component_of_the_pairs_that_match_without_it() -> None:
    # four documents holding the line "Shared words here" (3 tokens); the raw graph joins 0-1
    # with slack 5 (they still match without three tokens), 1-2 with slack 2 (they do not), and
    # 2-3 with slack 4 while 3 does not hold the line: edges to a document without it hold
    texts = [
        "Shared words here",
        "Shared words here",
        "Shared words here",
        "Other",
        "Shared words here",
    ]
    counter = _counter(texts)
    cands = candidate_units(counter, min_docs=2, long_words=40)
    assert cands.frequency.tolist() == [4]
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4]], dtype=np.int64)
    slack = np.array([5.0, 2.0, 4.0, 1.0])
    bset = frequent_units(counter, cands, len(texts), edges, slack)
    # components: {0, 1}, {2, 3, 4} (2-3 and 3-4 hold: 3 lacks the line) → two contexts
    assert bset.frequency.tolist() == [2]
    # with the 1-2 pair matching without the line, one context: below min_docs = 2
    none = frequent_units(counter, cands, len(texts), edges, np.array([5.0, 3.0, 4.0, 1.0]))
    assert len(none) == 0
    # no graph: every document is its own context
    alone = frequent_units(counter, cands, len(texts), np.zeros((0, 2), np.int64), np.zeros(0))
    assert alone.frequency.tolist() == [4]


# ---------------------------------------------------------------------------------------------
# line ends that are abbreviations
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "flag"),
    [
        ("The Federal Deposit Insurance Corp.", ABBREVIATION),
        ("managed by Shearson Lehman Brothers INC.", ABBREVIATION),
        ("said Mr.", ABBREVIATION),
        ("Account No.", ABBREVIATION),
        ("based in Irvine, Calif.", ABBREVIATION),
        ("sold in the U.S.", ABBREVIATION),
        ("the U.S.A.", ABBREVIATION),
        ("President John F.", ABBREVIATION),
        ("tools, e.g.", ABBREVIATION),
        ("He said no.", TERMINAL),
        ("shares rose to 5.", TERMINAL),
        ("rose 2.5.", TERMINAL),
        ("the corp.", TERMINAL),
        ("and so on, etc.", TERMINAL),
        ("vitamin e.", TERMINAL),
        ('He said "Acme Corp."', TERMINAL),
        ("as follows:", 0),
        ("Acme Corp", 0),
    ],
)
def test_line_ends(line: str, flag: int) -> None:
    assert line_batch([line]).flags[0] & (TERMINAL | ABBREVIATION) == flag


def test_abbreviation_flags_with_lower_case_starts() -> None:
    f = line_batch(["Acme Corp.\n(ACME) said\nthe U.S.\nagency said."]).flags.tolist()
    assert f == [ABBREVIATION, 0, ABBREVIATION | STARTS_LOWER, TERMINAL | STARTS_LOWER]


def test_a_heading_ending_in_an_abbreviation_stays_when_its_sentence_runs_on(
    tmp_path: Path,
) -> None:
    """ "Acme Corp." opens the sentence of the next line in twelve articles: it is not
    self-contained, so it stays (it ended a sentence before abbreviations were known, and went).
    Where it is a paragraph of its own it is boilerplate. The sign-off after "… Acme Inc." goes:
    it ends its block unpunctuated, so it cannot be the rest of that sentence; "Agriculture
    Department said." after "the U.S." stays: it can."""
    texts = []
    for s in range(12):
        body = _paragraphs(s, n=2)
        texts.append(
            f"{body[0]}\n\nAcme Corp.\n(ACME) said unit {s} sold {s + 3} mln dlrs of notes.\n\n"
            f"{body[1]}\nIt was announced by the U.S.\nAgriculture Department said.\n"
            f"Notes were placed with Acme Inc.\nReuter"
        )
    texts += [f"{p}\n\nAcme Corp." for p in (_paragraphs(s, n=1)[0] for s in range(50, 62))]
    neardup.dedup(
        _write(tmp_path / "in.jsonl", texts), tmp_path / "out", workers=1, strip_boilerplate=True
    )
    kept = _kept(tmp_path / "out")
    for s in range(12):
        body = _paragraphs(s, n=2)
        assert kept[f"n{s:03d}"] == (
            f"{body[0]}\n\nAcme Corp.\n(ACME) said unit {s} sold {s + 3} mln dlrs of notes.\n\n"
            f"{body[1]}\nIt was announced by the U.S.\nAgriculture Department said.\n"
            f"Notes were placed with Acme Inc."
        )
    for k, s in enumerate(range(50, 62)):
        assert kept[f"n{12 + k:03d}"] == _paragraphs(s, n=1)[0]
