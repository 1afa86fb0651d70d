"""The I_m disentanglement metric (reference §4, slide eqs. 4-6), computed exactly.

A *labelled partition* assigns every generative factor ``v_j`` (``j = 0..s-1``) to one of the
``m`` latent slots; slot ``i`` receives the set ``S_i`` (possibly empty). Its value is

    I_m(S) = sum_{i: S_i != {}} I(x_i ; v_{S_i})  -  sum_{i<k: S_i, S_k != {}} I(v_{S_i} ; v_{S_k})

and the I_m score is the maximum over all ``m^s`` labelled partitions. The induced *grouping*
(which factors share a slot, whatever its index) is what the success criterion compares with
the true factor grouping.

Everything works on the joint covariance ``C`` of ``(X, V)``, shape ``(m + s, m + s)``: the
latents first, then the factors. Only the blocks ``[x_i, v_S]`` and ``[v_S, v_T]`` enter, so
``C`` itself need not be positive definite (the authors put ``I_m`` in the X block); the V block
must be, and every ``[x_i, v_S]`` block must be, else the result is flagged ``valid=False``.

Computation
-----------
* ``I(x_i; v_S) = -1/2 log(1 - r^2)`` with ``r^2 = c^T C_SS^{-1} c / C_{x_i x_i}`` (``c`` the
  cross-covariance), from a Cholesky factor of ``C_SS``: full relative precision for weak
  dependence. All ``m (2^s - 1)`` values are tabulated once.
* ``I(v_S; v_T) = 1/2 (h_S + h_T - h_{S u T})`` with ``h_S = log|C_SS|`` tabulated for all
  ``2^s`` subsets.
* The penalty depends only on the *set* partition; the best assignment of its ``k`` blocks to
  distinct slots is a rectangular linear assignment problem. ``method="setpartition"``
  enumerates the set partitions into at most ``m`` blocks (``sum_k S(s, k)`` of them, 4.2 million
  for ``s = 12``, not ``8^12``) and bounds each one by ``sum_blocks max_i I(x_i; v_S) - penalty``
  (exact when the per-block best slots are distinct) and ``sum_blocks min_i ... - penalty``;
  only partitions whose bound can beat the incumbent are solved exactly, by a vectorised
  dynamic programme over sets of used slots.
* ``method="labelled"`` evaluates all ``m^s`` labelled partitions at once, vectorised over a
  stack of covariances (fast for the published sizes, ``m^s <= 1024``).

Ties
----
``tie_rule="exact"`` (default): the winning grouping is the maximiser; every grouping whose best
value is within ``tie_tol`` nats of the maximum ties with it (``n_tied`` counts the distinct
groupings, ``tied = n_tied > 1``): such a decision rests on differences below numerical
resolution and is not a decision. ``tie_rule="authors"`` reproduces the authors' notebooks
(reference §6.7): values are rounded to 8 decimals and the first maximiser in their enumeration
order (:func:`authors_partition_order`) wins; ``tied`` then reports whether several groupings
share the rounded maximum.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..scenarios import canonical_grouping
from ..validation import as_float_array, check_covariance, check_finite_scalar

__all__ = [
    "IMResult",
    "im_score",
    "im_score_from_tables",
    "im_partition_value",
    "im_score_bruteforce",
    "authors_partition_order",
    "IM_TIE_TOL",
    "IM_METHODS",
    "IM_TIE_RULES",
]

#: Default tie tolerance (nats) of the exact tie rule. The tabulated information terms carry
#: float64 errors of order 1e-13 nats at the published scales (log-determinants of order 10
#: with relative error ~1e-15), and parameters from a converged BA run resolve the values to
#: ~1e-10; groupings closer than 1e-9 nats are not distinguished by the data.
IM_TIE_TOL = 1e-9
IM_METHODS = ("auto", "labelled", "setpartition")
IM_TIE_RULES = ("exact", "authors")

#: ``auto`` evaluates all labelled partitions when there are at most this many.
_LABELLED_MAX_AUTO = 4096
#: Hard limit for the labelled enumeration (``tie_rule="authors"`` needs it).
_LABELLED_MAX = 2_000_000
_CHUNK = 1 << 18


@dataclass(frozen=True)
class IMResult:
    """Result of :func:`im_score` (arrays over the stack for a stacked input).

    Attributes
    ----------
    value : float
        The I_m score (nats): the maximum of ``I_m`` over labelled partitions (rounded to 8
        decimals under ``tie_rule="authors"``). NaN when ``valid`` is False.
    partition : tuple of int, length s
        A maximising labelled partition: ``partition[j]`` is the slot of factor ``j``.
    grouping : tuple of tuples of int
        The grouping it induces, canonical (see :func:`lingauss.canonical_grouping`).
    n_tied : int
        Number of distinct groupings attaining the maximum (within ``tie_tol``, or with the
        same rounded value under the authors' rule); 1 when the decision is unique.
    tied : bool
        ``n_tied > 1``.
    gap : float
        Best value of the winning grouping minus the best value of any other grouping
        (unrounded; ``inf`` if there is no other grouping). Can be negative under the
        authors' rule, where the earliest partition of a rounding tie wins.
    valid : bool
        False when a block ``[x_i, v_S]`` is not positive definite (possible with an
        identity X block), so some mutual information is undefined.
    method, tie_rule : str
    """

    value: float | np.ndarray
    partition: tuple | np.ndarray
    grouping: tuple | np.ndarray
    n_tied: int | np.ndarray
    tied: bool | np.ndarray
    gap: float | np.ndarray
    valid: bool | np.ndarray
    method: str
    tie_rule: str


# ------------------------------------------------------------------------------- validation
def _check_joint(cov_xv, m, name="cov_xv"):
    """Validate a (stack of) joint covariance(s) of (X, V); return (P-stack, batch shape)."""
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    m = int(m)
    arr = as_float_array(cov_xv, name, min_ndim=2)
    if arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name}: must be square, got shape {arr.shape}")
    d = arr.shape[-1]
    if d <= m:
        raise ValueError(
            f"{name}: expected shape (m + s, m + s) with s >= 1 factors for m = {m}, "
            f"got {arr.shape}"
        )
    scale = np.max(np.abs(arr), axis=(-2, -1), keepdims=True)
    asym = np.max(np.abs(arr - np.swapaxes(arr, -1, -2)), axis=(-2, -1), keepdims=True)
    if np.any(asym > 1e-8 * scale):
        raise ValueError(f"{name}: must be symmetric")
    batch = arr.shape[:-2]
    arr = 0.5 * (arr + np.swapaxes(arr, -1, -2))
    arr = arr.reshape((-1, d, d))
    check_covariance(arr[:, m:, m:], f"{name} (factor block V)")
    var_x = np.diagonal(arr[:, :m, :m], axis1=-2, axis2=-1)
    if np.any(var_x <= 0):
        raise ValueError(f"{name}: latent variances (diagonal of the X block) must be > 0")
    return arr, batch, m, d - m


def _check_options(method, tie_rule, tie_tol):
    if method not in IM_METHODS:
        raise ValueError(f"method: expected one of {IM_METHODS}, got {method!r}")
    if tie_rule not in IM_TIE_RULES:
        raise ValueError(f"tie_rule: expected one of {IM_TIE_RULES}, got {tie_rule!r}")
    tie_tol = check_finite_scalar(tie_tol, "tie_tol")
    if tie_tol < 0:
        raise ValueError(f"tie_tol: must be >= 0, got {tie_tol!r}")
    return tie_tol


# ----------------------------------------------------------------------------------- tables
@lru_cache(maxsize=32)
def _subsets(s: int):
    """Non-empty subsets of ``range(s)`` grouped by size: list of (masks (N,), idx (N, k))."""
    out = []
    for k in range(1, s + 1):
        combos = np.array(list(itertools.combinations(range(s), k)), dtype=np.intp)
        masks = np.sum(np.left_shift(1, combos), axis=1)
        out.append((masks, combos))
    return out


def _tables(C, m, s):
    """Tabulate ``w[p, i, S] = I(x_i; v_S)`` and ``h[p, S] = log|C_SS|`` for all subsets.

    Returns ``w`` (P, m, 2^s), ``h`` (P, 2^s) (entry 0, the empty set, is 0 in both) and
    ``valid`` (P,): False where some ``[x_i, v_S]`` block is not positive definite.
    """
    P = C.shape[0]
    ns = 1 << s
    w = np.zeros((P, m, ns))
    h = np.zeros((P, ns))
    valid = np.ones(P, dtype=bool)
    Cv = C[:, m:, m:]
    c = C[:, :m, m:]
    var_x = np.diagonal(C[:, :m, :m], axis1=-2, axis2=-1)
    for masks, idx in _subsets(s):
        sub = Cv[:, idx[:, :, None], idx[:, None, :]]
        L = np.linalg.cholesky(sub)
        h[:, masks] = 2.0 * np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
        cs = np.moveaxis(c[:, :, idx], 1, -1)  # (P, N, k, m)
        z = np.linalg.solve(L, cs)
        r2 = np.sum(z * z, axis=-2) / var_x[:, None, :]  # (P, N, m)
        bad = r2 >= 1.0
        valid &= ~np.any(bad, axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            w[:, :, masks] = np.swapaxes(
                np.where(bad, np.nan, -0.5 * np.log1p(-np.minimum(r2, 1.0))), 1, 2
            )
    return w, h, valid


def _penalty(h, M, k=None):
    """``sum_{a<b} I(v_{M_a}; v_{M_b})`` for rows of block masks ``M`` (N, m).

    ``h`` is (2^s,) or (P, 2^s) (then the result is (P, N)); only the first ``k`` columns
    are non-empty when ``k`` is given.
    """
    cols = M.shape[1] if k is None else k
    out = np.zeros(h.shape[:-1] + (M.shape[0],))
    for a in range(cols):
        for b in range(a + 1, cols):
            ma, mb = M[:, a], M[:, b]
            out = out + (h[..., ma] + h[..., mb] - h[..., ma | mb])
    return 0.5 * out


# ---------------------------------------------------------------- labelled partition orders
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
    if m**s > _LABELLED_MAX:
        raise ValueError(
            f"s, m: the authors' order enumerates m^s = {m**s} labelled partitions, more than "
            f"{_LABELLED_MAX}; use tie_rule='exact'"
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
def _labelled_structure(s: int, m: int):
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
    groupings = tuple(_grouping_from_labels(rgs[f]) for f in first)
    order = np.argsort(sp_id, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(sp_id[order]) != 0])
    return labels, masks, sp_id, order, starts, groupings


def _grouping_from_labels(labels) -> tuple[tuple[int, ...], ...]:
    blocks: dict[int, list[int]] = {}
    for j, lab in enumerate(np.asarray(labels).tolist()):
        blocks.setdefault(lab, []).append(j)
    return canonical_grouping(blocks.values())


# ------------------------------------------------------------------ labelled (vectorised)
def _im_labelled(w, h, valid, m, s, tie_rule, tie_tol, same_v):
    labels, masks, sp_id, order, starts, groupings = _labelled_structure(s, m)
    P = w.shape[0]
    N = labels.shape[0]
    pen_all = _penalty(h[:1] if same_v else h, masks)  # (1 or P, N)
    value = np.empty(P)
    win = np.empty(P, dtype=np.intp)
    n_tied = np.empty(P, dtype=np.intp)
    gap = np.empty(P)
    step = max(1, _CHUNK // max(N, 1))
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


# ------------------------------------------------------------ set partitions + assignment
@lru_cache(maxsize=4)
def _set_partitions(s: int, m: int):
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
def _dp_transitions(m: int):
    """For each number of used slots b and slot i: states T (popcount b, bit i clear)."""
    states = np.arange(1 << m)
    pop = np.array([bin(t).count("1") for t in states])
    out = {}
    for b in range(m):
        for i in range(m):
            sel = states[(pop == b) & ((states >> i) & 1 == 0)]
            out[b, i] = (sel, sel | (1 << i))
    return out


def _assignment_max(wb):
    """Max over injective maps of ``k`` blocks to ``m`` slots of ``sum_b wb[:, b, slot_b]``.

    ``wb`` has shape (N, k, m) with ``k <= m``; a dynamic programme over sets of used slots,
    vectorised over the N problems.
    """
    N, k, m = wb.shape
    trans = _dp_transitions(m)
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


class _SetPartitionSolver:
    """Branch-and-bound over set partitions for one covariance (tables ``w``, ``h``)."""

    def __init__(self, w, h, s, m):
        self.w, self.h, self.s, self.m = w, h, s, m
        self.parts = _set_partitions(s, m)
        wmax = np.max(w, axis=0)
        wmin = np.min(w, axis=0)
        amax = np.argmax(w, axis=0)
        wmax[0] = wmin[0] = 0.0
        self.ub, self.lb, self.ex = {}, {}, {}
        for k, M in self.parts.items():
            ub = np.empty(M.shape[0])
            lb = np.empty(M.shape[0])
            ex = np.full(M.shape[0], np.nan)
            for lo in range(0, M.shape[0], _CHUNK):
                Mc = M[lo : lo + _CHUNK]
                pen = _penalty(h, Mc)
                ub[lo : lo + _CHUNK] = np.sum(wmax[Mc], axis=1) - pen
                lb[lo : lo + _CHUNK] = np.sum(wmin[Mc], axis=1) - pen
                a = np.sort(amax[Mc], axis=1)
                distinct = np.all(a[:, 1:] != a[:, :-1], axis=1)
                ex[lo : lo + _CHUNK][distinct] = ub[lo : lo + _CHUNK][distinct]
            self.ub[k], self.lb[k], self.ex[k] = ub, lb, ex

    def _solve(self, k, idx):
        """Exact values for partitions ``idx`` of block count ``k`` (cached in ``ex``)."""
        todo = idx[np.isnan(self.ex[k][idx])]
        M = self.parts[k]
        for lo in range(0, todo.size, 4096):
            sel = todo[lo : lo + 4096]
            wb = np.moveaxis(self.w[:, M[sel]], 0, -1)  # (c, k, m)
            pen = _penalty(self.h, M[sel])
            self.ex[k][sel] = _assignment_max(wb) - pen
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


def _im_setpartition(w, h, valid, m, s, tie_tol):
    P = w.shape[0]
    value = np.full(P, np.nan)
    part = np.zeros((P, s), dtype=np.intp)
    grouping = [()] * P
    n_tied = np.zeros(P, dtype=np.intp)
    gap = np.full(P, np.nan)
    for p in range(P):
        if not valid[p]:
            continue
        solver = _SetPartitionSolver(w[p], h[p], s, m)
        v, k, i = solver.best()
        labels = solver.labels_of(k, i)
        if sum(len(M) for M in solver.parts.values()) > 1:
            v2, _, _ = solver.best(exclude=(k, i))
        else:
            v2 = -np.inf
        value[p] = v
        part[p] = labels
        grouping[p] = _grouping_from_labels(labels)
        gap[p] = v - v2
        n_tied[p] = 1 if v2 < v - tie_tol else solver.count_at_least(v - tie_tol)
    return value, part, grouping, n_tied, gap


# ------------------------------------------------------------------------------- public API
def im_score(
    cov_xv,
    m: int,
    *,
    tie_rule: str = "exact",
    tie_tol: float = IM_TIE_TOL,
    method: str = "auto",
) -> IMResult:
    """Exact I_m score, its winning partition and induced grouping.

    ``I_m = max_S [ sum_i I(x_i; v_{S_i}) - sum_{i<k} I(v_{S_i}; v_{S_k}) ]`` over the ``m^s``
    labelled partitions ``S`` of the factors into the ``m`` latent slots (empty slots
    contribute nothing).

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
        Joint covariance of ``(X, V)``, latents first. Need not be positive definite; its
        factor block must be, and the latent variances positive.
    m : int
        Number of latents.
    tie_rule : {"exact", "authors"}
        ``"exact"``: groupings within ``tie_tol`` of the maximum tie (reported, the
        maximiser is returned). ``"authors"``: round to 8 decimals, first maximiser in
        :func:`authors_partition_order` (enumerates all ``m^s`` labelled partitions).
    tie_tol : float
        Tie tolerance in nats for ``tie_rule="exact"`` (default :data:`IM_TIE_TOL`).
    method : {"auto", "labelled", "setpartition"}
        ``"labelled"``: all labelled partitions, vectorised over the stack.
        ``"setpartition"``: set partitions with bounds and exact assignment (scales to
        ``s = 12``, ``m = 8``). ``"auto"``: labelled when ``m^s <= 4096`` or the authors'
        rule is asked for.

    Returns
    -------
    IMResult
        Scalars for a single matrix, arrays (``partition``: (..., s); ``grouping``: object
        array of tuples) for a stack.

    Raises
    ------
    ValueError
        Non-square, non-symmetric, NaN input, a factor block that is not positive definite,
        bad ``m``, ``method``, ``tie_rule`` or ``tie_tol``.

    Examples
    --------
    A latent per independent factor: the grouping is the true one.

    >>> import numpy as np
    >>> cov = np.eye(4)
    >>> cov[0, 2] = cov[2, 0] = 0.8   # x_0 ~ v_0
    >>> cov[1, 3] = cov[3, 1] = 0.6   # x_1 ~ v_1
    >>> r = im_score(cov, 2)
    >>> r.grouping, bool(np.isclose(r.value, -0.5 * np.log(1 - 0.64) - 0.5 * np.log(1 - 0.36)))
    (((0,), (1,)), True)
    """
    tie_tol = _check_options(method, tie_rule, tie_tol)
    C, batch, m, s = _check_joint(cov_xv, m)
    method = _resolve_method(method, tie_rule, m, s)
    w, h, valid = _tables(C, m, s)
    same_v = bool(np.all(C[:, m:, m:] == C[:1, m:, m:]))
    return _score(w, h, valid, m, s, batch, tie_rule, tie_tol, method, same_v)


def _resolve_method(method: str, tie_rule: str, m: int, s: int) -> str:
    n_lab = m**s
    if method == "auto":
        method = (
            "labelled"
            if (n_lab <= _LABELLED_MAX_AUTO or tie_rule == "authors")
            else ("setpartition")
        )
    if tie_rule == "authors" and method != "labelled":
        raise ValueError("method: tie_rule='authors' needs method='labelled' (or 'auto')")
    if method == "labelled" and n_lab > _LABELLED_MAX:
        raise ValueError(
            f"method: 'labelled' would enumerate m^s = {n_lab} partitions (limit "
            f"{_LABELLED_MAX}); use method='setpartition' with tie_rule='exact'"
        )
    return method


def _score(w, h, valid, m, s, batch, tie_rule, tie_tol, method, same_v) -> IMResult:
    """Maximise over partitions given the tables (``w`` (P, m, 2^s), ``h`` (P, 2^s))."""
    if method == "labelled":
        out = _im_labelled(w, h, valid, m, s, tie_rule, tie_tol, same_v)
    else:
        out = _im_setpartition(w, h, valid, m, s, tie_tol)
    value, part, grouping, n_tied, gap = out
    return _pack(value, part, grouping, n_tied, gap, valid, batch, s, method, tie_rule)


def im_score_from_tables(
    w,
    h,
    *,
    tie_rule: str = "exact",
    tie_tol: float = IM_TIE_TOL,
    method: str = "auto",
) -> IMResult:
    """I_m from tabulated information terms (e.g. sample estimates), as :func:`im_score`.

    ``I_m = max_S [ sum_i w[i, S_i] - sum_{i<k} 1/2 (h[S_i] + h[S_k] - h[S_i u S_k]) ]`` over
    the labelled partitions ``S`` (empty slots contribute nothing), where

    * ``w[i, S] = I(x_i; v_S)`` (nats) for latent ``i`` and the factor subset with bitmask
      ``S`` (bit ``j`` = factor ``j``);
    * ``h[S] = log|Σ_V[S, S]|`` (natural log-determinant of the factors' covariance block),
      so that ``1/2 (h[S] + h[T] - h[S u T]) = I(v_S; v_T)`` for disjoint ``S``, ``T``.

    This is the second half of :func:`im_score`, which builds the tables from a joint
    covariance; estimators of the information terms (e.g. KSG, :mod:`neural.estimators`)
    feed their own tables here and get the same maximisation, tie rules and result.

    Parameters
    ----------
    w : array_like, shape (..., m, 2**s)
        Column 0 (the empty set) must be 0. A table with a non-finite entry gives an invalid
        result (``valid=False``, value NaN, empty grouping), as an undefined information term
        does in :func:`im_score`.
    h : array_like, shape (2**s,) or (..., 2**s)
        Finite; ``h[..., 0]`` (the empty set) must be 0. A single vector is shared by the
        whole stack.
    tie_rule, tie_tol, method :
        As in :func:`im_score`.

    Returns
    -------
    IMResult
        Scalars for a single ``(m, 2**s)`` table, arrays over the stack otherwise.

    Raises
    ------
    ValueError
        Bad shapes (the last axis not a power of two, ``h`` not matching ``w``), non-zero
        empty-set entries, non-finite ``h``, or bad options.

    Examples
    --------
    The tables of a joint covariance give :func:`im_score`'s answer:

    >>> import numpy as np
    >>> cov = np.eye(4)
    >>> cov[0, 2] = cov[2, 0] = 0.8   # x_0 ~ v_0
    >>> cov[1, 3] = cov[3, 1] = 0.6   # x_1 ~ v_1
    >>> i0, i1 = -0.5 * np.log(1 - 0.64), -0.5 * np.log(1 - 0.36)
    >>> w = np.array([[0.0, i0, 0.0, i0], [0.0, 0.0, i1, i1]])   # subsets {}, {0}, {1}, {0,1}
    >>> r = im_score_from_tables(w, np.zeros(4))                # independent unit factors
    >>> r.grouping, bool(np.isclose(r.value, im_score(cov, 2).value))
    (((0,), (1,)), True)
    """
    tie_tol = _check_options(method, tie_rule, tie_tol)
    try:
        w = np.asarray(w, dtype=np.float64)
        h = np.asarray(h, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"w, h: cannot be converted to float arrays ({exc})") from None
    if w.ndim < 2:
        raise ValueError(f"w: expected shape (..., m, 2**s), got {w.shape}")
    m, ns = w.shape[-2], w.shape[-1]
    s = ns.bit_length() - 1
    if m < 1 or s < 1 or ns != 1 << s:
        raise ValueError(f"w: expected shape (..., m, 2**s) with m >= 1 and s >= 1, got {w.shape}")
    if h.ndim < 1 or h.shape[-1] != ns:
        raise ValueError(f"h: expected shape (..., {ns}) to match w, got {h.shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError("h: contains NaN or infinite entries")
    if np.any(h[..., 0] != 0):
        raise ValueError("h: the empty-set entry h[..., 0] must be 0")
    with np.errstate(invalid="ignore"):
        if np.any(np.isfinite(w[..., 0]) & (w[..., 0] != 0)):
            raise ValueError("w: the empty-set column w[..., 0] must be 0")
    batch = w.shape[:-2]
    same_v = h.ndim == 1
    try:
        hb = h[None] if same_v else np.broadcast_to(h, batch + (ns,))
    except ValueError:
        raise ValueError(
            f"h: batch shape {h.shape[:-1]} does not broadcast to w's {batch}"
        ) from None
    wf = w.reshape((-1, m, ns))
    valid = np.all(np.isfinite(wf), axis=(1, 2))
    wf = np.where(valid[:, None, None], wf, 0.0)
    hf = hb if same_v else np.ascontiguousarray(hb).reshape((-1, ns))
    method = _resolve_method(method, tie_rule, m, s)
    if method == "setpartition" and same_v:
        hf = np.broadcast_to(hf, (wf.shape[0], ns))
    return _score(wf, hf, valid, m, s, batch, tie_rule, tie_tol, method, same_v)


def _pack(value, part, grouping, n_tied, gap, valid, batch, s, method, tie_rule):
    if batch == ():
        return IMResult(
            value=float(value[0]),
            partition=tuple(int(x) for x in part[0]),
            grouping=grouping[0],
            n_tied=int(n_tied[0]),
            tied=bool(n_tied[0] > 1),
            gap=float(gap[0]),
            valid=bool(valid[0]),
            method=method,
            tie_rule=tie_rule,
        )
    g = np.empty(len(grouping), dtype=object)
    g[:] = grouping
    return IMResult(
        value=value.reshape(batch),
        partition=np.asarray(part).reshape(batch + (s,)),
        grouping=g.reshape(batch),
        n_tied=n_tied.reshape(batch),
        tied=(n_tied > 1).reshape(batch),
        gap=gap.reshape(batch),
        valid=valid.reshape(batch),
        method=method,
        tie_rule=tie_rule,
    )


def _as_labels(partition, s, m):
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


def im_partition_value(cov_xv, m: int, partition) -> float | np.ndarray:
    """The value ``I_m(S)`` of one labelled partition.

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
        Joint covariance of ``(X, V)`` (see :func:`im_score`).
    m : int
    partition : sequence
        Either ``s`` slot labels (``partition[j]`` = slot of factor ``j``) or ``m`` blocks
        (``partition[i]`` = the factors of slot ``i``, possibly empty).

    Returns
    -------
    float or ndarray, shape (...)
        ``sum_i I(x_i; v_{S_i}) - sum_{i<k} I(v_{S_i}; v_{S_k})`` in nats (NaN where a block
        ``[x_i, v_S]`` is not positive definite).

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.eye(3); cov[0, 1] = cov[1, 0] = 0.5
    >>> bool(np.isclose(im_partition_value(cov, 1, [[0, 1]]), -0.5 * np.log(1 - 0.25)))
    True
    """
    C, batch, m, s = _check_joint(cov_xv, m)
    labels = _as_labels(partition, s, m)
    bits = np.left_shift(1, np.arange(s))
    M = np.array([[int(np.sum(bits[labels == i])) for i in range(m)]])
    w, h, _ = _tables(C, m, s)
    val = -_penalty(h, M)[:, 0]
    for i in range(m):
        val = val + w[:, i, M[0, i]]
    val = val.reshape(batch)
    return float(val) if batch == () else val


def im_score_bruteforce(cov_xv, m: int, *, tie_tol: float = IM_TIE_TOL) -> IMResult:
    """Reference I_m by brute force over all ``m^s`` labelled partitions (tests, benchmarks).

    Independent of :func:`im_score`'s tables: every term is computed with
    :func:`lingauss.gaussian.mutual_information` on the relevant sub-block. Product order;
    the first maximiser is returned. Only for a single matrix and ``m^s <= 200000``.
    """
    from ..gaussian import mutual_information

    tie_tol = _check_options("auto", "exact", tie_tol)
    C, batch, m, s = _check_joint(cov_xv, m)
    if batch != ():
        raise ValueError(f"cov_xv: expected a single (m + s, m + s) matrix, got {batch + (0,)}")
    if m**s > 200_000:
        raise ValueError(f"m: brute force over m^s = {m**s} partitions is too large")
    C = C[0]
    cache: dict = {}

    def mi_x(i, S):
        key = ("x", i, S)
        if key not in cache:
            idx = [i] + [m + j for j in S]
            sub = C[np.ix_(idx, idx)]
            try:
                cache[key] = float(mutual_information(sub, [0], list(range(1, len(idx)))))
            except ValueError:
                cache[key] = np.nan
        return cache[key]

    def mi_v(S, T):
        key = ("v", S, T)
        if key not in cache:
            idx = [m + j for j in S + T]
            sub = C[np.ix_(idx, idx)]
            cache[key] = float(
                mutual_information(sub, list(range(len(S))), list(range(len(S), len(idx))))
            )
        return cache[key]

    values, groupings, first_labels = [], [], []
    for labels in itertools.product(range(m), repeat=s):
        blocks = [tuple(j for j in range(s) if labels[j] == i) for i in range(m)]
        used = [i for i in range(m) if blocks[i]]
        v = sum(mi_x(i, blocks[i]) for i in used)
        v -= sum(mi_v(blocks[a], blocks[b]) for a, b in itertools.combinations(used, 2))
        values.append(v)
        groupings.append(canonical_grouping(blocks))
        first_labels.append(labels)
    values = np.array(values)
    if np.any(np.isnan(values)):
        return IMResult(np.nan, tuple([0] * s), (), 0, False, np.nan, False, "bruteforce", "exact")
    k = int(np.argmax(values))
    best: dict = {}
    for g, v in zip(groupings, values):
        best[g] = max(best.get(g, -np.inf), v)
    top = values[k]
    n_tied = sum(1 for v in best.values() if v >= top - tie_tol)
    others = [v for g, v in best.items() if g != groupings[k]]
    gap = top - max(others) if others else np.inf
    return IMResult(
        value=float(top),
        partition=tuple(int(x) for x in first_labels[k]),
        grouping=groupings[k],
        n_tied=int(n_tied),
        tied=n_tied > 1,
        gap=float(gap),
        valid=True,
        method="bruteforce",
        tie_rule="exact",
    )
