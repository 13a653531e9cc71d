"""Word and character shingling."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CHINESE, HARBOUR, JAPANESE, THAI
from hypothesis import given
from hypothesis import strategies as st

from neardup.text.shingle import CHAR_MODE, WORD_MODE, shingle_batch, shingle_set


def words(m: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(m))


def test_empty_document_has_no_shingles() -> None:
    for text in ("", "   ", "!!! ... ???"):
        assert shingle_set(text).size == 0


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_fewer_than_n_words_gives_exactly_one_shingle(m: int) -> None:
    assert shingle_set(words(m), ngram=5).size == 1


def test_short_documents_with_same_words_share_their_shingle() -> None:
    a = shingle_set("Hello, World!")
    b = shingle_set("hello world")
    c = shingle_set("world hello")
    assert a.size == 1
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("m", "n"), [(5, 5), (6, 5), (20, 5), (50, 3), (10, 1), (30, 7)])
def test_distinct_word_ngram_count(m: int, n: int) -> None:
    s = shingle_set(words(m), ngram=n)
    assert s.size == m - n + 1


def test_repeated_ngrams_are_counted_once() -> None:
    # "a b a b a b": 2-grams are "a b" and "b a" only
    assert shingle_set("a b a b a b", ngram=2).size == 2
    assert shingle_set("same same same same same same same", ngram=3).size == 1


def test_shingle_ids_are_sorted_unique_uint32() -> None:
    s = shingle_set(HARBOUR)
    assert s.dtype == np.uint32
    assert np.all(np.diff(s.astype(np.int64)) > 0)


def test_shingles_ignore_case_and_punctuation() -> None:
    a = shingle_set("The cat sat on the mat, and then it slept.")
    b = shingle_set("THE CAT -- SAT ON THE MAT and then IT slept!!!")
    assert np.array_equal(a, b)


def test_word_order_matters() -> None:
    assert not np.array_equal(shingle_set(words(8)), shingle_set(" ".join(words(8).split()[::-1])))


@pytest.mark.parametrize("text", [CHINESE, JAPANESE, THAI])
def test_auto_mode_uses_characters_for_scripts_without_spaces(text: str) -> None:
    batch = shingle_batch([text])
    assert batch.modes[0] == CHAR_MODE


@pytest.mark.parametrize("text", [HARBOUR, "안녕하세요 여러분 반갑습니다", "Ελληνικά κείμενα εδώ"])
def test_auto_mode_uses_words_for_spaced_scripts(text: str) -> None:
    assert shingle_batch([text]).modes[0] == WORD_MODE


def test_auto_mode_switches_at_one_third_no_space_characters() -> None:
    # "abcd 東京": 2 of 6 word characters are CJK (exactly one third) -> characters
    # "abcde 東京": 2 of 7 -> words
    batch = shingle_batch(["abcd 東京", "abcde 東京", ""])
    assert batch.modes.tolist() == [CHAR_MODE, WORD_MODE, WORD_MODE]


def test_char_shingle_count() -> None:
    text = "一二三四五六七八九十"  # ten distinct characters
    assert shingle_set(text, char_ngram=5).size == 10 - 5 + 1
    assert shingle_set(text, char_ngram=3).size == 10 - 3 + 1
    # fewer characters than n: one shingle
    assert shingle_set("一二", char_ngram=5).size == 1


def test_char_shingles_skip_separators() -> None:
    a = shingle_set("東京 タワー、です。", char_ngram=3)
    b = shingle_set("東京タワーです", char_ngram=3)
    assert np.array_equal(a, b)
    assert a.size == 7 - 3 + 1


def test_mode_char_forces_character_shingles_on_english() -> None:
    batch = shingle_batch(["abcdefg", "ab cd efg"], mode="char", char_ngram=3)
    assert batch.modes.tolist() == [CHAR_MODE, CHAR_MODE]
    assert batch.shingle_set(0).size == 5
    assert np.array_equal(batch.shingle_set(0), batch.shingle_set(1))


def test_mode_word_forces_word_shingles_on_chinese() -> None:
    batch = shingle_batch([CHINESE], mode="word")
    assert batch.modes[0] == WORD_MODE
    # each CJK run between punctuation marks is one word: six words, two 5-word shingles
    assert batch.n_tokens[0] == 6
    assert batch.shingle_set(0).size == 2


def test_batch_offsets_and_normalized_text() -> None:
    texts = ["One two three", "", "Four, five; SIX seven eight nine"]
    batch = shingle_batch(texts, ngram=2)
    assert [batch.shingle_set(i).size for i in range(3)] == [2, 0, 5]
    assert [batch.normalized(i) for i in range(3)] == [
        "one two three",
        "",
        "four five six seven eight nine",
    ]
    assert batch.n_tokens.tolist() == [3, 0, 6]


def test_empty_batch() -> None:
    batch = shingle_batch([])
    assert len(batch) == 0
    assert batch.shingles.size == 0


@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_batch_result_equals_one_text_at_a_time(texts: list[str]) -> None:
    batch = shingle_batch(texts, ngram=2, char_ngram=2)
    for i, text in enumerate(texts):
        single = shingle_set(text, ngram=2, char_ngram=2)
        assert np.array_equal(batch.shingle_set(i), single)
