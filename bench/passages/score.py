"""Scoring of a passage-dedup tool's output against the planted ground truth.

The same for every tool, from its output text alone: each tool only deletes text, so walking an
original text and its output side by side gives the removed character ranges (a document absent
from the output is removed whole). Characters are counted without whitespace, so whether a tool
also takes the line break after a cut does not matter.

* recall: copies that should go (every copy of a passage but the first in input order) with at
  least 90% of their characters removed; recall (chars): the share of their characters removed;
* precision (chars): removed characters that lie in such copies / all removed characters;
* precision (cuts): cuts (maximal removed ranges; a document removed whole is one cut) with at
  least 50% of their characters in such copies;
* one copy survives: passages where exactly one copy keeps at least 90% of its characters;
* mid-word cuts: cut boundaries with word characters on both sides in the original text (a cut
  whose exact place is ambiguous, e.g. "ab|cab" vs "abc|ab", is placed to avoid this if it can);
* hard negatives: removed share of the hard-negative text (should be 0); ``other``: removed share
  of the native text that was never planted.

Text inside ``> ``-prefixed quotes (kind ``quote_prefixed``) is neutral: it counts in no number
but its own (the share of such quotes removed).
"""

from __future__ import annotations

import gzip
import json
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

REMOVE_KINDS = ("quote", "syndicated", "footer")
NEUTRAL_KINDS = ("quote_prefixed",)
HARD_KINDS = ("hn_paraphrase", "hn_template", "hn_numbers")
_WORDCHAR = re.compile(r"[^\W_]")  # letters and digits: "_" is emphasis, not a letter


def nonws(s: str) -> int:
    """Number of non-whitespace characters."""
    return len("".join(s.split()))


def read_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


# ---------------------------------------------------------------------------------------------
# Alignment: which characters of the original did a deletion-only tool remove?
# ---------------------------------------------------------------------------------------------


