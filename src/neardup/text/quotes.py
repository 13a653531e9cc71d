"""What of an e-mail or Usenet message is its body, and what is its writer's own text.

Containment (:mod:`neardup.sharedtext.containment`) measures a message by its *own* text, so a
reply that quotes its parent does not "contain" the parent, and also by its *body*, so a message
whose own text is only a signature or a line is not "contained" in another one that ends the
same way. The body (:func:`message_parts`) drops the header block and the signature; the own
text (:func:`own_text`) drops:

* the header block at the top (``From:``, ``Subject:``, ``Lines:`` … up to the first blank line,
  when it has at least two header lines) and the signature (from a line ``--`` to the end,
  when at most ten lines follow it);
* quoted lines: after leading white space, a quote mark (``>``, ``|``, ``:``, ``#``, ``<``,
  ``}``, ``=``, ``->``), possibly after initials (``BM>``, ``jd]``), or one of ``- + { [ ~ *``
  opening three or more lines in a row; in a reply (its header has
  ``Subject: Re:`` or ``In-Reply-To:``), indented lines too, the quoting style of newsreaders
  that indent instead of marking;
* attribution lines (starting "In article" or "In message", or ending "writes:", "wrote:",
  "says:"), and the indented block after one (the quoting style of several newsreaders);
* everything after a forwarding separator ("-----Original Message-----", "---- Original
  Article ----", "Begin included article", "Article #123"), or after a header block pasted into
  the body (two or more ``From:``/``Subject:``/``Date:``… lines in a row).

Text without any of these marks is returned unchanged, after a quick test.
"""

from __future__ import annotations

import hashlib
import re

_HEADER = re.compile(r"^[A-Za-z][\w-]*:[ \t]")
_PASTED_HEADER = re.compile(
    r"^[ \t>]*(?:from|subject|date|newsgroups|message-id|sender|to|reply-to):[ \t]", re.IGNORECASE
)
_QUOTED = re.compile(r"^[ \t]*(?:[>|:#<}=]|-+>|[A-Za-z]{1,4}[>\]])")
#: Marks that quote only in a run of at least three lines that start with the same one (a list
#: of three bullets is then taken for a quote, the safe side for containment).
_RUN_MARKS = frozenset("-+{[~*")
_LINE_BREAKS = re.compile(r"\r\n?|\n")
#: Lines after a "--" line beyond which it is a separator, not a signature delimiter.
SIGNATURE_LINES = 10
_REPLY_HEADER = re.compile(r"^(?:subject:[ \t]*re:|in-reply-to:)", re.IGNORECASE)
_INDENTED = re.compile(r"^(?: {2,}|\t)\S")
_ATTRIBUTION = re.compile(
    r"^[ \t]*in (?:article|message)\b|(?:writes|wrote|says)\s*:[ \t]*$", re.IGNORECASE
)
_SEPARATOR = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:original|forwarded)[ \t]+(?:message|article|post)[ \t]*-*"
    r"|begin included (?:article|message)|original (?:post|article|message) follows"
    r"|article[ \t]*#?[ \t]*\d+)",
    re.IGNORECASE,
)
_MARKS = (
    ">",
    "|",
    ":",
    "#",
    "<",
    "}",
    "]",
    "--",
    "writes",
    "wrote",
    "says",
    "In ",
    "rticle",
    "\n-",
    "\n+",
    "\n{",
    "\n[",
    "\n~",
    "\n*",
    "\r",
)


def has_quotes(text: str) -> bool:
    """Whether :func:`own_text` drops something from ``text``."""
    return any(m in text for m in _MARKS) and own_text(text) != text


def own_text(text: str) -> str:
    """``text`` without headers, signature, quoted lines and forwarded material (see the
    module docstring)."""
    return message_parts(text)[1]


