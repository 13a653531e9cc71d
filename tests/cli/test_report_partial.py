"""HTML reports of partial duplicates: the "Contained documents" section of
``neardup dedup --containment C --report`` and the report of ``neardup passages --report``.

Both show untrusted text: the fixtures carry markup that must come out escaped, and ids that
must come out escaped inside attributes."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import write_jsonl

pytest.importorskip("matplotlib")

# a long article; the contained copy is its first three paragraphs, the second of which carries
# markup, plus a line of its own
CONTAINER = (
    "The county council's planning portal went dark for most of Monday after a routine "
    "update to the page template of the site went wrong in the early hours of the morning.",
    "Engineers found that the template held a stray <script>alert('pwned')</script> tag and an "
    "unclosed <!-- comment copied between two versions of the site without anyone reading it.",
    "Residents trying to object to a proposed quarry extension found only a blank screen, and "
    "the deadline for comments was extended by a week once the fault was understood by staff.",
    "A contractor traced the problem to a deployment script that had skipped its checks, and "
    "the council's digital lead apologised to everyone who had lost a morning to the outage.",
    "Campaigners against the quarry said the outage cost them a full day of gathering "
    "signatures, but welcomed the extra week and promised a packed public meeting in June.",
    "The council will now test every change in a copy of the portal before it reaches the "
    "public, and publish a short note whenever the site is taken down for planned maintenance.",
)
OWN_LINE = "Updated at noon."
UNRELATED = (
    "Volunteers counting wading birds on the estuary recorded the highest number of curlews in "
    "a decade during the January survey, despite a week of freezing fog along the whole coast "
    "and the loss of two observers to flu, which left the northern shore counted by one team."
)


def _containment_records() -> list[dict[str, Any]]:
    return [
        {"id": "whole<1>", "text": "\n\n".join(CONTAINER)},
        {"id": "birds", "text": UNRELATED},
        {"id": "part&2", "text": "\n\n".join([*CONTAINER[:3], OWN_LINE])},
    ]


class _Stats(HTMLParser):
    """Text of every element with a data-stat attribute (as the browser test reads them)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append(dict(attrs).get("data-stat"))
        if self._open[-1] is not None:
            self.values[self._open[-1]] = ""

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        key = next((k for k in reversed(self._open) if k is not None), None)
        if key is not None:
            self.values[key] += data


def _stats(page: str) -> dict[str, str]:
    parser = _Stats()
    parser.feed(page)
    return {k: v.strip() for k, v in parser.values.items()}


def _marked(fragment: str, tag: str = "mark") -> list[str]:
    """The unescaped text of every ``<tag ...>`` element in ``fragment`` (labels left out)."""
    found = re.findall(rf"<{tag}\b[^>]*>(?:<sup>[^<]*</sup>)?(.*?)</{tag}>", fragment, re.S)
    return [html.unescape(t) for t in found]


