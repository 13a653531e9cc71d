"""Steps 1–2 of the normalisation (NFKC, then case folding) one character at a time.

:func:`neardup.text.normalize.prepare` works on whole strings, under the GIL. For most text it
is the same as replacing each character ``c`` by ``casefold(NFKC(c))`` on its own, which the
compiled kernels can do over UTF-8 bytes. This module says for which characters that holds.

A character is *safe* when it has canonical combining class 0, is not the second character of
any two-character canonical decomposition (so nothing before it can compose with it; the
Hangul vowel and trailing jamo count as such, their composition being algorithmic), and is not
a surrogate. A character is *foldable* when it is safe and every character of ``NFKC(c)`` is
safe. Then, for a text made only of foldable characters:

* NFKC changes nothing across character boundaries: composition needs a second character that
  composes with what precedes it, and canonical reordering needs a combining class other than
  0 (UAX #15, sections 3 and 9), so ``NFKC(text)`` is the concatenation of ``NFKC(c)``;
* CPython's ``str.casefold`` maps each character on its own (full case folding, no context), so
  ``casefold`` distributes over the concatenation too.

A text holding any other character (a combining accent, a Hangul jamo, a lone surrogate) is
prepared by :func:`~neardup.text.normalize.prepare` as a whole. ``tests/unit/test_fold.py``
checks the per-character rule against ``prepare`` on random strings and on every foldable
character next to others.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

#: :attr:`FoldTable.kind` values: the character stays as it is; it becomes the characters
#: :meth:`FoldTable.mapped` gives; the whole text must go through ``prepare``.
KEEP, MAPPED, UNSAFE = 0, 1, 2

#: Hangul medial vowels and final consonants: they compose with what precedes them
#: algorithmically (Unicode 15, section 3.12), so the decomposition table does not list them.
_HANGUL_SECONDS = (range(0x1161, 0x1176), range(0x11A8, 0x11C3))


@dataclass(frozen=True, slots=True)
class FoldTable:
    """``kind[cp]`` is KEEP, MAPPED or UNSAFE; a MAPPED code point ``keys[i]`` becomes
    ``values[offsets[i]:offsets[i + 1]]`` (``keys`` sorted)."""

    kind: np.ndarray
    keys: np.ndarray
    offsets: np.ndarray
    values: np.ndarray

    def mapped(self, cp: int) -> str:
        i = int(np.searchsorted(self.keys, cp))
        return "".join(chr(v) for v in self.values[self.offsets[i] : self.offsets[i + 1]])


def _composing_seconds() -> set[int]:
    seconds: set[int] = set()
    for cp in range(0x110000):
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2:
                seconds.add(int(parts[1], 16))
    for r in _HANGUL_SECONDS:
        seconds.update(r)
    return seconds


def _build() -> FoldTable:
    seconds = _composing_seconds()

    def safe(ch: str) -> bool:
        cp = ord(ch)
        return unicodedata.combining(ch) == 0 and cp not in seconds and not 0xD800 <= cp < 0xE000

    kind = np.zeros(0x110000, dtype=np.uint8)
    keys: list[int] = []
    values: list[int] = []
    offsets = [0]
    for cp in range(0x80, 0x110000):
        ch = chr(cp)
        if not safe(ch):
            kind[cp] = UNSAFE
            continue
        nfkc = unicodedata.normalize("NFKC", ch)
        if not all(safe(x) for x in nfkc):
            kind[cp] = UNSAFE
            continue
        folded = nfkc.casefold()
        if folded != ch:
            kind[cp] = MAPPED
            keys.append(cp)
            values.extend(ord(x) for x in folded)
            offsets.append(len(values))
    return FoldTable(
        kind,
        np.asarray(keys, dtype=np.int64),
        np.asarray(offsets, dtype=np.int64),
        np.asarray(values, dtype=np.int64),
    )


def _cache_path() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "neardup" / f"fold-v1-{unicodedata.unidata_version}.npz"


@lru_cache(maxsize=1)
def fold_table() -> FoldTable:
    """The fold table of this Python's Unicode version; built once (about a second) and cached
    on disk next to the character classes (``~/.cache/neardup``). ASCII is KEEP here: the
    kernels lower A–Z themselves."""
    path = _cache_path()
    try:
        with np.load(path) as z:
            table = FoldTable(z["kind"], z["keys"], z["offsets"], z["values"])
        if table.kind.shape == (0x110000,) and table.offsets.size == table.keys.size + 1:
            return table
    except (OSError, ValueError, KeyError):
        pass
    table = _build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, kind=table.kind, keys=table.keys, offsets=table.offsets, values=table.values)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the rebuild next time
    return table
