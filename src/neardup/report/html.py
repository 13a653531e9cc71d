"""A self-contained HTML report of a dedup run.

:func:`write_report` reads the output folder of a finished run (``clusters.jsonl`` and the
kept and removed documents) and writes one HTML file that needs nothing else: CSS, JavaScript and
the two figures (SVG, drawn with matplotlib) are inline, and the page makes no request at all,
so it opens from disk, offline, and can be attached to a ticket or a CI run.

The page shows the run's numbers (every one in an element with ``data-stat="<key>"``, dotted for
nested keys such as ``parameters.threshold``, holding the plain value), the S-curve of the chosen
banding, the histogram of candidate-pair similarities, the largest clusters, and, for each of the
``max_clusters`` largest clusters, the kept document and a side-by-side line diff of every removed
document against it. The clusters travel as one JSON blob that a few lines of JavaScript render
20 per page, so a report of a big run still opens fast.

Memory stays bounded on any corpus: ``clusters.jsonl`` is streamed keeping only the largest
clusters, and the kept and removed files are streamed keeping only the texts of the documents
the report shows.
"""

from __future__ import annotations

import contextlib
import difflib
import heapq
import html
import io
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from neardup.errors import OutputError

#: Clusters per page of the cluster viewer.
PER_PAGE = 20
#: Removed documents diffed per cluster; the rest are counted.
MAX_REMOVED_SHOWN = 50
#: Characters of one document that the report reads (the rest is cut, and said so).
MAX_DOC_CHARS = 100_000
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
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')
_SVG_URL = re.compile(r"url\(#([^)]+)\)")
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_SVG_ROOT_ATTRS = re.compile(r'\s(?:width|height|version|xmlns(?::\w+)?)="[^"]*"')

ACCENT = "#2563eb"
MUTED = "#94a3b8"
MARK = "#dc2626"


# ------------------------------------------------------------------------------------------------
# entry point
# ------------------------------------------------------------------------------------------------
def write_report(
    path: str | os.PathLike[str],
    stats: dict[str, Any],
    output_dir: str | os.PathLike[str],
    *,
    max_clusters: int = 300,
) -> Path:
    """Write the HTML report of the run whose ``stats.json`` content is ``stats`` and whose
    results are in ``output_dir``; returns the path written.

    Call it after the run's outputs are committed (``stats["outputs"]`` names them). The file is
    written under a temporary name beside ``path`` and renamed into place."""
    target = Path(path)
    document = render_report(stats, Path(output_dir), max_clusters=max_clusters)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text(document, encoding="utf-8")
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except OSError as exc:
        raise OutputError(
            f"cannot write the report {target}: {exc.strerror or exc}",
            remedy="choose a writable location for --report",
        ) from exc
    return target


def render_report(stats: dict[str, Any], output_dir: Path, *, max_clusters: int = 300) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    params = stats.get("parameters") or {}
    clusters_path = output_dir / "clusters.jsonl"
    if not clusters_path.is_file():
        raise OutputError(
            f"{clusters_path} does not exist",
            remedy="write the report from the output folder of a finished run",
        )
    top, total_clusters = _largest_clusters(clusters_path, max(0, int(max_clusters)))
    texts = _load_texts(stats, output_dir, _wanted_ids(top))
    shown = [_cluster_view(c, texts) for c in top]
    blob = {"per_page": PER_PAGE, "total_clusters": total_clusters, "clusters": shown}

    sections = [
        _summary_section(stats),
        _banding_section(stats, params),
        _clusters_section(top, total_clusters, _stripped(stats)),
        _boilerplate_section(stats.get("boilerplate")),
        _run_section(stats),
    ]
    title = (
        f"neardup report · {_fmt_int(stats.get('documents'))} documents → "
        f"{_fmt_int(stats.get('kept'))} kept"
    )
    version = html.escape(str(stats.get("neardup_version", "unknown")))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # an empty data: icon, so the browser does not ask for /favicon.ico
            '<link rel="icon" href="data:,">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            "<header>",
            "<h1>neardup report</h1>",
            f'<p class="sub">{_inputs_line(stats)}</p>',
            '<nav><a href="#summary">Summary</a><a href="#banding">Banding</a>'
            '<a href="#clusters">Clusters</a>'
            + ('<a href="#boilerplate">Boilerplate</a>' if stats.get("boilerplate") else "")
            + '<a href="#run">Run</a></nav>',
            "</header>",
            "<main>",
            *sections,
            "</main>",
            f'<footer>Written by neardup <span data-stat="neardup_version">{version}</span>. '
            "This page is self-contained: it loads nothing from the network.</footer>",
            '<script type="application/json" id="clusters-data">'
            + _script_json(blob)
            + "</script>",
            f"<script>{_JS}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


