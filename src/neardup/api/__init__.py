"""The library's entry points; the CLI and the HTTP service call these and nothing deeper."""

from neardup.api.explain import explain, explain_texts
from neardup.api.ingest import index_add, iter_documents
from neardup.api.passages import PassagesResult, find_passages, passages
from neardup.api.run import (
    DedupResult,
    clusters_of,
    dedup,
    find_boilerplate,
    find_duplicates,
    plan,
)
from neardup.memplan import memory_plan

__all__ = [
    "DedupResult",
    "PassagesResult",
    "clusters_of",
    "dedup",
    "explain",
    "explain_texts",
    "find_boilerplate",
    "find_duplicates",
    "find_passages",
    "index_add",
    "iter_documents",
    "memory_plan",
    "passages",
    "plan",
]
