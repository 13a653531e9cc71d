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


def star_groups(
    n: int,
    labels: np.ndarray,
    exact_edges: np.ndarray,
    near_edges: np.ndarray,
    rank: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Split connected components into keeper-centred groups.

    Within each component, the best-ranked document not yet placed (``rank``: the keeper
    policy's order) becomes a centre, and takes every unplaced document that is an exact copy of
    it or joined to it by a verified near edge; repeat until the component is used up. Every
    member of a group is thus within the threshold of its centre — a chain A~B~C with A≁C no
    longer removes C for A. Groups of one are not clusters. Returns ``(labels, roots)`` as
    :func:`components` does, numbered by first member.

    ``exact_edges`` join copies to their group's representative; ``near_edges`` join
    representatives (exact copies share every near edge of their representative).
    """
    rep = np.arange(n, dtype=np.int64)
    if exact_edges.size:
        rep[exact_edges[:, 1]] = exact_edges[:, 0]
    copies: dict[int, list[int]] = {}
    for r, c in exact_edges.tolist():
        copies.setdefault(r, [r]).append(c)
    adjacent: dict[int, list[int]] = {}
    for a, b in near_edges.tolist():
        adjacent.setdefault(a, []).append(b)
        adjacent.setdefault(b, []).append(a)
    members = np.flatnonzero(labels >= 0)
    order = members[np.lexsort((rank[members], labels[members]))]
    group_of = np.full(n, -1, dtype=np.int64)
    n_groups = 0
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    for comp in np.split(order, bounds) if order.size else []:
        for centre in comp.tolist():
            if group_of[centre] >= 0:
                continue
            r = int(rep[centre])
            group = [d for d in copies.get(r, [r]) if group_of[d] < 0]
            for r2 in adjacent.get(r, ()):
                group.extend(d for d in copies.get(r2, [r2]) if group_of[d] < 0)
            group_of[group] = n_groups if len(group) > 1 else -2
            n_groups += len(group) > 1
    # renumber groups by their first member, as components() does
    grouped = np.flatnonzero(group_of >= 0)
    first = np.full(n_groups, n, dtype=np.int64)
    np.minimum.at(first, group_of[grouped], grouped)
    order_groups = np.argsort(first, kind="stable")
    new_id = np.empty(n_groups, dtype=np.int64)
    new_id[order_groups] = np.arange(n_groups)
    out = np.full(n, -1, dtype=np.int64)
    out[grouped] = new_id[group_of[grouped]]
    return out, first[order_groups]