# ------------------------------------------------------------------------------------------------
# reading the outputs
# ------------------------------------------------------------------------------------------------
def _iter_clusters(path: Path, count: list[int]) -> Iterator[dict[str, Any]]:
    """The clusters of ``clusters.jsonl``, slimmed to what the report needs."""
    import orjson

    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            c = orjson.loads(line)
            count[0] += 1
            removed = c.get("removed") or []
            members = c.get("members") or []
            yield {
                "cluster_id": c.get("cluster_id"),
                "size": int(c.get("size") or len(members)),
                "kept_id": c.get("kept_id"),
                "first_member": members[0] if members else None,
                "min_similarity": c.get("min_similarity"),
                "max_similarity": c.get("max_similarity"),
                "removed": removed[:MAX_REMOVED_SHOWN],
                "n_removed": len(removed),
            }


def _largest_clusters(path: Path, n: int) -> tuple[list[dict[str, Any]], int]:
    """The ``n`` largest clusters (ties: smaller cluster id first) and the number of clusters."""
    count = [0]
    top = heapq.nsmallest(
        n, _iter_clusters(path, count), key=lambda c: (-c["size"], _sort_id(c["cluster_id"]))
    )
    if n == 0:  # nsmallest(0, ...) does not consume the iterator
        count[0] = sum(1 for _ in _iter_clusters(path, [0]))
    return top, count[0]


def _sort_id(cid: Any) -> tuple[int, Any]:
    return (0, cid) if isinstance(cid, int) else (1, str(cid))


def _reference_id(c: dict[str, Any]) -> Any:
    """The document the removed ones are compared with: the kept one, or — when nothing was
    kept (``--keep none``) — the cluster's first member."""
    return c["kept_id"] if c["kept_id"] is not None else c["first_member"]


def _wanted_ids(clusters: Iterable[dict[str, Any]]) -> set[str]:
    wanted: set[str] = set()
    for c in clusters:
        ref = _reference_id(c)
        if ref is not None:
            wanted.add(str(ref))
        wanted.update(str(r["id"]) for r in c["removed"])
    return wanted


def _output_file(stats: dict[str, Any], output_dir: Path, key: str) -> Path | None:
    """``kept.<fmt>`` or ``removed.<fmt>`` of the run: by the name stats.json records, looked
    for in ``output_dir`` first (the recorded path may be relative to another directory)."""
    candidates: list[Path] = []
    recorded = (stats.get("outputs") or {}).get(key)
    if recorded:
        candidates += [output_dir / Path(recorded).name, Path(recorded)]
    fmt = (stats.get("parameters") or {}).get("output_format")
    if fmt:
        candidates.append(output_dir / f"{key}.{fmt}")
    return next((p for p in candidates if p.is_file()), None)


