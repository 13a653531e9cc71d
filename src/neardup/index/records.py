"""What the index returns (add results, query matches) and how it reads the documents it is
given."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from neardup.errors import InputError, RecordTypeError

#: Deepest nesting of a document's metadata: objects and arrays inside each other, the
#: metadata object itself being the first level. Checked when a document is added (library,
#: command line, HTTP) and when one is read back (documents stored by earlier versions).
MAX_META_DEPTH = 32


@dataclass(frozen=True, slots=True)
class AddResult:
    """What happened to one added document: ``new`` (stored) or ``duplicate`` of ``kept_id``."""

    id: str
    status: str
    kept_id: str | None = None
    similarity: float | None = None
    reason: str | None = None
    added: bool = True

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every field, 30 µs a result
        return {
            "id": self.id,
            "status": self.status,
            "kept_id": self.kept_id,
            "similarity": self.similarity,
            "reason": self.reason,
            "added": self.added,
        }


@dataclass(frozen=True, slots=True)
class QueryMatch:
    """A stored document that a queried text duplicates, with the verified similarity."""

    id: str
    similarity: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "similarity": self.similarity, "reason": self.reason}


def as_item(item: Any, k: int) -> tuple[str, str, dict[str, Any]]:
    """``(id, text, metadata)`` of the ``k``-th document given to an add: an ``(id, text)``
    pair, or a ``{"id", "text", …}`` object whose other fields (or its ``meta`` field) become
    the metadata; anything else is refused with the field to fix."""
    if isinstance(item, dict):
        rid, text = item.get("id"), item.get("text")
        meta = {key: v for key, v in item.items() if key not in ("id", "text")}
        meta = meta.get("meta", meta) if set(meta) == {"meta"} else meta
    elif isinstance(item, tuple | list) and len(item) == 2:
        (rid, text), meta = item, {}
    else:
        raise RecordTypeError(
            f"document {k} is a {type(item).__name__}",
            remedy="pass (id, text) pairs or {'id': ..., 'text': ...} objects",
        )
    if isinstance(rid, bool) or not isinstance(rid, str | int) or str(rid) == "":
        raise RecordTypeError(
            f"document {k} has no usable id ({rid!r})",
            field="id",
            remedy="give every document a non-empty string id",
        )
    if not isinstance(text, str):
        raise RecordTypeError(
            f"document '{rid}' has a {type(text).__name__} as text",
            field="text",
            remedy="send the text as a string",
        )
    check_meta(meta, str(rid))
    return str(rid), text, meta


def check_meta(meta: Any, rid: str | None = None) -> None:
    """Refuse metadata nested deeper than :data:`MAX_META_DEPTH` levels with an
    :class:`~neardup.errors.InputError` on the field ``meta`` (iteratively, so any depth is
    safe to check)."""
    stack: list[tuple[Any, int]] = [(meta, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if depth > MAX_META_DEPTH:
            whose = f"document '{rid}' has metadata" if rid is not None else "metadata is"
            raise InputError(
                f"{whose} nested deeper than {MAX_META_DEPTH} levels",
                field="meta",
                remedy=f"flatten it: at most {MAX_META_DEPTH} objects and arrays inside each "
                "other, counting the metadata object itself",
            )
        stack.extend((child, depth + 1) for child in children)


def stored_meta(text: str, rid: str) -> dict[str, Any]:
    """The metadata of a stored document, from its JSON; metadata that :func:`check_meta`
    would refuse (stored by an earlier version, or by hand) is replaced by
    ``{"neardup_error": <why, and what to do>}`` so the document can still be read."""
    try:
        meta = json.loads(text)
        check_meta(meta, rid)
    except (InputError, RecursionError):
        return {
            "neardup_error": f"metadata not returned: it is nested deeper than {MAX_META_DEPTH}"
            " levels; remove the document and add it again with flatter metadata"
        }
    return meta


class CommittedInterrupt(KeyboardInterrupt):
    """An interrupt (Ctrl-C, SIGTERM) that arrived as a batch's transaction committed: the
    batch is stored, and ``results`` says what happened to each of its documents. Python
    delivers a signal once the call it arrived in returns, so an interrupt during ``COMMIT`` is
    raised after the commit."""

    def __init__(self, results: list[AddResult]) -> None:
        self.results = results
        super().__init__("interrupted after the batch was committed")
