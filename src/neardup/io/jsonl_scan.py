"""The text and id of JSONL records, read in compiled code without holding the GIL.

:func:`scan_block` checks every line of a block against the JSON grammar (RFC 8259) and takes
out the top-level text field, decoded to UTF-8, and the span of the id field. It accepts only
lines it is sure orjson reads the same way; every other line is marked SLOW and goes through
:func:`neardup.io.sources.decode_json_line` as before, so errors, repairs and messages stay
those of the general path. SLOW are: a line that is not an object, a syntax error, invalid
UTF-8, an escaped lone surrogate, a control character in a string, a number orjson might not
read as Python does (an exponent of three or more digits, more than 32 characters), nesting
deeper than :data:`MAX_DEPTH`, an escaped key, a text that is missing or not a string, and an
id that is neither a plain string, an integer of at most 18 digits nor null.

Each text is also checked against the fold table (:mod:`neardup.text.fold`): a text with an
UNSAFE character is marked PREPARE, to be prepared as a whole in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np

from neardup.errors import InputError
from neardup.io.sources import (
    FieldSpec,
    RawBatch,
    decode_json_line,
    newlines,
    record_id,
    record_text,
)
from neardup.text.fold import fold_table
from neardup.text.normalize import prepare
from neardup.text.shingle import put_utf8

#: line status: read here, and the shingle kernel may fold it; read here, but prepare the text
#: in Python; read by the general path
FAST, PREPARE, SLOW = 0, 1, 2
#: id kinds: absent or null; a string without escapes (its bytes are the id); an integer
ID_NONE, ID_STR, ID_INT = 0, 1, 2
MAX_DEPTH = 128
_UNSAFE = 2  # neardup.text.fold.UNSAFE


@nb.njit(cache=True)
def _ws(b: np.ndarray, p: int, hi: int) -> int:
    while p < hi and (b[p] == 32 or b[p] == 9 or b[p] == 13 or b[p] == 10):
        p += 1
    return p


@nb.njit(cache=True)
def _hex4(b: np.ndarray, p: int, hi: int) -> int:
    """The value of four hex digits at ``b[p:p+4]``, or -1."""
    if p + 4 > hi:
        return -1
    v = 0
    for q in range(4):
        c = b[p + q]
        if c >= 48 and c <= 57:
            v = v * 16 + (c - 48)
        elif c >= 97 and c <= 102:
            v = v * 16 + (c - 87)
        elif c >= 65 and c <= 70:
            v = v * 16 + (c - 55)
        else:
            return -1
    return v


@nb.njit(cache=True)
def _string(
    b: np.ndarray, p: int, hi: int, out: np.ndarray, o: int, decode: bool, fkind: np.ndarray
) -> tuple[int, int, int, bool, bool]:
    """Read the JSON string whose opening quote is at ``b[p]``.

    Returns ``(end, o, code points, escaped, unsafe)``: ``end`` is the position after the
    closing quote, or -1 where the line must take the general path; with ``decode`` the
    string's UTF-8 is written at ``out[o:]`` and ``o`` is where it ends."""
    p += 1
    n = 0
    escaped = False
    unsafe = False
    while p < hi:
        run = p  # a run of plain ASCII, the bulk of most text: find its end, then copy it whole
        while run < hi and b[run] >= 0x20 and b[run] < 0x80 and b[run] != 34 and b[run] != 92:
            run += 1
        if run > p:
            if decode:
                out[o : o + run - p] = b[p:run]
                o += run - p
            n += run - p
            p = run
            if p >= hi:
                break
        c = b[p]
        if c == 34:  # closing quote
            return p + 1, o, n, escaped, unsafe
        if c == 92:  # backslash
            escaped = True
            if p + 1 >= hi:
                return -1, o, n, escaped, unsafe
            e = b[p + 1]
            cp = -1
            if e == 34 or e == 92 or e == 47:
                cp = e
            elif e == 98:
                cp = 8
            elif e == 102:
                cp = 12
            elif e == 110:
                cp = 10
            elif e == 114:
                cp = 13
            elif e == 116:
                cp = 9
            elif e == 117:
                u = _hex4(b, p + 2, hi)
                if u < 0 or (u >= 0xDC00 and u < 0xE000):
                    return -1, o, n, escaped, unsafe
                if u >= 0xD800 and u < 0xDC00:  # must be followed by a low surrogate
                    if p + 7 >= hi or b[p + 6] != 92 or b[p + 7] != 117:
                        return -1, o, n, escaped, unsafe
                    lo = _hex4(b, p + 8, hi)
                    if lo < 0xDC00 or lo >= 0xE000:
                        return -1, o, n, escaped, unsafe
                    cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                    p += 6
                else:
                    cp = u
                p += 4
            if cp < 0:
                return -1, o, n, escaped, unsafe
            if cp >= 0x80 and fkind[cp] == _UNSAFE:
                unsafe = True
            if decode:
                o = put_utf8(cp, out, o)
            n += 1
            p += 2
            continue
        if c < 0x20:
            return -1, o, n, escaped, unsafe
        if c < 0x80:
            if decode:
                out[o] = c
                o += 1
            n += 1
            p += 1
            continue
        # strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF)
        if c >= 0xC2 and c <= 0xDF:
            k = 1
            lo_b, hi_b = 0x80, 0xBF
            cp = c & 0x1F
        elif c >= 0xE0 and c <= 0xEF:
            k = 2
            lo_b = 0xA0 if c == 0xE0 else 0x80
            hi_b = 0x9F if c == 0xED else 0xBF
            cp = c & 0x0F
        elif c >= 0xF0 and c <= 0xF4:
            k = 3
            lo_b = 0x90 if c == 0xF0 else 0x80
            hi_b = 0x8F if c == 0xF4 else 0xBF
            cp = c & 0x07
        else:
            return -1, o, n, escaped, unsafe
        if p + k >= hi:
            return -1, o, n, escaped, unsafe
        c1 = b[p + 1]
        if c1 < lo_b or c1 > hi_b:
            return -1, o, n, escaped, unsafe
        cp = (cp << 6) | (c1 & 0x3F)
        for q in range(2, k + 1):
            cq = b[p + q]
            if cq < 0x80 or cq > 0xBF:
                return -1, o, n, escaped, unsafe
            cp = (cp << 6) | (cq & 0x3F)
        if fkind[cp] == _UNSAFE:
            unsafe = True
        if decode:
            for q in range(k + 1):
                out[o + q] = b[p + q]
            o += k + 1
        n += 1
        p += k + 1
    return -1, o, n, escaped, unsafe


