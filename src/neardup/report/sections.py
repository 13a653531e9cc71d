"""The sections of the HTML report page, as HTML strings.

Summary cards and parameters, the banding figures, the table of the largest clusters with the
cluster viewer's pagers (the JavaScript fills the list between them), boilerplate, and the run's
stages and outputs. Every number from stats.json sits in an element with ``data-stat="<key>"``
holding its plain value.
"""

from __future__ import annotations

import html
import math
from typing import Any

from neardup.report.diffs import finite_number
from neardup.report.plots import histogram_svg, s_curve_svg


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _plain(v: Any) -> str:
    """The value as data-stat holds it: what ``json.loads``/``float``/``int`` reads back."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    return str(v)


def _get(stats: dict[str, Any], key: str) -> Any:
    value: Any = stats
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def fmt_int(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else "?"


def _stat(stats: dict[str, Any], key: str, unit: str = "") -> str:
    v = _get(stats, key)
    if v is None or isinstance(v, dict | list):
        return '<span class="na">–</span>'
    tail = f' <span class="unit">{_esc(unit)}</span>' if unit else ""
    return f'<span data-stat="{_esc(key)}">{_esc(_plain(v))}</span>{tail}'


def _card(stats: dict[str, Any], key: str, label: str, unit: str = "", cls: str = "") -> str:
    return (
        f'<div class="card {cls}"><div class="value">{_stat(stats, key, unit)}</div>'
        f'<div class="label">{_esc(label)}</div></div>'
    )


_SUMMARY_GROUPS: tuple[tuple[str, tuple[tuple[str, str, str, str], ...]], ...] = (
    (
        "Documents",
        (
            ("documents", "documents", "", "big"),
            ("kept", "kept", "", "big good"),
            ("removed", "removed", "", "big bad"),
            ("removed_exact", "removed as exact duplicates", "", ""),
            ("removed_near", "removed as near duplicates", "", ""),
            ("removed_contained", "removed as contained in a kept one", "", ""),
        ),
    ),
    (
        "Clusters",
        (
            ("clusters", "clusters", "", ""),
            ("largest_cluster", "largest cluster", "", ""),
            ("documents_in_clusters", "documents in clusters", "", ""),
        ),
    ),
    (
        "Pairs",
        (
            ("candidate_pairs", "candidate pairs", "", ""),
            ("verified_pairs", "verified pairs", "", ""),
            ("rejected_pairs", "rejected pairs", "", ""),
            ("exact_pairs", "exact pairs", "", ""),
        ),
    ),
    (
        "Input and run",
        (
            ("empty_documents", "empty documents (kept, never clustered)", "", ""),
            ("skipped_records", "skipped records", "", ""),
            ("invalid_utf8_records", "records with invalid UTF-8", "", ""),
            ("total_seconds", "total time", "s", ""),
            ("peak_rss_mb", "peak memory (RSS)", "MB", ""),
        ),
    ),
)

#: Numbers that only some runs have: their cards are left out when stats.json lacks them.
_OPTIONAL = frozenset({"removed_contained"})

_PARAMETERS = (
    ("threshold", "threshold"),
    ("num_perm", "permutations"),
    ("bands", "bands"),
    ("rows", "rows per band"),
    ("ngram", "word n-gram"),
    ("char_ngram", "character n-gram"),
    ("shingle", "shingles"),
    ("keep", "keep policy"),
    ("clustering", "clustering"),
    ("verify", "verify candidates"),
    ("seed", "seed"),
    ("max_bucket", "max bucket"),
    ("false_positive_area", "false-positive area"),
    ("false_negative_area", "false-negative area"),
    ("containment", "containment"),
    ("workers", "workers"),
    ("output_format", "output format"),
    ("text_field", "text field"),
    ("id_field", "id field"),
)


def inputs_line(stats: dict[str, Any]) -> str:
    parts = []
    for entry in stats.get("inputs") or []:
        if isinstance(entry, dict):
            size = entry.get("bytes")
            size_txt = f", {_bytes(size)}" if isinstance(size, int) else ""
            parts.append(
                f"<code>{_esc(entry.get('path'))}</code> ({_esc(entry.get('format'))}{size_txt})"
            )
    return ("Inputs: " + ", ".join(parts)) if parts else "Inputs: –"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def summary_section(stats: dict[str, Any]) -> str:
    groups = []
    for title, items in _SUMMARY_GROUPS:
        cards = "".join(
            _card(stats, k, label, unit, cls)
            for k, label, unit, cls in items
            if k not in _OPTIONAL or k in stats
        )
        groups.append(f'<h3>{_esc(title)}</h3><div class="cards">{cards}</div>')
    params = "".join(
        f'<div class="param"><span class="k">{_esc(label)}</span> '
        f"{_stat(stats, 'parameters.' + key)}</div>"
        for key, label in _PARAMETERS
        if _get(stats, "parameters." + key) is not None
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        + "".join(groups)
        + f'<h3>Parameters</h3><div class="params">{params}</div></section>'
    )


def banding_section(stats: dict[str, Any], params: dict[str, Any]) -> str:
    threshold = finite_number(params.get("threshold"))
    bands, rows = params.get("bands"), params.get("rows")
    parts = ['<section id="banding"><h2>Banding and similarities</h2>']
    if threshold is not None and isinstance(bands, int) and isinstance(rows, int):
        parts.append(
            '<div class="figure"><h3>P(candidate | s) = 1 − (1 − s<sup>r</sup>)<sup>b</sup></h3>'
            + s_curve_svg(threshold, bands, rows)
            + f'<p class="caption">{bands} bands × {rows} rows: a pair becomes a candidate when '
            "all rows of at least one band agree. The shaded area left of the threshold is the "
            "false-positive area (pairs that are proposed and must be rejected by "
            "verification), the red area right of it the false-negative area (pairs that are "
            "missed).</p></div>"
        )
    entry = stats.get("similarity_histogram")
    hist: dict[str, Any] = entry if isinstance(entry, dict) else {}
    svg = (
        histogram_svg(hist, threshold if threshold is not None else 0.0)
        if isinstance(entry, dict)
        else None
    )
    if svg is not None:
        parts.append(
            '<div class="figure"><h3>Similarity of the candidate pairs</h3>'
            + svg
            + '<p class="caption">Every pair that shared an LSH band, by its '
            + _esc(hist.get("measure", "similarity"))
            + "; pairs below the threshold (grey) were rejected, exact duplicates are not "
            "candidate pairs.</p></div>"
        )
    else:
        parts.append('<p class="note">No candidate pairs: no similarity histogram to show.</p>')
    parts.append("</section>")
    return "".join(parts)


def stripped(stats: dict[str, Any]) -> bool:
    """Whether boilerplate was cut out of the kept texts (``--boilerplate-mode strip``)."""
    bp = stats.get("boilerplate")
    return isinstance(bp, dict) and (bp.get("parameters") or {}).get("mode") == "strip"


def _sim(x: Any) -> str:
    f = finite_number(x)
    return "–" if f is None else f"{f:.3f}"


def clusters_section(
    top: list[dict[str, Any]],
    total: int,
    stripped: bool = False,
    measure: str = "exact Jaccard similarity",
) -> str:
    if not top:
        return (
            '<section id="clusters"><h2>Clusters</h2>'
            '<p class="note">No duplicates were found: every document was kept.</p>'
            '<div id="cluster-list"></div></section>'
        )
    rows = "".join(
        f'<tr><td><a href="#cluster-{_esc(c["cluster_id"])}">{_esc(c["cluster_id"])}</a></td>'
        f'<td class="num">{_esc(c["size"])}</td>'
        f"<td>{_esc(c['kept_id']) if c['kept_id'] is not None else '<em>none</em>'}</td>"
        f'<td class="num">{_sim(c["min_similarity"])}</td>'
        f'<td class="num">{_sim(c["max_similarity"])}</td></tr>'
        for c in top
    )
    shown = (
        f"the {len(top):,} largest of {total:,} clusters"
        if total > len(top)
        else f"all {total:,} clusters"
    )
    pager = (
        '<div class="pager">'
        '<button type="button" data-page="prev" id="prev-page">‹ Prev</button>'
        '<span class="page-counter" id="page-counter"></span>'
        '<button type="button" data-page="next" id="next-page">Next ›</button>'
        "</div>"
    )
    return (
        '<section id="clusters"><h2>Clusters</h2>'
        f'<p class="note">Showing {shown}, largest first. Similarity is the {measure} '
        "of each removed document to the kept one.</p>"
        '<div class="table-wrap"><table class="list"><thead><tr><th>cluster</th>'
        '<th class="num">size</th><th>kept id</th><th class="num">min similarity</th>'
        '<th class="num">max similarity</th></tr></thead><tbody>' + rows + "</tbody></table></div>"
        "<h3>Documents and diffs</h3>"
        '<p class="note">Each removed document beside the kept one: '
        '<span class="del legend">only in the kept document</span> '
        '<span class="ins legend">only in the removed document</span>; '
        "changed words are marked darker."
        + (
            " Kept texts are shown as written to the outputs, with boilerplate stripped; "
            "removed texts keep theirs, so stripped lines show as inserted."
            if stripped
            else ""
        )
        + "</p>"
        + pager
        + '<div id="cluster-list"><p class="note">Rendering…</p></div>'
        + pager.replace(' id="prev-page"', "")
        .replace(' id="page-counter"', "")
        .replace(' id="next-page"', "")
        + "</section>"
    )


def boilerplate_section(bp: Any) -> str:
    if not isinstance(bp, dict):
        return ""
    stats = {"boilerplate": bp}
    cards = "".join(
        _card(stats, f"boilerplate.{k}", label)
        for k, label in (
            ("documents_with_boilerplate", "documents with boilerplate"),
            ("lines_stripped", "lines stripped"),
            ("bytes_stripped", "bytes stripped"),
            ("frequent_units", "frequent lines and blocks"),
        )
    )
    lines = bp.get("lines") or []
    if lines:
        body = "".join(
            f"<tr><td><code>{_esc(item.get('line', ''))}</code></td>"
            f'<td class="num">{_esc(item.get("clusters", ""))}</td>'
            f'<td class="num">{_esc(item.get("documents", ""))}</td>'
            f"<td>{_esc(', '.join(str(e) for e in (item.get('examples') or [])[:5]))}</td></tr>"
            for item in lines
            if isinstance(item, dict)
        )
        table = (
            '<div class="table-wrap"><table class="list"><thead><tr><th>line</th>'
            '<th class="num">clusters</th><th class="num">documents</th><th>examples</th>'
            f"</tr></thead><tbody>{body}</tbody></table></div>"
        )
    else:
        table = '<p class="note">No line repeats often enough to count as boilerplate.</p>'
    return (
        '<section id="boilerplate"><h2>Boilerplate</h2>'
        f'<div class="cards">{cards}</div><h3>Top boilerplate lines</h3>{table}</section>'
    )


def run_section(stats: dict[str, Any]) -> str:
    stages = stats.get("stages") or {}
    rows = "".join(
        f'<tr><td>{_esc(name)}</td><td class="num">{_esc(_plain(s.get("seconds", "")))}</td>'
        f'<td class="num">{_esc(_plain(s.get("peak_rss_mb", "")))}</td></tr>'
        for name, s in stages.items()
        if isinstance(s, dict)
    )
    parts = [
        '<section id="run"><h2>Run</h2>',
        '<table class="list"><thead><tr><th>stage</th><th class="num">seconds</th>'
        f'<th class="num">peak RSS (MB)</th></tr></thead><tbody>{rows}</tbody></table>',
    ]
    errors = stats.get("errors") or []
    if errors:
        items = "".join(f"<li><code>{_esc(e)}</code></li>" for e in errors)
        parts.append(
            f"<details><summary>{len(errors)} input error(s) (first messages)</summary>"
            f"<ul>{items}</ul></details>"
        )
    outputs = stats.get("outputs") or {}
    if outputs:
        items = "".join(f"<li>{_esc(k)}: <code>{_esc(v)}</code></li>" for k, v in outputs.items())
        parts.append(f"<h3>Outputs</h3><ul>{items}</ul>")
    parts.append("</section>")
    return "".join(parts)
