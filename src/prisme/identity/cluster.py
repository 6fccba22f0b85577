"""From scored pairs to parties: connected components under must-link / cannot-link constraints.

Linking every pair above the threshold and taking connected components (what Splink does) lets a
single chain ``husband — shared family e-mail — wife`` put two people in one party. Here the
components are first formed as usual; then, inside each component, pairs that cannot be the same
person are listed (a steward's cannot-link, or the household guard: clearly different first names
or birth dates). A component holding such a pair is rebuilt greedily, strongest link first, and a
link is refused when it would join two groups that contain a cannot-link pair — a constrained
single-linkage clustering (the "cannot-link" constraint of Wagstaff et al., 2001).

Must-link pairs (from a steward) are links of probability 1.0 taken before all others; only a
steward's cannot-link overrides them (a steward who declares both has the last word as "apart").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label (0..k-1) of each of ``n`` nodes given undirected edges."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


class _UnionFind:
    """Union-find whose groups remember which nodes they must never join."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.hard: dict[int, set[int]] = {}
        self.soft: dict[int, set[int]] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:  # path compression
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def forbid(self, a: int, b: int, hard: bool) -> None:
        book = self.hard if hard else self.soft
        book.setdefault(a, set()).add(b)
        book.setdefault(b, set()).add(a)

    def _blocked(self, book: dict[int, set[int]], ra: int, rb: int) -> bool:
        return any(self.find(x) == rb for x in book.get(ra, ()))

    def union(self, a: int, b: int, must: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self._blocked(self.hard, ra, rb) or (not must and self._blocked(self.soft, ra, rb)):
            return False
        small, big = sorted((ra, rb), key=lambda r: len(self.hard.get(r, ())) +
                            len(self.soft.get(r, ())))
        self.parent[small] = big
        for book in (self.hard, self.soft):
            if small in book:
                book.setdefault(big, set()).update(book.pop(small))
        return True


def partition(
    n: int,
    edges: pd.DataFrame,
    *,
    find_conflicts: Callable[[np.ndarray], pd.DataFrame] | None = None,
    cannot_link: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster ``n`` records (0..n-1).

    ``edges``: columns ``left, right, p, must`` (int, int, float, bool) — model links at or above
    the threshold and must-links. ``find_conflicts(labels)`` returns ``left, right`` pairs inside
    the provisional components that are different people (household guard); ``cannot_link``
    holds the steward's ``left, right`` pairs. Returns (label per record, probability of the
    record's strongest link into its party; 1.0 for a party of one).
    """
    left = edges["left"].to_numpy(np.int64)
    right = edges["right"].to_numpy(np.int64)
    labels = components(n, left, right)
    soft = find_conflicts(labels) if find_conflicts is not None else _no_pairs()
    hard = cannot_link if cannot_link is not None else _no_pairs()
    conflicts = pd.concat([hard.assign(hard=True), soft.assign(hard=False)], ignore_index=True)
    if len(conflicts):
        li = conflicts["left"].to_numpy(np.int64)
        ri = conflicts["right"].to_numpy(np.int64)
        conflicts = conflicts[labels[li] == labels[ri]]
    if len(conflicts):
        labels = _split(labels, edges, conflicts)
    return labels, _link_probability(n, labels, edges)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"left": pd.Series(dtype=np.int64), "right": pd.Series(dtype=np.int64)})


def _split(labels: np.ndarray, edges: pd.DataFrame, conflicts: pd.DataFrame) -> np.ndarray:
    """Rebuild the components holding a conflict, strongest link first, refusing forbidden
    joins. Other components keep their label."""
    bad = np.unique(labels[conflicts["left"].to_numpy(np.int64)])
    in_bad = np.isin(labels[edges["left"].to_numpy(np.int64)], bad)
    todo = edges[in_bad].sort_values(["must", "p", "left", "right"],
                                     ascending=[False, False, True, True])
    uf = _UnionFind()
    for a, b, is_hard in conflicts[["left", "right", "hard"]].itertuples(index=False):
        uf.forbid(int(a), int(b), bool(is_hard))
    for a, b, must in todo[["left", "right", "must"]].itertuples(index=False):
        uf.union(int(a), int(b), bool(must))
    out = labels.copy()
    members = np.flatnonzero(np.isin(labels, bad))
    next_label = labels.max() + 1 if len(labels) else 0
    roots = np.array([uf.find(int(m)) for m in members])
    _, new = np.unique(roots, return_inverse=True)
    out[members] = next_label + new
    return out


def _link_probability(n: int, labels: np.ndarray, edges: pd.DataFrame) -> np.ndarray:
    """Per record, the strongest link it keeps inside its party (1.0 alone)."""
    prob = np.full(n, -1.0)
    if len(edges):
        left = edges["left"].to_numpy(np.int64)
        right = edges["right"].to_numpy(np.int64)
        p = edges["p"].to_numpy(np.float64)
        kept = labels[left] == labels[right]
        np.maximum.at(prob, left[kept], p[kept])
        np.maximum.at(prob, right[kept], p[kept])
    prob[prob < 0] = 1.0
    return prob


def party_ids(record_ids: pd.Series, labels: np.ndarray) -> pd.Series:
    """``P`` + the smallest record_id of each party: the same input gives the same ids."""
    rid = record_ids.astype("string").reset_index(drop=True)
    smallest = rid.groupby(labels).transform("min")
    return ("P" + smallest).astype("string")
