"""Where a shared run may be cut: sentence, line and paragraph boundaries, never inside a word.

A token *opens a segment* when it is the document's first token, or when the gap between it and
the previous token holds

* a blank line (a paragraph break);
* a line break followed by indentation, a bullet or a quote mark (``- * • > | # +``): a new
  paragraph, list item, table row or quote level of hard-wrapped text (an opening bracket or
  quotation mark at a line start may be a wrapped sentence going on, and opens nothing);
* a line break after sentence-final punctuation (``. ! ?``): the line ended a sentence;
* sentence-final punctuation followed by white space, when the word before it is not an
  abbreviation (a single letter as in "J." or "U.S.", or a word of :data:`ABBREVIATIONS`) and the
  token does not start with a lower-case letter ("e.g. the" goes on);
* a CJK full stop, exclamation or question mark, which need no space.

A single line break inside a sentence, as in hard-wrapped newswire, opens nothing. A cut covers
whole segments: a shared run of tokens ``[a, b)`` is snapped *inward* to ``[s, e)``, where ``s``
is the first segment opening at or after ``a`` and ``e`` the last one at or before ``b`` (or the
document's end when the run reaches it). The cut's characters run from the segment's first
visible character (an opening quote or bracket before the first word included) to the same point
of the next segment, so the white space after a cut paragraph goes with it and the text around
stays separated as it was. Every cut boundary is at a token start, in a gap between tokens or at
an end of the text, so no word is ever split.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from neardup.text.normalize import char_classes

if TYPE_CHECKING:
    from neardup.sharedtext.tokens import TokenBatch


@nb.njit(inline="always", cache=True)
def _space(cp: int | np.uint32) -> bool:
    return cp == 0x20 or cp == 0x09 or cp == 0x0A or cp == 0x0D or cp == 0xA0 or cp == 0x3000


#: Words that end in a full stop without ending a sentence (compared case-insensitively).
ABBREVIATIONS = (  # noqa: SIM905 - one readable word list
    "mr mrs ms messrs dr prof rev hon sen rep gov gen col lt maj capt sgt jr sr st mt ft "
    "corp inc ltd co cos bros plc llc dept no nos vs approx est fig "
    "jan feb apr jun jul aug sep sept oct nov dec"
).split()


@lru_cache(maxsize=1)
def abbreviation_hashes() -> np.ndarray:
    """Sorted token hashes of :data:`ABBREVIATIONS`."""
    from neardup.sharedtext.tokens import tokenize

    return np.unique(tokenize(list(ABBREVIATIONS)).hashes)


@nb.njit(inline="always", cache=True)
def _is_abbreviation(
    h: np.uint64, length: int, first: int, cls: int, sorted_hashes: np.ndarray
) -> bool:
    """A single letter (not a digit, not a character of a script without spaces) or a word of
    :data:`ABBREVIATIONS`."""
    if length == 1:
        return not (0x30 <= first <= 0x39) and (cls & 2) == 0
    i = np.searchsorted(sorted_hashes, h)
    return bool(i < sorted_hashes.size and sorted_hashes[i] == h)


@nb.njit(inline="always", cache=True)
def _marks_line(cp: int | np.uint32) -> bool:
    """Indentation, a bullet or a quote mark at the start of a line: - * • > | # +"""
    return (
        cp == 0x20
        or cp == 0x09
        or cp == 0x2D
        or cp == 0x2A
        or cp == 0x2022
        or cp == 0x3E
        or cp == 0x7C
        or cp == 0x23
        or cp == 0x2B
    )


