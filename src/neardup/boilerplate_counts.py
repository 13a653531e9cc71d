"""How often a boilerplate unit occurs: once per distinct context, the copies of one article once.

A line or block (a *unit*, see :mod:`neardup.text.boilerplate`) is boilerplate when it stands in
many distinct documents. Counting raw documents overcounts: the paragraphs of an article copied
twelve times stand in twelve documents. Counting the near-duplicate clusters of the raw texts
undercounts: a 100-word footer under 200 unrelated ten-word notes makes the notes near-duplicates
of one another, one cluster, so the footer would stand "in one cluster". What tells the two
apart is the rest of each document, the unit's *context*: the copies of an article still match
without any one of their paragraphs, the notes do not match without their footer. Stripping
every frequent unit before clustering would not do: the copies of an article that is itself in
many documents would then match on nothing but their bylines, and lose the article. So:

1. **Candidates.** The units that stand in at least ``min_docs`` documents (``long_min_docs``
   when longer than ``long_words`` tokens): no other unit can reach that many contexts.
2. **The raw graph.** The near-duplicate pairs of the raw texts, found as the dedup finds them
   (exact groups, LSH candidates, Jaccard ≥ ``threshold`` on the exact shingle sets), each with
   its *slack*: how many shared shingles the two documents could lose and still be
   near-duplicates, ``(|A ∩ B| − t·|A ∪ B|) / (1 − t)``, unbounded for identical texts.
3. **Contexts.** Take away a candidate of ``k`` tokens: a word run of ``k`` tokens starts about
   ``k`` shingles, so an edge between two documents that both contain the unit survives when its
   slack is at least ``k``; an edge to a document without it always survives (taking away text
   that only one of two documents has leaves them no less alike). The documents that contain
   the unit fall into the connected components of the surviving graph; the unit's *frequency*
   is the number of distinct components they fall in, a document outside every cluster counting
   as its own.

A footer that is the only text two notes share leaves no slack for itself, so each note is a
context of its own; a paragraph of copied articles leaves the rest of the article shared, so the
copies are one context. Words in scripts written without spaces count as one token but many
character shingles: their units count as fewer contexts, the safe side.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from neardup.candidates.lsh import LSHParams, candidate_pairs
from neardup.cluster import components
from neardup.config import DedupConfig
from neardup.pipeline import Fingerprints
from neardup.stages.decide import accept_pairs, eligible, exact_groups
from neardup.text.boilerplate import DEFAULT_LONG_FACTOR, BoilerplateSet, UnitCounter
from neardup.verify import exact_overlap


def _flatten(counter: UnitCounter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (document, unit) entry: ``(units, tokens, document ordinals)``."""
    if not counter.units:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    units = np.concatenate(counter.units)
    tokens = np.concatenate(counter.tokens).astype(np.int64)
    counts = np.concatenate(counter.counts)
    return units, tokens, np.repeat(np.arange(counts.size, dtype=np.int64), counts)


def candidate_units(
    counter: UnitCounter,
    *,
    min_docs: int,
    long_words: int,
    long_min_docs: int | None = None,
) -> BoilerplateSet:
    """Units that stand in at least ``min_docs`` documents (``long_min_docs``, by default
    ``DEFAULT_LONG_FACTOR × min_docs``, for units of more than ``long_words`` tokens); their
    ``frequency`` is their number of documents."""
    long_min = long_min_docs if long_min_docs is not None else DEFAULT_LONG_FACTOR * min_docs
    units, tokens, _ = _flatten(counter)
    uniq, inverse, doc_freq = np.unique(units, return_inverse=True, return_counts=True)
    max_tokens = np.zeros(uniq.size, dtype=np.int64)
    np.maximum.at(max_tokens, inverse, tokens)
    hot = doc_freq >= np.where(max_tokens > long_words, long_min, min_docs)
    return BoilerplateSet(uniq[hot], doc_freq[hot].astype(np.int64), min_docs, long_words, long_min)


def raw_graph(fp: Fingerprints, cfg: DedupConfig, lsh: LSHParams) -> tuple[np.ndarray, np.ndarray]:
    """The near-duplicate pairs of the documents of ``fp`` and their slacks (step 2 of the
    module docstring): ``(edges (m, 2), slack (m,))``."""
    ex_edges, reps = exact_groups(fp.exact, eligible(fp.shingles.counts))
    cand = candidate_pairs(fp.signatures, reps, lsh.bands, lsh.rows, max_bucket=cfg.max_bucket)
    inter, size_a, size_b = exact_overlap(fp.shingles, cand)
    inter, union = inter.astype(np.float64), (size_a + size_b - inter).astype(np.float64)
    t = float(cfg.threshold)
    near = accept_pairs(inter / np.maximum(union, 1.0), t)
    inter, union = inter[near], union[near]
    slack = np.full(inter.size, np.inf)
    partial = inter < union
    slack[partial] = (inter[partial] - t * union[partial]) / max(1.0 - t, 1e-9)
    edges = np.concatenate([ex_edges, cand[near]]).astype(np.int64).reshape(-1, 2)
    return edges, np.concatenate([np.full(ex_edges.shape[0], np.inf), slack])


