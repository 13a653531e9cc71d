"""The report's "Contained documents" section (``neardup dedup --containment C``).

A removed document with reason ``contained`` is at least ``C`` inside its cluster's kept
document while their Jaccard similarity is below the threshold: a truncated copy, an excerpt.
:func:`read_contained` streams ``clusters.jsonl`` for those documents (their count, the kept
documents holding the most of them, and a few examples spread over the range of Jaccard
similarity) and the removed file for the examples' containment both ways;
:func:`contained_section` writes the section once the texts are loaded, each example's removed
text with the part found in the kept document marked, and the kept text with the part matching
the removed one marked.
"""

from __future__ import annotations

import heapq
import html
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neardup.report.diffs import finite_number
from neardup.report.documents import iter_records, length_of, output_file
from neardup.report.marks import covered_chars, marked_html, preview, shared_spans

#: Examples shown, spread over the range of Jaccard similarity.
MAX_EXAMPLES = 5
#: Rows of the table of the largest containers.
MAX_CONTAINERS = 10
#: Characters of each side of an example that are shown (the rest is cut, and said so).
EXAMPLE_CHARS = 20_000
#: Unmarked stretches of the kept text longer than this show only their ends.
SHORTEN_KEPT = 1_200


@dataclass(slots=True)
class Contained:
    """What the section shows: the count, ``containers`` as ``(kept id, contained removed)``,
    and ``examples`` (id, kept_id, similarity, and where the removed file has them,
    containment and containment_reverse)."""

    count: int
    containers: list[tuple[Any, int]]
    n_containers: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    def wanted(self) -> set[str]:
        """Ids (as strings) of the documents whose texts the section shows."""
        ids = {str(k) for k, _ in self.containers}
        for e in self.examples:
            ids.update((str(e["id"]), str(e["kept_id"])))
        return ids


def _contained(clusters_path: Path) -> Any:
    """``(removed id, kept id, similarity)`` of every removed member with reason contained."""
    import orjson

    with open(clusters_path, "rb") as fh:
        for line in fh:
            if b"contained" not in line:
                continue
            c = orjson.loads(line)
            kept = c.get("kept_id")
            for r in c.get("removed") or []:
                if r.get("reason") == "contained" and kept is not None:
                    yield r.get("id"), kept, finite_number(r.get("similarity"))


def read_contained(
    stats: dict[str, Any], output_dir: Path, clusters_path: Path
) -> Contained | None:
    """The section's data, or None when the run did not look for containment (no
    ``removed_contained`` in stats.json)."""
    if "removed_contained" not in stats or not clusters_path.is_file():
        return None
    sims = array("d")
    per_kept: Counter[Any] = Counter()
    for _, kept, sim in _contained(clusters_path):
        sims.append(sim if sim is not None else 0.0)
        per_kept[kept] += 1
    # containers by count, ties in the order clusters.jsonl names them (Counter keeps it)
    order = {k: i for i, k in enumerate(per_kept)}
    top = heapq.nsmallest(MAX_CONTAINERS, per_kept.items(), key=lambda kv: (-kv[1], order[kv[0]]))
    view = Contained(len(sims), top, len(per_kept))
    if not sims:
        return view
    ranked = sorted(range(len(sims)), key=lambda i: sims[i])
    m = min(MAX_EXAMPLES, len(ranked))
    picks = {ranked[round(j * (len(ranked) - 1) / max(1, m - 1))] for j in range(m)}
    for i, (rid, kept, sim) in enumerate(_contained(clusters_path)):
        if i in picks:
            view.examples.append({"id": rid, "kept_id": kept, "similarity": sim})
    view.examples.sort(key=lambda e: e["similarity"] or 0.0)
    _add_containment(stats, output_dir, view.examples)
    return view


