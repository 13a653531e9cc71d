"""The HTML report of a dedup run: self-contained, numbers equal to stats.json, and — in a real
headless Chromium when one is installed — rendered without errors or network requests, with the
lines of a planted author-bio widget highlighted as inserted."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import read_clusters, read_stats, write_jsonl

import neardup
from neardup.report import html as report_html
from neardup.report.html import write_report

# twelve short articles of five paragraphs each; a01 mentions markup so that the report must
# escape it inside its JSON blob
ARTICLES: dict[str, tuple[str, str, str, str, str]] = {
    "a01": (
        "The county council's planning portal went dark for most of Monday after a routine "
        "update left a stray </script> tag and an unclosed <!-- comment in the page template.",
        "Residents trying to object to a proposed quarry extension found only a blank screen, "
        "and the deadline for comments was extended by a week once the fault was understood.",
        "A contractor traced the problem to a template that had been copied between two "
        "versions of the site without anyone reading the final lines of the file.",
        "The council's digital lead apologised and said every future change would be checked "
        "in a test copy of the portal before it reached the public.",
        "Campaigners against the quarry said the outage cost them a full day of gathering "
        "signatures, but welcomed the extra week and promised a packed public meeting.",
    ),
    "a02": (
        "Volunteers counting wading birds on the estuary recorded the highest number of "
        "curlews in a decade during the January survey, despite a week of freezing fog.",
        "The count, organised by the local wildlife trust, covers forty kilometres of mudflat "
        "and saltmarsh and relies on more than sixty observers with telescopes and notebooks.",
        "Ecologists credit a change in grazing on the marsh, which has left longer grass for "
        "roosting birds and fewer disturbances from dogs along the sea wall.",
        "Not every species did well: numbers of knot fell sharply, possibly because mild "
        "weather in the Baltic kept many of them further east this winter.",
        "The trust hopes the results will support its bid for a larger protected zone where "
        "bait digging and jet skis would be banned between October and March.",
    ),
    "a03": (
        "A family bakery that has supplied bread to the market town since 1921 will close "
        "its ovens at the end of the month, its fourth-generation owner announced on Friday.",
        "Rising energy bills more than doubled the cost of running the two brick ovens, and "
        "the building needs a new roof that the family says it cannot afford.",
        "Customers queued around the square on Saturday morning to buy the last batches of "
        "the bakery's famous treacle loaf, some travelling from neighbouring villages.",
        "The owner said she had offered the recipes to a local catering college rather than "
        "let them disappear, and the college has agreed to teach them to its students.",
        "The town council is discussing whether the listed building could become a community "
        "kitchen, though no decision is expected before the summer.",
    ),
    "a04": (
        "The regional orchestra will perform its spring season in a converted tram depot "
        "while its concert hall undergoes eighteen months of repairs to the ceiling.",
        "Engineers found corroded steel hangers above the stage last autumn, and the hall was "
        "closed the same evening as a precaution during a sold-out symphony.",
        "The depot, which stood empty for years, has been fitted with temporary seating for "
        "nine hundred people and acoustic panels borrowed from a film studio.",
        "Musicians who rehearsed there this week said the sound was drier than in the old "
        "hall but surprisingly clear, especially for the strings and woodwind.",
        "Tickets for the opening concert, a programme of Dvořák and a new work by a local "
        "composer, sold out within two hours of going on sale.",
    ),
    "a05": (
        "A secondary school has replaced its printed timetables with a simple text message "
        "service after pupils complained that the online app crashed every Monday morning.",
        "The idea came from a group of sixth formers who wrote the first version of the "
        "service during a computing lesson using a free messaging account.",
        "Teachers say late arrivals have fallen since the change, because pupils now receive "
        "room changes the evening before instead of discovering them at the door.",
        "The headteacher admitted she had been sceptical but said the results spoke for "
        "themselves and that the students would be credited in the school newsletter.",
        "Two other schools in the district have asked to borrow the system, and the students "
        "are now writing instructions so that staff can run it without them.",
    ),
    "a06": (
        "Lifeboat crews rescued four walkers cut off by the tide below the chalk cliffs on "
        "Sunday afternoon after one of them managed to phone for help from a ledge.",
        "The group had set out to walk around the headland at low water but misjudged how "
        "quickly the sea returns across the flat rocks at that point of the coast.",
        "The inshore lifeboat reached them within twenty minutes, and all four were brought "
        "back to the harbour cold and wet but otherwise unhurt.",
        "The coastguard reminded visitors to check tide tables before setting out and to "
        "carry a charged phone, noting that this was the third such rescue since Easter.",
        "Volunteers at the lifeboat station said donations had risen after the rescue was "
        "filmed by people on the clifftop and shared widely online.",
    ),
    "a07": (
        "Allotment holders on the edge of the city have won a two-year fight to stop their "
        "plots being sold for a car park serving the new retail park next door.",
        "The land was given to the city a century ago on condition that it be used for "
        "growing food, a clause the gardeners discovered in the county archive.",
        "Lawyers for the council accepted last week that the covenant still applied, and "
        "the sale was withdrawn before the case reached a hearing.",
        "The gardeners celebrated with a harvest lunch of soup, bread and apple cake served "
        "on trestle tables between the bean rows and the compost bins.",
        "They now plan to open a waiting list for young families and to build a small "
        "classroom shed where local primary schools can learn about growing vegetables.",
    ),
    "a08": (
        "The city's oldest cinema has reopened after a crowdfunding campaign raised enough "
        "money to repair its projector, its velvet seats and its leaking foyer roof.",
        "More than three thousand people contributed, many of them leaving messages about "
        "first dates, birthday parties and Saturday matinees from decades ago.",
        "The new programme mixes classic films with recent releases and includes a monthly "
        "silent film night accompanied by a pianist playing the original score.",
        "The manager said the cinema would also host school screenings on weekday mornings "
        "and offer relaxed performances with softer sound and lights left on.",
        "The first week's screenings sold out, and the volunteers who run the kiosk say "
        "they have already run out of the cinema's traditional paper bags of popcorn.",
    ),
    "a09": (
        "A mountain rescue team has taken delivery of a thermal imaging drone that can search "
        "a steep hillside at night in a fraction of the time needed by a line of walkers.",
        "The drone was paid for by a bequest from a retired shepherd who spent his life on "
        "the fells and asked that his savings help people lost on them.",
        "Team members have spent the winter training with it, flying grid patterns over "
        "volunteers hidden in gullies and under heather on the lower slopes.",
        "In its first real call-out the drone found an injured runner within twelve minutes "
        "of take-off, lying in bracken well away from the marked path.",
        "The team leader stressed that the drone would never replace people on the ground, "
        "but said it lets searchers go straight to where they are needed.",
    ),
    "a10": (
        "A river cleanup organised by a rowing club pulled two shopping trolleys, a bicycle "
        "frame and more than a tonne of plastic from a single kilometre of water.",
        "Rowers worked from their boats with nets and grabbers while volunteers on the bank "
        "sorted the rubbish into piles for recycling and for the landfill skip.",
        "The most unusual find was a wooden rocking horse, which club members cleaned and "
        "plan to auction for the local children's hospice next month.",
        "The environment agency said fly-tipping along the towpath had increased since a "
        "household recycling centre nearby reduced its opening hours last year.",
        "The club intends to repeat the cleanup every spring and has invited other clubs on "
        "the river to adopt their own stretch of bank and water.",
    ),
    "a11": (
        "A village library run entirely by volunteers has started lending tools, from "
        "ladders and drills to a carpet cleaner, alongside its shelves of books.",
        "The idea grew from a conversation at a parish meeting about how rarely most "
        "households use the equipment that fills their sheds and garages.",
        "Residents donated more than two hundred items in the first fortnight, and each one "
        "has been checked by a retired electrician before it goes on the shelves.",
        "Borrowers pay nothing but are asked to return things clean, and the volunteers "
        "keep a notebook of repairs that any member can add to.",
        "The library's most popular item so far is a pressure washer, which has been booked "
        "every weekend until the end of the summer holidays.",
    ),
    "a12": (
        "Engineers have begun replacing the wooden decking of the historic pier, plank by "
        "plank, using timber from a sustainably managed forest in the north.",
        "The work must be done between tides, so crews start before dawn on some days and "
        "finish after dark on others, following a calendar pinned in the site office.",
        "Visitors can sponsor a plank for a small donation, and each sponsored board will "
        "carry a brass plate with a name or message chosen by the donor.",
        "The pier trust says the project is the largest repair since the storm of 1987, "
        "when the end of the pier and its bandstand were swept into the sea.",
        "The work should be finished before the summer season, when the pier hosts its "
        "annual brass band festival and a sandcastle competition on the beach below.",
    ),
}
BIO = (
    "Marta Lindqvist",
    "Marta Lindqvist covers science and the environment for the Northern Ledger.",
    "More >",
)
EXACT_COPY, BIO_COPY = "a01-copy", "a02-bio"
SUMMARY_KEYS = (
    "documents",
    "kept",
    "removed",
    "removed_exact",
    "removed_near",
    "clusters",
    "largest_cluster",
    "candidate_pairs",
    "verified_pairs",
    "rejected_pairs",
    "empty_documents",
    "skipped_records",
    "total_seconds",
    "peak_rss_mb",
    "parameters.threshold",
    "parameters.num_perm",
    "parameters.bands",
    "parameters.rows",
    "parameters.ngram",
    "parameters.keep",
    "parameters.clustering",
    "neardup_version",
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _text(paragraphs: tuple[str, ...] | list[str]) -> str:
    return "\n\n".join(paragraphs)


def _records() -> list[dict[str, Any]]:
    records = [{"id": k, "text": _text(v)} for k, v in ARTICLES.items()]
    records.append({"id": EXACT_COPY, "text": _text(ARTICLES["a01"])})
    p = list(ARTICLES["a02"])
    records.append({"id": BIO_COPY, "text": _text([*p[:2], "\n".join(BIO), *p[2:]])})
    return records


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One dedup run of the corpus and its report: ``(output dir, stats.json)``."""
    base = tmp_path_factory.mktemp("report")
    corpus = write_jsonl(base / "corpus.jsonl", _records())
    out = base / "out"
    result = neardup.dedup(corpus, out, workers=1, progress=False)
    assert (result.kept, result.removed) == (len(ARTICLES), 2)
    path = write_report(out / "report.html", result.stats, out)
    assert path == out / "report.html"
    return out, read_stats(out)


