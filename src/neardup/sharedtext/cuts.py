"""Where a shared run may be cut: sentence, line and paragraph boundaries, never inside a word.

A token *opens a segment* when it is the document's first token, or when the gap between it and
the previous token holds a line break, or sentence-final punctuation (``. ! ?`` followed by
white space, or a CJK full stop, exclamation or question mark, which need none). A cut covers
whole segments: a shared run of tokens ``[a, b)`` is snapped *inward* to ``[s, e)``, where ``s``
is the first segment opening at or after ``a`` and ``e`` the last one at or before ``b`` (or the
document's end when the run reaches it). The cut's characters run from the segment's first
visible character (an opening quote or bracket before the first word included) to the same point
of the next segment, so the white space after a cut paragraph goes with it and the text around
stays separated as it was. Every cut boundary is at a token start, in a gap between tokens or at
an end of the text, so no word is ever split.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numba as nb
import numpy as np


@nb.njit(inline="always", cache=True)
def _space(cp: int | np.uint32) -> bool:
    return cp == 0x20 or cp == 0x09 or cp == 0x0A or cp == 0x0D or cp == 0xA0 or cp == 0x3000


@nb.njit(cache=True, nogil=True)
def opens_kernel(
    cps: np.ndarray, cp_off: np.ndarray, starts: np.ndarray, ends: np.ndarray, tok_off: np.ndarray
) -> np.ndarray:
    """Whether each token opens a segment (see the module docstring)."""
    out = np.zeros(starts.size, dtype=np.bool_)
    for d in range(tok_off.size - 1):
        base = cp_off[d]
        t0, t1 = tok_off[d], tok_off[d + 1]
        if t1 > t0:
            out[t0] = True
        for t in range(t0 + 1, t1):
            g0, g1 = base + ends[t - 1], base + starts[t]
            terminal = False
            for i in range(g0, g1):
                c = cps[i]
                if c == 0x0A or c == 0x3002 or c == 0xFF01 or c == 0xFF1F:
                    out[t] = True
                    break
                if c == 0x2E or c == 0x21 or c == 0x3F:
                    terminal = True
                elif terminal and _space(c):
                    out[t] = True
                    break
    return out


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
    starts = np.flatnonzero(opens)
    out: list[tuple[int, int, int, int]] = []
    covered = 0
    for run in runs:
        a, b = int(run["start"]), int(run["end"])
        a = max(a, covered)
        i = int(np.searchsorted(starts, a, side="left"))
        if i >= starts.size:
            continue
        s = int(starts[i])
        if b >= n_tokens:
            e = n_tokens
        else:
            j = int(np.searchsorted(starts, b, side="right")) - 1
            e = int(starts[j]) if j >= 0 else 0
        if e <= s:
            continue
        out.append((s, e, int(run["src"]), int(run["src_start"]) + s - int(run["start"])))
        covered = e
    return out


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
    begin = 0 if s == 0 else _lead(text, int(starts[s]), int(ends[s - 1]))
    if e >= n_tokens:
        end = len(text)
        if s > 0:  # a cut to the end also takes the white space before it
            floor = max(floor, int(ends[s - 1]))
            while begin > floor and text[begin - 1].isspace():
                begin -= 1
    else:
        end = _lead(text, int(starts[e]), int(ends[e - 1]))
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


def apply_cuts(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the character spans (sorted, disjoint)."""
    parts, at = [], 0
    for a, b in spans:
        parts.append(text[at:a])
        at = b
    parts.append(text[at:])
    return "".join(parts)
