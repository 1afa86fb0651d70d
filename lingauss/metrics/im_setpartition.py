"""The set-partition solver of the I_m metric (``method="setpartition"``).

The penalty of a labelled partition depends only on its *set* partition; the best assignment
of the ``k`` blocks of a set partition to distinct latent slots is a rectangular linear
assignment problem. :class:`SetPartitionSolver` enumerates the set partitions into at most
``m`` blocks (``sum_k S(s, k)`` of them, 4.2 million for ``s = 12``, not ``8^12``), bounds
each by ``sum_blocks max_i w[i, S] - penalty`` (exact when the per-block best slots are
distinct) and ``sum_blocks min_i w[i, S] - penalty``, and solves exactly, by a vectorised
dynamic programme over sets of used slots (:func:`assignment_max`), only the partitions whose
bound can beat the incumbent.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

from .im_labelled import grouping_from_labels
from .im_tables import CHUNK, block_penalty

__all__ = [
    "set_partitions",
    "dp_transitions",
    "assignment_max",
    "SetPartitionSolver",
    "im_setpartition_search",
]


@lru_cache(maxsize=4)
def set_partitions(s: int, m: int):
    """Set partitions of ``range(s)`` into at most ``m`` blocks, grouped by block count.

    Returns a dict ``k -> masks (N_k, k)`` (uint32 block bitmasks, blocks ordered by their
    smallest element), generated as restricted growth strings.
    """
    masks = np.zeros((1, m), dtype=np.uint32)
    masks[0, 0] = 1
    k = np.ones(1, dtype=np.int8)
    for j in range(1, s):
        opts = np.minimum(k.astype(np.intp) + 1, m)
        rep = np.repeat(np.arange(masks.shape[0]), opts)
        lab = np.arange(rep.size) - np.repeat(np.cumsum(opts) - opts, opts)
        masks = masks[rep]
        masks[np.arange(rep.size), lab] |= np.uint32(1 << j)
        k = np.maximum(k[rep], (lab + 1).astype(np.int8))
    out = {}
    for kk in range(1, min(s, m) + 1):
        sel = masks[k == kk, :kk]
        sel = np.ascontiguousarray(sel).astype(np.intp)
        sel.setflags(write=False)
        out[kk] = sel
    return out


@lru_cache(maxsize=16)
def dp_transitions(m: int):
    """For each number of used slots b and slot i: states T (popcount b, bit i clear)."""
    states = np.arange(1 << m)
    pop = np.array([bin(t).count("1") for t in states])
    out = {}
    for b in range(m):
        for i in range(m):
            sel = states[(pop == b) & ((states >> i) & 1 == 0)]
            out[b, i] = (sel, sel | (1 << i))
    return out


def assignment_max(wb):
    """Max over injective maps of ``k`` blocks to ``m`` slots of ``sum_b wb[:, b, slot_b]``.

    ``wb`` has shape (N, k, m) with ``k <= m``; a dynamic programme over sets of used slots,
    vectorised over the N problems.
    """
    N, k, m = wb.shape
    trans = dp_transitions(m)
    dp = np.full((N, 1 << m), -np.inf)
    dp[:, 0] = 0.0
    for b in range(k):
        new = np.full_like(dp, -np.inf)
        for i in range(m):
            src, dst = trans[b, i]
            if src.size:
                new[:, dst] = np.maximum(new[:, dst], dp[:, src] + wb[:, b, i : i + 1])
        dp = new
    return np.max(dp, axis=1)


class SetPartitionSolver:
    """Branch-and-bound over set partitions for one covariance (tables ``w``, ``h``)."""

    def __init__(self, w, h, s, m):
        self.w, self.h, self.s, self.m = w, h, s, m
        self.parts = set_partitions(s, m)
        wmax = np.max(w, axis=0)
        wmin = np.min(w, axis=0)
        amax = np.argmax(w, axis=0)
        wmax[0] = wmin[0] = 0.0
        self.ub, self.lb, self.ex = {}, {}, {}
        for k, M in self.parts.items():
            ub = np.empty(M.shape[0])
            lb = np.empty(M.shape[0])
            ex = np.full(M.shape[0], np.nan)
            for lo in range(0, M.shape[0], CHUNK):
                Mc = M[lo : lo + CHUNK]
                pen = block_penalty(h, Mc)
                ub[lo : lo + CHUNK] = np.sum(wmax[Mc], axis=1) - pen
                lb[lo : lo + CHUNK] = np.sum(wmin[Mc], axis=1) - pen
                a = np.sort(amax[Mc], axis=1)
                distinct = np.all(a[:, 1:] != a[:, :-1], axis=1)
                ex[lo : lo + CHUNK][distinct] = ub[lo : lo + CHUNK][distinct]
            self.ub[k], self.lb[k], self.ex[k] = ub, lb, ex

    def _solve(self, k, idx):
        """Exact values for partitions ``idx`` of block count ``k`` (cached in ``ex``)."""
        todo = idx[np.isnan(self.ex[k][idx])]
        M = self.parts[k]
        for lo in range(0, todo.size, 4096):
            sel = todo[lo : lo + 4096]
            wb = np.moveaxis(self.w[:, M[sel]], 0, -1)  # (c, k, m)
            pen = block_penalty(self.h, M[sel])
            self.ex[k][sel] = assignment_max(wb) - pen
        return self.ex[k][idx]

    def best(self, exclude=None):
        """Exact maximum over set partitions, optionally excluding one ``(k, index)``.

        Returns ``(value, k, index)`` of a maximiser.
        """
        saved = None
        if exclude is not None:
            k, i = exclude
            saved = (self.ub[k][i], self.lb[k][i], self.ex[k][i])
            self.ub[k][i], self.lb[k][i], self.ex[k][i] = -np.inf, -np.inf, np.nan
        try:
            return self._best()
        finally:
            if saved is not None:
                self.ub[k][i], self.lb[k][i], self.ex[k][i] = saved

    def _best(self):
        cur = -np.inf
        for k in self.parts:
            ex = self.ex[k]
            if np.any(~np.isnan(ex)):
                cur = max(cur, float(np.nanmax(ex)))
            cur = max(cur, float(np.max(self.lb[k])))
        while True:
            # partitions whose exact value is unknown and whose bound beats the incumbent
            cands = []
            for k in self.parts:
                sel = np.flatnonzero(np.isnan(self.ex[k]) & (self.ub[k] > cur))
                if sel.size:
                    cands.append((k, sel, self.ub[k][sel]))
            if not cands:
                break
            allub = np.concatenate([c[2] for c in cands])
            cut = np.partition(allub, allub.size - min(4096, allub.size))[
                allub.size - min(4096, allub.size)
            ]
            for k, sel, ubs in cands:
                take = sel[ubs >= cut]
                if take.size:
                    cur = max(cur, float(np.max(self._solve(k, take))))
        best_k, best_i, best_v = None, None, -np.inf
        for k in self.parts:
            ex = self.ex[k]
            if np.any(~np.isnan(ex)):
                i = int(np.nanargmax(ex))
                if ex[i] > best_v:
                    best_k, best_i, best_v = k, i, float(ex[i])
        if best_v < cur:
            # the incumbent is a lower bound that met its own upper bound: solve it
            for k in self.parts:
                hit = np.flatnonzero(self.lb[k] >= cur)
                if hit.size:
                    best_k, best_i = k, int(hit[0])
                    best_v = float(self._solve(k, hit[:1])[0])
                    break
        return best_v, best_k, best_i

    def count_at_least(self, thr):
        """Number of set partitions whose exact value is ``>= thr``."""
        total = 0
        for k in self.parts:
            ex, lb, ub = self.ex[k], self.lb[k], self.ub[k]
            known = ~np.isnan(ex)
            total += int(np.sum(known & (ex >= thr)))
            unknown = ~known
            total += int(np.sum(unknown & (lb >= thr)))
            amb = np.flatnonzero(unknown & (lb < thr) & (ub >= thr))
            if amb.size:
                total += int(np.sum(self._solve(k, amb) >= thr))
        return total

    def labels_of(self, k, i):
        M = self.parts[k][i]
        W = self.w[:, M].T  # (k, m)
        rows, cols = linear_sum_assignment(W, maximize=True)
        labels = np.zeros(self.s, dtype=np.intp)
        for r, c in zip(rows, cols):
            for j in range(self.s):
                if (M[r] >> j) & 1:
                    labels[j] = c
        return labels


def im_setpartition_search(w, h, valid, m, s, tie_tol):
    P = w.shape[0]
    value = np.full(P, np.nan)
    part = np.zeros((P, s), dtype=np.intp)
    grouping = [()] * P
    n_tied = np.zeros(P, dtype=np.intp)
    gap = np.full(P, np.nan)
    for p in range(P):
        if not valid[p]:
            continue
        solver = SetPartitionSolver(w[p], h[p], s, m)
        v, k, i = solver.best()
        labels = solver.labels_of(k, i)
        if sum(len(M) for M in solver.parts.values()) > 1:
            v2, _, _ = solver.best(exclude=(k, i))
        else:
            v2 = -np.inf
        value[p] = v
        part[p] = labels
        grouping[p] = grouping_from_labels(labels)
        gap[p] = v - v2
        n_tied[p] = 1 if v2 < v - tie_tol else solver.count_at_least(v - tie_tol)
    return value, part, grouping, n_tied, gap