@nb.njit(cache=True)
def _digits(b: np.ndarray, p: int, hi: int) -> int:
    while p < hi and b[p] >= 48 and b[p] <= 57:
        p += 1
    return p


@nb.njit(cache=True)
def _number(b: np.ndarray, p: int, hi: int) -> tuple[int, bool]:
    """Read a JSON number at ``b[p]``: ``(end or -1, integer)``."""
    start = p
    if b[p] == 45:  # minus
        p += 1
    if p >= hi:
        return -1, False
    if b[p] == 48:
        p += 1
    elif b[p] >= 49 and b[p] <= 57:
        p = _digits(b, p, hi)
    else:
        return -1, False
    integer = True
    if p < hi and b[p] == 46:  # fraction
        q = _digits(b, p + 1, hi)
        if q == p + 1:
            return -1, False
        p = q
        integer = False
    if p < hi and (b[p] == 101 or b[p] == 69):  # exponent
        p += 1
        if p < hi and (b[p] == 43 or b[p] == 45):
            p += 1
        q = _digits(b, p, hi)
        if q == p or q - p > 2:
            return -1, False
        p = q
        integer = False
    if p - start > 32:
        return -1, False
    return p, integer


@nb.njit(cache=True)
def _literal(b: np.ndarray, p: int, hi: int) -> int:
    """End of ``true``, ``false`` or ``null`` at ``b[p]``, or -1."""
    c = b[p]
    if c == 116 and p + 4 <= hi and b[p + 1] == 114 and b[p + 2] == 117 and b[p + 3] == 101:
        return p + 4
    if c == 110 and p + 4 <= hi and b[p + 1] == 117 and b[p + 2] == 108 and b[p + 3] == 108:
        return p + 4
    if (
        c == 102
        and p + 5 <= hi
        and b[p + 1] == 97
        and b[p + 2] == 108
        and b[p + 3] == 115
        and b[p + 4] == 101
    ):
        return p + 5
    return -1


