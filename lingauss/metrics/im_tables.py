"""Inputs of the I_m metric: validation, options and the information tables.

Every quantity :mod:`lingauss.metrics.im` maximises comes from two tables of the joint
covariance ``C`` of ``(X, V)`` (latents first):

* ``w[p, i, S] = I(x_i; v_S) = -1/2 log(1 - r^2)`` with ``r^2 = c^T C_SS^{-1} c / C_{x_i x_i}``
  (``c`` the cross-covariance), from a Cholesky factor of ``C_SS``: full relative precision
  for weak dependence;
* ``h[p, S] = log|C_SS|`` for all ``2^s`` factor subsets, so that
  ``I(v_S; v_T) = 1/2 (h_S + h_T - h_{S u T})`` and the penalty of a partition is
  :func:`block_penalty`.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from ..validation import as_float_array, check_covariance, check_finite_scalar

__all__ = [
    "IM_TIE_TOL",
    "IM_METHODS",
    "IM_TIE_RULES",
    "LABELLED_MAX_AUTO",
    "LABELLED_MAX",
    "CHUNK",
    "check_joint",
    "check_options",
    "resolve_method",
    "subset_masks",
    "information_tables",
    "block_penalty",
]

#: Default tie tolerance (nats) of the exact tie rule. The tabulated information terms carry
#: float64 errors of order 1e-13 nats at the published scales (log-determinants of order 10
#: with relative error ~1e-15), and parameters from a converged BA run resolve the values to
#: ~1e-10; groupings closer than 1e-9 nats are not distinguished by the data.
IM_TIE_TOL = 1e-9
IM_METHODS = ("auto", "labelled", "setpartition")
IM_TIE_RULES = ("exact", "authors")

#: ``auto`` evaluates all labelled partitions when there are at most this many.
LABELLED_MAX_AUTO = 4096
#: Hard limit for the labelled enumeration (``tie_rule="authors"`` needs it).
LABELLED_MAX = 2_000_000
#: Rows of partitions (labelled or set) processed at once: bounds the memory of a chunk.
CHUNK = 1 << 18


def check_joint(cov_xv, m, name="cov_xv"):
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


def check_options(method, tie_rule, tie_tol):
    if method not in IM_METHODS:
        raise ValueError(f"method: expected one of {IM_METHODS}, got {method!r}")
    if tie_rule not in IM_TIE_RULES:
        raise ValueError(f"tie_rule: expected one of {IM_TIE_RULES}, got {tie_rule!r}")
    tie_tol = check_finite_scalar(tie_tol, "tie_tol")
    if tie_tol < 0:
        raise ValueError(f"tie_tol: must be >= 0, got {tie_tol!r}")
    return tie_tol


def resolve_method(method: str, tie_rule: str, m: int, s: int) -> str:
    n_lab = m**s
    if method == "auto":
        method = (
            "labelled"
            if (n_lab <= LABELLED_MAX_AUTO or tie_rule == "authors")
            else ("setpartition")
        )
    if tie_rule == "authors" and method != "labelled":
        raise ValueError("method: tie_rule='authors' needs method='labelled' (or 'auto')")
    if method == "labelled" and n_lab > LABELLED_MAX:
        raise ValueError(
            f"method: 'labelled' would enumerate m^s = {n_lab} partitions (limit "
            f"{LABELLED_MAX}); use method='setpartition' with tie_rule='exact'"
        )
    return method


@lru_cache(maxsize=32)
def subset_masks(s: int):
    """Non-empty subsets of ``range(s)`` grouped by size: list of (masks (N,), idx (N, k))."""
    out = []
    for k in range(1, s + 1):
        combos = np.array(list(itertools.combinations(range(s), k)), dtype=np.intp)
        masks = np.sum(np.left_shift(1, combos), axis=1)
        out.append((masks, combos))
    return out


def information_tables(C, m, s):
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
    for masks, idx in subset_masks(s):
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


def block_penalty(h, M, k=None):
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
