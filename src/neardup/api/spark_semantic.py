"""Method semantic on the Spark executor: the pair search on the driver.

Embedding is a per-partition map (the fingerprint stage; :mod:`neardup.stages.semantic`), so the
model runs where the documents are. The pair search is :func:`neardup.semantic.search.search`,
whose neighbour cap (each document's 100 closest pairs) and k-means sample are defined over the
whole corpus; to give exactly the local run's pairs, cosines and counts, the positions, exact
hashes, set sizes and vectors of every accepted document (``28 + 4 · dim`` bytes each: 540 at
dimension 128) are gathered on the driver and searched there once, by
:func:`~neardup.stages.semantic.search_partition`. Above :data:`MAX_DOCUMENTS` documents the run
is refused before the gathering. The exact edges and verified pairs then go back to Spark as
tables and meet the lexical schedule's components, decisions and outputs
(:func:`neardup.api.spark_plan.run`), with each removed document's cosine to its keeper computed
by the decision stage from the vectors of its component.

Glue only: every decision is made by a stage function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from neardup.config import DedupConfig
from neardup.errors import ConfigError
from neardup.stages.semantic import search_partition

#: the most documents whose vectors are gathered on the driver for the pair search
MAX_DOCUMENTS = 2_000_000


@dataclass(slots=True)
class SemanticEdges:
    """Spark tables ``(a, b)`` of exact edges and verified pairs, with what stats.json
    reports about them."""

    exact_edges: Any
    near_edges: Any
    n_exact: int
    n_near: int
    candidates: int
    bins: np.ndarray
    search: dict[str, Any]


def semantic_edges(ex: Any, accepted: Any, cfg: DedupConfig) -> SemanticEdges:
    """The exact edges and verified semantic pairs of the ``accepted`` documents."""
    n = accepted.count()
    if n > MAX_DOCUMENTS:
        raise ConfigError(
            f"method semantic on the Spark executor searches pairs on the driver, up to "
            f"{MAX_DOCUMENTS:,} documents; this input has {n:,}",
            remedy="run method semantic with --executor local, split the input, or use "
            "--method minhash on Spark",
        )
    table = ex.to_arrow(accepted.select("pos", "exact_hi", "exact_lo", "n_set", "sig"))
    found = search_partition(table, cfg)
    return SemanticEdges(
        exact_edges=ex.from_arrow(_edges(found.exact_edges)),
        near_edges=ex.from_arrow(_edges(found.pairs)),
        n_exact=int(found.exact_edges.shape[0]),
        n_near=int(found.pairs.shape[0]),
        candidates=found.candidates,
        bins=found.bins,
        search=found.search,
    )


def _edges(pairs: np.ndarray) -> pa.Table:
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return pa.table({"a": pa.array(p[:, 0].copy()), "b": pa.array(p[:, 1].copy())})
