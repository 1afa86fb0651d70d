r"""Population importance matrices of DCI: how much each code matters for each factor.

For jointly Gaussian ``(X, V)`` the best predictor of ``v_k`` from ``X`` is the population
least-squares regression ``v̂_k = w_k^T X`` with ``w_k = Σ_X^{-1} Cov(X, v_k)`` and
``R²_k = Cov(v_k, X) Σ_X^{-1} Cov(X, v_k) / Var v_k`` (:func:`regression_r2`). The default
importance of :mod:`lingauss.metrics.dci` (``importance="shapley"``, :func:`shapley_r2`) is the
Shapley value of code ``j`` in ``R²_k`` (the LMG decomposition: the average over all orders of
adding codes to the regression of the increase in ``R²`` when ``x_j`` is added). Why this one:

* it is non-negative and the importances of a factor add up to ``R²_k`` exactly, so they are
  shares of explained variance — the quantity tree ensembles' impurity importances
  (``disentanglement_lib``'s gradient boosting) estimate;
* it is invariant to rescaling the codes, and it splits the credit of correlated codes
  instead of rewarding the large opposite-signed coefficients of a suppressor pair, as
  ``|w_jk| sd(x_j)`` does (:func:`coefficient_importance`, ``importance="coefficient"``);
* for uncorrelated codes it reduces to the squared correlation ``ρ_jk²``.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np

from .common import split_cov_xv

__all__ = [
    "regression_r2",
    "shapley_r2",
    "coefficient_importance",
    "r2_of_subsets",
    "MAX_SHAPLEY_LATENTS",
]

#: The Shapley importance needs ``2^m`` regressions: refused beyond this many latents.
MAX_SHAPLEY_LATENTS = 16


def r2_of_subsets(cov: np.ndarray, m: int, subsets: np.ndarray) -> np.ndarray:
    """R² of every factor regressed on each code subset (rows of ``subsets``, equal size).

    ``cov`` (..., m + s, m + s) is a validated joint covariance, ``subsets`` (C, t) code
    indices; returns (..., C, s).
    """
    sx = cov[..., subsets[:, :, None], subsets[:, None, :]]  # (..., C, t, t)
    c = cov[..., subsets, m:]  # (..., C, t, s)
    var_v = np.diagonal(cov, axis1=-2, axis2=-1)[..., m:]
    chol = np.linalg.cholesky(sx)
    z = np.linalg.solve(chol, c)
    return np.sum(z**2, axis=-2) / var_v[..., None, :]


def regression_r2(cov_xv, m: int) -> np.ndarray:
    """Population ``R²_k = Cov(v_k, X) Σ_X^{-1} Cov(X, v_k) / Var v_k`` per factor.

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
        Joint covariance of ``(X, V)``, latents first (SPD).
    m : int

    Returns
    -------
    ndarray, shape (..., s)
    """
    cov, m, _ = split_cov_xv(cov_xv, m, batched=True)
    return r2_of_subsets(cov, m, np.arange(m)[None, :])[..., 0, :]


def shapley_r2(cov_xv, m: int) -> np.ndarray:
    """Shapley (LMG) decomposition of each factor's population ``R²`` over the codes.

    ``φ_jk = Σ_{S ⊆ codes \\ {j}} |S|! (m - |S| - 1)! / m! · [R²_k(S ∪ {j}) - R²_k(S)]``,
    with ``R²_k(S)`` the population ``R²`` of regressing ``v_k`` on the codes in ``S``
    (``R²_k(∅) = 0``). ``φ_jk >= 0`` and ``Σ_j φ_jk = R²_k``.

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
    m : int
        ``m <= 16`` (the cost is ``2^m`` small regressions).

    Returns
    -------
    ndarray, shape (..., m, s)

    Examples
    --------
    Uncorrelated codes: the Shapley value is the squared correlation.

    >>> import numpy as np
    >>> cov = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.3], [0.6, 0.3, 1.0]])
    >>> np.round(shapley_r2(cov, 2)[:, 0], 12).tolist()
    [0.36, 0.09]
    """
    cov, m, s = split_cov_xv(cov_xv, m, batched=True)
    if m > MAX_SHAPLEY_LATENTS:
        raise ValueError(
            f"m: Shapley importances need 2^m regressions; m = {m} > {MAX_SHAPLEY_LATENTS}, "
            "use importance='coefficient'"
        )
    return _shapley(cov, m, s)


def _shapley(cov, m, s):
    n_sub = 1 << m
    r2 = np.zeros(cov.shape[:-2] + (n_sub, s))
    for t in range(1, m + 1):
        subsets = np.array(list(combinations(range(m), t)), dtype=np.intp)
        masks = np.sum(1 << subsets, axis=1)
        r2[..., masks, :] = r2_of_subsets(cov, m, subsets)
    all_masks = np.arange(n_sub)
    size = np.array([bin(x).count("1") for x in range(n_sub)])
    weight = np.array([factorial(t) * factorial(m - t - 1) / factorial(m) for t in range(m)])
    phi = np.empty(cov.shape[:-2] + (m, s))
    for j in range(m):
        without = all_masks[(all_masks >> j) & 1 == 0]
        delta = r2[..., without | (1 << j), :] - r2[..., without, :]
        phi[..., j, :] = np.einsum("c,...cs->...s", weight[size[without]], delta)
    return np.maximum(phi, 0.0)


def coefficient_importance(cov_xv, m: int) -> np.ndarray:
    """``|w_jk| sd(x_j) / sd(v_k)``: absolute standardised population regression coefficients,
    ``w_k = Σ_X^{-1} Cov(X, v_k)``.

    Returns
    -------
    ndarray, shape (..., m, s)
    """
    cov, m, _ = split_cov_xv(cov_xv, m, batched=True)
    sx = cov[..., :m, :m]
    w = np.linalg.solve(sx, cov[..., :m, m:])
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    return np.abs(w) * sd[..., :m, None] / sd[..., None, m:]
