"""Labelled partitions for the I_m metric: the authors' enumeration order and the
vectorised search over all ``m^s`` labelled partitions (``method="labelled"``).

A labelled partition assigns every factor ``v_j`` to one of the ``m`` latent slots
(``labels[j]``); its value is ``sum_i w[i, S_i] - block_penalty(h, masks)``. The search
evaluates every one of them at once over a stack of tables, finds the best value of each set
partition (grouping) with ``np.maximum.reduceat``, and applies the exact or the authors' tie
rule (see :mod:`lingauss.metrics.im`).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from ..scenarios import canonical_grouping
from .im_tables import CHUNK, LABELLED_MAX, block_penalty

__all__ = [
    "authors_partition_order",
    "labelled_structure",
    "grouping_from_labels",
    "labels_from_partition",
    "im_labelled_search",
]


@lru_cache(maxsize=16)
def authors_partition_order(s: int, m: int) -> np.ndarray:
    """All ``m^s`` labelled partitions in the authors' enumeration order (reference §6.7).

    Size tuples ``(|S_1|, ..., |S_{m-1}|)`` in lexicographic order (each >= 0, sum <= s); for
    each, ``S_1`` over the combinations of the factors in lexicographic order, ``S_2`` over the
    combinations of the remaining factors, ..., and ``S_m`` takes the rest. The first
    partition puts every factor in the last slot.

    Returns
    -------
    ndarray of int8, shape (m^s, s)
        Row ``r``: slot (0-based) of each factor in the ``r``-th partition. Read-only.

    Examples
    --------
    >>> authors_partition_order(2, 2).tolist()
    [[1, 1], [0, 1], [1, 0], [0, 0]]
    """
    if s < 1 or m < 1:
        raise ValueError(f"s, m: must be positive, got s={s}, m={m}")
    if m**s > LABELLED_MAX:
        raise ValueError(
            f"s, m: the authors' order enumerates m^s = {m**s} labelled partitions, more than "
            f"{LABELLED_MAX}; use tie_rule='exact'"
        )
    rows = []

    def rec(slot, remaining, sizes, labels):
        if slot == m - 1:
            for j in remaining:
                labels[j] = slot
            rows.append(labels.copy())
            return
        for combo in itertools.combinations(remaining, sizes[slot]):
            for j in combo:
                labels[j] = slot
            rest = [j for j in remaining if j not in combo]
            rec(slot + 1, rest, sizes, labels)

    for sizes in itertools.product(range(s + 1), repeat=m - 1):
        if sum(sizes) <= s:
            rec(0, list(range(s)), sizes, [0] * s)
    out = np.array(rows, dtype=np.int8).reshape(-1, s)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=16)
def labelled_structure(s: int, m: int):
    """Masks, set-partition ids and groupings of the labelled partitions (authors' order).

    Returns ``labels`` (N, s), ``masks`` (N, m), ``sp_id`` (N,) (index of the set partition),
    ``order`` (permutation sorting by sp_id), ``starts`` (first index of each sp in that
    order) and ``groupings`` (canonical grouping of each set partition).
    """
    labels = authors_partition_order(s, m).astype(np.intp)
    N = labels.shape[0]
    masks = np.zeros((N, m), dtype=np.intp)
    bits = np.left_shift(1, np.arange(s))
    for i in range(m):
        masks[:, i] = np.sum(np.where(labels == i, bits, 0), axis=1)
    # canonical restricted-growth relabelling: slots renumbered by first occurrence
    rows = np.arange(N)
    remap = np.full((N, m), -1, dtype=np.intp)
    count = np.zeros(N, dtype=np.intp)
    rgs = np.zeros((N, s), dtype=np.intp)
    for j in range(s):
        lab = labels[:, j]
        new = remap[rows, lab] < 0
        remap[rows[new], lab[new]] = count[new]
        count[new] += 1
        rgs[:, j] = remap[rows, lab]
    code = rgs @ (m ** np.arange(s))
    uniq, sp_id = np.unique(code, return_inverse=True)
    first = np.zeros(uniq.size, dtype=np.intp)
    first[sp_id[::-1]] = np.arange(N)[::-1]
    groupings = tuple(grouping_from_labels(rgs[f]) for f in first)
    order = np.argsort(sp_id, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(sp_id[order]) != 0])
    return labels, masks, sp_id, order, starts, groupings


def grouping_from_labels(labels) -> tuple[tuple[int, ...], ...]:
    blocks: dict[int, list[int]] = {}
    for j, lab in enumerate(np.asarray(labels).tolist()):
        blocks.setdefault(lab, []).append(j)
    return canonical_grouping(blocks.values())


def labels_from_partition(partition, s, m):
    """Accept slot labels (length s) or a sequence of m blocks; return labels (s,)."""
    try:
        items = list(partition)
    except TypeError:
        raise ValueError("partition: expected slot labels or a sequence of blocks") from None
    if items and all(np.ndim(x) == 0 for x in items):
        labels = np.asarray(items)
        if labels.shape != (s,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"partition: expected {s} integer slot labels, got {partition!r}")
        if np.any(labels < 0) or np.any(labels >= m):
            raise ValueError(f"partition: slot labels must lie in 0..{m - 1}, got {partition!r}")
        return labels.astype(np.intp)
    if len(items) != m:
        raise ValueError(f"partition: expected {m} blocks (one per slot), got {len(items)}")
    labels = np.full(s, -1, dtype=np.intp)
    for i, block in enumerate(items):
        for j in block:
            if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 0 <= j < s:
                raise ValueError(f"partition: factor index {j!r} out of range 0..{s - 1}")
            if labels[j] >= 0:
                raise ValueError(f"partition: factor {j} appears in two blocks")
            labels[j] = i
    if np.any(labels < 0):
        raise ValueError(f"partition: factors {np.flatnonzero(labels < 0).tolist()} unassigned")
    return labels


def im_labelled_search(w, h, valid, m, s, tie_rule, tie_tol, same_v):
    labels, masks, sp_id, order, starts, groupings = labelled_structure(s, m)
    P = w.shape[0]
    N = labels.shape[0]
    pen_all = block_penalty(h[:1] if same_v else h, masks)  # (1 or P, N)
    value = np.empty(P)
    win = np.empty(P, dtype=np.intp)
    n_tied = np.empty(P, dtype=np.intp)
    gap = np.empty(P)
    step = max(1, CHUNK // max(N, 1))
    for lo in range(0, P, step):
        hi = min(P, lo + step)
        wc = w[lo:hi]
        vals = -(pen_all if same_v else pen_all[lo:hi])
        for i in range(m):
            vals = vals + wc[:, i, masks[:, i]]
        vals = np.where(np.isfinite(vals), vals, -np.inf)
        sp_best = np.maximum.reduceat(vals[:, order], starts, axis=1)  # (c, n_sp)
        if tie_rule == "authors":
            rv = np.round(vals, 8)
            wi = np.argmax(rv, axis=1)
            top = rv[np.arange(hi - lo), wi]
            sp_round = np.maximum.reduceat(rv[:, order], starts, axis=1)
            n_tied[lo:hi] = np.sum(sp_round == top[:, None], axis=1)
            value[lo:hi] = top
        else:
            wi = np.argmax(vals, axis=1)
            top = vals[np.arange(hi - lo), wi]
            n_tied[lo:hi] = np.sum(sp_best >= (top - tie_tol)[:, None], axis=1)
            value[lo:hi] = top
        win[lo:hi] = wi
        wsp = sp_id[wi]
        mine = sp_best[np.arange(hi - lo), wsp]
        others = sp_best.copy()
        others[np.arange(hi - lo), wsp] = -np.inf
        gap[lo:hi] = mine - np.max(others, axis=1) if others.shape[1] > 1 else np.inf
    value = np.where(valid, value, np.nan)
    part = labels[win]
    grouping = [groupings[sp_id[k]] if ok else () for k, ok in zip(win, valid)]
    n_tied = np.where(valid, n_tied, 0)
    gap = np.where(valid, gap, np.nan)
    return value, part, grouping, n_tied, gap
