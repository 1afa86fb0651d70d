"""Hypothesis strategies for the analytic core (shipped in-package, as dit does).

This module imports :mod:`hypothesis`, a development dependency (``pip install
lingauss[dev]``); the rest of :mod:`lingauss` never imports it, so importing this module is
the only thing that needs it.

Every random matrix is built from hypothesis-drawn numbers (no hidden seeds), so failing
examples shrink: an SPD covariance is ``s · Q diag(λ) Q^T`` with ``Q`` the orthogonal factor
of a drawn matrix (it shrinks to a signed identity, i.e. a diagonal covariance) and a
log-uniform spectrum whose extreme eigenvalues are exactly ``1`` and ``κ`` (the condition
number, itself log-uniform in ``[min_condition, max_condition]``, shrinking to 1).

Examples
--------
>>> from hypothesis import given, settings
>>> import numpy as np
>>> @settings(max_examples=5, deadline=None)
... @given(spd_matrices(dim=3, max_condition=1e4))
... def check(c):
...     assert np.all(np.linalg.eigvalsh(c) > 0)
>>> check()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .validation import MAX_CONDITION as SINGULAR_CONDITION

__all__ = [
    "LinearGaussianModel",
    "orthogonal_matrices",
    "spd_matrices",
    "invertible_matrices",
    "index_blocks",
    "covariances_with_blocks",
    "linear_gaussian_models",
    "gamma_lambda_pairs",
    "ConditionedCovariance",
    "correlation_matrices",
    "conditioned_covariances",
    "near_singular_covariances",
    "rank_deficient_covariances",
]

#: Largest condition number the strategies accept: beyond ~1e12 the float64 rounding of
#: ``Q diag(λ) Q^T`` (relative ``~eps·κ`` on the smallest eigenvalue) can break definiteness.
MAX_CONDITION = 1e12

_unit = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _dim(dim, lo=1, hi=5):
    if dim is None:
        return st.integers(lo, hi)
    if isinstance(dim, int):
        return st.just(dim)
    return dim


def _log_uniform(lo: float, hi: float):
    if lo == hi:
        return st.just(float(lo))
    return st.floats(np.log10(lo), np.log10(hi)).map(lambda t: float(10.0**t))


def _log10_spectrum(draw, d: int, kappa: float) -> np.ndarray:
    """``log10`` of ``d`` eigenvalues: ``0`` and ``log10 κ`` (for ``d > 1``), the others drawn
    uniformly in between (unsorted: the first is 0, the last drawn one ``log10 κ``)."""
    top = np.log10(kappa)
    mid = draw(hnp.arrays(np.float64, (max(d - 2, 0),), elements=st.floats(0.0, 1.0)))
    return np.concatenate([[0.0], mid * top, [top]])[:d] if d > 1 else np.zeros(1)


@st.composite
def orthogonal_matrices(draw, dim) -> np.ndarray:
    """A ``(d, d)`` orthogonal matrix: the ``Q`` factor of a drawn matrix with entries in
    ``[-1, 1]`` (the all-zero draw gives a signed identity)."""
    d = draw(_dim(dim))
    g = draw(hnp.arrays(np.float64, (d, d), elements=_unit))
    q, r = np.linalg.qr(g)
    sign = np.where(np.diagonal(r) < 0, -1.0, 1.0)
    return q * sign[None, :]


@st.composite
def spd_matrices(
    draw,
    dim=None,
    *,
    max_condition: float = 1e8,
    min_condition: float = 1.0,
    scale: tuple[float, float] = (1e-2, 1e2),
) -> np.ndarray:
    """Symmetric positive-definite matrices with a controlled condition number.

    ``C = s · Q diag(λ) Q^T``: ``Q`` from :func:`orthogonal_matrices`, ``λ_1 = 1``,
    ``λ_d = κ`` and the other ``log10 λ_i`` uniform in ``[0, log10 κ]``; ``κ`` log-uniform in
    ``[min_condition, max_condition]``; ``s`` log-uniform in ``scale``.

    Parameters
    ----------
    dim : int or strategy of int, optional
        Dimension ``d`` (default: 1 to 5).
    max_condition, min_condition : float
        Range of the 2-norm condition number ``κ`` (``1 <= min <= max <= 1e12``).
    scale : (float, float)
        Range of the overall scale ``s`` (the smallest eigenvalue).

    Returns
    -------
    ndarray, shape (d, d)
        Exactly symmetric.
    """
    if not 1.0 <= min_condition <= max_condition <= MAX_CONDITION:
        raise ValueError(
            f"max_condition: need 1 <= min_condition <= max_condition <= {MAX_CONDITION:g}, "
            f"got ({min_condition}, {max_condition})"
        )
    d = draw(_dim(dim))
    q = draw(orthogonal_matrices(d))
    kappa = draw(_log_uniform(min_condition, max_condition))
    s = draw(_log_uniform(*scale))
    logs = _log10_spectrum(draw, d, kappa)
    c = (q * (s * 10.0**logs)[None, :]) @ q.T
    return 0.5 * (c + c.T)


@st.composite
def invertible_matrices(draw, dim=None, *, max_condition: float = 1e2) -> np.ndarray:
    """Invertible (not symmetric) matrices ``U diag(±σ) V^T`` with condition number
    ``<= max_condition`` and ``σ_max`` between 1 and ``max_condition``."""
    d = draw(_dim(dim))
    u = draw(orthogonal_matrices(d))
    v = draw(orthogonal_matrices(d))
    t = draw(hnp.arrays(np.float64, (d,), elements=st.floats(0.0, 1.0)))
    signs = draw(hnp.arrays(np.float64, (d,), elements=st.sampled_from([1.0, -1.0])))
    sv = signs * max_condition**t
    return (u * sv[None, :]) @ v.T


@st.composite
def index_blocks(draw, dim: int, n_blocks: int = 2, *, cover: bool = False) -> tuple:
    """``n_blocks`` disjoint, non-empty index blocks into ``range(dim)``.

    Indices come from a random permutation, so a block's indices are in random order.
    With ``cover=False`` some indices may be left out.

    Returns
    -------
    tuple of lists of int
    """
    if n_blocks < 1 or dim < n_blocks:
        raise ValueError(f"n_blocks: need 1 <= n_blocks <= dim, got {n_blocks} with dim={dim}")
    perm = draw(st.permutations(range(dim)))
    used = dim if cover else draw(st.integers(n_blocks, dim))
    cuts = (
        sorted(
            draw(st.sets(st.integers(1, used - 1), min_size=n_blocks - 1, max_size=n_blocks - 1))
        )
        if n_blocks > 1
        else []
    )
    edges = [0, *cuts, used]
    return tuple([int(i) for i in perm[a:b]] for a, b in zip(edges[:-1], edges[1:]))


@st.composite
def covariances_with_blocks(
    draw,
    n_blocks: int = 2,
    *,
    dim=None,
    max_condition: float = 1e8,
    min_condition: float = 1.0,
    cover: bool = False,
    max_dim: int = 6,
) -> tuple:
    """``(cov, blocks)``: an SPD matrix from :func:`spd_matrices` of dimension
    ``>= n_blocks`` and ``n_blocks`` disjoint index blocks from :func:`index_blocks`."""
    d = draw(_dim(dim, n_blocks, max(max_dim, n_blocks)))
    cov = draw(spd_matrices(d, max_condition=max_condition, min_condition=min_condition))
    blocks = draw(index_blocks(d, n_blocks, cover=cover))
    return cov, blocks


@dataclass(frozen=True)
class LinearGaussianModel:
    """Parameters of the linear-Gaussian VAE (reference §1): decoder ``A (n, m)``, encoder
    ``B (m, n)``, noise covariances ``Sigma_Z (n, n)``, ``Sigma_W (m, m)``, data
    ``Sigma_Y (n, n)``."""

    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    Sigma_Y: np.ndarray

    @property
    def m(self) -> int:
        return self.B.shape[0]

    @property
    def n(self) -> int:
        return self.B.shape[1]

    def as_args(self) -> tuple:
        """``(A, B, Sigma_Z, Sigma_W, Sigma_Y)``, the argument order of the loss."""
        return self.A, self.B, self.Sigma_Z, self.Sigma_W, self.Sigma_Y


@st.composite
def linear_gaussian_models(
    draw,
    m=None,
    n=None,
    *,
    max_condition: float = 1e3,
    diagonal_sigma_z: bool = True,
    entry_bound: float = 2.0,
) -> LinearGaussianModel:
    """Model parameters ``(A, B, Σ_Z, Σ_W, Σ_Y)``.

    ``A``, ``B`` have entries in ``[-entry_bound, entry_bound]``; ``Σ_W``, ``Σ_Y`` come from
    :func:`spd_matrices` (condition ``<= max_condition``, scale in ``[0.1, 10]``); ``Σ_Z`` is
    diagonal with entries log-uniform in ``[0.1, 10]`` (or an SPD matrix when
    ``diagonal_sigma_z=False``).
    """
    m_ = draw(_dim(m, 1, 3))
    n_ = draw(_dim(n, 1, 4))
    el = st.floats(-entry_bound, entry_bound, allow_subnormal=False)
    A = draw(hnp.arrays(np.float64, (n_, m_), elements=el))
    B = draw(hnp.arrays(np.float64, (m_, n_), elements=el))
    spd = {"max_condition": max_condition, "scale": (0.1, 10.0)}
    if diagonal_sigma_z:
        z = draw(hnp.arrays(np.float64, (n_,), elements=st.floats(-1.0, 1.0)))
        Sigma_Z = np.diag(10.0**z)
    else:
        Sigma_Z = draw(spd_matrices(n_, **spd))
    Sigma_W = draw(spd_matrices(m_, **spd))
    Sigma_Y = draw(spd_matrices(n_, **spd))
    return LinearGaussianModel(A, B, Sigma_Z, Sigma_W, Sigma_Y)


@st.composite
def gamma_lambda_pairs(
    draw,
    *,
    gamma: tuple[float, float] = (0.1, 10.0),
    lam: tuple[float, float] = (-1.0, 1.0),
    sigma_z_max: float | None = None,
    margin: float = 0.05,
) -> tuple[float, float]:
    """``(γ, λ)`` with ``γ`` log-uniform in ``gamma`` and ``λ`` uniform in ``lam``.

    With ``sigma_z_max`` (the largest eigenvalue ``Σ_Z`` may have), ``λ`` is kept above
    ``-(1 - margin) γ / (2 σ_z,max)`` so that ``M = γ Σ_Z^{-1} + 2λ I`` is positive definite
    with room ``margin``.
    """
    g = draw(_log_uniform(*gamma))
    lo, hi = lam
    if sigma_z_max is not None:
        lo = max(lo, -(1.0 - margin) * g / (2.0 * sigma_z_max))
    if lo > hi:
        raise ValueError(f"lam: empty range after the M > 0 constraint ({lo} > {hi})")
    return g, draw(st.floats(lo, hi))


# ------------------------------------------------------------ near-singular covariances
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
    lam = 10.0 ** np.sort(_log10_spectrum(draw, d, kappa))
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
    d = draw(_dim(dim, 2, 5))
    q = draw(orthogonal_matrices(d))
    lam = _spectrum(draw, d, draw(_log_uniform(min_condition, max_condition)))
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
    d = draw(_dim(dim, 2, 5))
    r = draw(st.integers(1, d - 1))
    v = draw(hnp.arrays(np.float64, (d, r), elements=_unit))
    v[np.abs(v) < 1e-3] = 0.0  # no entry whose square would underflow
    v[np.all(v == 0, axis=1), 0] = 1.0
    v = v * draw(_log_uniform(*scale))
    c = v @ v.T
    return 0.5 * (c + c.T)