def _add_containment(
    stats: dict[str, Any], output_dir: Path, examples: list[dict[str, Any]]
) -> None:
    """Containment both ways of each example, from its removed record."""
    id_field = (stats.get("parameters") or {}).get("id_field") or "id"
    by_id = {str(e["id"]): e for e in examples}
    left = set(by_id)
    for rec in iter_records(output_file(stats, output_dir, "removed"), b"contained"):
        key = str(rec.get(id_field))
        if key in left and rec.get("reason") == "contained":
            by_id[key]["containment"] = finite_number(rec.get("containment"))
            by_id[key]["containment_reverse"] = finite_number(rec.get("containment_reverse"))
            left.discard(key)
            if not left:
                return


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _num(x: Any) -> str:
    f = finite_number(x)
    return "–" if f is None else f"{f:.3f}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def contained_section(view: Contained | None, stats: dict[str, Any], texts: dict[str, str]) -> str:
    """The section's HTML; empty without containment."""
    if view is None:
        return ""
    params = stats.get("parameters") or {}
    threshold, c_min = params.get("threshold"), params.get("containment")
    cards = "".join(
        f'<div class="card{cls}"><div class="value">{value}</div>'
        f'<div class="label">{_esc(label)}</div></div>'
        for value, label, cls in (
            (_stat("removed_contained", stats), "removed as contained", " big bad"),
            (_stat("containment_pairs", stats), "pairs measured for containment", ""),
            (f"{view.n_containers:,}", "kept documents containing them", ""),
            (_stat("parameters.containment", stats), "containment threshold", ""),
        )
    )
    parts = [
        '<section id="contained"><h2>Contained documents</h2>',
        f'<div class="cards">{cards}</div>',
        f'<p class="note">A document whose Jaccard similarity to its cluster\'s kept document is '
        f"below the threshold ({_esc(threshold)}) but at least {_esc(c_min)} of whose shingles "
        "stand in the kept one (containment) is removed in its favour, with reason "
        "<code>contained</code>: a truncated copy or an excerpt.</p>",
    ]
    if not view.count:
        parts.append('<p class="note">No document was removed as contained.</p></section>')
        return "".join(parts)
    rows = "".join(
        f'<tr><td>{_esc(k)}</td><td class="num">{n:,}</td>'
        f'<td class="preview">{preview(texts.get(str(k)))}</td></tr>'
        for k, n in view.containers
    )
    more = (
        f"the {len(view.containers)} of {view.n_containers:,} "
        if view.n_containers > len(view.containers)
        else ""
    )
    parts += [
        "<h3>Largest containers</h3>",
        f'<p class="note">The kept documents that contain the most removed ones ({more}'
        "most first).</p>",
        '<div class="table-wrap"><table class="list" id="containers"><thead><tr>'
        '<th>kept id</th><th class="num">contained</th><th>beginning of the kept text</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div>",
        "<h3>Examples</h3>",
        f'<p class="note">{len(view.examples)} of {view.count:,} contained documents, spread '
        "over their range of Jaccard similarity (lowest first). "
        "<mark>Marked</mark>: words of a run of at least "
        f"{_k(params)} words that stands in both texts; long unmarked stretches of the kept "
        "text show only their ends."
        + (
            " Containment was measured without quoted e-mail lines (<code>&gt; …</code>), which "
            "are marked here like any other text, so a document made mostly of quotes can be "
            "contained with little of it marked."
            if params.get("containment_ignore_quotes", True)
            else ""
        )
        + "</p>",
    ]
    parts += [_example(e, texts, _k(params)) for e in view.examples]
    parts.append("</section>")
    return "".join(parts)


def _k(params: dict[str, Any]) -> int:
    """Words per sequence that marks shared text: the run's word n-gram, at least 3."""
    n = params.get("ngram")
    return max(3, n) if isinstance(n, int) and not isinstance(n, bool) else 5


def _stat(key: str, stats: dict[str, Any]) -> str:
    value: Any = stats
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return '<span class="na">–</span>'
    return f'<span data-stat="{_esc(key)}">{_esc(value)}</span>'


def _example(e: dict[str, Any], texts: dict[str, str], k: int) -> str:
    rid, kid = e["id"], e["kept_id"]
    removed, kept = texts.get(str(rid)), texts.get(str(kid))
    head = (
        f'<div class="example" data-contained="{_esc(rid)}" data-kept="{_esc(kid)}">'
        f'<h4>{_esc(rid)} <span class="meta">inside</span> {_esc(kid)}</h4>'
        f'<div class="meta">containment of the removed in the kept: '
        f'<b class="c">{_num(e.get("containment"))}</b> · of the kept in the removed: '
        f'<b class="c-rev">{_num(e.get("containment_reverse"))}</b> · Jaccard: '
        f'<b class="j">{_num(e.get("similarity"))}</b>'
    )
    if removed is None or kept is None:
        return head + '</div><p class="note">Texts not found in the outputs.</p></div>'
    r_text, k_text = removed[:EXAMPLE_CHARS], kept[:EXAMPLE_CHARS]
    r_spans, k_spans = shared_spans(r_text, k_text, k)
    r_body = marked_html(r_text, r_spans)
    k_body = marked_html(k_text, k_spans, shorten_over=SHORTEN_KEPT)
    return (
        head + f" · marked: {_pct(covered_chars(r_spans), len(r_text))} of the removed text, "
        f"{_pct(covered_chars(k_spans), len(k_text))} of the kept</div>"
        '<div class="pair">'
        f"<div><h5>removed {_esc(rid)} ({length_of(removed)}{_cut(removed)})</h5>"
        f'<div class="doc removed">{r_body}</div></div>'
        f"<div><h5>kept {_esc(kid)} ({length_of(kept)}{_cut(kept)})</h5>"
        f'<div class="doc kept">{k_body}</div></div>'
        "</div></div>"
    )


def _cut(text: str) -> str:
    return f"; the first {EXAMPLE_CHARS:,} shown" if len(text) > EXAMPLE_CHARS else ""
