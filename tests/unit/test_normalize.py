"""The reference normalisation: NFKC, case folding, word-character tokens joined by spaces."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neardup
from neardup.text.normalize import (
    LOWER,
    NOSPACE,
    SEPARATOR,
    WORD,
    char_classes,
    prepare,
    tokens,
)
from neardup.text.shingle import shingle_batch


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # NFKC: ligatures, full-width forms, superscripts, roman numerals
        ("ﬁne ﬂour", "fine flour"),
        ("ＦＵＬＬ ｗｉｄｔｈ １２３", "full width 123"),
        ("x² + y³", "x2 y3"),
        ("Chapter Ⅻ", "chapter xii"),
        # case folding is stronger than lower()
        ("Straße", "strasse"),
        ("GROSSE Straße", "grosse strasse"),
        ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
        # punctuation, symbols and whitespace are separators and collapse to one space
        ("hello,,,   world!!!", "hello world"),
        ("  leading and trailing\t\n ", "leading and trailing"),
        ("a—b–c-d/e\\f", "a b c d e f"),
        ("price: $3.50 (approx.)", "price 3 50 approx"),
        ("don't stop", "don t stop"),
        ("tabs\tand\nnewlines\r\nmix", "tabs and newlines mix"),
        ("snake_case stays", "snake_case stays"),
        ("@#$%^&*", ""),
        ("", ""),
        # the doctest of the function itself
        ("  The QUICK—brown fox’s  ﬁne\tday! ", "the quick brown fox s fine day"),
    ],
)
def test_normalize_examples(text: str, expected: str) -> None:
    assert neardup.normalize(text) == expected


def test_combining_marks_stay_inside_words() -> None:
    # q + combining acute has no precomposed form, so NFKC keeps the mark
    assert tokens("q\u0301x yes") == ["q\u0301x", "yes"]
    # Devanagari vowel signs and virama (categories Mn/Mc) do not split words
    assert tokens("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]
    # a decomposed accent is composed by NFKC and stays in its word
    assert neardup.normalize(unicodedata.normalize("NFD", "Café Naïve")) == "café naïve"


def test_tokens_and_normalize_agree() -> None:
    text = "One, two; THREE... ﬁve!"
    assert tokens(text) == ["one", "two", "three", "five"]
    assert neardup.normalize(text) == " ".join(tokens(text))


def test_prepare_is_nfkc_then_casefold() -> None:
    assert prepare("ＡＢＣ Straße ﬁ") == "abc strasse fi"


def test_char_classes_table() -> None:
    table = char_classes()
    assert table.shape == (0x110000,)
    assert table[ord("a")] == WORD | LOWER
    assert table[ord("A")] == WORD
    assert table[ord("7")] == WORD
    assert table[ord("_")] == WORD
    assert table[0x0301] == WORD  # combining acute accent
    assert table[ord(" ")] == SEPARATOR
    assert table[ord(",")] == SEPARATOR
    assert table[ord("€")] == SEPARATOR
    assert table[ord("中")] == WORD | NOSPACE
    assert table[ord("カ")] == WORD | NOSPACE
    assert table[ord("ก")] & NOSPACE
    assert table[ord("한")] == WORD  # Korean is written with spaces


KERNEL_CASES = [
    "",
    "   ",
    "plain words",
    "  The QUICK—brown fox’s  ﬁne\tday! ",
    "Straße ΣΊΣΥΦΟΣ",
    "ＦＵＬＬ ｗｉｄｔｈ",
    "q\u0301x e\u0301t\u0327",
    "नमस्ते दुनिया",
    "今天早上我们去公园散步，看见很多老人。",
    "昨日の夕方、駅前の小さな本屋で",
    "วันนี้อากาศดีมาก เราจึงออกไป",
    "안녕하세요 여러분",
    "emoji 😀 between 🎉 words",
    "𝐁𝐨𝐥𝐝 math letters 𝟙𝟚𝟛",
    "replacement \ufffd char",
    "zero\u200bwidth space and nbsp\u00a0here",
    "mixed 中文 and English 123",
    "a\u0000b",
    "\U0002a700 ext-b ideograph",
]


def test_kernel_normalised_text_matches_reference() -> None:
    batch = shingle_batch(KERNEL_CASES)
    assert len(batch) == len(KERNEL_CASES)
    for i, text in enumerate(KERNEL_CASES):
        assert batch.normalized(i) == neardup.normalize(text), text


@settings(max_examples=200)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=6))
def test_kernel_normalised_text_matches_reference_property(texts: list[str]) -> None:
    batch = shingle_batch(texts)
    for i, text in enumerate(texts):
        assert batch.normalized(i) == neardup.normalize(text)
        assert batch.n_tokens[i] == len(tokens(text))
