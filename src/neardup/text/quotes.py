"""E-mail and Usenet quoting: the lines of a message that quote another one.

A line is *quoted* when, after leading white space, it starts with ``>`` or ``|`` (the marks
mail and news readers put before quoted text, possibly nested: ``> >``, ``>>``), or when it is an
attribution header: it starts with "In article" or "In message", or it ends with "writes:",
"wrote:" or "says:". For containment (:mod:`neardup.sharedtext.containment`) these lines are not
the quoting message's own text, so a reply that quotes its whole parent does not make the parent
"contained" in it.
"""

from __future__ import annotations

import re

_QUOTE_RE = re.compile(
    r"^[ \t]*(?:[>|]|in (?:article|message)\b)|(?:writes|wrote|says)\s*:[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_MARKS = (">", "|", "writes", "wrote", "says", "In article", "In message")


def has_quotes(text: str) -> bool:
    """Whether ``text`` has at least one quoted line (a fast test first)."""
    if not any(m in text for m in _MARKS):
        return False
    return _QUOTE_RE.search(text) is not None


def own_text(text: str) -> str:
    """``text`` without its quoted lines (see the module docstring)."""
    if not has_quotes(text):
        return text
    return "\n".join(line for line in text.split("\n") if not _QUOTE_RE.search(line))