def _bio_cluster(out: Path) -> int:
    [cid] = [c["cluster_id"] for c in read_clusters(out) if BIO_COPY in c["members"]]
    return cid


def _matches(text: str, expected: Any) -> bool:
    if isinstance(expected, bool):
        return text == ("true" if expected else "false")
    if isinstance(expected, int):
        return int(text) == expected
    if isinstance(expected, float):
        return float(text) == expected
    return text == str(expected)


def _lookup(stats: dict[str, Any], key: str) -> Any:
    value: Any = stats
    for part in key.split("."):
        value = value[part]
    return value


class _Stats(HTMLParser):
    """Text of every element with a data-stat attribute."""

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


def test_report_is_self_contained_and_matches_stats(run: tuple[Path, dict[str, Any]]) -> None:
    out, stats = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    remote = r"""(?:https?:)?//"""
    assert not re.findall(rf"""\b(?:src|href|action|poster)\s*=\s*["']?\s*{remote}""", page, re.I)
    assert not re.findall(rf"""url\(\s*["']?\s*{remote}""", page, re.I)
    assert "@import" not in page and "<img" not in page and "<iframe" not in page
    assert page.count("<svg") == 2  # S-curve and similarity histogram, inline
    assert 'class="chart"' in page

    parser = _Stats()
    parser.feed(page)
    missing = [k for k in SUMMARY_KEYS if k not in parser.values]
    assert not missing
    for key, text in parser.values.items():
        assert _matches(text.strip(), _lookup(stats, key)), (key, text, _lookup(stats, key))

    # the clusters travel as escaped JSON: no "</" can close the script element early
    m = re.search(r'<script type="application/json" id="clusters-data">(.*?)</script>', page, re.S)
    assert m is not None and "</" not in m.group(1) and "<!--" not in m.group(1)
    blob = json.loads(m.group(1))
    by_id = {c["id"]: c for c in blob["clusters"]}
    assert len(by_id) == stats["clusters"] == 2
    exact = next(c for c in blob["clusters"] if c["kept_id"] == "a01")
    assert "</script>" in exact["reference"]["text"]
    assert exact["removed"][0]["identical"]
    [bio] = by_id[_bio_cluster(out)]["removed"]
    inserted = [row[2] for row in bio["rows"] if row[0] == "i"]
    assert [line for line in inserted if line] == list(BIO)