def _load_texts(stats: dict[str, Any], output_dir: Path, wanted: set[str]) -> dict[str, str]:
    """Texts of the ``wanted`` ids (compared as strings), read from kept and removed; the inputs
    are a fallback for documents whose ids were generated (``SOURCE:LINE``, no id field)."""
    from neardup.io.sources import FieldSpec

    params = stats.get("parameters") or {}
    spec = FieldSpec(
        text_field=params.get("text_field") or "text", id_field=params.get("id_field") or "id"
    )
    found: dict[str, str] = {}
    files = [_output_file(stats, output_dir, k) for k in ("kept", "removed")]
    for path in files:
        if path is not None and len(found) < len(wanted):
            _scan_texts(path, str(path), spec, wanted, found)
    if len(found) < len(wanted):
        for entry in stats.get("inputs") or []:
            name = entry.get("path") if isinstance(entry, dict) else None
            if name and Path(name).exists() and len(found) < len(wanted):
                _scan_texts(Path(name), name, spec, wanted, found)
    return found


def _scan_texts(path: Path, name: str, spec: Any, wanted: set[str], found: dict[str, str]) -> None:
    """Stream one file, keeping the (cut) texts of wanted ids; stop once all are found."""
    from neardup.errors import NeardupError
    from neardup.io.sources import open_source, parse_batch

    try:
        source = open_source(name)
        with contextlib.closing(source.batches(256)) as batches:
            for raw in batches:
                parsed = parse_batch(raw, spec)
                for rid, text in zip(parsed.ids, parsed.texts, strict=True):
                    key = str(rid)
                    if key in wanted and key not in found:
                        found[key] = text[: MAX_DOC_CHARS + 1]
                if len(found) >= len(wanted):
                    return
    except (NeardupError, OSError):
        return  # a report without some texts beats no report


# ------------------------------------------------------------------------------------------------
# clusters and diffs
# ------------------------------------------------------------------------------------------------
def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _jsonable_id(x: Any) -> Any:
    return x if isinstance(x, int | str) or x is None else str(x)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _cluster_view(c: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
    """One cluster as the JavaScript renders it."""
    ref = _reference_id(c)
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
            "similarity": _num(r.get("similarity")),
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
        "min": _num(c["min_similarity"]),
        "max": _num(c["max_similarity"]),
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


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------
def _figure(width: float = 6.4, height: float = 3.0) -> Any:
    """A matplotlib figure on the SVG canvas: no pyplot and no GUI backend are involved, so
    the caller's matplotlib state (and backend) is left alone."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Any, prefix: str) -> str:
    """The figure as an inline ``<svg>`` element: no XML prologue, metadata or namespace
    declarations (the HTML parser supplies them), ids prefixed (two figures on one page must not
    share ids), scaled by CSS."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": prefix}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.find("<svg") :]
    svg = _SVG_METADATA.sub("", svg)
    svg = _SVG_ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _SVG_HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', svg)
    svg = _SVG_URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    end = svg.find(">")
    root = _SVG_ROOT_ATTRS.sub("", svg[:end])  # HTML needs no namespaces; CSS sizes it
    return f'{root} role="img" class="chart"{svg[end:]}'


