"""Shared, dependency-light shingling and corpus reading for the benchmark scripts.

The shingle definition must match neardup's:

* text -> ``unicodedata.normalize("NFKC")`` -> ``.casefold()``;
* tokens = ``re.findall(r"\\w+", s)`` (maximal runs of ``c.isalnum() or c == "_"``);
* shingles = n consecutive tokens; a document with 1..n-1 tokens has exactly one shingle (all of
  its tokens) and a document without tokens has none.

This module deliberately imports nothing heavy (no numpy, no numba), so the peer subprocesses of
``peers.py`` do not pay for it in start-up time or resident memory.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

try:
    import orjson

    loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a project dependency
    loads = json.loads

TOKEN_RE = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """NFKC-normalise, casefold and split ``text`` into ``\\w+`` tokens."""
    return TOKEN_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def shingle_strings(tokens: list[str], n: int) -> list[str]:
    """Word n-gram shingles as space-joined strings (1..n-1 tokens give one shingle)."""
    if not tokens:
        return []
    if len(tokens) < n:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def open_text(path: Path) -> io.TextIOBase:
    """Open a JSONL or JSONL.gz file for reading text."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_lines(path: Path) -> Iterator[str]:
    """Yield the non-empty lines of a JSONL(.gz) file."""
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                yield line


def iter_line_batches(path: Path, size: int = 2000) -> Iterator[list[str]]:
    """Yield the non-empty lines of a JSONL(.gz) file in batches of ``size``."""
    batch: list[str] = []
    for line in iter_lines(path):
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_docs(path: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(id, text)`` of every document, in file order."""
    for line in iter_lines(path):
        rec = loads(line)
        yield str(rec["id"]), rec.get("text") or ""
