"""Near-singular covariances: controlled correlation-matrix condition numbers on both sides of
the singularity threshold of :func:`lingauss.validation.check_covariance`, and exactly
singular ``V V^T`` (see :mod:`lingauss.strategies`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..validation import MAX_CONDITION as SINGULAR_CONDITION
from .matrices import UNIT_FLOATS, dimensions, log10_spectrum, log_uniform, orthogonal_matrices

__all__ = [
    "MAX_CORRELATION_CONDITION",
    "ConditionedCovariance",
    "correlation_matrices",
    "conditioned_covariances",
    "near_singular_covariances",
    "rank_deficient_covariances",
]

#: Largest correlation-matrix condition number :func:`correlation_matrices` draws: the
#: smallest eigenvalue ``~d/κ`` stays ``>= 100`` times its rounding error ``~d eps``.
MAX_CORRELATION_CONDITION = 1e13


def _rotate_to_unit_diagonal(m: np.ndarray) -> np.ndarray:
    """Givens rotations ``G^T M G`` that make the diagonal of ``M`` (trace ``d``) all ones,
    keeping its eigenvalues (Bendel & Mickey 1978; Davies & Higham 2000, as
    ``scipy.stats.random_correlation`` does)."""
    m = m.copy()
    d = m.shape[0]
    for i in range(d - 1):
        if m[i, i] == 1.0:
            continue
        above = m[i, i] > 1.0
        j = next((k for k in range(i + 1, d) if (m[k, k] < 1.0) == above), d - 1)
        a, b, c = m[i, i] - 1.0, m[j, j] - 1.0, m[i, j]
        if b == 0.0:
            cos, sin = 0.0, 1.0
        else:
            t = (c + np.copysign(np.sqrt(max(c * c - a * b, 0.0)), c)) / b
            cos = 1.0 / np.sqrt(1.0 + t * t)
            sin = cos * t
        g = np.eye(d)
        g[i, i] = g[j, j] = cos
        g[i, j], g[j, i] = sin, -sin
        m = g.T @ m @ g
    m = 0.5 * (m + m.T)
    np.fill_diagonal(m, 1.0)  # off by ~d eps after the rotations
    return m


def _spectrum(draw, d: int, kappa: float) -> np.ndarray:
    """Ascending eigenvalues summing to ``d`` with ``λ_max / λ_min = κ``."""
    lam = 10.0 ** np.sort(log10_spectrum(draw, d, kappa))
    return d * lam / lam.sum()


@st.composite
def correlation_matrices(
    draw, dim=None, *, min_condition: float = 1.0, max_condition: float = 1e8
) -> tuple[np.ndarray, np.ndarray]:
    """``(R, λ)``: a correlation matrix (unit diagonal) and its exact eigenvalues ``λ``.

    ``R = G^T Q diag(λ) Q^T G`` with ``Q`` from :func:`orthogonal_matrices`, ``G`` the Givens
    rotations that make the diagonal one, ``λ`` ascending with ``sum λ = d`` and condition
    number ``κ = λ_max / λ_min`` log-uniform in ``[min_condition, max_condition]``
    (``<= 1e13``). In float64 the eigenvalues of ``R`` are ``λ`` up to ``~d eps``.

    Returns
    -------
    R : ndarray, shape (d, d)
    eigenvalues : ndarray, shape (d,)
    """
    if not 1.0 <= min_condition <= max_condition <= MAX_CORRELATION_CONDITION:
        raise ValueError(
            "max_condition: need 1 <= min_condition <= max_condition <= "
            f"{MAX_CORRELATION_CONDITION:g}, got ({min_condition}, {max_condition})"
        )
    d = draw(dimensions(dim, 2, 5))
    q = draw(orthogonal_matrices(d))
    lam = _spectrum(draw, d, draw(log_uniform(min_condition, max_condition)))
    return _rotate_to_unit_diagonal((q * lam[None, :]) @ q.T), lam


@dataclass(frozen=True)
class ConditionedCovariance:
    """A covariance ``C = diag(σ) R diag(σ)`` whose correlation matrix ``R`` has known
    eigenvalues, so its condition number and log-determinant are known exactly.

    ``log|C| = sum log λ_i + 2 sum log σ_i``.
    """

    cov: np.ndarray
    correlation_eigenvalues: np.ndarray
    scales: np.ndarray

    @property
    def condition(self) -> float:
        """``λ_max(R) / λ_min(R)``, the number :func:`lingauss.validation.check_nonsingular`
        compares with its threshold."""
        lam = self.correlation_eigenvalues
        return float(lam[-1] / lam[0])

    @property
    def logdet(self) -> float:
        """``log|C|`` from the construction (no factorisation of ``C``)."""
        return float(
            np.sum(np.log(self.correlation_eigenvalues)) + 2.0 * np.sum(np.log(self.scales))
        )


@st.composite
def conditioned_covariances(
    draw,
    dim=None,
    *,
    min_condition: float = 1.0,
    max_condition: float = 1e8,
    scale: tuple[float, float] = (1e-3, 1e3),
) -> ConditionedCovariance:
    """Covariances ``diag(σ) R diag(σ)``: ``R`` from :func:`correlation_matrices` (condition
    number log-uniform in ``[min_condition, max_condition]``), standard deviations ``σ_i``
    log-uniform in ``scale`` (so the condition number of ``C`` itself can be far larger).
    """
    r, lam = draw(
        correlation_matrices(dim, min_condition=min_condition, max_condition=max_condition)
    )
    d = r.shape[0]
    lo, hi = np.log10(scale[0]), np.log10(scale[1])
    sig = 10.0 ** draw(hnp.arrays(np.float64, (d,), elements=st.floats(lo, hi)))
    c = sig[:, None] * r * sig[None, :]
    return ConditionedCovariance(0.5 * (c + c.T), lam, sig)


def near_singular_covariances(dim=None, *, singular: bool, margin: float = 4.0, **kw):
    """Covariances just on one side of the singularity threshold of
    :func:`lingauss.validation.check_covariance` (correlation-matrix condition number
    ``MAX_CONDITION ≈ 4.5e9``).

    With ``singular=False`` the condition number is log-uniform in
    ``[1e8, MAX_CONDITION / margin]`` (accepted); with ``singular=True`` in
    ``[MAX_CONDITION * margin, 1e13]`` (refused). ``margin`` keeps the float64 rounding of the
    eigenvalues (relative ``~d eps κ <= 1e-5`` at the threshold) from blurring the two sides.
    Other keywords go to :func:`conditioned_covariances`.

    Returns
    -------
    strategy of ConditionedCovariance
    """
    if margin < 1.0:
        raise ValueError(f"margin: must be >= 1, got {margin}")
    if singular:
        bounds = (SINGULAR_CONDITION * margin, MAX_CORRELATION_CONDITION)
    else:
        bounds = (1e8, SINGULAR_CONDITION / margin)
    return conditioned_covariances(dim, min_condition=bounds[0], max_condition=bounds[1], **kw)


@st.composite
def rank_deficient_covariances(draw, dim=None, *, scale: tuple[float, float] = (1e-3, 1e3)):
    """Exactly singular PSD matrices ``V V^T`` with ``V`` of shape ``(d, r)``, ``r < d``
    (entries in ``[-1, 1]``, those below ``1e-3`` in magnitude set to zero, times a
    log-uniform scale), such as the rank-1 ``v v^T`` that
    Cholesky can pass by rounding. A column of ``V`` may be zero; a row may not (that would
    be a zero variance, a different error)."""
    d = draw(dimensions(dim, 2, 5))
    r = draw(st.integers(1, d - 1))
    v = draw(hnp.arrays(np.float64, (d, r), elements=UNIT_FLOATS))
    v[np.abs(v) < 1e-3] = 0.0  # no entry whose square would underflow
    v[np.all(v == 0, axis=1), 0] = 1.0
    v = v * draw(log_uniform(*scale))
    c = v @ v.T
    return 0.5 * (c + c.T)
