"""The per-character fold (neardup.text.fold) equals prepare() on whole texts, and the shingle
kernel folding raw bytes gives the fingerprints of the prepared text."""

from __future__ import annotations

import random

import numpy as np
import pytest

from neardup.text.fold import KEEP, MAPPED, UNSAFE, fold_table
from neardup.text.normalize import prepare
from neardup.text.shingle import FOLD_BYTES, FOLD_UNITS, shingle_batch, shingle_buffer


def _fold(text: str) -> str:
    """Each character on its own: ASCII lowered (as the kernels do), others by the table."""
    ft = fold_table()
    return "".join(
        c.lower() if c.isascii() else ft.mapped(ord(c)) if ft.kind[ord(c)] == MAPPED else c
        for c in text
    )


def _foldable(rng: random.Random, n: int) -> list[str]:
    ft = fold_table()
    mapped = ft.keys.tolist()
    kept = np.flatnonzero(ft.kind[:0x30000] == KEEP).tolist()
    pool = mapped + rng.sample(kept, 4000) + [ord(c) for c in "The quick, brown fox 42 "]
    return ["".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 12))) for _ in range(n)]


def test_known_characters() -> None:
    ft = fold_table()
    assert ft.kind[0xDF] == MAPPED and ft.mapped(0xDF) == "ss"  # ß
    assert ft.kind[0xA0] == MAPPED and ft.mapped(0xA0) == " "  # no-break space
    assert ft.mapped(0x2026) == "..."  # ellipsis
    assert ft.mapped(0xFB01) == "fi"  # ligature
    assert ft.kind[0x2019] == KEEP  # right single quotation mark
    assert ft.kind[0x0301] == UNSAFE  # combining acute accent
    assert ft.kind[0x1161] == UNSAFE  # Hangul medial vowel: composes with a leading consonant
    assert ft.kind[0xD800] == UNSAFE  # surrogate


def test_fold_equals_prepare_on_random_foldable_text() -> None:
    rng = random.Random(7)
    for text in _foldable(rng, 20_000):
        assert _fold(text) == prepare(text), [hex(ord(c)) for c in text]


def test_kernel_room_for_the_longest_fold() -> None:
    ft = fold_table()
    for i, cp in enumerate(ft.keys.tolist()):
        folded = "".join(chr(v) for v in ft.values[ft.offsets[i] : ft.offsets[i + 1]])
        size = len(chr(cp).encode("utf-8"))
        assert len(folded.encode("utf-8")) <= FOLD_BYTES * size
        assert len(folded) <= FOLD_UNITS * size


@pytest.mark.parametrize("mode", ["auto", "word", "char"])
def test_kernel_fold_gives_the_fingerprints_of_prepared_text(mode: str) -> None:
    rng = random.Random(11)
    texts = [" ".join(_foldable(rng, rng.randint(1, 30))) for _ in range(300)]
    texts += ["Straße … ﬁne\u00a0DAY", "ＦＵＬＬ width", "\ufdfa", "東京 TOKYO", ""]
    raw = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8)
    got = shingle_buffer(buf, offsets, np.ones(len(raw), np.uint8), ngram=3, mode=mode)
    want = shingle_batch(texts, ngram=3, mode=mode)
    for name in ("norm", "norm_offsets", "shingles", "shingle_offsets", "modes", "n_tokens"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_character_shingles_fold_ascii_capitals() -> None:
    """Pure-ASCII text is handed to the kernel unprepared: its capitals must fold in the
    character pass too, as they do in the word pass."""
    upper = shingle_batch(["Hello World Again"], mode="char").shingle_set(0)
    lower = shingle_batch(["hello world again"], mode="char").shingle_set(0)
    assert np.array_equal(upper, lower)


@pytest.mark.parametrize("mode", ["word", "char"])
def test_prepared_texts_after_long_folds_keep_their_room(mode: str) -> None:
    """Folds longer than their characters (U+FDFA: 3 bytes to 33; U+337F: 3 to 12) use the room
    of the batch; the prepared (not folded) texts after them still get theirs."""
    texts = ["\ufdfa" * 40, "e\u0301 " + "ab cd " * 400, "\u337f" * 100, "e\u0301 x " * 300]
    folded = [True, False, True, False]
    raw = [t.encode() if f else prepare(t).encode() for t, f in zip(texts, folded, strict=True)]
    offsets = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raw], out=offsets[1:])
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8)
    got = shingle_buffer(buf, offsets, np.array(folded, np.uint8), ngram=3, mode=mode)
    want = shingle_batch(texts, ngram=3, mode=mode)
    for name in ("norm", "norm_offsets", "shingles", "shingle_offsets", "modes", "n_tokens"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