@nb.njit(cache=True)
def _member_key(b: np.ndarray, p: int, hi: int, scratch: np.ndarray, fkind: np.ndarray) -> int:
    """Check a member's key at ``b[p]`` and the colon after it; returns the position after
    the colon, or -1 (``scratch``: any uint8 array; nothing is written without decode)."""
    if p >= hi or b[p] != 34:
        return -1
    p = _string(b, p, hi, scratch, 0, False, fkind)[0]
    if p < 0:
        return -1
    p = _ws(b, p, hi)
    if p >= hi or b[p] != 58:
        return -1
    return p + 1


@nb.njit(cache=True)
def _value(b: np.ndarray, p: int, hi: int, stack: np.ndarray, fkind: np.ndarray) -> int:
    """Check the JSON value at ``b[p]`` (after white space); returns its end or -1."""
    depth = 0
    while True:
        # a value starts here
        p = _ws(b, p, hi)
        if p >= hi:
            return -1
        c = b[p]
        if c == 123 or c == 91:  # { or [
            q = _ws(b, p + 1, hi)
            if q < hi and b[q] == c + 2:  # {} or []
                p = q + 1
            else:
                if depth >= MAX_DEPTH:
                    return -1
                stack[depth] = c
                depth += 1
                p = q
                if c == 123:
                    p = _member_key(b, p, hi, stack, fkind)
                    if p < 0:
                        return -1
                continue
        elif c == 34:
            p = _string(b, p, hi, stack, 0, False, fkind)[0]
        elif c == 45 or (c >= 48 and c <= 57):
            p = _number(b, p, hi)[0]
        else:
            p = _literal(b, p, hi)
        if p < 0:
            return -1
        # after a value: close containers, or a comma and the next member
        while True:
            if depth == 0:
                return p
            p = _ws(b, p, hi)
            if p >= hi:
                return -1
            c = b[p]
            top = stack[depth - 1]
            if c == 44:  # comma
                p += 1
                if top == 123:
                    p = _member_key(b, _ws(b, p, hi), hi, stack, fkind)
                    if p < 0:
                        return -1
                break
            if c == top + 2:  # } or ]
                depth -= 1
                p += 1
                continue
            return -1


