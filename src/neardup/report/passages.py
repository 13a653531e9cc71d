"""A self-contained HTML report of a ``neardup passages`` run.

:func:`write_passages_report` reads the output folder of a finished run (``spans.jsonl``,
``stats.json``, the removed documents) and the run's inputs (the original texts: ``kept`` holds
the texts after their cuts) and writes one HTML file that needs nothing else, like the dedup
report (:mod:`neardup.report.html`): the run's numbers (each in an element with
``data-stat="<key>"``), a histogram of cut lengths in words, the sources that lost the most
words to later documents with the beginning of their text, and a few documents with their cuts
struck through, each cut with its source's id and the source's copy of the passage. All text is
escaped. Memory stays bounded: ``spans.jsonl`` is streamed, and only the shown texts are kept.
"""

from __future__ import annotations

import html
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neardup.errors import DependencyError
from neardup.report.documents import input_texts, iter_records, length_of, output_file
from neardup.report.html import page, write_html
from neardup.report.marks import CSS, marked_html, preview
from neardup.report.sections import _stat, fmt_int, inputs_line

#: Documents shown with their cuts, spread evenly over the documents with cuts.
MAX_EXAMPLES = 10
#: Cuts listed per example document (the rest are counted).
MAX_CUTS_SHOWN = 20
#: Characters of an example document shown.
EXAMPLE_CHARS = 20_000
#: Unmarked stretches of an example longer than this show only their ends.
SHORTEN = 1_500
#: Characters of a source's passage shown, and of context on each side of it.
SOURCE_CHARS, CONTEXT_CHARS = 1_500, 120
#: Sources in the table (stats.json lists at most 20).
MAX_SOURCES = 20


