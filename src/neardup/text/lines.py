"""Line structure of documents, for boilerplate detection.

For every line (text split on ``\\n``, as ``str.split`` does) the kernel reports the hash of its
normalised form (the same normalisation as :mod:`neardup.text.normalize`, applied to the line
alone), its number of tokens, whether it is blank (only whitespace), and whether it ends a
sentence: its last visible character is a full stop, a question or exclamation mark or an
ellipsis, perhaps followed by a closing quote or bracket (a colon announces more: "… as
follows:" goes on in the table under it). *Blocks* are maximal runs of non-blank lines, i.e.
paragraphs separated by blank lines.

A full stop right after an abbreviation does not end a sentence: "The Federal Deposit Insurance
Corp." at the end of a line is the head of a sentence that goes on in the next line. Such a line
has the ABBREVIATION flag instead of TERMINAL. Abbreviations are

* a single ASCII letter that is upper-case ("J.", the last letter of "U.S." or "U.S.A.") or
  that follows a full stop ("e.g.", "a.m."), and
* a word of :data:`ABBREVIATION_WORDS` written with a capital ("Corp.", "INC.", "Mr.", "No.",
  "Calif."; "said no." ends a sentence).

A number before the full stop ("rose to 5.") is not an abbreviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from neardup.hashing import _FNV_OFFSET, _FNV_PRIME, _FOLD_PRIME, fmix64
from neardup.text.normalize import char_classes
from neardup.text.shingle import _decode, encode_batch

BLANK, TERMINAL, STARTS_LOWER, ABBREVIATION = 1, 2, 4, 8

#: Words that, capitalised and followed by a full stop, abbreviate: titles, company suffixes,
#: months and the postal abbreviations of U.S. states (AP style). Not "etc." nor "Mar."/"May",
#: which end sentences as often as not or are words.
ABBREVIATION_WORDS = (  # noqa: SIM905 - one word list, grouped by kind
    # titles and ranks
    "mr mrs ms messrs dr prof rev hon sen rep gov gen col lt maj capt sgt adm cmdr jr sr "
    # companies and addresses
    "corp inc ltd co cos bros plc llc pty st mt ft ave blvd dept no nos vs "
    # months
    "jan feb apr jun jul aug sep sept oct nov dec "
    # U.S. states
    "ala ariz ark calif colo conn del fla ga ill ind kan ky la md mass mich minn miss mo mont "
    "neb nev okla ore pa tenn tex va vt wash wis wyo"
).split()


def _pack(word: str) -> int:
    """An ASCII word of at most 12 letters as 5 bits a letter (what the kernel computes)."""
    code = 0
    for ch in word.lower():
        code = code * 32 + ord(ch) - 96
    return code


#: The packed abbreviations, sorted (the kernel looks them up by binary search).
ABBREVIATIONS = np.array(sorted({_pack(w) for w in ABBREVIATION_WORDS}), dtype=np.int64)
LINE_SALT = np.uint64(0x243F6A8885A308D3)
BLOCK_SALT = np.uint64(0x13198A2E03707344)


@nb.njit(inline="always", cache=True)
def _ends_sentence(cp: int | np.int64) -> bool:
    """. ! ? … and the CJK full stop, exclamation and question marks. Not the colon: it announces
    what follows ("… discount notes as follows:" before a table's header)."""
    return (
        cp == 0x2E
        or cp == 0x21
        or cp == 0x3F
        or cp == 0x2026
        or cp == 0x3002
        or cp == 0xFF01
        or cp == 0xFF1F
    )


@nb.njit(inline="always", cache=True)
def _closes_quote(cp: int | np.int64) -> bool:
    """Closing quotes and brackets, which may follow a sentence's final punctuation."""
    return (
        cp == 0x22
        or cp == 0x27
        or cp == 0x29
        or cp == 0x5D
        or cp == 0xBB
        or cp == 0x2019
        or cp == 0x201D
    )


@nb.njit(inline="always", cache=True)
def _abbreviation(
    code: int | np.int64, length: int, first: int | np.int64, after_stop: bool
) -> bool | np.bool_:
    """Whether a token (letters packed as in :func:`_pack`, -1 if not all ASCII letters) is an
    abbreviation when a full stop follows it (see module docstring)."""
    if code < 0:
        return False
    upper = first >= 65 and first <= 90
    if length == 1:
        return upper or after_stop
    if not upper:
        return False
    k = np.searchsorted(ABBREVIATIONS, code)
    return k < ABBREVIATIONS.size and ABBREVIATIONS[k] == code


@nb.njit(cache=True, nogil=True)
def line_kernel(
    buf: np.ndarray, offsets: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per line: ``(hash, tokens, flags)``; per document: ``line_offsets`` into those arrays."""
    n_docs = offsets.size - 1
    n_lines = n_docs
    for i in range(offsets[-1]):
        if buf[i] == 10:
            n_lines += 1
    hashes = np.empty(n_lines, dtype=np.uint64)
    tokens = np.zeros(n_lines, dtype=np.int32)
    flags = np.zeros(n_lines, dtype=np.uint8)
    line_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    ln_i = 0
    for d in range(n_docs):
        start, end = offsets[d], offsets[d + 1]
        i = start
        while True:  # one iteration per line; a document has at least one line
            h = _FNV_OFFSET
            ntok = 0
            in_tok = False
            blank = True
            last_cp: int | np.int64 = 0
            before_last: int | np.int64 = 0
            first_word = -1  # 1 when the first word character is a lower-case letter
            tok_len = 0  # code points of the current (or last) token
            tok_code = 0  # its letters packed as in _pack; -1 once it holds anything else
            tok_first: int | np.int64 = 0  # its first code point
            tok_after_stop = False  # whether a full stop comes right before it
            prev_cp: int | np.int64 = 0  # the code point before this one, white space included
            while i < end and buf[i] != 10:
                c0 = buf[i]
                if c0 < 128:
                    cp: int | np.int64 = np.int64(c0)
                    ln = 1
                    if c0 >= 65 and c0 <= 90:
                        c0 += 32  # fold ASCII for the hash; cp keeps the case
                else:
                    cp, ln = _decode(buf, i, end)
                if not (cp == 32 or cp == 9 or cp == 13 or cp == 11 or cp == 12):
                    blank = False
                    before_last = last_cp
                    last_cp = cp
                cls = classes[cp]
                if cls != 0 and first_word < 0:
                    first_word = 1 if cls & 4 else 0
                if cls != 0:
                    if not in_tok:
                        if ntok > 0:
                            h = (h ^ np.uint64(32)) * _FNV_PRIME
                        in_tok = True
                        ntok += 1
                        tok_len = 0
                        tok_code = 0
                        tok_first = cp
                        tok_after_stop = prev_cp == 0x2E
                    tok_len += 1
                    if tok_code >= 0:
                        if c0 >= 97 and c0 <= 122 and tok_len <= 12:
                            tok_code = tok_code * 32 + (c0 - 96)
                        else:
                            tok_code = -1
                    if ln == 1:
                        h = (h ^ np.uint64(c0)) * _FNV_PRIME
                    else:
                        for q in range(ln):
                            h = (h ^ np.uint64(buf[i + q])) * _FNV_PRIME
                else:
                    in_tok = False
                prev_cp = cp
                i += ln
            hashes[ln_i] = fmix64(h) ^ LINE_SALT
            tokens[ln_i] = ntok
            f = 0
            if blank:
                f |= BLANK
            # "Corp.", "U.S." or "J." at the end of a line: an abbreviation, not a sentence's end
            abbreviation = (
                last_cp == 0x2E
                and classes[before_last] != 0
                and _abbreviation(tok_code, tok_len, tok_first, tok_after_stop)
            )
            if abbreviation:
                f |= ABBREVIATION
            elif _ends_sentence(last_cp) or (
                _closes_quote(last_cp) and _ends_sentence(before_last)
            ):
                f |= TERMINAL
            if first_word == 1:
                f |= STARTS_LOWER
            flags[ln_i] = f
            ln_i += 1
            if i >= end:
                break
            i += 1  # skip the newline
        line_offsets[d + 1] = ln_i
    return hashes, tokens, flags, line_offsets


@nb.njit(cache=True, nogil=True)
def block_kernel(
    hashes: np.ndarray, tokens: np.ndarray, flags: np.ndarray, line_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Block of every line (-1 for blank lines) and, per block, its hash (a fold of its lines'
    hashes), its token count and its number of lines."""
    n = hashes.size
    block_of = np.full(n, -1, dtype=np.int64)
    b_hash = np.empty(n, dtype=np.uint64)
    b_tokens = np.zeros(n, dtype=np.int64)
    b_lines = np.zeros(n, dtype=np.int64)
    nb_ = 0
    for d in range(line_offsets.size - 1):
        open_block = False
        for i in range(line_offsets[d], line_offsets[d + 1]):
            if flags[i] & BLANK:
                open_block = False
                continue
            if not open_block:
                open_block = True
                b_hash[nb_] = BLOCK_SALT
                nb_ += 1
            b = nb_ - 1
            block_of[i] = b
            b_hash[b] = fmix64((b_hash[b] ^ hashes[i]) * _FOLD_PRIME)
            b_tokens[b] += tokens[i]
            b_lines[b] += 1
    return block_of, b_hash[:nb_], b_tokens[:nb_], b_lines[:nb_]


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Lines and blocks of a batch of documents (see module docstring)."""

    hashes: np.ndarray
    tokens: np.ndarray
    flags: np.ndarray
    line_offsets: np.ndarray
    block_of: np.ndarray
    block_hashes: np.ndarray
    block_tokens: np.ndarray
    block_lines: np.ndarray


def line_batch(texts: list[str]) -> LineBatch:
    """Analyse the lines and blocks of a batch of texts (NFKC, case kept for the flags)."""
    buf, offsets = encode_batch(texts, casefold=False)
    hashes, tokens, flags, line_offsets = line_kernel(buf, offsets, char_classes())
    block_of, b_hash, b_tokens, b_lines = block_kernel(hashes, tokens, flags, line_offsets)
    return LineBatch(hashes, tokens, flags, line_offsets, block_of, b_hash, b_tokens, b_lines)