@nb.njit(cache=True)
def _same(b: np.ndarray, lo: int, hi: int, key: np.ndarray) -> bool:
    if hi - lo != key.size:
        return False
    for q in range(key.size):  # noqa: SIM110 (a loop, for numba)
        if b[lo + q] != key[q]:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def scan_block(
    b: np.ndarray, bom_line: int, text_key: np.ndarray, id_key: np.ndarray, fkind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the non-blank lines of ``b`` (lines end at ``\\n``; line ``bom_line`` may start
    with a UTF-8 byte order mark, which is dropped).

    Returns, one row per non-blank line in order: ``lines`` (index of the line in ``b``, from
    0), ``status`` (FAST, PREPARE, SLOW), ``spans`` (``(n, 6)``: the line's start and end in
    ``b``, the text's start and end in ``out``, the id's start and end in ``b``), ``id_kind``,
    ``n_chars`` (code points of the text), and ``out``, the texts of the lines read here, one
    after another in line order."""
    n_lines = newlines(b) + 1
    lines = np.empty(n_lines, dtype=np.int64)
    status = np.empty(n_lines, dtype=np.uint8)
    spans = np.zeros((n_lines, 6), dtype=np.int64)
    id_kind = np.zeros(n_lines, dtype=np.uint8)
    n_chars = np.zeros(n_lines, dtype=np.int64)
    out = np.empty(b.size, dtype=np.uint8)
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    o = 0
    m = 0
    k = 0
    lo = 0
    while lo <= b.size:
        nl = lo
        while nl < b.size and b[nl] != 10:
            nl += 1
        hi = nl
        start = lo
        if (
            k == bom_line
            and hi - start >= 3
            and b[start] == 0xEF
            and b[start + 1] == 0xBB
            and b[start + 2] == 0xBF
        ):
            start += 3
        blank = True
        for q in range(start, hi):
            c = b[q]
            if not (c == 32 or (c >= 9 and c <= 13)):
                blank = False
                break
        if not blank:
            lines[m] = k
            spans[m, 0] = start
            spans[m, 1] = hi
            st = SLOW
            t_lo = -1
            t_hi = -1
            t_n = 0
            t_unsafe = False
            ik = ID_NONE
            i_lo = 0
            i_hi = 0
            p = _ws(b, start, hi)
            ok = p < hi and b[p] == 123
            if ok:
                p = _ws(b, p + 1, hi)
                if p < hi and b[p] == 125:  # {}
                    p += 1
                else:
                    while True:  # members of the top-level object
                        if p >= hi or b[p] != 34:
                            ok = False
                            break
                        ks = p + 1
                        p, _o, _n, kesc, _u = _string(b, p, hi, out, o, False, fkind)
                        if p < 0 or kesc:
                            ok = False
                            break
                        ke = p - 1
                        p = _ws(b, p, hi)
                        if p >= hi or b[p] != 58:
                            ok = False
                            break
                        p = _ws(b, p + 1, hi)
                        if p >= hi:
                            ok = False
                            break
                        if _same(b, ks, ke, text_key):
                            if b[p] != 34:
                                ok = False  # not a string: the general path says so
                                break
                            p, o2, t_n, _e, t_unsafe = _string(b, p, hi, out, o, True, fkind)
                            t_lo = o
                            t_hi = o2
                        elif _same(b, ks, ke, id_key):
                            c = b[p]
                            if c == 34:
                                q = p
                                p, _o, _n, iesc, _u = _string(b, p, hi, out, o, False, fkind)
                                if iesc:
                                    ok = False
                                    break
                                ik = ID_STR
                                i_lo = q + 1
                                i_hi = p - 1
                            elif c == 45 or (c >= 48 and c <= 57):
                                q = p
                                p, integer = _number(b, p, hi)
                                if not integer or p - q > 18:
                                    ok = False
                                    break
                                ik = ID_INT
                                i_lo = q
                                i_hi = p
                            elif c == 110:
                                p = _literal(b, p, hi)
                                ik = ID_NONE
                            else:
                                ok = False
                                break
                        else:
                            p = _value(b, p, hi, stack, fkind)
                        if p < 0:
                            ok = False
                            break
                        p = _ws(b, p, hi)
                        if p < hi and b[p] == 44:
                            p = _ws(b, p + 1, hi)
                            continue
                        if p < hi and b[p] == 125:
                            p += 1
                            break
                        ok = False
                        break
                if ok and _ws(b, p, hi) != hi:
                    ok = False
            if ok and t_lo >= 0:
                st = PREPARE if t_unsafe else FAST
                spans[m, 2] = t_lo  # a repeated text field was decoded again at o: the last stands
                spans[m, 3] = t_hi
                o = t_hi
                spans[m, 4] = i_lo
                spans[m, 5] = i_hi
                id_kind[m] = ik
                n_chars[m] = t_n
            else:
                spans[m, 2] = o
                spans[m, 3] = o
            status[m] = st
            m += 1
        k += 1
        lo = nl + 1
    return lines[:m], status[:m], spans[:m], id_kind[:m], n_chars[:m], out[:o]


@dataclass(slots=True)
class ScannedBatch:
    """A JSONL raw batch read for fingerprinting: the accepted records' ``ids``, ``lines``
    and ``lengths`` (code points of the text), their texts as UTF-8 in ``buf`` at
    ``offsets``, ``fold`` (1 where the shingle kernel folds the raw text, 0 where it was
    prepared here), and the bad records as ``errors``."""

    ids: list[Any]
    lines: list[int]
    lengths: np.ndarray
    buf: np.ndarray
    offsets: np.ndarray
    fold: np.ndarray
    errors: list[InputError] = field(default_factory=list)
    invalid_utf8: int = 0


def applies(raw: RawBatch, spec: FieldSpec) -> bool:
    """Whether :func:`scan_batch` can read ``raw``: JSONL whose records give only a text and
    an id (no keeper, time or correction fields), from two different fields (the scanner reads
    each member once, as the one or the other)."""
    return (
        raw.kind == "jsonl"
        and spec.text_field != spec.id_field
        and spec.keep_field is None
        and spec.time_field is None
        and not spec.corrections
    )


def _block(raw: RawBatch) -> tuple[bytes, list[int] | int, int] | None:
    """The batch as one block of lines: ``(block, line numbers or the first line's, index of
    line 1 or -1)``; None for items that are neither one block nor single lines."""
    if len(raw.items) == 1:
        first, block = raw.items[0]
        return block, first, 0 if first == 1 else -1
    values = [v for _, v in raw.items]
    if any(b"\n" in v for v in values):
        return None
    numbers = [line for line, _ in raw.items]
    return b"\n".join(values), numbers, numbers.index(1) if 1 in numbers else -1


def scan_batch(raw: RawBatch, spec: FieldSpec) -> ScannedBatch | None:
    """Read a JSONL raw batch with :func:`scan_block`; lines it leaves are read by the general
    path (:func:`neardup.io.sources.decode_json_line`). None where the batch's shape does not
    allow it (the caller then parses it as before)."""
    shape = _block(raw)
    if shape is None:
        return None
    block, numbers, bom_line = shape
    b = np.frombuffer(block, dtype=np.uint8)
    lines, status, spans, id_kind, n_chars, out = scan_block(
        b, bom_line, _key(spec.text_field), _key(spec.id_field), fold_table().kind
    )
    if isinstance(numbers, int):
        line_no = (lines + numbers).tolist()
    else:
        line_no = [numbers[k] for k in lines.tolist()]
    slow = status == SLOW
    if not slow.any() and not (status == PREPARE).any():  # the common case: nothing to do here
        ids = _ids(block, spans, id_kind, line_no, raw.source)
        offsets = np.zeros(len(line_no) + 1, dtype=np.int64)
        offsets[1:] = spans[:, 3]
        offsets[0] = 0 if len(line_no) == 0 else spans[0, 2]
        return ScannedBatch(
            ids, line_no, n_chars, out, offsets, np.ones(len(line_no), dtype=np.uint8)
        )
    return _mixed(raw, block, line_no, status, spans, id_kind, n_chars, out, spec)


def _key(name: str) -> np.ndarray:
    return np.frombuffer(name.encode("utf-8"), dtype=np.uint8)


def _ids(
    block: bytes, spans: np.ndarray, kinds: np.ndarray, lines: list[int], source: str
) -> list[Any]:
    ids: list[Any] = []
    for (lo, hi), kind, line in zip(spans[:, 4:6].tolist(), kinds.tolist(), lines, strict=True):
        if kind == ID_STR:
            ids.append(block[lo:hi].decode("utf-8"))
        elif kind == ID_INT:
            ids.append(int(block[lo:hi]))
        else:
            ids.append(f"{source}:{line}")
    return ids


def _mixed(
    raw: RawBatch,
    block: bytes,
    line_no: list[int],
    status: np.ndarray,
    spans: np.ndarray,
    id_kind: np.ndarray,
    n_chars: np.ndarray,
    out: np.ndarray,
    spec: FieldSpec,
) -> ScannedBatch:
    """A batch with lines for the general path or texts to prepare: every record in line
    order, each text's bytes joined once."""
    res = ScannedBatch([], [], np.zeros(0, np.int64), out, np.zeros(1, np.int64), out[:0])
    fast_ids = _ids(block, spans, id_kind, line_no, raw.source)
    parts: list[Any] = []
    lengths: list[int] = []
    fold: list[int] = []
    view = out.data
    for m, st in enumerate(status.tolist()):
        line = line_no[m]
        if st == SLOW:
            payload = block[spans[m, 0] : spans[m, 1]]
            try:
                record, bad = decode_json_line(payload, raw.source, line)
                res.invalid_utf8 += bad
                text = record_text(record, spec, raw.source, line)
                rid = record_id(record, spec, raw.source, line)
            except InputError as exc:
                res.errors.append(exc)
                continue
        else:
            rid = fast_ids[m]
            if st == FAST:
                res.ids.append(rid)
                res.lines.append(line)
                parts.append(view[spans[m, 2] : spans[m, 3]])
                lengths.append(int(n_chars[m]))
                fold.append(1)
                continue
            text = bytes(view[spans[m, 2] : spans[m, 3]]).decode("utf-8")
        res.ids.append(rid)
        res.lines.append(line)
        parts.append(
            text.encode("ascii") if text.isascii() else prepare(text).encode("utf-8", "replace")
        )
        lengths.append(len(text))
        fold.append(0)
    sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    res.offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=res.offsets[1:])
    res.buf = np.frombuffer(b"".join(parts), dtype=np.uint8)
    res.lengths = np.asarray(lengths, dtype=np.int64)
    res.fold = np.asarray(fold, dtype=np.uint8)
    return res
