"""The shared-text index: tokens with offsets, winnowing, fingerprint runs on disk, anchors
extended to shared runs, and cuts snapped to sentence and line boundaries."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import HARBOUR, NOTES, OBSERVATORY, ORCHARD, WORKSHOP

import neardup
from neardup.sharedtext import engine
from neardup.sharedtext.cuts import apply_cuts, char_span, char_spans, openings
from neardup.sharedtext.engine import SharedTextIndex
from neardup.sharedtext.matches import anchors
from neardup.sharedtext.runs import RECORD, FingerprintRuns, partitions_for
from neardup.sharedtext.tokens import code_points, tokenize
from neardup.sharedtext.winnow import kgram_kernel, winnow, winnow_kernel, winnow_params
from neardup.text.normalize import NOSPACE, WORD, char_classes


# --------------------------------------------------------------------------------------------
# reference implementations
# --------------------------------------------------------------------------------------------
def ref_tokens(text: str) -> list[tuple[int, int]]:
    """Maximal runs of word characters; a character of a script without spaces alone."""
    cls = char_classes()
    out: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(text):
        c = int(cls[ord(ch)])
        if c & WORD and c & NOSPACE:
            if start is not None:
                out.append((start, i))
                start = None
            out.append((i, i + 1))
        elif c & WORD:
            if start is None:
                start = i
        elif start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(text)))
    return out


def ref_winnow(hashes: list[int], w: int) -> list[int]:
    """Positions selected by winnowing: the rightmost minimum of every window of ``w``
    hashes, each position recorded once; fewer than ``w`` hashes keep their rightmost
    minimum."""
    n = len(hashes)
    if n == 0:
        return []
    if n <= w:
        low = min(hashes)
        return [max(i for i in range(n) if hashes[i] == low)]
    out: list[int] = []
    for a in range(n - w + 1):
        window = hashes[a : a + w]
        low = min(window)
        pos = a + max(i for i in range(w) if window[i] == low)
        if not out or out[-1] != pos:
            out.append(pos)
    return out


def words_of(text: str) -> list[str]:
    return [text[a:b] for a, b in ref_tokens(text)]


def random_words(rng: random.Random, n: int) -> list[str]:
    return [f"w{rng.randrange(10**7)}" for _ in range(n)]


# --------------------------------------------------------------------------------------------
# tokens
# --------------------------------------------------------------------------------------------
TOKEN_TEXTS = [
    "Hello, world! It's 3.14 o'clock_now.",
    "  leading and trailing white space \t\n",
    "cafe\u0301 na\u00efve \u0915\u093f\u0924\u093e\u092c",  # combining marks stay in their word
    "emoji 😀 between 🎉words and 𝒜stral 𐐀letters",
    "今天天气很好。Hello世界！",
    "昨日の夕方、駅前で",
    "«quoted» (bracketed) [x] {y} — dash -- minus - end",
    "",
    "...!!!???",
    "x",
]


@pytest.mark.parametrize("text", TOKEN_TEXTS)
def test_token_offsets_are_the_words_of_the_original_text(text: str) -> None:
    tb = tokenize([text])
    spans = list(zip(tb.starts.tolist(), tb.ends.tolist(), strict=True))
    assert spans == ref_tokens(text)
    assert tb.offsets.tolist() == [0, len(spans)]


def test_tokens_of_a_batch_are_per_document() -> None:
    tb = tokenize(TOKEN_TEXTS)
    assert len(tb) == len(TOKEN_TEXTS)
    for d, text in enumerate(TOKEN_TEXTS):
        _, starts, ends = tb.doc(d)
        assert [text[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)] == (
            words_of(text)
        )
    assert tb.counts().tolist() == [len(ref_tokens(t)) for t in TOKEN_TEXTS]


def test_exact_words() -> None:
    text = "Hello, world! It's 3.14 o'clock_now. cafe\u0301"
    assert words_of(text) == [
        "Hello",
        "world",
        "It",
        "s",
        "3",
        "14",
        "o",
        "clock_now",
        "cafe\u0301",
    ]
    tb = tokenize([text])
    got = [text[a:b] for a, b in zip(tb.starts.tolist(), tb.ends.tolist(), strict=True)]
    assert got == words_of(text)


def test_cjk_characters_are_one_token_each() -> None:
    text = "今天天气很好。Hello世界！ひらがな"
    tb = tokenize([text])
    got = [text[a:b] for a, b in zip(tb.starts.tolist(), tb.ends.tolist(), strict=True)]
    assert got == ["今", "天", "天", "气", "很", "好", "Hello", "世", "界", "ひ", "ら", "が", "な"]
    # the same character has the same hash wherever it stands
    assert tb.hashes[1] == tb.hashes[2]


def test_offsets_count_code_points_not_bytes_or_utf16_units() -> None:
    text = "😀😀 𝒜bc 𐐀 word"
    tb = tokenize([text])
    got = [text[a:b] for a, b in zip(tb.starts.tolist(), tb.ends.tolist(), strict=True)]
    assert got == ["𝒜bc", "𐐀", "word"]
    assert tb.starts.tolist() == [3, 7, 9]


def test_token_hashes_ignore_case() -> None:
    lower = "hello world привет σοφία ärger"
    upper = "HELLO World ПРИВЕТ ΣΟΦΊΑ ÄRGER"
    a, b = tokenize([lower, upper]).doc(0)[0], tokenize([lower, upper]).doc(1)[0]
    assert a.size == b.size == 5
    assert a.tolist()[:4] == b.tolist()[:4]
    assert a[4] == b[4]
    # different words, different hashes; the same word, the same hash in any document
    other = tokenize(["hello worlds"]).hashes
    assert other[0] == a[0] and other[1] != a[1]
    assert len(set(a.tolist())) == 5


def test_code_points_handles_lone_surrogates() -> None:
    cps, off = code_points(["a\ud800b", "ok"])
    assert cps.tolist() == [ord("a"), 0xD800, ord("b"), ord("o"), ord("k")]
    assert off.tolist() == [0, 3, 5]
    tb = tokenize(["a\ud800b"])
    assert list(zip(tb.starts.tolist(), tb.ends.tolist(), strict=True)) == [(0, 1), (2, 3)]


# --------------------------------------------------------------------------------------------
# winnowing
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("min_words", [2, 3, 5, 8, 16, 20, 49, 50, 51, 100, 200])
def test_winnow_params_cover_exactly_min_words(min_words: int) -> None:
    k, w = winnow_params(min_words)
    assert w + k - 1 == min_words
    assert 1 <= k <= min(13, min_words) and w >= 1
    if min_words >= 16:
        assert k == max(4, min(13, min_words // 4))


def test_winnow_params_defaults_and_limits() -> None:
    assert winnow_params(50) == (12, 39)
    assert winnow_params(20) == (5, 16)
    assert winnow_params(200) == (13, 188)
    assert winnow_params(50, k=5) == (5, 46)
    assert winnow_params(3, k=10) == (3, 1)
    with pytest.raises(ValueError, match="at least 2"):
        winnow_params(1)


def test_winnowing_equals_the_reference_on_random_hashes() -> None:
    rng = random.Random(7)
    for _ in range(300):
        w = rng.randint(1, 12)
        n_docs = rng.randint(1, 4)
        # a small range of values makes ties frequent (the rightmost minimum wins)
        top = rng.choice([3, 10, 1000, 2**64 - 1])
        seqs = [[rng.randint(0, top) for _ in range(rng.randint(0, 40))] for _ in range(n_docs)]
        flat = np.array([h for s in seqs for h in s], dtype=np.uint64)
        offsets = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum([len(s) for s in seqs], out=offsets[1:])
        out_h, out_p, out_d = winnow_kernel(flat, offsets, w)
        expected = [(d, p) for d, s in enumerate(seqs) for p in ref_winnow(s, w)]
        assert list(zip(out_d.tolist(), out_p.tolist(), strict=True)) == expected
        assert out_h.tolist() == [seqs[d][p] for d, p in expected]


def test_winnowing_density_is_about_two_over_w_plus_one() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, size=200_000, dtype=np.uint64)
    w = 39
    _, pos, _ = winnow_kernel(hashes, np.array([0, hashes.size], dtype=np.int64), w)
    assert pos.size / hashes.size == pytest.approx(2 / (w + 1), rel=0.05)
    # every window holds a selected position
    gaps = np.diff(np.concatenate([[-1], pos, [hashes.size]]))
    assert gaps.max() <= w


def test_kgram_hashes_depend_only_on_their_words() -> None:
    a = tokenize(["one two three four five six seven"]).hashes
    b = tokenize(["zero ONE two three Four five six"]).hashes
    grams, off = kgram_kernel(np.concatenate([a, b]), np.array([0, 7, 14]), 4)
    assert off.tolist() == [0, 4, 8]
    # "one two three four" is gram 0 of a and gram 1 of b; "two three four five" 1 and 2
    assert grams[0] == grams[4 + 1] and grams[1] == grams[4 + 2] and grams[2] == grams[4 + 3]
    assert grams[0] != grams[1]
    short, off = kgram_kernel(a[:3], np.array([0, 3]), 4)
    assert short.size == 0 and off.tolist() == [0, 0]


def test_a_shared_window_yields_the_same_fingerprint_in_both_documents() -> None:
    rng = random.Random(11)
    min_words = 20
    k, w = winnow_params(min_words)
    for _ in range(50):
        shared = random_words(rng, min_words)
        a = " ".join(random_words(rng, rng.randint(0, 30)) + shared + random_words(rng, 5))
        b = " ".join(random_words(rng, rng.randint(0, 30)) + shared)
        tb = tokenize([a, b])
        fh, _, fd = winnow(tb.hashes, tb.offsets, k, w)
        assert set(fh[fd == 0].tolist()) & set(fh[fd == 1].tolist())


# --------------------------------------------------------------------------------------------
# fingerprint runs on disk
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("partitions", [1, 2, 16, 64])
def test_fingerprint_runs_give_back_every_fingerprint_once_sorted(tmp_path, partitions) -> None:
    rng = np.random.default_rng(partitions)
    runs = FingerprintRuns(tmp_path / "fp", partitions)
    batches = []
    for b in range(5):
        n = int(rng.integers(0, 500))
        h = rng.integers(0, 2**64, size=n, dtype=np.uint64)
        if n:
            h[: n // 10] = h[0]  # a hash repeated across documents
        d = rng.integers(0, 50, size=n) + 50 * b
        p = rng.integers(0, 10_000, size=n).astype(np.int32)
        runs.add(h, d, p)
        rec = np.empty(n, dtype=RECORD)
        rec["hash"], rec["doc"], rec["pos"] = h, d, p
        batches.append(rec)
    everything = np.concatenate(batches)
    assert runs.count == everything.size
    got = []
    shift = 64 - (partitions.bit_length() - 1)
    for part in range(partitions):
        rec = runs.partition(part)
        keys = list(
            zip(rec["hash"].tolist(), rec["doc"].tolist(), rec["pos"].tolist(), strict=True)
        )
        assert keys == sorted(keys)
        if partitions > 1:
            assert all(h >> shift == part for h in rec["hash"].tolist())
        got.extend(keys)
    expected = zip(
        everything["hash"].tolist(),
        everything["doc"].tolist(),
        everything["pos"].tolist(),
        strict=True,
    )
    assert sorted(got) == sorted(expected)


def test_fingerprint_runs_reject_a_partition_count_that_is_not_a_power_of_two(tmp_path) -> None:
    with pytest.raises(ValueError, match="power of two"):
        FingerprintRuns(tmp_path, 3)
    with pytest.raises(ValueError, match="power of two"):
        FingerprintRuns(tmp_path, 0)


def test_partitions_for() -> None:
    assert partitions_for(0) == 1
    assert partitions_for(1000) == 1
    per = (64 << 20) // RECORD.itemsize
    assert partitions_for(per) == 1
    assert partitions_for(per + 1) == 2
    assert partitions_for(5 * per) == 8
    assert partitions_for(10**12) == 4096


# --------------------------------------------------------------------------------------------
# anchors
# --------------------------------------------------------------------------------------------
def partition(rows: list[tuple[int, int, int]]) -> np.ndarray:
    rec = np.array(rows, dtype=RECORD)
    return rec[np.lexsort((rec["pos"], rec["doc"], rec["hash"]))]


def test_anchors_pair_each_occurrence_with_every_occurrence_in_earlier_sources() -> None:
    # hash 7 stands twice in document 0 and once in documents 1 and 2; hash 9 only in one
    part = partition([(7, 0, 3), (7, 0, 10), (7, 1, 5), (7, 2, 1), (9, 2, 4), (9, 2, 8)])
    rank = np.arange(3, dtype=np.int64)
    got = sorted(tuple(int(x) for x in a) for a in anchors(part, rank))
    assert got == [(1, 5, 0, 3), (1, 5, 0, 10), (2, 1, 0, 3), (2, 1, 0, 10), (2, 1, 1, 5)]
    # under another keeper order, document 2 is the earliest source
    got = sorted(tuple(int(x) for x in a) for a in anchors(part, np.array([2, 1, 0])))
    assert got == [(0, 3, 1, 5), (0, 3, 2, 1), (0, 10, 1, 5), (0, 10, 2, 1), (1, 5, 2, 1)]
    # at most max_sources earlier documents and max_positions occurrences in each
    part = partition([(7, d, p) for d in range(6) for p in range(3)])
    anc = anchors(part, np.arange(6, dtype=np.int64), max_sources=2, max_positions=2)
    assert set(anc["src"].tolist()) == {0, 1}
    assert set(anc["src_pos"].tolist()) == {0, 1}
    assert anc.size == (3 * 1 * 2) + (4 * 3 * 2 * 2)  # doc 1: one source; docs 2-5: two


# --------------------------------------------------------------------------------------------
# cut points
# --------------------------------------------------------------------------------------------
def opens_of(text: str) -> list[str]:
    tb = tokenize([text])
    cps, cp_off = code_points([text])
    opens = openings(cps, cp_off, tb)
    return [text[a:b] for a, b, o in zip(tb.starts, tb.ends, opens, strict=True) if o]


def test_segment_openings() -> None:
    text = (
        "One two. Three four\nFive six! seven? eight 3.5 e.g. nine, ten\t(eleven). "
        '"Twelve" x.y z!\r\nthirteen…fourteen 今天。天气！好？ 九'
    )
    # a hard-wrapped line ("Five") and lower-case words after ! ? and "e.g." go on
    assert opens_of(text) == ["One", "Three", "Twelve", "thirteen", "天", "好", "九"]


def test_paragraphs_rows_and_abbreviations() -> None:
    text = (
        "Acme Corp. Inc said the U.S. Officials met Mr. Smith on Jan. 5. Profits rose\n"
        "sharply in the\nyear.\nNext line.\n    Shr 12 cts vs 10 cts\n    Net 1.2 mln\n\n"
        "Para two\n- bullet item\n> quoted"
    )
    assert opens_of(text) == ["Acme", "Profits", "Next", "Shr", "Net", "Para", "bullet", "quoted"]


def test_char_span_snaps_to_the_segment_and_keeps_its_leading_quote() -> None:
    text = 'First sentence here. "Second one," she said. Third part.'
    tb = tokenize([text])
    n = len(tb.starts)
    # tokens: First sentence here | Second one she said | Third part
    # inside a line, a cut takes the space before it, not the one after
    assert char_span(text, tb.starts, tb.ends, 3, 7, n) == (20, 44)
    assert text[20:44] == ' "Second one," she said.'
    assert apply_cuts(text, [(20, 44)]) == "First sentence here. Third part."
    # a cut to the end takes the white space before it
    assert char_span(text, tb.starts, tb.ends, 7, n, n) == (44, len(text))
    assert apply_cuts(text, [(44, len(text))]) == 'First sentence here. "Second one," she said.'
    assert char_span(text, tb.starts, tb.ends, 0, 3, n) == (0, 21)  # a line start: the space after
    assert char_span(text, tb.starts, tb.ends, 0, n, n) == (0, len(text))


def test_char_spans_of_adjacent_cuts_do_not_overlap() -> None:
    text = "Intro. Middle part here. Last part."
    tb = tokenize([text])
    n = len(tb.starts)
    # alone, the cut to the end reaches back over the space before it ...
    assert char_span(text, tb.starts, tb.ends, 4, n, n) == (24, len(text))
    # ... but not over the end of a cut right before it
    spans = char_spans(text, tb.starts, tb.ends, [(1, 4), (4, n)], n)
    assert spans == [(6, 24), (24, len(text))]
    assert apply_cuts(text, spans) == "Intro."


def test_apply_cuts() -> None:
    assert apply_cuts("abcdefgh", []) == "abcdefgh"
    assert apply_cuts("abcdefgh", [(0, 2), (3, 5), (7, 8)]) == "cfg"
    assert apply_cuts("abcdefgh", [(0, 8)]) == ""


# --------------------------------------------------------------------------------------------
# shared runs, end to end
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("min_words", [4, 8, 20, 50])
def test_any_shared_run_of_min_words_is_found(min_words: int) -> None:
    """A run of exactly ``min_words`` words planted in two random texts, at random places
    between sentences, is cut from the second and attributed to the first."""
    rng = random.Random(min_words)
    for trial in range(40):
        planted = random_words(rng, min_words)
        run = " ".join(planted).capitalize()  # a sentence opens with a capital
        before = [random_words(rng, rng.randint(1, 15)) for _ in range(rng.randint(0, 4))]
        after = [random_words(rng, rng.randint(1, 15)) for _ in range(rng.randint(0, 4))]
        pieces = [" ".join(s).capitalize() for s in before] + [run]
        pieces += [" ".join(s).capitalize() for s in after]
        first = ". ".join(pieces) + "."
        before2 = [random_words(rng, rng.randint(1, 15)) for _ in range(rng.randint(0, 4))]
        after2 = [random_words(rng, rng.randint(1, 15)) for _ in range(rng.randint(0, 4))]
        pieces2 = [" ".join(s) for s in before2] + [run] + [" ".join(s) for s in after2]
        second = "\n\n".join(pieces2)
        cuts = neardup.find_passages([first, second], min_words=min_words)
        assert len(cuts) == 1, (trial, cuts)
        [c] = cuts
        assert (c["id"], c["source_id"], c["words"]) == (1, 0, min_words)
        assert first[c["source_start"] : c["source_end"]] == run
        at = second.index(run)
        expected_end = at + len(run) + (2 if after2 else 0)  # with the blank line after it
        expected_start = at if after2 or not before2 else at - 2  # to the end: the one before
        assert (c["start"], c["end"]) == (expected_start, expected_end), trial
        assert words_of(second[c["start"] : c["end"]]) == words_of(run)


def test_a_run_is_found_when_its_fingerprint_also_stands_earlier_in_the_source() -> None:
    """The k-gram that winnowing selects in the shared run also stands, in another context,
    earlier in the source document: the run must still be found."""
    rng = random.Random(5)
    min_words = 20
    k, w = winnow_params(min_words)
    for _ in range(60):
        planted = random_words(rng, min_words)
        tb = tokenize([" ".join(planted)])
        _, pos, _ = winnow(tb.hashes, tb.offsets, k, w)
        gram = planted[int(pos[0]) : int(pos[0]) + k]
        decoy = " ".join(random_words(rng, 30) + gram + random_words(rng, 30))
        run = " ".join(planted).capitalize()
        first = decoy + ". " + run + ". " + " ".join(random_words(rng, 30))
        second = " ".join(random_words(rng, 30)) + ". " + run + ". End here."
        [c] = neardup.find_passages([first, second], min_words=min_words)
        assert c["words"] == min_words
        assert first[c["source_start"] : c["source_end"]] == run


def test_a_run_one_word_short_of_min_words_is_not_cut() -> None:
    rng = random.Random(49)
    shared = random_words(rng, 50)
    run49, run50 = " ".join(shared[:49]).capitalize(), " ".join(shared).capitalize()
    docs49 = [f"Opening words here. {run49}. Closing words there.", f"Another start. {run49}."]
    assert neardup.find_passages(docs49, min_words=50) == []
    docs50 = [f"Opening words here. {run50}. Closing words there.", f"Another start. {run50}."]
    [c] = neardup.find_passages(docs50, min_words=50)
    assert c["words"] == 50
    assert docs50[1][c["start"] : c["end"]] == " " + run50 + "."  # to the end, with the space
    # and 49 words are enough with min_words=49
    [c] = neardup.find_passages(docs49, min_words=49)
    assert c["words"] == 49


def five_documents() -> list[str]:
    rng = random.Random(5)
    texts = []
    for i in range(5):
        intro = " ".join(random_words(rng, 12 + i)).capitalize() + "."
        outro = " ".join(random_words(rng, 8 + 2 * i)).capitalize() + "."
        texts.append(f"{intro}\n\n{HARBOUR}\n\n{outro}")
    return texts


def test_a_paragraph_in_five_documents_stays_only_in_the_first() -> None:
    texts = five_documents()
    n_words = len(words_of(HARBOUR))
    cuts = neardup.find_passages(texts, min_words=50)
    assert [c["id"] for c in cuts] == [1, 2, 3, 4]
    for c in cuts:
        assert c["source_id"] == 0 and c["words"] == n_words
        text = texts[c["id"]]
        assert text[c["start"] : c["end"]] == HARBOUR + "\n\n"
        source = texts[0][c["source_start"] : c["source_end"]]
        assert source == HARBOUR[:-1]  # word-exact: from the first word to the last word
        assert [w.lower() for w in words_of(text[c["start"] : c["end"]])] == [
            w.lower() for w in words_of(source)
        ]
        left = apply_cuts(text, [(c["start"], c["end"])])
        assert HARBOUR not in left and left.count("\n\n") == 1
    assert sum(HARBOUR in t for t in texts) == 5


def test_the_source_is_the_earliest_copy_and_case_does_not_matter() -> None:
    texts = [
        f"{NOTES[0]}\n\n{ORCHARD.upper()}",
        f"{ORCHARD}\n{NOTES[1]}",
        f"{NOTES[2]}\n\n{ORCHARD.lower()}",
    ]
    cuts = neardup.find_passages(texts, min_words=50)
    assert [(c["id"], c["source_id"]) for c in cuts] == [(1, 0), (2, 0)]
    assert cuts[0]["start"] == 0 and texts[1][cuts[0]["end"] :] == NOTES[1]
    assert texts[2][: cuts[1]["start"]] == NOTES[2]  # to the end: with the space before it


def test_two_passages_from_two_sources_in_one_document() -> None:
    texts = [ORCHARD, f"Intro words here. {WORKSHOP}", f"{NOTES[3]} {ORCHARD} {WORKSHOP}"]
    cuts = neardup.find_passages(texts, min_words=50)
    assert [(c["id"], c["source_id"]) for c in cuts] == [(2, 0), (2, 1)]
    a, b = cuts
    assert a["end"] == b["start"]  # adjacent, not overlapping
    assert texts[2][a["start"] : a["end"]] == " " + ORCHARD
    assert texts[2][b["start"] : b["end"]] == " " + WORKSHOP
    spans = [(c["start"], c["end"]) for c in cuts]
    assert apply_cuts(texts[2], spans) == NOTES[3]


def test_documents_without_shared_runs_have_no_cuts() -> None:
    texts = [HARBOUR, ORCHARD, OBSERVATORY, WORKSHOP, *NOTES, "", "   "]
    assert neardup.find_passages(texts, min_words=8) == []
    # repeats inside one document are not cut
    assert neardup.find_passages([HARBOUR + "\n" + HARBOUR, ORCHARD], min_words=8) == []


def test_a_document_that_is_all_copy_is_cut_whole() -> None:
    [c] = neardup.find_passages([HARBOUR, "  " + HARBOUR.lower() + "\n"], min_words=50)
    assert (c["id"], c["start"], c["end"]) == (1, 0, len(HARBOUR) + 3)


def cuts_of(index: SharedTextIndex, rank: np.ndarray) -> list[tuple[int, list]]:
    return [(d, list(c)) for d, c in index.cuts(rank)]


def test_cuts_do_not_depend_on_batches_partitions_ranges_or_source_chunks(
    tmp_path, monkeypatch
) -> None:
    texts = [
        *five_documents(),
        f"{ORCHARD}\n\n{WORKSHOP}",
        WORKSHOP,
        f"{NOTES[0]}\n\n{ORCHARD}",
    ]
    rank = np.arange(len(texts), dtype=np.int64)

    one = SharedTextIndex(tmp_path / "one", min_words=30)
    one.add(texts)
    one.finish()
    expected = cuts_of(one, rank)
    assert [d for d, _ in expected] == [1, 2, 3, 4, 6, 7]

    many = SharedTextIndex(tmp_path / "many", min_words=30, expected_tokens=10**9)
    assert many.runs.partitions > 1
    for i in range(0, len(texts), 3):
        many.add(texts[i : i + 3])
    many.finish()
    monkeypatch.setattr(engine, "RANGE_TOKENS", 64)  # one range per document
    assert len(many._doc_ranges()) == len(texts)
    assert cuts_of(many, rank) == expected
    monkeypatch.setattr(engine, "SOURCE_TOKENS", 1)  # one source document at a time
    assert cuts_of(many, rank) == expected
    monkeypatch.setattr(engine, "ANCHOR_SLICE", 1)  # one hash group at a time
    assert cuts_of(many, rank) == expected
    monkeypatch.setattr(engine, "RANGE_TOKENS", 10**6)  # one range, split by its anchors
    monkeypatch.setattr(engine, "RANGE_ANCHORS", 2)
    assert cuts_of(many, rank) == expected
    assert many.token_counts().tolist() == [len(ref_tokens(t)) for t in texts]


def test_the_keeper_rank_chooses_which_copy_stays(tmp_path) -> None:
    texts = [f"Alpha. {HARBOUR}", f"Beta. {HARBOUR}", f"Gamma. {HARBOUR}"]
    index = SharedTextIndex(tmp_path, min_words=50)
    index.add(texts)
    index.finish()
    rank = np.array([2, 0, 1], dtype=np.int64)  # document 1 first, then 2, then 0
    got = [(d, [(c.source, c.start, c.end) for c in cs]) for d, cs in index.cuts(rank)]
    n = len(words_of(HARBOUR)) + 1
    assert got == [(0, [(1, 1, n)]), (2, [(1, 1, n)])]