def write_passages_report(
    path: str | os.PathLike[str], stats: dict[str, Any], output_dir: str | os.PathLike[str]
) -> Path:
    """Write the report of the passages run whose ``stats.json`` content is ``stats`` and whose
    outputs are in ``output_dir``; returns the path written (needs ``neardup[report]``)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            "the HTML report needs matplotlib", remedy="pip install 'neardup[report]'"
        ) from exc

    return write_html(path, render_passages_report(stats, Path(output_dir)))


@dataclass(slots=True)
class _Spans:
    """What the report takes from ``spans.jsonl``."""

    words: array[int] = field(default_factory=lambda: array("q"))
    docs: int = 0
    per_source: dict[str, list[int]] = field(default_factory=dict)  # [cuts, documents]
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cuts_of: dict[str, int] = field(default_factory=dict)
    short: int = 0  # cuts shorter than min_words
    short_joined: int = 0  # of those, cuts that start where the document's previous cut ends


def _spans_path(stats: dict[str, Any], output_dir: Path) -> Path:
    recorded = (stats.get("outputs") or {}).get("spans")
    name = Path(recorded).name if recorded else "spans.jsonl"
    return output_dir / name


def _read_spans(path: Path, stats: dict[str, Any]) -> _Spans:
    """Stream ``spans.jsonl`` (one line per cut, grouped by document in input order)."""
    import orjson

    out = _Spans()
    top = [str(s.get("id")) for s in stats.get("top_sources") or [] if isinstance(s, dict)]
    out.per_source = {k: [0, 0] for k in top[:MAX_SOURCES]}
    last_doc: dict[str, str] = {}
    n = stats.get("documents_with_cuts")
    n = n if isinstance(n, int) and n > 0 else 1
    m = min(MAX_EXAMPLES, n)
    picks = {round(j * (n - 1) / max(1, m - 1)) for j in range(m)}
    current, ordinal, prev_end = None, -1, -1
    min_words = (stats.get("parameters") or {}).get("min_words")
    min_words = min_words if isinstance(min_words, int) else 0
    if not path.is_file():
        return out
    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            cut = orjson.loads(line)
            doc, src = str(cut.get("id")), str(cut.get("source_id"))
            if doc != current:
                current, ordinal, prev_end = doc, ordinal + 1, -1
            words = _int(cut.get("words"))
            out.words.append(words)
            if words < min_words:
                out.short += 1
                out.short_joined += cut.get("start") == prev_end
            prev_end = _int(cut.get("end"))
            if src in out.per_source:
                row = out.per_source[src]
                row[0] += 1
                if last_doc.get(src) != doc:
                    row[1] += 1
                    last_doc[src] = doc
            if ordinal in picks:
                out.cuts_of[doc] = out.cuts_of.get(doc, 0) + 1
                shown = out.examples.setdefault(doc, [])
                if len(shown) < MAX_CUTS_SHOWN:
                    shown.append(cut)
    out.docs = ordinal + 1
    return out


def _removed_whole(stats: dict[str, Any], output_dir: Path, ids: set[str]) -> dict[str, Any]:
    """``words_left`` of the shown documents that were removed whole."""
    id_field = (stats.get("parameters") or {}).get("id_field") or "id"
    found: dict[str, Any] = {}
    if not stats.get("removed"):
        return found
    for rec in iter_records(output_file(stats, output_dir, "removed"), b"passages"):
        key = str(rec.get(id_field))
        if key in ids and rec.get("reason") == "passages":
            found[key] = rec.get("words_left")
            if len(found) == len(ids):
                break
    return found


def render_passages_report(stats: dict[str, Any], output_dir: Path) -> str:
    """The report as one HTML string (see :func:`write_passages_report`)."""

    spans = _read_spans(_spans_path(stats, output_dir), stats)
    wanted = set(spans.per_source) | set(spans.examples)
    for cuts in spans.examples.values():
        wanted.update(str(c.get("source_id")) for c in cuts)
    texts = input_texts(stats, wanted)
    gone = _removed_whole(stats, output_dir, set(spans.examples))
    sections = [
        _summary(stats),
        _lengths(stats, spans),
        _sources(stats, spans, texts),
        _examples(stats, spans, texts, gone),
        _run(stats),
    ]
    title = (
        f"neardup report · passages · {fmt_int(stats.get('documents'))} documents, "
        f"{fmt_int(stats.get('documents_with_cuts'))} with cuts"
    )
    nav = [
        ("summary", "Summary"),
        ("lengths", "Cut lengths"),
        ("sources", "Sources"),
        ("examples", "Examples"),
        ("run", "Run"),
    ]
    return page(
        title,
        "neardup passages report",
        inputs_line(stats),
        nav,
        sections,
        version=stats.get("neardup_version"),
        css=CSS,
    )


def _esc(x: Any) -> str:
    return html.escape(str(x))


_CARDS = (
    ("documents", "documents", "", "big"),
    ("kept", "kept", "", "big good"),
    ("removed", "removed whole (too little left)", "", "big bad"),
    ("documents_with_cuts", "documents with cuts", "", ""),
    ("cuts", "cuts", "", ""),
    ("words_cut", "words cut", "", ""),
    ("characters_cut", "characters cut", "", ""),
    ("skipped_records", "skipped records", "", ""),
    ("total_seconds", "total time", "s", ""),
)
_PARAMETERS = (
    ("min_words", "shortest passage (words)"),
    ("min_words_left", "fewest words left"),
    ("mode", "mode"),
    ("keep", "keep policy"),
    ("k", "k-gram (words)"),
    ("window", "winnowing window"),
    ("text_field", "text field"),
    ("id_field", "id field"),
    ("output_format", "output format"),
)


def _summary(stats: dict[str, Any]) -> str:
    cards = "".join(
        f'<div class="card {cls}"><div class="value">{_stat(stats, k, unit)}</div>'
        f'<div class="label">{_esc(label)}</div></div>'
        for k, label, unit, cls in _CARDS
    )
    params = stats.get("parameters") or {}
    rows = "".join(
        f'<div class="param"><span class="k">{_esc(label)}</span> '
        f"{_stat(stats, 'parameters.' + key)}</div>"
        for key, label in _PARAMETERS
        if params.get(key) is not None
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        '<p class="note">Every run of at least the shortest passage\'s words that also stands in '
        "an earlier document (under the keep policy) is cut from the later one; the earliest "
        "copy, its source, keeps it.</p>"
        f'<div class="cards">{cards}</div><h3>Parameters</h3><div class="params">{rows}</div>'
        "</section>"
    )


def _lengths(stats: dict[str, Any], spans: _Spans) -> str:
    from neardup.report.plots import lengths_svg

    min_words = (stats.get("parameters") or {}).get("min_words")
    svg = lengths_svg(spans.words, min_words if isinstance(min_words, int) else None)
    if svg is None:
        return (
            '<section id="lengths"><h2>Cut lengths</h2>'
            '<p class="note">No passage stands in two documents: nothing was cut.</p></section>'
        )
    w = sorted(spans.words)
    caption = (
        f"{len(w):,} cuts; median {w[len(w) // 2]:,} words, longest {w[-1]:,}. A cut is a shared "
        "run, snapped to sentence or line boundaries."
    )
    if spans.short:
        caption += (
            f" {spans.short:,} cuts are shorter than --min-words; {spans.short_joined:,} of them "
            "start where another cut of the same document ends (a shared run split between two "
            "sources)."
        )
    return (
        '<section id="lengths"><h2>Cut lengths</h2><div class="figure">'
        f'<h3>Words per cut</h3>{svg}<p class="caption">{_esc(caption)}</p></div></section>'
    )


def _sources(stats: dict[str, Any], spans: _Spans, texts: dict[str, str]) -> str:
    top = [s for s in stats.get("top_sources") or [] if isinstance(s, dict)][:MAX_SOURCES]
    if not top:
        return '<section id="sources"><h2>Top sources</h2><p class="note">None.</p></section>'
    rows = []
    for s in top:
        sid = str(s.get("id"))
        cuts, docs = spans.per_source.get(sid, [0, 0])
        rows.append(
            f'<tr data-source="{_esc(sid)}"><td>{_esc(sid)}</td>'
            f'<td class="num">{_esc(s.get("words"))}</td><td class="num">{cuts:,}</td>'
            f'<td class="num">{docs:,}</td><td class="preview">{preview(texts.get(sid))}</td></tr>'
        )
    return (
        '<section id="sources"><h2>Top sources</h2>'
        '<p class="note">The documents whose passages were cut from the most later documents, '
        "by words cut.</p>"
        '<div class="table-wrap"><table class="list"><thead><tr><th>source id</th>'
        '<th class="num">words cut</th><th class="num">cuts</th>'
        '<th class="num">documents</th><th>beginning of the source text</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _examples(
    stats: dict[str, Any], spans: _Spans, texts: dict[str, str], gone: dict[str, Any]
) -> str:
    parts = ['<section id="examples"><h2>Examples</h2>']
    if not spans.examples:
        parts.append('<p class="note">No document has cuts.</p></section>')
        return "".join(parts)
    parts.append(
        f'<p class="note">{len(spans.examples)} of {spans.docs:,} documents with cuts, spread '
        'evenly over them in input order. <del class="cut">Struck through</del>: a cut, numbered; '
        "below, each cut's source and the source's copy of the passage "
        "(<mark>marked</mark>, with a little of the text around it).</p>"
    )
    for doc, cuts in spans.examples.items():
        parts.append(_example(doc, cuts, spans.cuts_of.get(doc, len(cuts)), texts, gone))
    parts.append("</section>")
    return "".join(parts)


def _example(
    doc: str, cuts: list[dict[str, Any]], n_cuts: int, texts: dict[str, str], gone: dict[str, Any]
) -> str:
    text = texts.get(doc)
    words = sum(c.get("words") or 0 for c in cuts)
    meta = f"{n_cuts:,} cut{'s' if n_cuts != 1 else ''}"
    meta += f", {words:,} words" if n_cuts == len(cuts) else f" (the first {len(cuts)} shown)"
    if doc in gone:
        meta += f" · removed whole: {_esc(gone[doc])} words left"
    head = f'<div class="example" data-doc="{_esc(doc)}"><h4>{_esc(doc)}</h4>'
    head += f'<div class="meta">{meta}</div>'
    if text is None:
        return head + '<p class="note">Text not found in the inputs.</p></div>'
    shown = text[:EXAMPLE_CHARS]
    body = marked_html(
        shown,
        [(_int(c.get("start")), _int(c.get("end"))) for c in cuts],
        tag="del",
        cls="cut",
        labels=[str(i) for i in range(1, len(cuts) + 1)],
        shorten_over=SHORTEN,
    )
    more = (
        f'<p class="note">The first {EXAMPLE_CHARS:,} characters of {length_of(text)}.</p>'
        if len(text) > EXAMPLE_CHARS
        else ""
    )
    items = "".join(_cut_item(i, c, texts) for i, c in enumerate(cuts, 1))
    return f'{head}<div class="doc">{body}</div>{more}<ol class="cut-list">{items}</ol></div>'


def _int(x: Any) -> int:
    return x if isinstance(x, int) and not isinstance(x, bool) else 0


def _cut_item(i: int, cut: dict[str, Any], texts: dict[str, str]) -> str:
    sid = str(cut.get("source_id"))
    a, b = _int(cut.get("source_start")), _int(cut.get("source_end"))
    head = (
        f'<li data-cut="{i}" data-source="{_esc(sid)}"><span class="n">{i}</span> '
        f"{_esc(cut.get('words'))} words, characters {_int(cut.get('start')):,}–"
        f"{_int(cut.get('end')):,} · from source <b>{_esc(sid)}</b>, characters {a:,}–{b:,}"
    )
    src = texts.get(sid)
    if src is None:
        return head + ' <span class="na">(source text not found)</span></li>'
    lo = _line_start(src, max(0, a - CONTEXT_CHARS), a)
    end = min(b, a + SOURCE_CHARS)
    stop = _line_end(src, end, end + CONTEXT_CHARS) if end == b else end
    body = marked_html(src[lo:stop], [(a - lo, end - lo)])
    if end < b:
        body += f'<span class="gap">[… {b - end:,} more characters of the passage …]</span>'
    return f'{head}<div class="doc source">{body}</div></li>'


def _line_start(text: str, lo: int, hi: int) -> int:
    """Where a line (else a word) starts in ``text[lo:hi]``; ``lo`` when it starts one already
    or none does."""
    if lo == 0 or text[lo - 1] == "\n":
        return lo
    k = text.find("\n", lo, hi)
    if k < 0:
        k = text.find(" ", lo, hi)
    return k + 1 if k >= 0 else lo


def _line_end(text: str, lo: int, hi: int) -> int:
    """The last line end (else word end) in ``text[lo:hi]``, or ``hi`` at the text's end."""
    if hi >= len(text):
        return len(text)
    k = text.rfind("\n", lo, hi)
    if k < 0:
        k = text.rfind(" ", lo, hi)
    return k if k >= 0 else hi


def _run(stats: dict[str, Any]) -> str:
    stages = stats.get("stages") or {}
    rows = "".join(
        f'<tr><td>{_esc(name)}</td><td class="num">{_esc(s)}</td></tr>'
        for name, s in stages.items()
        if isinstance(s, int | float)
    )
    errors = stats.get("errors") or []
    err = (
        f"<details><summary>{len(errors)} input error(s) (first messages)</summary><ul>"
        + "".join(f"<li><code>{_esc(e)}</code></li>" for e in errors)
        + "</ul></details>"
        if errors
        else ""
    )
    outputs = stats.get("outputs") or {}
    outs = "".join(f"<li>{_esc(k)}: <code>{_esc(v)}</code></li>" for k, v in outputs.items())
    return (
        '<section id="run"><h2>Run</h2><table class="list"><thead><tr><th>stage</th>'
        f'<th class="num">seconds</th></tr></thead><tbody>{rows}</tbody></table>{err}'
        + (f"<h3>Outputs</h3><ul>{outs}</ul>" if outs else "")
        + "</section>"
    )
