"""Boilerplate: lines that repeat across a corpus — author bios, "Related stories" boxes, share
buttons, sign-offs — found, counted once per distinct context, and stripped.

Units
-----
Every line is normalised and hashed (:mod:`neardup.text.lines`); so is every *block* of two or
more lines (a paragraph between blank lines). A unit's *frequency* is the number of distinct
contexts it stands in (:mod:`neardup.boilerplate_counts`): near-duplicate documents are one
context for a unit when they are still near-duplicates without it, and a document outside any
cluster of near-duplicates is a context of its own. So the copies of an article count once for
each of its paragraphs — what keeps an article's own paragraphs safe when it was scraped twice;
the CCNet-style rule of deleting every line seen twice deletes them — while a long footer under
short notes counts once per note, though the footer alone makes the notes near-duplicates.

Which lines are boilerplate
---------------------------
A unit is *frequent* when its frequency reaches ``min_docs``, or ``long_min_docs`` when it has
more than ``long_words`` tokens (a long paragraph quoted in a few articles is a quotation, not a
widget). A line is stripped when

* its block has two or more lines and the block is frequent (the whole widget goes, its
  punctuation-only lines included); or
* the line itself is frequent and it is not a fragment of a sentence: it is *self-contained*.
  It *opens*: it is the first line of its block, or the line before ends a sentence and this one
  does not start lower-case; and it *closes*: it is the last line of its block, or it ends a
  sentence and the next line does not start lower-case.

The second condition protects hard-wrapped text such as Reuters bodies, where a line like
"said." or "The U.S. Agriculture Department" recurs in hundreds of articles as the tail or the
head of a sentence that runs across a line break. A line that ends in an abbreviation ("The
Federal Deposit Insurance Corp.", "the U.S.") does not end a sentence (:mod:`neardup.text.lines`):
it does not close, and the line after it opens only when it cannot be the rest of that sentence,
that is when it ends its block without ending a sentence itself — as the sign-off "Reuter" after
"… Shearson Lehman Brothers Inc." does, and "Agriculture Department said." after "the U.S." does
not. A stack of repeated menu lines inside one block goes when the whole block repeats; when it
is glued to varying text without a blank line, its lines are left alone, the safe side (tables,
such as Reuters' "Pay April 15" / "Record March 31" dividend rows, look the same).

Stripping a run of lines that sat between two blank lines also removes one of those blank lines,
so paragraphs stay separated by exactly one blank line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np

from neardup.text.lines import ABBREVIATION, STARTS_LOWER, TERMINAL, LineBatch, line_batch

#: Default minimum number of distinct contexts (copies of one article counting once) a line must
#: stand in (see README: measured on BBC News, Reuters-21578 and 20 Newsgroups).
DEFAULT_MIN_DOCS = 10
#: Lines or blocks with more tokens than this need ``DEFAULT_LONG_FACTOR`` times more contexts.
DEFAULT_LONG_WORDS = 40
DEFAULT_LONG_FACTOR = 5


def document_units(lb: LineBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct units of each document: ``(units, unit_tokens, counts_per_doc)``.

    Units are the hashes of lines with at least one token and of blocks of two or more lines."""
    return _units_kernel(
        lb.hashes,
        lb.tokens,
        lb.line_offsets,
        lb.block_of,
        lb.block_hashes,
        lb.block_tokens,
        lb.block_lines,
    )