def _common_prefix(o: str, i: int, t: str, j: int) -> int:
    """Length of the common prefix of o[i:] and t[j:] (slice compares: doubling, then bisect)."""
    hi = min(len(o) - i, len(t) - j)
    if o[i : i + hi] == t[j : j + hi]:
        return hi
    step, lo = 16, 0
    while step < hi and o[i : i + step] == t[j : j + step]:
        lo, step = step, step * 2
    hi = min(step, hi)
    while lo < hi:  # o[i:i+lo] equal, o[i:i+hi] not
        mid = (lo + hi + 1) // 2
        if o[i : i + mid] == t[j : j + mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _greedy(o: str, t: str) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    j = 0
    start = None
    for i, c in enumerate(o):
        if j < len(t) and c == t[j]:
            j += 1
            if start is not None:
                ranges.append((start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        ranges.append((start, len(o)))
    if j != len(t):
        raise ValueError("output is not a subsequence of the input")
    return ranges


def removed_ranges(o: str, t: str) -> list[tuple[int, int]]:
    """Maximal ranges of ``o`` deleted to give ``t`` (``t`` must be a subsequence of ``o``).

    Where the output resumes after a deletion is found with probes of falling length (64, 16,
    4, 1 characters), taking the candidate that then agrees longest; the result is verified,
    with difflib's matching blocks, then a plain greedy walk as fallbacks (counted in
    ``ALIGN_STATS``).
    """
    if o == t:
        return []
    if not t:
        return [(0, len(o))] if o else []
    ranges: list[tuple[int, int]] = []
    i = j = 0
    try:
        while j < len(t):
            k = _common_prefix(o, i, t, j)
            i, j = i + k, j + k
            if j == len(t):
                break
            pos = _resume(o, i + 1, t, j)
            ranges.append((i, pos))
            i = pos
        if i < len(o):
            ranges.append((i, len(o)))
        if _apply(o, ranges) != t:
            raise ValueError
        ALIGN_STATS["probe"] += 1
        return ranges
    except ValueError:
        pass
    blocks = SequenceMatcher(None, o, t, autojunk=False).get_matching_blocks()
    if sum(b.size for b in blocks) == len(t):
        ALIGN_STATS["difflib"] += 1
        ranges, last = [], 0
        for b in blocks:
            if b.a > last:
                ranges.append((last, b.a))
            last = b.a + b.size
        if last < len(o):
            ranges.append((last, len(o)))
        return ranges
    ALIGN_STATS["greedy"] += 1
    return _greedy(o, t)


ALIGN_STATS = {"probe": 0, "difflib": 0, "greedy": 0}


def _resume(o: str, i: int, t: str, j: int) -> int:
    """Smallest-risk position >= i in ``o`` where ``t[j:]`` continues."""
    for size in (64, 16, 4, 1):
        key = t[j : j + size]
        best, best_run, tries = -1, -1, 0
        pos = o.find(key, i)
        while pos >= 0 and tries < 64:
            run = _common_prefix(o, pos, t, j)
            if j + run == len(t) or run >= 400:
                return pos
            if run > best_run:
                best, best_run = pos, run
            pos = o.find(key, pos + 1)
            tries += 1
        if best >= 0:
            return best
    raise ValueError("no resume point")


def _apply(o: str, ranges: Iterable[tuple[int, int]]) -> str:
    out, last = [], 0
    for a, b in ranges:
        out.append(o[last:a])
        last = b
    out.append(o[last:])
    return "".join(out)


def merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _is_word(c: str) -> bool:
    return bool(_WORDCHAR.match(c))


def _midword(o: str, a: int, b: int) -> int:
    """Boundaries of the cut [a, b) that split a word."""
    n = 0
    if 0 < a < len(o) and _is_word(o[a - 1]) and _is_word(o[a]):
        n += 1
    if 0 < b < len(o) and _is_word(o[b - 1]) and _is_word(o[b]):
        n += 1
    return n


def place_cut(
    o: str, a: int, b: int, left: int = 0, right: int | None = None
) -> tuple[int, int, int]:
    """Among the equivalent places of a deletion (same output), the one splitting fewest words.

    The deletion stays within [left, right) (clear of its neighbours).
    """
    right = len(o) if right is None else right
    lo, hi = a, a
    while lo > left and o[lo - 1] == o[lo - 1 + (b - a)]:
        lo -= 1
    while hi + (b - a) < right and o[hi] == o[hi + (b - a)]:
        hi += 1
    best = (a, b, _midword(o, a, b))
    if best[2] == 0 or (lo == a and hi == a):
        return best
    for s in range(lo, hi + 1):
        m = _midword(o, s, s + (b - a))
        if m < best[2]:
            best = (s, s + (b - a), m)
            if m == 0:
                break
    return best


# ---------------------------------------------------------------------------------------------
# Truth
# ---------------------------------------------------------------------------------------------


@dataclass
class Truth:
    copies: dict[str, list[dict]]  # passage -> copies (kinds in REMOVE_KINDS)
    by_doc: dict[str, list[dict]]  # doc id -> every truth span in it
    kinds: dict[str, int] = field(default_factory=dict)


def load_truth(path: Path) -> Truth:
    copies: dict[str, list[dict]] = defaultdict(list)
    by_doc: dict[str, list[dict]] = defaultdict(list)
    kinds: dict[str, int] = defaultdict(int)
    for t in read_jsonl(path):
        kinds[t["kind"]] += 1
        by_doc[t["id"]].append(t)
        if t["kind"] in REMOVE_KINDS:
            copies[t["passage"]].append(t)
    return Truth(copies=dict(copies), by_doc=dict(by_doc), kinds=dict(kinds))


def label(t: dict) -> str:
    """Class of a truth span: remove, keep (a first copy), neutral or hard."""
    if t["kind"] in REMOVE_KINDS:
        return "keep" if t["first"] else "remove"
    if t["kind"] in NEUTRAL_KINDS:
        return "neutral"
    return "hard"


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _overlap(o: str, ranges: list[tuple[int, int]], s: int, e: int, starts: list[int]) -> int:
    """Non-whitespace characters of o[s:e] inside the (sorted, disjoint) ranges."""
    total = 0
    k = max(0, bisect_left(starts, s) - 1)
    while k < len(ranges) and ranges[k][0] < e:
        a, b = ranges[k]
        lo, hi = max(a, s), min(b, e)
        if lo < hi:
            total += nonws(o[lo:hi])
        k += 1
    return total


def score(
    corpus: Path, truth: Truth, outputs: dict[str, str], spans: dict[str, list] | None = None
) -> dict:
    """Score one tool. ``outputs`` maps id -> output text (absent: removed whole)."""
    ALIGN_STATS.update(probe=0, difflib=0, greedy=0)
    removed_by_copy: dict[tuple[str, int], float] = {}  # (doc, start) -> removed fraction
    chars = defaultdict(int)  # removed non-ws chars by class, plus totals by class
    cuts = {"total": 0, "tp": 0, "neutral": 0, "midword_cuts": 0, "midword_boundaries": 0}
    docs_removed = docs_cut = 0
    hard_by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    span_check = {"docs": 0, "agree": 0}
    for rec in read_jsonl(corpus):
        did, o = rec["id"], rec["text"]
        t_spans = truth.by_doc.get(did, [])
        out = outputs.get(did)
        if out is None:
            ranges = [(0, len(o))] if o else []
            docs_removed += 1
        else:
            ranges = removed_ranges(o, out)
            if ranges:
                docs_cut += 1
        placed = []
        for k, (a, b) in enumerate(ranges):
            if out is None:
                placed.append((a, b, 0))
            else:
                left = placed[-1][1] + 1 if placed else 0
                right = ranges[k + 1][0] - 1 if k + 1 < len(ranges) else len(o)
                placed.append(place_cut(o, a, b, left, right))
        ranges = [(a, b) for a, b, _ in placed]
        starts = [a for a, _ in ranges]
        if spans is not None and did in spans and out is not None:
            span_check["docs"] += 1
            claimed = merge(sorted((s["start"], s["end"]) for s in spans[did]))
            if (
                nonws(_apply(o, claimed)) == nonws(out)
                and _apply(o, claimed).split() == out.split()
            ):
                span_check["agree"] += 1
        # Totals by class (non-ws chars), and removed chars by class.
        total_nonws = nonws(o)
        classed = 0
        for t in t_spans:
            cls = label(t)
            n = nonws(o[t["start"] : t["end"]])
            rem = _overlap(o, ranges, t["start"], t["end"], starts) if ranges else 0
            chars[f"{cls}_total"] += n
            chars[f"{cls}_removed"] += rem
            classed += n
            if t["kind"] in REMOVE_KINDS:
                removed_by_copy[(did, t["start"])] = rem / n if n else 0.0
            elif cls == "neutral":
                chars["neutral_copies"] += 1
                chars["neutral_copies_removed"] += rem >= 0.9 * n
            elif cls == "hard":
                hard_by_kind[t["kind"]][0] += n
                hard_by_kind[t["kind"]][1] += rem
        removed_total = sum(nonws(o[a:b]) for a, b in ranges)
        removed_classed = 0
        for t in t_spans:
            if ranges:
                removed_classed += _overlap(o, ranges, t["start"], t["end"], starts)
        chars["other_total"] += total_nonws - classed
        chars["other_removed"] += removed_total - removed_classed
        chars["removed"] += removed_total
        # Cuts.
        for a, b, mid in placed:
            n = nonws(o[a:b])
            if n == 0:
                continue
            in_remove = in_neutral = 0
            for t in t_spans:
                cls = label(t)
                if cls in ("remove", "neutral") and t["start"] < b and a < t["end"]:
                    x = nonws(o[max(a, t["start"]) : min(b, t["end"])])
                    if cls == "remove":
                        in_remove += x
                    else:
                        in_neutral += x
            if in_neutral * 2 >= n:
                cuts["neutral"] += 1
                continue
            cuts["total"] += 1
            cuts["tp"] += in_remove * 2 >= n
            cuts["midword_boundaries"] += mid
            cuts["midword_cuts"] += mid > 0
    # Passage-level numbers.
    should, found = 0, 0
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    one_survives = first_survives = n_pass = 0
    for copies in truth.copies.values():
        keepers = 0
        for c in copies:
            frac = removed_by_copy.get((c["id"], c["start"]), 0.0)
            if frac <= 0.1:
                keepers += 1
            if c["first"]:
                first_survives += frac <= 0.1
            else:
                kind = c["kind"] + (f"_{c['form']}" if "form" in c else "")
                should += 1
                found += frac >= 0.9
                by_kind[kind][0] += 1
                by_kind[kind][1] += frac >= 0.9
        if len(copies) >= 2:
            n_pass += 1
            one_survives += keepers == 1
    remove_removed = chars["remove_removed"]
    denom = chars["removed"] - chars["neutral_removed"]
    hard_total = sum(v[0] for v in hard_by_kind.values())
    hard_removed = sum(v[1] for v in hard_by_kind.values())
    res = {
        "recall": _ratio(found, should),
        "recall_chars": _ratio(chars["remove_removed"], chars["remove_total"]),
        "precision_chars": _ratio(remove_removed, denom),
        "precision_cuts": _ratio(cuts["tp"], cuts["total"]),
        "one_copy_survives": _ratio(one_survives, n_pass),
        "first_copy_survives": _ratio(first_survives, len(truth.copies)),
        "midword_boundaries": cuts["midword_boundaries"],
        "midword_cuts": cuts["midword_cuts"],
        "cuts": cuts["total"],
        "cuts_true": cuts["tp"],
        "cuts_in_prefixed_quotes": cuts["neutral"],
        "hard_negative_removed": _ratio(hard_removed, hard_total),
        "hard_negative_removed_by_kind": {
            k: _ratio(v[1], v[0]) for k, v in sorted(hard_by_kind.items())
        },
        "native_text_removed": _ratio(chars["other_removed"], chars["other_total"]),
        "first_copies_text_removed": _ratio(chars["keep_removed"], chars["keep_total"]),
        "prefixed_quotes_removed": _ratio(chars["neutral_copies_removed"], chars["neutral_copies"]),
        "recall_by_kind": {k: _ratio(v[1], v[0]) for k, v in sorted(by_kind.items())},
        "copies_to_remove": should,
        "passages": n_pass,
        "docs_removed_whole": docs_removed,
        "docs_cut": docs_cut,
        "removed_chars_nonws": chars["removed"],
        "removed_chars_by_class": {
            "should_remove": chars["remove_removed"],
            "first_copies": chars["keep_removed"],
            "hard_negatives": hard_removed,
            "prefixed_quotes": chars["neutral_removed"],
            "native": chars["other_removed"],
        },
    }
    res["alignment"] = dict(ALIGN_STATS)
    if spans is not None:
        res["spans_jsonl_agree_docs"] = _ratio(span_check["agree"], span_check["docs"])
    return res


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None