@nb.njit(inline="always", cache=True)
def _find(parent: np.ndarray, x: int | np.int64) -> int | np.int64:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@nb.njit(cache=True, nogil=True)
def _contexts_kernel(
    n_units: int,
    n_local: int,
    e_unit: np.ndarray,
    e_doc: np.ndarray,
    e_cluster: np.ndarray,
    e_tokens: np.ndarray,
    m_ptr: np.ndarray,
    m_local: np.ndarray,
    g_ptr: np.ndarray,
    g_x: np.ndarray,
    g_y: np.ndarray,
    g_slack: np.ndarray,
) -> np.ndarray:
    """Step 3 of the module docstring. Entries ``(unit, document, cluster, tokens)`` are sorted
    by unit, then cluster; documents in clusters are numbered locally (``e_doc``, ``m_local``,
    ``g_x``, ``g_y``); cluster ``c`` has members ``m_local[m_ptr[c]:m_ptr[c+1]]`` and edges
    ``g_ptr[c]:g_ptr[c+1]``."""
    freq = np.zeros(n_units, dtype=np.int64)
    parent = np.arange(n_local)
    has = np.full(n_local, -1, dtype=np.int64)  # group stamp: the document holds the unit
    seen = np.full(n_local, -1, dtype=np.int64)  # group stamp: the component was counted
    group = 0
    i = 0
    m = e_unit.size
    while i < m:
        j = i + 1
        while j < m and e_unit[j] == e_unit[i] and e_cluster[j] == e_cluster[i]:
            j += 1
        u, c = e_unit[i], e_cluster[i]
        if c < 0 or j - i == 1:  # documents alone, or the only holder in its cluster
            freq[u] += j - i
        else:
            k = 0
            for q in range(i, j):
                has[e_doc[q]] = group
                k = max(k, e_tokens[q])
            for q in range(m_ptr[c], m_ptr[c + 1]):
                parent[m_local[q]] = m_local[q]
            for q in range(g_ptr[c], g_ptr[c + 1]):
                x, y = g_x[q], g_y[q]
                if has[x] == group and has[y] == group and g_slack[q] < k:
                    continue  # both hold the unit and do not match without it
                rx, ry = _find(parent, x), _find(parent, y)
                if rx != ry:
                    parent[max(rx, ry)] = min(rx, ry)
            for q in range(i, j):
                r = _find(parent, e_doc[q])
                if seen[r] != group:
                    seen[r] = group
                    freq[u] += 1
            group += 1
        i = j
    return freq


def _candidate_entries(
    counter: UnitCounter, candidates: BoilerplateSet
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (document, unit) entries of the candidates: ``(candidate index, tokens, document)``."""
    units, tokens, doc = _flatten(counter)
    k = np.searchsorted(candidates.units, units)
    k[k == candidates.units.size] = 0
    hot = candidates.units[k] == units if candidates.units.size else np.zeros(k.size, bool)
    return k[hot].astype(np.int64), tokens[hot], doc[hot]


def context_frequencies(
    k: np.ndarray,
    tokens: np.ndarray,
    doc: np.ndarray,
    n_units: int,
    n_docs: int,
    edges: np.ndarray,
    slack: np.ndarray,
) -> np.ndarray:
    """The number of distinct contexts of every unit (step 3 of the module docstring) from its
    entries ``(unit index k, tokens, document)`` and the raw graph of :func:`raw_graph`."""
    labels, _ = components(n_docs, edges)
    clustered = np.flatnonzero(labels >= 0)  # a clustered document's local number: its rank
    n_clusters = int(labels.max(initial=-1)) + 1
    m_ptr = np.zeros(n_clusters + 1, dtype=np.int64)
    np.cumsum(np.bincount(labels[clustered], minlength=n_clusters), out=m_ptr[1:])
    edge_cluster = labels[edges[:, 0]]
    by_edge = np.argsort(edge_cluster, kind="stable")
    g_ptr = np.zeros(n_clusters + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge_cluster, minlength=n_clusters), out=g_ptr[1:])
    cluster = labels[doc]
    order = np.lexsort((doc, cluster, k))
    cluster = cluster[order]
    local = np.where(cluster >= 0, np.searchsorted(clustered, doc[order]), -1)
    return _contexts_kernel(
        n_units,
        clustered.size,
        k[order],
        local.astype(np.int64),
        cluster.astype(np.int64),
        tokens[order].astype(np.int64),
        m_ptr,
        np.argsort(labels[clustered], kind="stable").astype(np.int64),
        g_ptr,
        np.searchsorted(clustered, edges[by_edge, 0]).astype(np.int64),
        np.searchsorted(clustered, edges[by_edge, 1]).astype(np.int64),
        slack[by_edge].astype(np.float64),
    )


def frequent_units(
    counter: UnitCounter,
    candidates: BoilerplateSet,
    n_docs: int,
    edges: np.ndarray,
    slack: np.ndarray,
) -> BoilerplateSet:
    """The candidates that stand in enough distinct contexts, with those numbers as their
    frequency (see module docstring)."""
    k, tokens, doc = _candidate_entries(counter, candidates)
    n = len(candidates)
    freq = context_frequencies(k, tokens, doc, n, n_docs, edges, slack)
    max_tokens = np.zeros(n, dtype=np.int64)
    np.maximum.at(max_tokens, k, tokens)
    need = np.where(
        max_tokens > candidates.long_words, candidates.long_min_docs, candidates.min_docs
    )
    keep = freq >= need
    return BoilerplateSet(
        candidates.units[keep],
        freq[keep].astype(np.int64),
        candidates.min_docs,
        candidates.long_words,
        candidates.long_min_docs,
    )