# Playwright's sync API runs an asyncio loop in a helper thread; nothing in it should warn, and
# pytest's filterwarnings=error stays in force for this test.
def test_report_renders_in_chromium(
    run: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    chromium = chromium or shutil.which("chromium")
    if chromium is None:
        pytest.skip("no Chromium at /usr/bin/chromium or on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (python) is not installed")

    out, stats = run
    # one cluster per page, so the bio cluster sits on page 2 and the pager is exercised
    monkeypatch.setattr(report_html, "PER_PAGE", 1)
    report = write_report(out / "report-paged.html", stats, out)
    url = report.resolve().as_uri()
    cid = _bio_cluster(out)

    console: list[tuple[str, str]] = []
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.on("console", lambda msg: console.append((msg.type, msg.text)))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: requests.append(req.url))
            page.goto(url)
            page.wait_for_selector("#cluster-list .cluster")

            shown = {
                el.get_attribute("data-stat"): el.text_content() or ""
                for el in page.query_selector_all("[data-stat]")
            }
            for key in SUMMARY_KEYS:
                assert key in shown, key
            for key, text in shown.items():
                assert _matches(text.strip(), _lookup(stats, key)), (key, text)

            diff = page.locator(f'[data-cluster="{cid}"]')
            for _ in range(stats["clusters"]):
                if diff.count():
                    break
                page.click("#next-page")
            assert diff.count() == 1
            assert page.locator("#page-counter").text_content().startswith("Page 2 of 2")
            inserted = [t.strip() for t in diff.locator("td.ins").all_text_contents()]
            assert [t for t in inserted if t] == list(BIO)

            png = out / "report.png"
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()

    assert not errors
    assert not [m for m in console if m[0] == "error"], console
    assert requests and all(r == url or r.startswith("data:") for r in requests), requests
    assert png.stat().st_size > 10_000
    artifacts = os.environ.get("NEARDUP_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, Path(artifacts) / "report.png")
