"""The HTML report's figures, drawn with matplotlib as inline SVG.

:func:`s_curve_svg` draws the banding's S-curve and :func:`histogram_svg` the similarities of
the candidate pairs. matplotlib is imported only when a figure is drawn, on its SVG canvas
(no pyplot, no GUI backend), so the caller's matplotlib state is left alone.
"""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

ACCENT = "#2563eb"
MUTED = "#94a3b8"
MARK = "#dc2626"

_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')
_SVG_URL = re.compile(r"url\(#([^)]+)\)")
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_SVG_ROOT_ATTRS = re.compile(r'\s(?:width|height|version|xmlns(?::\w+)?)="[^"]*"')


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


def lengths_svg(words: Any, min_words: int | None = None) -> str | None:
    """Bars of cuts per length in words (logarithmic bins when the lengths span more than a
    factor of 20), the shortest length a cut may have marked; None without cuts."""
    import numpy as np

    w = np.asarray(words, dtype=np.int64)
    w = w[w > 0]
    if w.size == 0:
        return None
    lo, hi = int(w.min()), int(w.max())
    log_x = hi / lo > 20
    if log_x:
        edges = np.geomspace(lo, hi + 1, num=min(40, max(2, int(np.log2(hi / lo) * 6))) + 1)
    else:
        edges = np.linspace(lo, hi + 1, num=min(40, hi + 1 - lo) + 1)
    counts, edges = np.histogram(w, bins=edges)
    fig = _figure()
    ax = fig.add_subplot()
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=ACCENT, linewidth=0)
    if log_x:
        ax.set_xscale("log")
    if min_words:
        ax.axvline(
            min_words,
            color=MARK,
            linestyle="--",
            linewidth=1.2,
            label=f"--min-words {min_words}",
        )
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    positive = counts[counts > 0]
    if positive.max() / positive.min() > 100:
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8)
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("words per cut" + (" (log scale)" if log_x else ""), fontsize=9)
    ax.set_ylabel("cuts", fontsize=9)
    _style_axes(ax)
    return _svg(fig, "lengths")