@nb.njit(cache=True, nogil=True)
def opens_kernel(
    cps: np.ndarray,
    cp_off: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    tok_off: np.ndarray,
    hashes: np.ndarray,
    abbreviations: np.ndarray,
    classes: np.ndarray,
) -> np.ndarray:
    """Whether each token opens a segment (see the module docstring); ``hashes`` are the token
    hashes, ``classes`` the table of :func:`neardup.text.normalize.char_classes`."""
    out = np.zeros(starts.size, dtype=np.bool_)
    for d in range(tok_off.size - 1):
        base = cp_off[d]
        t0, t1 = tok_off[d], tok_off[d + 1]
        if t1 > t0:
            out[t0] = True
        for t in range(t0 + 1, t1):
            g0, g1 = base + ends[t - 1], base + starts[t]
            terminal = False  # sentence-final punctuation seen in the gap
            spaced = False  # … followed by white space
            newlines = 0
            after_newline = -1  # first character after the last line break
            cjk = False
            for i in range(g0, g1):
                c = cps[i]
                if c == 0x0A:
                    newlines += 1
                    after_newline = i + 1
                elif c == 0x3002 or c == 0xFF01 or c == 0xFF1F:
                    cjk = True
                elif c == 0x2E or c == 0x21 or c == 0x3F:
                    terminal = True
                elif terminal and _space(c):
                    spaced = True
            if cjk:
                out[t] = True
                continue
            if newlines:
                blank = newlines >= 2
                lead = after_newline < g1 and _marks_line(cps[after_newline])
                if blank or lead or terminal:
                    out[t] = True
                continue
            if spaced:
                first = cps[g1]
                lower = first < classes.size and (classes[first] & 4) != 0
                p0 = cps[base + starts[t - 1]]
                p_cls = classes[p0] if p0 < classes.size else 0
                prev_len = ends[t - 1] - starts[t - 1]
                if not lower and not _is_abbreviation(
                    hashes[t - 1], prev_len, p0, p_cls, abbreviations
                ):
                    out[t] = True
    return out


def openings(cps: np.ndarray, cp_off: np.ndarray, tokens: TokenBatch) -> np.ndarray:
    """:func:`opens_kernel` for a batch: ``cps``/``cp_off`` as
    :func:`neardup.sharedtext.tokens.code_points` gives them."""
    return opens_kernel(
        cps,
        cp_off,
        tokens.starts,
        tokens.ends,
        tokens.offsets,
        tokens.hashes,
        abbreviation_hashes(),
        char_classes(),
    )


@dataclass(frozen=True, slots=True)
class Cut:
    """One cut: characters ``[start, end)`` and tokens ``[tok_start, tok_end)`` of a document,
    found in ``source`` at tokens ``[src_start, src_start + tok_end - tok_start)``."""

    start: int
    end: int
    tok_start: int
    tok_end: int
    source: int
    src_start: int

    @property
    def words(self) -> int:
        return self.tok_end - self.tok_start


def snap(runs: np.ndarray, opens: np.ndarray, n_tokens: int) -> list[tuple[int, int, int, int]]:
    """Token-level cuts ``(s, e, source, source_start)`` of one document's runs (sorted by
    start), snapped inward to segment openings; overlapping runs are trimmed so that every token
    is cut at most once, the earlier run keeping the overlap."""
    n = runs.size
    g, s, e, src, st = snap_kernel(
        np.zeros(n, np.int64),
        runs["start"].astype(np.int64),
        runs["end"].astype(np.int64),
        runs["src"].astype(np.int64),
        runs["src_start"].astype(np.int64),
        np.asarray(opens, dtype=np.bool_),
        np.array([0, opens.size], dtype=np.int64),
    )
    del g, n_tokens
    return list(zip(s.tolist(), e.tolist(), src.tolist(), st.tolist(), strict=True))


