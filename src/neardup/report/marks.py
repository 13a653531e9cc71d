"""Texts with marked character spans, as escaped HTML, for the report's examples.

:func:`shared_spans` finds where two texts share words: every word k-gram (the tokens of
:mod:`neardup.sharedtext.tokens`, case folded) that stands in both marks its words, so the marks
show the text that containment counts. :func:`marked_html` writes a text with spans wrapped in an
element; every character of the text is escaped, and long unmarked stretches may be shortened to
their ends. :data:`CSS` styles both, and is inlined by the pages that use them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

#: Unmarked characters kept at each end of a shortened unmarked stretch.
KEEP_AROUND = 240

CSS = """
mark { background: #fde68a; color: inherit; padding: 0; border-radius: 2px; }
.doc del.cut { background: var(--del); color: #7f1d1d; text-decoration: line-through;
  text-decoration-color: #dc2626; }
.doc del.cut sup, .cut-list .n { font: 10px/1 system-ui, sans-serif; color: #b91c1c;
  font-weight: 600; }
.doc .gap { color: var(--muted); font-style: italic; background: #f1f5f9; }
.example { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px 12px; margin-bottom: 14px; }
.example h4 { margin: 4px 0; font-size: 15px; overflow-wrap: anywhere; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.pair h5 { margin: 6px 0 4px; font-size: 13px; color: #334155; overflow-wrap: anywhere; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
.cut-list { margin: 8px 0 0; padding: 0; list-style: none; }
.cut-list li { margin: 6px 0; }
.cut-list .doc { max-height: 160px; }
td.preview { color: #334155; max-width: 640px; overflow-wrap: anywhere; }
"""


def shared_spans(a: str, b: str, k: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of ``a`` and of ``b`` made of words that belong to a word ``k``-gram
    standing in both texts (sorted, disjoint; adjacent marked words join into one span)."""
    from neardup.sharedtext.tokens import tokenize
    from neardup.sharedtext.winnow import kgram_kernel

    tb = tokenize([a, b])
    k = max(1, int(k))
    grams, offsets = kgram_kernel(tb.hashes, tb.offsets, k)
    ga, gb = grams[offsets[0] : offsets[1]], grams[offsets[1] : offsets[2]]
    out = []
    for d, (mine, other) in enumerate(((ga, gb), (gb, ga))):
        _, starts, ends = tb.doc(d)
        hit = np.isin(mine, other)
        # token i is covered when a shared k-gram starts at one of i-k+1 .. i
        cover = np.zeros(starts.size + 1, dtype=np.int64)
        at = np.flatnonzero(hit)
        np.add.at(cover, at, 1)
        np.add.at(cover, np.minimum(at + k, starts.size), -1)
        covered = np.cumsum(cover[:-1]) > 0
        out.append(_runs(covered, starts, ends))
    return out[0], out[1]


def _runs(covered: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """Character spans of the runs of covered tokens."""
    if not covered.any():
        return []
    flags = np.concatenate([[False], covered, [False]]).astype(np.int8)
    edges = np.diff(flags)
    first = np.flatnonzero(edges == 1)
    last = np.flatnonzero(edges == -1) - 1
    return [(int(starts[s]), int(ends[e])) for s, e in zip(first, last, strict=True)]


def covered_chars(spans: Sequence[tuple[int, int]]) -> int:
    return sum(b - a for a, b in spans)


def marked_html(
    text: str,
    spans: Sequence[tuple[int, int]],
    *,
    tag: str = "mark",
    cls: str = "",
    labels: Sequence[str] | None = None,
    shorten_over: int | None = None,
) -> str:
    """``text`` as escaped HTML with each of ``spans`` (sorted, disjoint, clipped to the text)
    wrapped in ``<tag class="cls">``; ``labels[i]`` (escaped) opens span ``i`` as a ``<sup>``.
    With ``shorten_over``, an unmarked stretch longer than that keeps only its ends."""
    parts: list[str] = []
    attr = f' class="{html.escape(cls)}"' if cls else ""
    at = 0
    for i, (a, b) in enumerate(spans):
        a, b = max(at, min(a, len(text))), max(at, min(b, len(text)))
        parts.append(_plain(text[at:a], shorten_over, first=at == 0, last=False))
        label = f"<sup>{html.escape(labels[i])}</sup>" if labels is not None else ""
        parts.append(f"<{tag}{attr}>{label}{html.escape(text[a:b])}</{tag}>")
        at = b
    parts.append(_plain(text[at:], shorten_over, first=at == 0, last=True))
    return "".join(parts)


def _plain(chunk: str, limit: int | None, *, first: bool, last: bool) -> str:
    """An unmarked stretch, escaped; shortened when it is longer than ``limit`` (the text's
    first stretch keeps only its end, the last only its beginning)."""
    if limit is None or len(chunk) <= limit:
        return html.escape(chunk)
    head = "" if first else chunk[:KEEP_AROUND]
    tail = "" if last else chunk[-KEEP_AROUND:]
    if first and last:
        head = chunk[:KEEP_AROUND]
    gap = len(chunk) - len(head) - len(tail)
    if gap < 80:
        return html.escape(chunk)
    return (
        html.escape(head)
        + f'<span class="gap">[… {gap:,} characters not marked …]</span>'
        + html.escape(tail)
    )


def preview(text: str | None, chars: int = 200) -> str:
    """The beginning of ``text`` on one line, escaped (an en dash when the text is unknown)."""
    if text is None:
        return '<span class="na">–</span>'
    flat = " ".join(text[: chars * 2].split())
    return html.escape(flat[:chars] + ("…" if len(flat) > chars or len(text) > chars * 2 else ""))
