"""Clusters: connected components of the duplicate graph, by union-find.

Union by smaller ordinal with path halving (Tarjan & van Leeuwen 1984): each root is its
component's smallest input ordinal, so components — and the cluster ids derived from them — depend
only on the input order, never on how the work was split across workers.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _find(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@nb.njit(cache=True)
def union_find(n: int, edges: np.ndarray) -> np.ndarray:
    """Root (smallest member ordinal) of every node's component, for ``n`` nodes and an
    ``(m, 2)`` edge array."""
    parent = np.arange(n, dtype=np.int64)
    for e in range(edges.shape[0]):
        ra = _find(parent, edges[e, 0])
        rb = _find(parent, edges[e, 1])
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    for x in range(n):
        parent[x] = _find(parent, x)
    return parent


def components(n: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label every node with a cluster id, or -1 when it stands alone.

    Returns ``(labels, roots)``: ``labels[x]`` is the cluster id of node ``x``; cluster ``c`` has
    root ordinal ``roots[c]`` (its first member in input order), and cluster ids are numbered by
    increasing root, so they are stable for a given input order.
    """
    edges = np.ascontiguousarray(edges, dtype=np.int64).reshape(-1, 2)
    root = union_find(n, edges)
    sizes = np.bincount(root, minlength=n)
    roots = np.flatnonzero(sizes > 1)
    labels = np.full(n, -1, dtype=np.int64)
    cluster_of_root = np.full(n, -1, dtype=np.int64)
    cluster_of_root[roots] = np.arange(roots.size, dtype=np.int64)
    in_cluster = sizes[root] > 1
    labels[in_cluster] = cluster_of_root[root[in_cluster]]
    return labels, roots