def _style_axes(ax: Any) -> None:
    ax.grid(True, color="#e2e8f0", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#94a3b8")
    ax.tick_params(colors="#334155", labelsize=8)


def s_curve_svg(threshold: float, bands: int, rows: int) -> str:
    """P(candidate | s) = 1 − (1 − s^rows)^bands over s ∈ [0, 1], threshold marked."""
    import numpy as np

    from neardup.candidates.lsh import candidate_probability

    s = np.linspace(0.0, 1.0, 501)
    p = np.asarray(candidate_probability(s, bands, rows))
    at = float(candidate_probability(threshold, bands, rows))
    fig = _figure()
    ax = fig.add_subplot()
    below = s <= threshold
    ax.fill_between(s[below], p[below], color=MUTED, alpha=0.25, linewidth=0)
    ax.fill_between(s[~below], p[~below], 1.0, color=MARK, alpha=0.10, linewidth=0)
    ax.plot(s, p, color=ACCENT, linewidth=2, label=f"{bands} bands × {rows} rows")
    ax.axvline(
        threshold,
        color=MARK,
        linestyle="--",
        linewidth=1.2,
        label=f"threshold {threshold:g}: P = {at:.4f}",
    )
    ax.plot([threshold], [at], "o", color=MARK, markersize=4)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlabel("Jaccard similarity s", fontsize=9)
    ax.set_ylabel("P(candidate | s)", fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _style_axes(ax)
    return _svg(fig, "scurve")


def histogram_svg(histogram: dict[str, Any], threshold: float) -> str | None:
    """Bars of candidate pairs per similarity bin, threshold marked; None without pairs."""
    edges = [float(e) for e in histogram.get("bin_edges") or []]
    counts = [int(c) for c in histogram.get("candidate_pairs") or []]
    if len(edges) != len(counts) + 1 or not any(counts):
        return None
    widths = [b - a for a, b in itertools.pairwise(edges)]
    colours = [
        ACCENT if a + w / 2 >= threshold else MUTED for a, w in zip(edges[:-1], widths, strict=True)
    ]
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=colours, linewidth=0)
    ax.axvline(
        threshold, color=MARK, linestyle="--", linewidth=1.2, label=f"threshold {threshold:g}"
    )
    positive = [c for c in counts if c > 0]
    if max(positive) / min(positive) > 100:
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8)
    ax.set_xlim(min(edges[0], 0.0), max(edges[-1], 1.0))
    measure = str(histogram.get("measure") or "similarity")
    ax.set_xlabel(f"{measure} of the candidate pair", fontsize=9)
    ax.set_ylabel("candidate pairs", fontsize=9)
    if ax.get_yscale() == "linear":
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    _style_axes(ax)
    return _svg(fig, "hist")


# ------------------------------------------------------------------------------------------------
# HTML sections
# ------------------------------------------------------------------------------------------------
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


def _fmt_int(v: Any) -> str:
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
    ("workers", "workers"),
    ("output_format", "output format"),
    ("text_field", "text field"),
    ("id_field", "id field"),
)


def _inputs_line(stats: dict[str, Any]) -> str:
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


def _summary_section(stats: dict[str, Any]) -> str:
    groups = []
    for title, items in _SUMMARY_GROUPS:
        cards = "".join(_card(stats, k, label, unit, cls) for k, label, unit, cls in items)
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