def message_parts(text: str) -> tuple[str, str]:
    """``(body, own)``: the text without its header block and signature, and the body without
    quoted lines and forwarded material (see the module docstring)."""
    if not any(m in text for m in _MARKS):
        return text, text
    lines = _LINE_BREAKS.split(text)
    in_body = [True] * len(lines)
    i = _skip_headers(lines, in_body)
    reply = any(_REPLY_HEADER.match(line) for line in lines[:i])
    keep = list(in_body)
    in_run = _mark_runs(lines)
    after_attribution = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped in ("--", "-- ") and _signature_follows(lines, i):
            _drop_from(in_body, i)
            _drop_from(keep, i)
            break
        if _SEPARATOR.match(line) or _pasted_headers(lines, i):
            _drop_from(keep, i)
            break
        if _ATTRIBUTION.search(line):
            keep[i] = False
            after_attribution = True
        elif (
            _QUOTED.match(line)
            or in_run[i]
            or (after_attribution and (not stripped or line[:1] in " \t"))
            or (reply and _INDENTED.match(line))
        ):
            keep[i] = False
        else:
            after_attribution = False
        i += 1
    if all(in_body) and all(keep):
        return text, text
    body = "\n".join(line for line, k in zip(lines, in_body, strict=True) if k)
    own = "\n".join(line for line, k in zip(lines, keep, strict=True) if k)
    return body, own


def _mark_runs(lines: list[str]) -> list[bool]:
    """Lines in a run of three or more that start (after white space) with the same mark of
    :data:`_RUN_MARKS`."""
    marks = [(line.lstrip()[:1] if line.lstrip()[:1] in _RUN_MARKS else "") for line in lines]
    out = [False] * len(lines)
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and marks[i] and marks[j] == marks[i]:
            j += 1
        if j - i >= 3:
            for k in range(i, j):
                out[k] = True
        i = max(j, i + 1)
    return out


def _signature_follows(lines: list[str], i: int) -> bool:
    """Whether a "--" line at ``i`` opens a signature: at most :data:`SIGNATURE_LINES`
    non-blank lines follow it."""
    return sum(1 for line in lines[i + 1 :] if line.strip()) <= SIGNATURE_LINES


def _skip_headers(lines: list[str], keep: list[bool]) -> int:
    """Drop a leading header block of two or more header lines; returns the first body line."""
    i = 0
    headers = 0
    while i < len(lines) and lines[i].strip():
        if _HEADER.match(lines[i]):
            headers += 1
        elif not (headers and lines[i][:1] in " \t"):  # not a continuation line
            return 0
        i += 1
    if headers < 2:
        return 0
    for j in range(i):
        keep[j] = False
    return i


def _pasted_headers(lines: list[str], i: int) -> bool:
    return bool(
        _PASTED_HEADER.match(lines[i]) and i + 1 < len(lines) and _PASTED_HEADER.match(lines[i + 1])
    )


def _drop_from(keep: list[bool], i: int) -> None:
    for j in range(i, len(keep)):
        keep[j] = False


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def message_author(text: str) -> tuple[int, bool]:
    """``(author, reply)`` of a message: a 64-bit hash of the address on the ``From:`` line of
    its header block (0 without one), and whether it answers or quotes another message (a
    ``Re:`` subject, an ``In-Reply-To:`` header, or quoted lines)."""
    if "rom:" not in text[:4096]:
        return 0, False
    lines = _LINE_BREAKS.split(text[:8192])
    author = 0
    reply = False
    for line in lines:
        if not line.strip():
            break
        if line[:5].lower() == "from:":
            found = _ADDRESS.search(line)
            who = (found.group(0) if found else line[5:].strip()).lower()
            if who:
                digest = hashlib.blake2b(who.encode("utf-8", "replace"), digest_size=8)
                author = int.from_bytes(digest.digest(), "little") or 1
        elif _REPLY_HEADER.match(line):
            reply = True
    if author and not reply:
        body, own = message_parts(text)
        reply = own != body
    return author, reply
