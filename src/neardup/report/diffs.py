"""Side-by-side line diffs for the HTML report's cluster viewer.

:func:`cluster_view` turns one cluster (as :mod:`neardup.report.documents` reads it) into the
JSON the page's JavaScript renders: the kept (or reference) document and, for each removed
document, difflib rows against it, with changed words marked inside replaced lines.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from neardup.report.documents import MAX_DOC_CHARS, reference_id

#: Lines of one document that take part in a diff.
MAX_DIFF_LINES = 3_000
#: Rows of one diff (collapsed runs count as one row).
MAX_DIFF_ROWS = 400
#: Characters of the kept document shown in full above its diffs.
MAX_KEPT_PREVIEW = 20_000
#: Equal lines shown around each change; longer equal runs collapse.
CONTEXT = 2
#: Lines longer than this (together) are highlighted whole, not word by word.
MAX_WORD_DIFF_CHARS = 20_000

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def finite_number(x: Any) -> float | None:
    """``x`` as a finite float, or None when it is not a number or not finite."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _jsonable_id(x: Any) -> Any:
    return x if isinstance(x, int | str) or x is None else str(x)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def cluster_view(c: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
    """One cluster as the JavaScript renders it."""
    ref = reference_id(c)
    ref_text = texts.get(str(ref)) if ref is not None else None
    reference: dict[str, Any] | None = None
    if ref is not None:
        reference = {"id": _jsonable_id(ref), "missing": ref_text is None}
        if ref_text is not None:
            preview, cut = _cut(ref_text, MAX_KEPT_PREVIEW)
            reference.update(
                text=preview,
                truncated=cut,
                chars=len(ref_text) if len(ref_text) <= MAX_DOC_CHARS else None,
                lines=ref_text.count("\n") + 1,
            )
    ref_lines = _lines(ref_text) if ref_text is not None else None
    removed = []
    for r in c["removed"]:
        rid = r.get("id")
        entry: dict[str, Any] = {
            "id": _jsonable_id(rid),
            "similarity": finite_number(r.get("similarity")),
            "reason": str(r.get("reason") or ""),
        }
        text = texts.get(str(rid))
        if str(rid) == str(ref):
            entry["reference"] = True
        elif text is None or ref_lines is None:
            entry["missing"] = True
        else:
            entry.update(_diff(ref_lines, _lines(text)))
            entry["cut"] = _is_cut(text) or _is_cut(ref_text)
        removed.append(entry)
    return {
        "id": _jsonable_id(c["cluster_id"]),
        "size": c["size"],
        "kept_id": _jsonable_id(c["kept_id"]),
        "min": finite_number(c["min_similarity"]),
        "max": finite_number(c["max_similarity"]),
        "reference": reference,
        "removed": removed,
        "more_removed": c["n_removed"] - len(c["removed"]),
    }


def _is_cut(text: str | None) -> bool:
    """Whether only the beginning of ``text`` takes part in its diff."""
    return text is not None and (
        len(text) > MAX_DOC_CHARS or text.count("\n", 0, MAX_DOC_CHARS) >= MAX_DIFF_LINES
    )


def _lines(text: str) -> list[str]:
    return text[:MAX_DOC_CHARS].split("\n")[:MAX_DIFF_LINES]


def _word_diff(a: str, b: str) -> tuple[list[list[Any]], list[list[Any]]]:
    """Segments ``[changed, text]`` of two replaced lines, changed words marked."""
    if len(a) + len(b) > MAX_WORD_DIFF_CHARS:
        return [[1, a]], [[1, b]]
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    left: list[list[Any]] = []
    right: list[list[Any]] = []

    def add(segs: list[list[Any]], flag: int, text: str) -> None:
        if not text:
            return
        if segs and segs[-1][0] == flag:
            segs[-1][1] += text
        else:
            segs.append([flag, text])

    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        flag = 0 if tag == "equal" else 1
        add(left, flag, "".join(ta[i1:i2]))
        add(right, flag, "".join(tb[j1:j2]))
    return left, right


def _diff(a: list[str], b: list[str]) -> dict[str, Any]:
    """Side-by-side rows of ``b`` (removed) against ``a`` (kept).

    Rows: ``["e", ln_a, ln_b, text]`` equal; ``["d", ln_a, text]`` only in the kept document;
    ``["i", ln_b, text]`` only in the removed one; ``["r", ln_a, segs_a, ln_b, segs_b]`` a
    replaced pair (segments ``[changed, text]``); ``["s", n]`` n equal lines collapsed;
    ``["t", n]`` n more rows cut."""
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops = sm.get_opcodes()
    rows: list[list[Any]] = []
    inserted = deleted = 0
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            n = i2 - i1
            head = CONTEXT if k > 0 else 0
            tail = CONTEXT if k < len(ops) - 1 else 0
            if n - head - tail >= 2:
                rows += [["e", i1 + x + 1, j1 + x + 1, a[i1 + x]] for x in range(head)]
                rows.append(["s", n - head - tail])
                rows += [["e", i2 - x, j2 - x, a[i2 - x - 1]] for x in range(tail, 0, -1)]
            else:
                rows += [["e", i1 + x + 1, j1 + x + 1, a[i1 + x]] for x in range(n)]
            continue
        deleted += i2 - i1
        inserted += j2 - j1
        for x in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + x, j1 + x
            if i < i2 and j < j2:
                left, right = _word_diff(a[i], b[j])
                rows.append(["r", i + 1, left, j + 1, right])
            elif i < i2:
                rows.append(["d", i + 1, a[i]])
            else:
                rows.append(["i", j + 1, b[j]])
    identical = inserted == 0 and deleted == 0
    if identical:
        rows = [["s", len(a)]]
    elif len(rows) > MAX_DIFF_ROWS:
        rows = [*rows[:MAX_DIFF_ROWS], ["t", len(rows) - MAX_DIFF_ROWS]]
    return {"rows": rows, "ins": inserted, "del": deleted, "identical": identical}
