"""Boilerplate by distinct context on a real corpus: 200 short notes under one 102-word footer
added to the whole of Reuters-21578, and Reuters lines that end in an abbreviation or a colon.

Skipped when ``../shared`` is absent."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

import neardup

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REUTERS = SHARED / "data" / "reuters21578" / "docs.jsonl.gz"

pytestmark = pytest.mark.skipif(not REUTERS.is_file(), reason="../shared Reuters corpus absent")

#: 102 words (the same footer as tests/unit/test_boilerplate_contexts.py).
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
VOCABULARY = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in "nrstl"]


def _notes(n: int = 200) -> list[str]:
    """Unrelated notes of 6 to 12 distinct words: the footer makes them near-duplicates."""
    rng = random.Random("reuters-notes")
    return [
        " ".join(rng.sample(VOCABULARY, rng.randint(6, 12))).capitalize() + "." for _ in range(n)
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, str], dict[str, str]]:
    """One dedup with --strip-boilerplate of Reuters plus the 200 notes under the footer: the
    stats, the kept texts and the original texts, by id."""
    tmp = tmp_path_factory.mktemp("reuters-footer")
    originals: dict[str, str] = {}
    with gzip.open(REUTERS, "rt", encoding="utf-8") as src, open(tmp / "in.jsonl", "w") as out:
        for line in src:
            rec = json.loads(line)
            originals[str(rec["id"])] = rec["text"]
            out.write(line)
        for i, note in enumerate(_notes()):
            rec = {"id": f"note-{i:03d}", "text": f"{note}\n\n{FOOTER}"}
            originals[rec["id"]] = note
            out.write(json.dumps(rec) + "\n")
    result = neardup.dedup(tmp / "in.jsonl", tmp / "out", strip_boilerplate=True)
    with open(tmp / "out" / "kept.jsonl", encoding="utf-8") as fh:
        kept = {str(r["id"]): r["text"] for r in map(json.loads, fh)}
    return result.stats, kept, originals


def test_the_footer_is_stripped_from_all_200_notes_and_none_is_removed(run) -> None:
    stats, kept, originals = run
    notes = sorted(k for k in originals if k.startswith("note-"))
    assert len(notes) == 200
    assert {k: kept.get(k) for k in notes} == {k: originals[k] for k in notes}
    assert stats["removed"] == 495  # Reuters' own duplicates, as without the notes
    footer = [row for row in stats["boilerplate"]["lines"] if row["line"] == FOOTER]
    assert footer == [
        {
            "line": FOOTER,
            "clusters": 200,
            "documents": 200,
            "examples": ["note-000", "note-001", "note-002"],
        }
    ]


def test_reuters_keeps_a_subject_that_ends_in_an_abbreviation_and_a_table_header(run) -> None:
    _, kept, _ = run
    # "The Federal Deposit Insurance Corp." opens the sentence of the next line
    assert "\nThe Federal Deposit Insurance Corp.\n(FDIC) said two Texas banks" in kept["4589"]
    # the header of a table announced by "... as follows:"
    assert "as follows:\n    MATURITY   NEW RATE  OLD RATE  MATURITY\n" in kept["12040"]
    # the sign-off after "... Shearson Lehman Brothers Inc." goes, the sentence stays
    assert kept["35"].endswith("managed by Shearson Lehman Brothers Inc.")
    sign_off = [row for row in run[0]["boilerplate"]["lines"] if row["line"] == "Reuter"]
    assert sign_off[0]["clusters"] > 18000
