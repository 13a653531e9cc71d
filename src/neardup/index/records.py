"""What the index returns (add results, query matches) and how it reads the documents it is
given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neardup.errors import RecordTypeError


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
    return str(rid), text, meta


class CommittedInterrupt(KeyboardInterrupt):
    """An interrupt (Ctrl-C, SIGTERM) that arrived as a batch's transaction committed: the
    batch is stored, and ``results`` says what happened to each of its documents. Python
    delivers a signal once the call it arrived in returns, so an interrupt during ``COMMIT`` is
    raised after the commit."""

    def __init__(self, results: list[AddResult]) -> None:
        self.results = results
        super().__init__("interrupted after the batch was committed")