@nb.njit(cache=True, nogil=True)
def _units_kernel(
    hashes: np.ndarray,
    tokens: np.ndarray,
    line_offsets: np.ndarray,
    block_of: np.ndarray,
    b_hash: np.ndarray,
    b_tokens: np.ndarray,
    b_lines: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_docs = line_offsets.size - 1
    units = np.empty(hashes.size + b_hash.size, dtype=np.uint64)
    unit_tokens = np.empty(hashes.size + b_hash.size, dtype=np.int64)
    counts = np.zeros(n_docs, dtype=np.int64)
    w = 0
    for d in range(n_docs):
        w0 = w
        last_block = -1
        for i in range(line_offsets[d], line_offsets[d + 1]):
            if tokens[i] > 0:
                units[w] = hashes[i]
                unit_tokens[w] = tokens[i]
                w += 1
            b = block_of[i]
            if b >= 0 and b != last_block:
                last_block = b
                if b_lines[b] >= 2 and b_tokens[b] > 0:
                    units[w] = b_hash[b]
                    unit_tokens[w] = b_tokens[b]
                    w += 1
        # distinct units of this document (insertion sort keeps it allocation-free; few units)
        seg = units[w0:w]
        tseg = unit_tokens[w0:w]
        order = np.argsort(seg)
        seg_sorted = seg[order]
        tseg_sorted = tseg[order]
        u = w0
        for k in range(seg_sorted.size):
            if k == 0 or seg_sorted[k] != seg_sorted[k - 1]:
                units[u] = seg_sorted[k]
                unit_tokens[u] = tseg_sorted[k]
                u += 1
        w = u
        counts[d] = u - w0
    return units[:w], unit_tokens[:w], counts


@dataclass(slots=True)
class UnitCounter:
    """Collects the distinct units of every document (hashes, not lines: 12 bytes a unit)."""

    units: list[np.ndarray] = field(default_factory=list)
    tokens: list[np.ndarray] = field(default_factory=list)
    counts: list[np.ndarray] = field(default_factory=list)

    def append(self, units: np.ndarray, tokens: np.ndarray, counts: np.ndarray) -> None:
        self.units.append(units)
        self.tokens.append(tokens.astype(np.int32))
        self.counts.append(counts)

    def select(self, keep: np.ndarray, batch_counts: np.ndarray) -> None:
        """Drop the last batch's documents whose ``keep`` is false."""
        units, tokens = self.units[-1], self.tokens[-1]
        starts = np.concatenate([[0], np.cumsum(batch_counts)])
        sel = np.flatnonzero(keep)
        idx: np.ndarray | list[int] = (
            np.concatenate([np.arange(starts[i], starts[i + 1]) for i in sel]) if sel.size else []
        )
        self.units[-1] = units[np.asarray(idx, dtype=np.int64)]
        self.tokens[-1] = tokens[np.asarray(idx, dtype=np.int64)]
        self.counts[-1] = batch_counts[sel]


@dataclass(frozen=True, slots=True)
class BoilerplateSet:
    """Frequent units: sorted hashes with their frequencies (see module docstring)."""

    units: np.ndarray
    frequency: np.ndarray
    min_docs: int
    long_words: int
    long_min_docs: int

    def frequency_of(self, unit: int) -> int:
        k = int(np.searchsorted(self.units, np.uint64(unit)))
        if k < self.units.size and self.units[k] == np.uint64(unit):
            return int(self.frequency[k])
        return 0

    def __len__(self) -> int:
        return int(self.units.size)


@nb.njit(inline="always", cache=True)
def _member(sorted_units: np.ndarray, x: np.uint64) -> bool | np.bool_:
    k = np.searchsorted(sorted_units, x)
    return k < sorted_units.size and sorted_units[k] == x


@nb.njit(cache=True, nogil=True)
def strip_mask_kernel(
    hashes: np.ndarray,
    tokens: np.ndarray,
    flags: np.ndarray,
    line_offsets: np.ndarray,
    block_of: np.ndarray,
    b_hash: np.ndarray,
    b_lines: np.ndarray,
    frequent: np.ndarray,
) -> np.ndarray:
    """True for every line that is boilerplate under the rules of the module docstring."""
    n = hashes.size
    freq_line = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if tokens[i] > 0 and _member(frequent, hashes[i]):
            freq_line[i] = True
    mask = np.zeros(n, dtype=np.bool_)
    for d in range(line_offsets.size - 1):
        lo, hi = line_offsets[d], line_offsets[d + 1]
        for i in range(lo, hi):
            b = block_of[i]
            if b < 0:
                continue
            if b_lines[b] >= 2 and _member(frequent, b_hash[b]):
                mask[i] = True
                continue
            if not freq_line[i]:
                continue
            first = i == lo or block_of[i - 1] != b
            last = i == hi - 1 or block_of[i + 1] != b
            # after "… Lehman Brothers Inc." a sign-off ends the block unpunctuated: it cannot be
            # the rest of the sentence, as "Agriculture Department said." after "the U.S." is
            after_stop = (flags[i - 1] & TERMINAL) != 0 or (
                (flags[i - 1] & ABBREVIATION) != 0 and last and (flags[i] & TERMINAL) == 0
            )
            opens = first or (after_stop and (flags[i] & STARTS_LOWER) == 0)
            closes = last or ((flags[i] & TERMINAL) != 0 and (flags[i + 1] & STARTS_LOWER) == 0)
            if opens and closes:
                mask[i] = True
    return mask


def strip_mask(lb: LineBatch, bset: BoilerplateSet) -> np.ndarray:
    """Boolean mask over the lines of a batch: which lines are boilerplate."""
    return strip_mask_kernel(
        lb.hashes,
        lb.tokens,
        lb.flags,
        lb.line_offsets,
        lb.block_of,
        lb.block_hashes,
        lb.block_lines,
        bset.units,
    )


def strip_lines(text: str, mask: np.ndarray) -> tuple[str, list[int]]:
    """``text`` without the lines where ``mask`` is true, and the removed line numbers
    (1-based, including blank separator lines removed with them).

    Where lines were removed, the kept lines on either side of the gap are looked at: if both are
    blank (whitespace only) — or the gap opens or closes the text next to a blank line — one blank
    line goes too, so paragraphs stay separated by exactly one blank line. Blank lines elsewhere
    are left as they were."""
    lines = text.split("\n")
    if len(mask) != len(lines):
        raise ValueError(f"mask has {len(mask)} entries for {len(lines)} lines")
    kept: list[int] = []
    removed: list[int] = []
    gap = False
    for i, line in enumerate(lines):
        if mask[i]:
            removed.append(i + 1)
            gap = True
            continue
        if gap and not line.strip() and (not kept or not lines[kept[-1]].strip()):
            removed.append(i + 1)  # the blank line left behind; the gap goes on
            continue
        gap = False
        kept.append(i)
    if gap and kept and not lines[kept[-1]].strip():
        removed.append(kept.pop() + 1)
    return "\n".join(lines[i] for i in kept), sorted(removed)


@dataclass(slots=True)
class StrippedBatch:
    """Result of :func:`strip_batch`."""

    texts: list[str]
    removed: list[list[int]]  # per document: removed line numbers (1-based)
    stripped_bytes: int
    examples: list[tuple[int, int, str, int]]  # (document, line hash, text, frequency)


def strip_batch(texts: list[str], bset: BoilerplateSet) -> StrippedBatch:
    """Strip the boilerplate lines of a batch of texts (see module docstring)."""
    if len(bset) == 0:
        return StrippedBatch(list(texts), [[] for _ in texts], 0, [])
    lb = line_batch(texts)
    mask = strip_mask(lb, bset)
    out: list[str] = []
    removed: list[list[int]] = []
    examples: list[tuple[int, int, str, int]] = []
    stripped_bytes = 0
    for d, text in enumerate(texts):
        lo, hi = int(lb.line_offsets[d]), int(lb.line_offsets[d + 1])
        m = mask[lo:hi]
        if not m.any():
            out.append(text)
            removed.append([])
            continue
        new, gone = strip_lines(text, m)
        out.append(new)
        removed.append(gone)
        stripped_bytes += len(text.encode("utf-8", "replace")) - len(new.encode("utf-8", "replace"))
        lines = text.split("\n")
        for k in np.flatnonzero(m).tolist():
            if lb.tokens[lo + k] == 0:
                continue
            h = int(lb.hashes[lo + k])
            freq = bset.frequency_of(h)
            b = int(lb.block_of[lo + k])
            if b >= 0 and lb.block_lines[b] >= 2:
                freq = max(freq, bset.frequency_of(int(lb.block_hashes[b])))
            examples.append((d, h, lines[k].strip(), freq))
    return StrippedBatch(out, removed, stripped_bytes, examples)


def batch_units(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct line and block units of every text of a batch (see :func:`document_units`)."""
    return document_units(line_batch(texts))


def apply_removed(text: str, removed: list[int]) -> str:
    """``text`` without the given 1-based line numbers (as recorded by :func:`strip_lines`)."""
    if not removed:
        return text
    gone = set(removed)
    return "\n".join(line for k, line in enumerate(text.split("\n"), 1) if k not in gone)


@dataclass(slots=True)
class BoilerplateTally:
    """What was stripped, per distinct line: text, frequency, documents, example ids."""

    lines: dict[int, list[Any]] = field(default_factory=dict)  # hash -> [text, freq, docs, ids]
    lines_stripped: int = 0
    bytes_stripped: int = 0
    documents: int = 0

    def add(self, doc_id: object, line_hash: int, text: str, freq: int) -> None:
        entry = self.lines.get(line_hash)
        if entry is None:
            entry = self.lines[line_hash] = [text, freq, 0, []]
        entry[2] += 1
        if len(entry[3]) < 3 and (not entry[3] or entry[3][-1] != doc_id):
            entry[3].append(doc_id)

    def top(self, n: int = 20) -> list[dict[str, Any]]:
        """The ``n`` lines stripped from the most documents."""
        rows = sorted(self.lines.values(), key=lambda e: (-e[2], -e[1], e[0]))[:n]
        return [
            {"line": text, "clusters": freq, "documents": docs, "examples": ids}
            for text, freq, docs, ids in rows
        ]
