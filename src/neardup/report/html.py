"""A self-contained HTML report of a dedup run: :func:`write_report` and the page assembly.

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

The parts live beside this module: :mod:`~neardup.report.documents` reads the outputs back
(memory stays bounded on any corpus), :mod:`~neardup.report.diffs` builds the side-by-side
diffs, :mod:`~neardup.report.plots` draws the figures, :mod:`~neardup.report.sections` writes
the page's sections, and ``assets/report.css`` and ``assets/report.js`` are the stylesheet and
script inlined into the page.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from neardup.errors import OutputError
from neardup.report.containment import contained_section, read_contained
from neardup.report.diffs import cluster_view
from neardup.report.documents import largest_clusters, load_texts, wanted_ids
from neardup.report.marks import CSS as MARKS_CSS
from neardup.report.sections import (
    banding_section,
    boilerplate_section,
    clusters_section,
    fmt_int,
    inputs_line,
    run_section,
    stripped,
    summary_section,
)

#: Clusters per page of the cluster viewer.
PER_PAGE = 20


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
    document = render_report(stats, Path(output_dir), max_clusters=max_clusters)
    return write_html(path, document)


def write_html(path: str | os.PathLike[str], document: str) -> Path:
    """Write ``document`` to ``path`` under a temporary name beside it, renamed into place."""
    target = Path(path)
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
    top, total_clusters = largest_clusters(clusters_path, max(0, int(max_clusters)))
    contained = read_contained(stats, output_dir, clusters_path)
    wanted = wanted_ids(top) | (contained.wanted() if contained is not None else set())
    texts = load_texts(stats, output_dir, wanted)
    shown = [cluster_view(c, texts) for c in top]
    blob = {"per_page": PER_PAGE, "total_clusters": total_clusters, "clusters": shown}

    semantic = params.get("method") == "semantic"  # no banding: an embedding cosine decides
    measure = "cosine of the embeddings" if semantic else "exact Jaccard similarity"
    sections = [
        summary_section(stats),
        "" if semantic else banding_section(stats, params),
        clusters_section(top, total_clusters, stripped(stats), measure),
        contained_section(contained, stats, texts),
        boilerplate_section(stats.get("boilerplate")),
        run_section(stats),
    ]
    title = (
        f"neardup report · {fmt_int(stats.get('documents'))} documents → "
        f"{fmt_int(stats.get('kept'))} kept"
    )
    nav = [("summary", "Summary"), ("banding", "Banding"), ("clusters", "Clusters")]
    if semantic:
        nav.remove(("banding", "Banding"))
    if contained is not None:
        nav.append(("contained", "Contained"))
    if stats.get("boilerplate"):
        nav.append(("boilerplate", "Boilerplate"))
    nav.append(("run", "Run"))
    return page(
        title,
        "neardup report",
        inputs_line(stats),
        nav,
        sections,
        version=stats.get("neardup_version"),
        css=MARKS_CSS if contained is not None else "",
        tail=[
            '<script type="application/json" id="clusters-data">'
            + _script_json(blob)
            + "</script>",
            "<script>\n" + _asset("report.js") + "</script>",
        ],
    )


def page(
    title: str,
    heading: str,
    sub: str,
    nav: list[tuple[str, str]],
    sections: list[str],
    *,
    version: Any,
    css: str = "",
    tail: list[str] | None = None,
) -> str:
    """A whole report page: ``sub`` (HTML) under the ``heading``, links to the ``nav`` section
    ids, the sections, a footer and the ``tail`` elements (scripts) at the end of the body; the
    stylesheet inline, with ``css`` added."""
    links = "".join(f'<a href="#{html.escape(k)}">{html.escape(label)}</a>' for k, label in nav)
    version_txt = html.escape(str(version if version is not None else "unknown"))
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
            "<style>\n" + _asset("report.css") + css + "</style>",
            "</head>",
            "<body>",
            "<header>",
            f"<h1>{html.escape(heading)}</h1>",
            f'<p class="sub">{sub}</p>',
            f"<nav>{links}</nav>",
            "</header>",
            "<main>",
            *(s for s in sections if s),
            "</main>",
            f'<footer>Written by neardup <span data-stat="neardup_version">{version_txt}</span>. '
            "This page is self-contained: it loads nothing from the network.</footer>",
            *(tail or []),
            "</body>",
            "</html>",
            "",
        ]
    )


def _script_json(obj: Any) -> str:
    """JSON that is safe inside ``<script>``: ASCII only, and no ``<`` at all (so neither
    ``</script>`` nor ``<!--`` can end or confuse the element); JSON.parse reads it back."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ------------------------------------------------------------------------------------------------
# inline CSS and JavaScript
# ------------------------------------------------------------------------------------------------
@functools.lru_cache
def _asset(name: str) -> str:
    """The text of ``assets/<name>`` (package data), read once."""
    return (resources.files("neardup.report") / "assets" / name).read_text(encoding="utf-8")