@nb.njit(cache=True, nogil=True)
def snap_kernel(
    group: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    src: np.ndarray,
    src_start: np.ndarray,
    opens: np.ndarray,
    opens_off: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`snap` for many documents at once: runs sorted by ``(group, start)``, where group
    ``g`` owns ``opens[opens_off[g]:opens_off[g + 1]]``; returns ``(group, s, e, source,
    source_start)`` per cut."""
    n = group.size
    o_g = np.empty(n, np.int64)
    o_s = np.empty(n, np.int64)
    o_e = np.empty(n, np.int64)
    o_src = np.empty(n, np.int64)
    o_st = np.empty(n, np.int64)
    m = 0
    covered = 0
    prev = -1
    for r in range(n):
        g = group[r]
        if g != prev:
            covered = 0
            prev = g
        base = opens_off[g]
        n_tok = opens_off[g + 1] - base
        a = max(start[r], covered)
        b = end[r]
        s = a
        while s < n_tok and not opens[base + s]:
            s += 1
        if s >= n_tok:
            continue
        if b >= n_tok:
            e = n_tok
        else:
            e = b
            while e > s and not opens[base + e]:
                e -= 1
        if e <= s:
            continue
        o_g[m] = g
        o_s[m] = s
        o_e[m] = e
        o_src[m] = src[r]
        o_st[m] = src_start[r] + s - start[r]
        m += 1
        covered = e
    return o_g[:m], o_s[:m], o_e[:m], o_src[:m], o_st[:m]


_TERMINALS = frozenset(".!?\u3002\uff01\uff1f")


def _lead(text: str, pos: int, floor: int) -> int:
    """Back from a token start over the visible characters that open it (an opening quote, a
    bullet), stopping at white space, a word character, sentence-final punctuation or
    ``floor`` (the end of the previous token)."""
    while pos > floor:
        c = text[pos - 1]
        if c.isspace() or c.isalnum() or c in _TERMINALS:
            break
        pos -= 1
    return pos


def char_span(
    text: str,
    starts: np.ndarray,
    ends: np.ndarray,
    s: int,
    e: int,
    n_tokens: int,
    floor: int = 0,
) -> tuple[int, int]:
    """Characters of the token-level cut ``[s, e)`` of ``text`` (see the module docstring);
    ``floor`` is the end of the document's previous cut, which this one never reaches back
    over."""
    return span_chars(text, boundary_offsets(starts, ends, s, e, n_tokens), floor)


def boundary_offsets(
    starts: np.ndarray, ends: np.ndarray, s: int, e: int, n_tokens: int
) -> tuple[int, int, int, int]:
    """What :func:`span_chars` needs of a cut ``[s, e)``: the start of token ``s`` and the end
    of the token before it, the start of token ``e`` and the end of the token before it (-1
    where there is no such token)."""
    return (
        int(starts[s]) if s < n_tokens else -1,
        int(ends[s - 1]) if s > 0 else -1,
        int(starts[e]) if e < n_tokens else -1,
        int(ends[e - 1]) if e > 0 else -1,
    )


_QUOTE_PREFIX = frozenset(" \t>|")


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_" or unicodedata.category(c)[0] == "M"


def span_chars(text: str, at: tuple[int, int, int, int], floor: int = 0) -> tuple[int, int]:
    """Characters of a cut from its :func:`boundary_offsets` (see :func:`char_span`).

    The cut starts at its first word, with the visible characters that open it (a quote mark,
    a bracket, a bullet), and with a line's quote prefix (``> ``, ``| ``) when it starts a line.
    It ends after its last word and the punctuation that closes it. A cut that starts a line
    also takes the white space after it up to the next line, so the line after it keeps its
    place; a cut inside a line takes the spaces before it instead; a cut to the end of the
    text takes all the white space before it. ``floor`` is the end of the document's previous
    cut, which this one never reaches back over."""
    s_start, before_s, e_start, before_e = at
    if before_s < 0:
        begin = 0
        low = 0
    else:
        low = max(floor, before_s)
        begin = _lead(text, s_start, low)
        j = begin
        while j > low and text[j - 1] in _QUOTE_PREFIX:
            j -= 1
        if j > low and text[j - 1] == "\n":
            begin = j
    if e_start < 0:
        if before_s >= 0:  # a cut to the end also takes the white space before it
            while begin > low and text[begin - 1].isspace():
                begin -= 1
        return begin, len(text)
    end = before_e
    while end < e_start and not text[end].isspace() and not _is_word(text[end]):
        end += 1  # the punctuation that closes the last word
    if begin == 0 or text[begin - 1] == "\n":
        k = end
        newline = False
        while k < e_start and text[k].isspace():
            k += 1
            if text[k - 1] == "\n":
                end = k  # up to and with the last line break, not the next line's indentation
                newline = True
        if not newline:
            end = k
    else:
        while begin > low and text[begin - 1] in " \t":
            begin -= 1
    return begin, end


def char_spans(
    text: str,
    starts: np.ndarray,
    ends: np.ndarray,
    cuts: Iterable[tuple[int, int]],
    n_tokens: int,
) -> list[tuple[int, int]]:
    """Characters of each of a document's token-level cuts ``(s, e)`` (sorted, disjoint): sorted,
    disjoint spans, so that a cut to the end right after another cut does not take the white
    space that the other one ends with."""
    out: list[tuple[int, int]] = []
    floor = 0
    for s, e in cuts:
        begin, end = char_span(text, starts, ends, s, e, n_tokens, floor)
        out.append((begin, end))
        floor = end
    return out


def spans_at(text: str, ats: Iterable[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """:func:`char_spans` from each cut's :func:`boundary_offsets` (sorted, disjoint cuts)."""
    out: list[tuple[int, int]] = []
    floor = 0
    for at in ats:
        begin, end = span_chars(text, at, floor)
        out.append((begin, end))
        floor = end
    return out


def apply_cuts(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the character spans (sorted, disjoint)."""
    parts, at = [], 0
    for a, b in spans:
        parts.append(text[at:a])
        at = b
    parts.append(text[at:])
    return "".join(parts)