def _self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.findall(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<script>alert" not in page and "<!-- comment" not in page


def _section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert m is not None, sid
    return m.group(1)


def test_dedup_report_shows_contained_documents(tmp_path: Path, cli) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", _containment_records())
    out = tmp_path / "out"
    report = out / "report.html"
    code, stdout, err = cli(
        "dedup", src, "-o", out, "--containment", "0.9", "--report", report, "--json"
    )
    assert code == 0, err
    stats = json.loads(stdout)
    assert stats["removed_contained"] == 1 and stats["removed"] == 1
    [removed] = [json.loads(line) for line in (out / "removed.jsonl").read_text().splitlines()]
    assert (removed["id"], removed["kept_id"], removed["reason"]) == (
        "part&2",
        "whole<1>",
        "contained",
    )

    page = report.read_text(encoding="utf-8")
    _self_contained(page)
    assert '<a href="#contained">' in page
    shown = _stats(page)
    assert shown["removed_contained"] == "1"
    assert shown["parameters.containment"] == "0.9"
    section = _section(page, "contained")
    assert "<h2>Contained documents</h2>" in section

    # the largest containers: the kept document, holding one removed document
    table = re.search(r'<table class="list" id="containers">(.*?)</table>', section, re.S)
    assert table is not None
    assert re.search(r"<td>whole&lt;1&gt;</td><td class=\"num\">1</td>", table.group(1))

    # one example, ids escaped in attributes and text, containment both ways and Jaccard
    examples = re.findall(
        r'<div class="example" data-contained="([^"]*)" data-kept="([^"]*)">', section
    )
    assert examples == [("part&amp;2", "whole&lt;1&gt;")]
    numbers = dict(re.findall(r'<b class="(c|c-rev|j)">([^<]*)</b>', section))
    assert float(numbers["c"]) == pytest.approx(removed["containment"], abs=1e-3)
    assert float(numbers["c-rev"]) == pytest.approx(removed["containment_reverse"], abs=1e-3)
    assert float(numbers["j"]) == pytest.approx(removed["similarity"], abs=1e-3)
    assert float(numbers["c"]) >= 0.9 > float(numbers["j"])

    removed_doc = re.search(r'<div class="doc removed">(.*?)</div>', section, re.S)
    kept_doc = re.search(r'<div class="doc kept">(.*?)</div>', section, re.S)
    assert removed_doc is not None and kept_doc is not None
    # removed side: the three shared paragraphs marked as one run of words (the final full
    # stop is not a word), its own line not
    shared = "\n\n".join(CONTAINER[:3]).removesuffix(".")
    assert _marked(removed_doc.group(1)) == [shared]
    assert html.unescape(removed_doc.group(1)).endswith(OWN_LINE)
    # kept side: the same run marked, the rest of the article not
    assert _marked(kept_doc.group(1)) == [shared]
    assert CONTAINER[-1] in html.unescape(kept_doc.group(1))
    # the markup is text: escaped inside the mark
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in removed_doc.group(1)


def test_dedup_report_without_containment_has_no_section(tmp_path: Path, cli) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", _containment_records())
    report = tmp_path / "out" / "report.html"
    code, stdout, err = cli("dedup", src, "-o", tmp_path / "out", "--report", report, "--json")
    assert code == 0, err
    assert "removed_contained" not in json.loads(stdout)
    page = report.read_text(encoding="utf-8")
    assert 'id="contained"' not in page and "Contained documents" not in page
    assert "removed_contained" not in page
    _self_contained(page)


def test_dedup_report_containment_without_contained_documents(
    tmp_path: Path, cli, corpus_records
) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", corpus_records)
    report = tmp_path / "out" / "report.html"
    code, stdout, err = cli(
        "dedup", src, "-o", tmp_path / "out", "--containment", "0.9", "--report", report, "--json"
    )
    assert code == 0, err
    assert json.loads(stdout)["removed_contained"] == 0
    section = _section(report.read_text(encoding="utf-8"), "contained")
    assert "No document was removed as contained." in section
    assert 'class="example"' not in section


# a passage of more than 50 words that the source holds and a later document repeats
PASSAGE = (
    "Engineers found that the template held a stray <script>alert('pwned')</script> tag and an "
    "unclosed comment copied between two versions of the site without anyone reading it. "
    "Residents trying to object to a proposed quarry extension found only a blank screen, and "
    "the deadline for comments was extended by a week once the fault was understood by staff "
    "at the county council offices."
)
INTRO = "Letters to the editor, Tuesday. A reader writes about the planning portal once more."
OUTRO = (
    "I ask the council to publish what went wrong, so that this never happens again to anyone "
    "who wants to take part in a consultation about the future of their own village."
)


def test_passages_report(tmp_path: Path, cli) -> None:
    records = [
        {"id": "src<a>", "text": f"Portal outage.\n\n{PASSAGE}\n\nMore on this story later."},
        {"id": "birds", "text": UNRELATED},
        {"id": "copy&b", "text": f"{INTRO}\n\n{PASSAGE}\n\n{OUTRO}"},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out"
    report = out / "report.html"
    code, stdout, err = cli("passages", src, "-o", out, "--report", report, "--json")
    assert code == 0, err
    stats = json.loads(stdout)
    assert (stats["documents"], stats["cuts"], stats["documents_with_cuts"]) == (3, 1, 1)
    assert stats["outputs"]["report"] == str(report)
    [span] = [json.loads(line) for line in (out / "spans.jsonl").read_text().splitlines()]
    assert (span["id"], span["source_id"]) == ("copy&b", "src<a>")

    page = report.read_text(encoding="utf-8")
    _self_contained(page)
    assert page.count("<svg") == 1  # the histogram of cut lengths
    shown = _stats(page)
    for key in ("documents", "kept", "removed", "documents_with_cuts", "cuts", "words_cut"):
        assert shown[key] == str(stats[key]), key
    assert shown["parameters.min_words"] == "50"

    sources = _section(page, "sources")
    assert '<tr data-source="src&lt;a&gt;"><td>src&lt;a&gt;</td>' in sources
    assert f'<td class="num">{span["words"]}</td>' in sources

    examples = _section(page, "examples")
    assert '<div class="example" data-doc="copy&amp;b"><h4>copy&amp;b</h4>' in examples
    # the cut struck through in the document: the passage, not the text around it
    doc = re.search(r'data-doc="copy&amp;b">.*?<div class="doc">(.*?)</div>', examples, re.S)
    assert doc is not None
    [cut] = _marked(doc.group(1), tag="del")
    assert cut.strip() == PASSAGE
    assert '<del class="cut"><sup>1</sup>' in doc.group(1)
    # the cut's source and the source's copy of the passage, marked
    item = re.search(r'<li data-cut="1" data-source="src&lt;a&gt;">(.*?)</li>', examples, re.S)
    assert item is not None
    assert "from source <b>src&lt;a&gt;</b>" in item.group(1)
    source_copy = records[0]["text"][span["source_start"] : span["source_end"]]
    assert PASSAGE.startswith(source_copy.strip()) and len(source_copy) > len(PASSAGE) - 5
    assert _marked(item.group(1)) == [source_copy]
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in item.group(1)
    assert INTRO in html.unescape(doc.group(1)) and OUTRO in html.unescape(doc.group(1))


def test_passages_report_from_the_library(tmp_path: Path) -> None:
    from neardup.api.passages import passages

    records = [{"id": i, "text": f"Note {i}. {UNRELATED}"} for i in range(2)]
    src = write_jsonl(tmp_path / "in.jsonl", records)
    result = passages(src, tmp_path / "out", report=tmp_path / "r.html")
    assert result.outputs["report"] == str(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert _stats(page)["documents"] == "2"
    _self_contained(page)
