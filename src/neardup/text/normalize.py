"""The one text normalisation used everywhere in neardup.

``normalize(text)`` is defined as:

1. Unicode NFKC (compatibility composition: full-width forms, ligatures and the like fold to
   their plain equivalents);
2. Unicode case folding (``str.casefold``, stronger than lower-casing: "Straße" → "strasse");
3. tokens are maximal runs of *word characters* — Unicode letters (L*), numbers (N*), combining
   marks (M*, so Devanagari or Thai vowel signs stay inside their word) and ``_``; every other
   character (punctuation, symbols, whitespace) is a separator;
4. the normalised text is the tokens joined by single spaces.

The fast path (:mod:`neardup.text.shingle`) implements steps 3–4 in a compiled kernel over UTF-8
bytes; this module holds the reference definition and the character tables it uses.
"""

from __future__ import annotations

import os
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

#: Bits of the table returned by :func:`char_classes`: a word character has WORD; a word
#: character of a script written without spaces also has NOSPACE; a lower-case letter (Ll) also
#: has LOWER. SEPARATOR (0) is everything else.
SEPARATOR, WORD, NOSPACE, LOWER = 0, 1, 2, 4

#: Code point ranges of scripts written without spaces between words. Text dominated by these
#: is shingled by characters, not words.
NOSPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def _cache_path() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "neardup" / f"charclass-v2-{unicodedata.unidata_version}.npy"


def _build_char_classes() -> np.ndarray:
    table = np.zeros(0x110000, dtype=np.uint8)
    category = unicodedata.category
    for cp in range(0x110000):
        cat = category(chr(cp))
        if cat[0] in "LNM":
            table[cp] = WORD | (LOWER if cat == "Ll" else 0)
    table[ord("_")] = WORD
    for lo, hi in NOSPACE_RANGES:
        seg = table[lo : hi + 1]
        seg[seg != SEPARATOR] |= NOSPACE
    return table


@lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """Class bits of every code point (WORD, NOSPACE, LOWER; 0 for a separator).

    Built once from ``unicodedata`` and cached on disk per Unicode version
    (``~/.cache/neardup``)."""
    path = _cache_path()
    try:
        table = np.load(path)
        if table.shape == (0x110000,) and table.dtype == np.uint8:
            return table
    except (OSError, ValueError):
        pass
    table = _build_char_classes()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, table)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the rebuild next time
    return table


def prepare(text: str) -> str:
    """Steps 1–2 of the normalisation: NFKC, then case folding."""
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> list[str]:
    """The word tokens of ``text`` under the normalisation (reference implementation)."""
    table = char_classes()
    out: list[str] = []
    cur: list[str] = []
    for ch in prepare(text):
        if table[ord(ch)] != SEPARATOR:
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def normalize(text: str) -> str:
    """The normalised form of ``text``: NFKC, case-folded, tokens joined by single spaces.

    >>> normalize("  The QUICK—brown fox’s  ﬁne\\tday! ")
    'the quick brown fox s fine day'
    """
    return " ".join(tokens(text))