def _banding_section(stats: dict[str, Any], params: dict[str, Any]) -> str:
    threshold = _num(params.get("threshold"))
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
    hist = stats.get("similarity_histogram")
    svg = (
        histogram_svg(hist, threshold if threshold is not None else 0.0)
        if isinstance(hist, dict)
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


def _stripped(stats: dict[str, Any]) -> bool:
    """Whether boilerplate was cut out of the kept texts (``--boilerplate-mode strip``)."""
    bp = stats.get("boilerplate")
    return isinstance(bp, dict) and (bp.get("parameters") or {}).get("mode") == "strip"


def _sim(x: Any) -> str:
    f = _num(x)
    return "–" if f is None else f"{f:.3f}"


def _clusters_section(top: list[dict[str, Any]], total: int, stripped: bool = False) -> str:
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
        f'<p class="note">Showing {shown}, largest first. Similarity is the exact Jaccard '
        "similarity of each removed document to the kept one.</p>"
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


def _boilerplate_section(bp: Any) -> str:
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


def _run_section(stats: dict[str, Any]) -> str:
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


def _script_json(obj: Any) -> str:
    """JSON that is safe inside ``<script>``: ASCII only, and no ``<`` at all (so neither
    ``</script>`` nor ``<!--`` can end or confuse the element); JSON.parse reads it back."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ------------------------------------------------------------------------------------------------
# inline CSS and JavaScript
# ------------------------------------------------------------------------------------------------
_CSS = """
:root { --fg: #0f172a; --muted: #64748b; --line: #e2e8f0; --bg: #f8fafc; --card: #fff;
  --accent: #2563eb; --ins: #e6ffec; --ins-hl: #abf2bc; --del: #ffebe9; --del-hl: #ffc1bd; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header { padding: 18px 28px 10px; background: #0f172a; color: #f8fafc; }
header h1 { margin: 0; font-size: 22px; }
header .sub { margin: 4px 0 8px; color: #cbd5e1; }
header code { color: #e2e8f0; }
nav a { color: #93c5fd; margin-right: 16px; text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { padding: 8px 28px 24px; max-width: 1400px; }
section { margin-top: 18px; }
h2 { font-size: 18px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 6px; color: #334155; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; min-width: 150px; }
.card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card.big .value { font-size: 26px; }
.card.good .value { color: #15803d; }
.card.bad .value { color: #b91c1c; }
.card .label { color: var(--muted); font-size: 12px; }
.unit { font-size: 13px; color: var(--muted); font-weight: 400; }
.na { color: var(--muted); }
table { border-collapse: collapse; }
.params { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr));
  gap: 2px 18px; max-width: 1100px; font-variant-numeric: tabular-nums; }
.param .k { color: var(--muted); display: inline-block; min-width: 150px; }
table.list { background: var(--card); border: 1px solid var(--line); min-width: 480px; }
table.list th, table.list td { padding: 4px 10px; border-bottom: 1px solid var(--line);
  text-align: left; vertical-align: top; }
table.list thead th { position: sticky; top: 0; background: #f1f5f9; }
.num { text-align: right !important; font-variant-numeric: tabular-nums; }
.table-wrap { max-height: 340px; overflow: auto; display: inline-block; max-width: 100%; }
.figure { display: inline-block; vertical-align: top; width: 590px; max-width: 100%;
  margin: 0 18px 10px 0; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 6px 12px; }
.figure svg.chart { width: 100%; height: auto; display: block; }
.caption, .note { color: var(--muted); font-size: 12px; }
.pager { display: flex; align-items: center; gap: 12px; margin: 10px 0; }
.pager button { font: inherit; padding: 4px 12px; border: 1px solid #cbd5e1;
  background: var(--card); border-radius: 6px; cursor: pointer; }
.pager button:disabled { opacity: .4; cursor: default; }
.cluster { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px 12px; margin-bottom: 14px; }
.cluster h4 { margin: 4px 0; font-size: 15px; }
.meta { color: var(--muted); font-size: 12px; }
.doc { white-space: pre-wrap; overflow-wrap: anywhere; background: #f8fafc;
  border: 1px solid var(--line); padding: 8px; max-height: 320px; overflow: auto;
  font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.diff { margin-top: 10px; }
.diff-head { font-size: 13px; margin-bottom: 4px; }
.diff-head .tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px;
  background: #e0e7ff; color: #3730a3; margin-left: 6px; }
table.diff-table { width: 100%; table-layout: fixed; border: 1px solid var(--line);
  font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
table.diff-table col.ln { width: 3.2em; }
table.diff-table th { background: #f1f5f9; text-align: left; font-weight: 600; padding: 3px 6px;
  font-family: system-ui, sans-serif; overflow-wrap: anywhere; }
table.diff-table td { padding: 1px 6px; vertical-align: top; }
td.ln { color: #94a3b8; text-align: right; user-select: none; border-right: 1px solid var(--line); }
td.txt { white-space: pre-wrap; overflow-wrap: anywhere; }
td.txt.empty { background: #f8fafc; }
.ins { background: var(--ins); }
.del { background: var(--del); }
td.ins .hl { background: var(--ins-hl); }
td.del .hl { background: var(--del-hl); }
.legend { padding: 0 6px; border-radius: 3px; color: var(--fg); }
td.skip { text-align: center; color: var(--muted); background: #f1f5f9; font-style: italic; }
details summary { cursor: pointer; color: #334155; margin: 4px 0; }
footer { padding: 14px 28px 24px; color: var(--muted); font-size: 12px;
  border-top: 1px solid var(--line); }
"""

_JS = r"""
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function sim(x) { return typeof x === "number" ? x.toFixed(3) : "\u2013"; }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  var data = null;
  try {
    var blob = byId("clusters-data");
    data = blob ? JSON.parse(blob.textContent) : null;
  } catch (err) {
    data = null;
  }
  var clusters = (data && Array.isArray(data.clusters)) ? data.clusters : [];
  var perPage = (data && data.per_page > 0) ? data.per_page : 20;
  var pages = Math.max(1, Math.ceil(clusters.length / perPage));
  var page = 0;

  function fill(cell, value) {
    if (typeof value === "string") { cell.textContent = value; return; }
    if (!Array.isArray(value)) { return; }
    for (var i = 0; i < value.length; i++) {
      var seg = value[i];
      if (seg[0]) { cell.appendChild(el("span", "hl", seg[1])); }
      else { cell.appendChild(document.createTextNode(seg[1])); }
    }
  }
  function side(tr, ln, cls, value) {
    tr.appendChild(el("td", "ln", ln === null ? "" : ln));
    var td = el("td", "txt" + (cls ? " " + cls : ""));
    if (value !== null) { fill(td, value); }
    tr.appendChild(td);
  }
  function diffTable(rows, leftTitle, rightTitle) {
    var table = el("table", "diff-table");
    var cols = el("colgroup");
    ["ln", "txt", "ln", "txt"].forEach(function (c) { cols.appendChild(el("col", c)); });
    table.appendChild(cols);
    var head = el("thead"), hr = el("tr");
    var th1 = el("th", null, leftTitle); th1.colSpan = 2;
    var th2 = el("th", null, rightTitle); th2.colSpan = 2;
    hr.appendChild(th1); hr.appendChild(th2); head.appendChild(hr); table.appendChild(head);
    var body = el("tbody");
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], tr = el("tr"), op = r[0];
      if (op === "e") { side(tr, r[1], "", r[3]); side(tr, r[2], "", r[3]); }
      else if (op === "d") { side(tr, r[1], "del", r[2]); side(tr, null, "empty", null); }
      else if (op === "i") { side(tr, null, "empty", null); side(tr, r[1], "ins", r[2]); }
      else if (op === "r") { side(tr, r[1], "del", r[2]); side(tr, r[3], "ins", r[4]); }
      else {
        var text = op === "s" ? "\u2026 " + plural(r[1], "equal line") + " \u2026"
          : "\u2026 diff cut here: " + plural(r[1], "more row") + " \u2026";
        var td = el("td", "skip", text); td.colSpan = 4; tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  }
  function removedBox(c, r, refTitle) {
    var box = el("div", "diff");
    box.setAttribute("data-cluster", String(c.id));
    box.setAttribute("data-removed", String(r.id));
    var head = el("div", "diff-head");
    head.appendChild(el("strong", null, (r.reference ? "reference " : "removed ") + r.id));
    if (r.reason) { head.appendChild(el("span", "tag", r.reason)); }
    var bits = [" J = " + sim(r.similarity)];
    if (typeof r.ins === "number") { bits.push("+" + r.ins + " / \u2212" + r["del"] + " lines"); }
    head.appendChild(document.createTextNode(bits.join(" \u00b7 ")));
    box.appendChild(head);
    if (r.reference) {
      box.appendChild(el("p", "note", "Nothing was kept in this cluster; the other documents "
        + "are compared with this one."));
    } else if (r.missing) {
      box.appendChild(el("p", "note", "The text of this document was not found in the outputs."));
    } else if (r.identical) {
      box.appendChild(el("p", "note", "Identical text (" + plural(r.rows[0][1], "line") + ")."));
    } else {
      box.appendChild(diffTable(r.rows || [], refTitle, "removed: " + r.id));
      if (r.cut) {
        box.appendChild(el("p", "note", "Long document: only its beginning is compared."));
      }
    }
    return box;
  }
  function clusterCard(c) {
    var sec = el("section", "cluster");
    sec.id = "cluster-" + c.id;
    sec.appendChild(el("h4", null, "Cluster " + c.id));
    var kept = c.kept_id === null ? "nothing kept" : "kept " + c.kept_id;
    sec.appendChild(el("div", "meta", plural(c.size, "document") + " \u00b7 " + kept
      + " \u00b7 similarity " + sim(c.min) + "\u2013" + sim(c.max)));
    var ref = c.reference;
    var refTitle = (c.kept_id === null ? "reference: " : "kept: ") + (ref ? ref.id : "?");
    if (ref && !ref.missing) {
      var det = el("details");
      var info = plural(ref.lines, "line")
        + (ref.chars !== null ? ", " + ref.chars + " characters" : "");
      det.appendChild(el("summary", null, refTitle + " (" + info + ")"));
      det.appendChild(el("pre", "doc", ref.text + (ref.truncated ? "\n\u2026" : "")));
      sec.appendChild(det);
    } else if (ref) {
      sec.appendChild(el("p", "note", "The text of " + ref.id + " was not found in the outputs."));
    }
    (c.removed || []).forEach(function (r) { sec.appendChild(removedBox(c, r, refTitle)); });
    if (c.more_removed > 0) {
      var more = plural(c.more_removed, "more removed document");
      sec.appendChild(el("p", "note", "\u2026 and " + more + " (see clusters.jsonl)."));
    }
    return sec;
  }
  function render() {
    var list = byId("cluster-list");
    if (!list) { return; }
    list.textContent = "";
    var start = page * perPage, end = Math.min(clusters.length, start + perPage);
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) {
      try { frag.appendChild(clusterCard(clusters[i])); }
      catch (err) { frag.appendChild(el("p", "note", "Cluster " + i + " could not be shown.")); }
    }
    list.appendChild(frag);
    var label = clusters.length
      ? "Page " + (page + 1) + " of " + pages + " \u00b7 clusters " + (start + 1) + "\u2013" + end
        + " of " + clusters.length
      : "";
    document.querySelectorAll(".page-counter").forEach(function (e) { e.textContent = label; });
    document.querySelectorAll("[data-page=prev]").forEach(function (b) { b.disabled = page <= 0; });
    document.querySelectorAll("[data-page=next]").forEach(function (b) {
      b.disabled = page >= pages - 1;
    });
  }
  function go(p, scroll) {
    page = Math.max(0, Math.min(pages - 1, p));
    render();
    var list = byId("clusters");
    if (scroll && list) { list.scrollIntoView(); }
  }
  function showHash() {
    var m = /^#cluster-(.+)$/.exec(window.location.hash || "");
    if (!m) { return false; }
    var id = decodeURIComponent(m[1]);
    for (var i = 0; i < clusters.length; i++) {
      if (String(clusters[i].id) === id) {
        page = Math.floor(i / perPage);
        render();
        var target = byId("cluster-" + id);
        if (target) { target.scrollIntoView(); }
        return true;
      }
    }
    return false;
  }
  try {
    document.querySelectorAll("[data-page]").forEach(function (b) {
      b.addEventListener("click", function () {
        go(page + (b.getAttribute("data-page") === "next" ? 1 : -1), !b.id);
      });
    });
    window.addEventListener("hashchange", function () {
      try { showHash(); } catch (err) { /* leave the page as it is */ }
    });
    document.addEventListener("click", function (ev) {
      // a link to the cluster already in the address bar fires no hashchange: open it here
      var a = ev.target && ev.target.closest ? ev.target.closest("a[href^='#cluster-']") : null;
      if (a && a.getAttribute("href") === window.location.hash) {
        ev.preventDefault();
        try { showHash(); } catch (err) { /* leave the page as it is */ }
      }
    });
    if (!showHash()) { render(); }
  } catch (err) {
    var list = byId("cluster-list");
    if (list) { list.textContent = "The clusters could not be shown: " + err; }
  }
})();
"""
