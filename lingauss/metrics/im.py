# A little over ~400 lines: the four public entry points of I_m with their documentation,
# sharing IMResult and the result packing; the algorithms live in im_tables, im_labelled and
# im_setpartition.
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
The information terms are tabulated once (:mod:`lingauss.metrics.im_tables`); the maximum is
found either over all ``m^s`` labelled partitions at once, vectorised over a stack
(``method="labelled"``, :mod:`lingauss.metrics.im_labelled`, fast for ``m^s <= 1024``), or
over set partitions with bounds and an exact assignment only where a bound can beat the
incumbent (``method="setpartition"``, :mod:`lingauss.metrics.im_setpartition`, scales to
``s = 12``, ``m = 8``).

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

import numpy as np

from ..scenarios import canonical_grouping
from .im_labelled import (
    authors_partition_order,
    im_labelled_search,
    labels_from_partition,
)
from .im_setpartition import im_setpartition_search
from .im_tables import (
    IM_METHODS,
    IM_TIE_RULES,
    IM_TIE_TOL,
    block_penalty,
    check_joint,
    check_options,
    information_tables,
    resolve_method,
)

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
    tie_tol = check_options(method, tie_rule, tie_tol)
    C, batch, m, s = check_joint(cov_xv, m)
    method = resolve_method(method, tie_rule, m, s)
    w, h, valid = information_tables(C, m, s)
    same_v = bool(np.all(C[:, m:, m:] == C[:1, m:, m:]))
    return _score(w, h, valid, m, s, batch, tie_rule, tie_tol, method, same_v)


def _score(w, h, valid, m, s, batch, tie_rule, tie_tol, method, same_v) -> IMResult:
    """Maximise over partitions given the tables (``w`` (P, m, 2^s), ``h`` (P, 2^s))."""
    if method == "labelled":
        out = im_labelled_search(w, h, valid, m, s, tie_rule, tie_tol, same_v)
    else:
        out = im_setpartition_search(w, h, valid, m, s, tie_tol)
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
    tie_tol = check_options(method, tie_rule, tie_tol)
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
    method = resolve_method(method, tie_rule, m, s)
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
    C, batch, m, s = check_joint(cov_xv, m)
    labels = labels_from_partition(partition, s, m)
    bits = np.left_shift(1, np.arange(s))
    M = np.array([[int(np.sum(bits[labels == i])) for i in range(m)]])
    w, h, _ = information_tables(C, m, s)
    val = -block_penalty(h, M)[:, 0]
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

    tie_tol = check_options("auto", "exact", tie_tol)
    C, batch, m, s = check_joint(cov_xv, m)
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
