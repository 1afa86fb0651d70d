"""Matched mutual information: the follow-up λβ study's "I_m", which is *not* the partition I_m.

For a jointly Gaussian ``(X, V)`` with joint covariance ``C`` (latents first), each latent–factor
pair has the exact mutual information

    I(x_i; v_j) = -1/2 log(1 - ρ_ij²),   ρ_ij² = C_{x_i v_j}² / (Var x_i · Var v_j),

computed with the *true* variances on the diagonal of ``C``. The score is the largest total of
these over one-to-one matchings of factors to latents (maximum-weight bipartite matching, solved
by the Hungarian algorithm, :func:`scipy.optimize.linear_sum_assignment`):

    score = max_{π injective} Σ_j I(x_{π(j)}; v_j).

With ``m ≥ s`` every factor gets its own latent and ``m - s`` latents are left out; with
``m < s`` every latent gets its own factor. Unlike the partition metric of the slides, a latent
can never be credited with more than one factor, and factor–factor redundancy is not subtracted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .common import split_cov_xv

__all__ = ["MatchedMIResult", "matched_mi_score", "pairwise_mutual_information"]

#: Pairwise MI (nats) at or below which every pair counts as independent: the encoder carries
#: no information about any factor, the score is 0 and the matching is arbitrary.
COLLAPSE_TOL = 1e-12


@dataclass(frozen=True)
class MatchedMIResult:
    """Result of :func:`matched_mi_score` (arrays carry the input's batch shape ``(...)``).

    Attributes
    ----------
    score : float or ndarray, shape (...)
        Total mutual information of the best one-to-one matching, in nats.
    matching : ndarray of int, shape (..., s)
        ``matching[..., j]`` is the latent matched to factor ``j`` (``-1`` if factor ``j`` is left
        unmatched, which happens only when ``m < s``).
    mi : ndarray, shape (..., m, s)
        Per-pair mutual information ``-1/2 log(1 - ρ_ij²)`` in nats.
    collapsed : bool or ndarray of bool, shape (...)
        True where every pair's MI is ``<= COLLAPSE_TOL``: the score is 0 and the matching
        carries no meaning (every matching ties).
    """

    score: float | np.ndarray
    matching: np.ndarray
    mi: np.ndarray
    collapsed: bool | np.ndarray


def _check(cov_xv, m):
    cov, m, _ = split_cov_xv(cov_xv, m, batched=True)
    return cov, m


def pairwise_mutual_information(cov_xv, m: int) -> np.ndarray:
    """Per latent–factor pair MI ``-1/2 log(1 - ρ_ij²)`` from a joint covariance of ``(X, V)``.

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
        Symmetric positive-definite joint covariance, latents ``X`` first, factors ``V`` last.
    m : int
        Number of latents.

    Returns
    -------
    ndarray, shape (..., m, s)
        In nats; ``ρ_ij² = C_ij² / (C_ii C_jj)`` uses the true variances on the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[1.0, 0.6], [0.6, 1.0]])
    >>> bool(np.isclose(pairwise_mutual_information(C, 1)[0, 0], -0.5 * np.log(1 - 0.36)))
    True
    """
    cov, m = _check(cov_xv, m)
    return _pair_mi(cov, m)


def _pair_mi(cov, m):
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    cross = cov[..., :m, m:]
    rho2 = cross**2 / (var[..., :m, None] * var[..., None, m:])
    # a PD joint covariance has |ρ| < 1; clip rounding only
    rho2 = np.clip(rho2, 0.0, np.nextafter(1.0, 0.0))
    return -0.5 * np.log1p(-rho2)


def matched_mi_score(cov_xv, m: int) -> MatchedMIResult:
    """Matched MI score: best one-to-one matching of factors to latents by pairwise MI.

    ``score = max_π Σ_j -1/2 log(1 - ρ_{π(j) j}²)`` over injective maps ``π`` between factors and
    latents, with ``ρ`` the correlation of latent ``x_{π(j)}`` and factor ``v_j`` taken from the
    joint covariance (true variances). The per-pair matrix is vectorised over the batch; the
    Hungarian step (``scipy.optimize.linear_sum_assignment``, maximising) runs once per matrix.

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
        Joint covariance of ``(X, V)``, latents first (SPD).
    m : int
        Number of latents, ``1 <= m < m + s``.

    Returns
    -------
    MatchedMIResult

    Raises
    ------
    ValueError
        If ``cov_xv`` is not symmetric positive definite, contains NaN, or ``m`` is out of range.

    Examples
    --------
    Two latents, two factors; latent 1 copies factor 0 (ρ² = 0.8) and latent 0 carries factor 1
    weakly (ρ² = 0.2):

    >>> import numpy as np
    >>> r1, r2 = np.sqrt(0.2), np.sqrt(0.8)
    >>> C = np.eye(4)
    >>> C[0, 3] = C[3, 0] = r1
    >>> C[1, 2] = C[2, 1] = r2
    >>> res = matched_mi_score(C, 2)
    >>> res.matching.tolist()
    [1, 0]
    >>> bool(np.isclose(res.score, -0.5 * (np.log(1 - 0.8) + np.log(1 - 0.2))))
    True
    """
    cov, m = _check(cov_xv, m)
    mi = _pair_mi(cov, m)
    batch = mi.shape[:-2]
    s = mi.shape[-1]
    flat = mi.reshape((-1, m, s))
    score = np.empty(flat.shape[0])
    matching = np.full((flat.shape[0], s), -1, dtype=np.intp)
    for k, w in enumerate(flat):
        rows, cols = linear_sum_assignment(w, maximize=True)
        score[k] = w[rows, cols].sum()
        matching[k, cols] = rows
    collapsed = np.max(flat, axis=(-2, -1)) <= COLLAPSE_TOL
    score = score.reshape(batch)
    collapsed = collapsed.reshape(batch)
    if not batch:
        return MatchedMIResult(float(score), matching[0], mi, bool(collapsed))
    return MatchedMIResult(score, matching.reshape(batch + (s,)), mi, collapsed)
