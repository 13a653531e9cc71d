"""Records that cross stage boundaries, defined once.

A run turns documents into signatures, signatures into candidate pairs, candidates into verified
matches, matches into clusters, and clusters into one decision per input document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Reason = Literal["exact", "near"]


@dataclass(frozen=True, slots=True)
class Document:
    """One input document: its id, its text, and every other field it carried."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cluster:
    """A group of two or more documents judged to be copies of one another.

    ``cluster_id`` is stable: it depends only on the input order of the documents, never on the
    number of workers. ``kept_id`` is ``None`` under the keeper policy ``none``.
    ``similarities`` maps each removed member id to its exact Jaccard similarity with the kept
    document (with the first member when nothing is kept).
    """

    cluster_id: int
    members: tuple[str, ...]
    kept_id: str | None
    min_similarity: float
    max_similarity: float
    similarities: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, Reason] = field(default_factory=dict)
