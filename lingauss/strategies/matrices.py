"""General hypothesis strategies: orthogonal, SPD (controlled condition number) and invertible
matrices, index blocks, model parameters and admissible ``(γ, λ)`` (see :mod:`lingauss.strategies`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "LinearGaussianModel",
    "orthogonal_matrices",
    "spd_matrices",
    "invertible_matrices",
    "index_blocks",
    "covariances_with_blocks",
    "linear_gaussian_models",
    "gamma_lambda_pairs",
    "MAX_CONDITION",
    "UNIT_FLOATS",
    "dimensions",
    "log_uniform",
    "log10_spectrum",
]

#: Largest condition number the strategies accept: beyond ~1e12 the float64 rounding of
#: ``Q diag(λ) Q^T`` (relative ``~eps·κ`` on the smallest eigenvalue) can break definiteness.
MAX_CONDITION = 1e12

#: Floats in ``[-1, 1]`` (no NaN, infinity or subnormals): matrix entries that shrink to 0.
UNIT_FLOATS = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def dimensions(dim, lo=1, hi=5):
    """A strategy of dimensions: ``dim`` itself (an int or a strategy) or ``lo..hi``."""
    if dim is None:
        return st.integers(lo, hi)
    if isinstance(dim, int):
        return st.just(dim)
    return dim


def log_uniform(lo: float, hi: float):
    """Floats log-uniform in ``[lo, hi]`` (``lo`` itself when equal)."""
    if lo == hi:
        return st.just(float(lo))
    return st.floats(np.log10(lo), np.log10(hi)).map(lambda t: float(10.0**t))


def log10_spectrum(draw, d: int, kappa: float) -> np.ndarray:
    """``log10`` of ``d`` eigenvalues: ``0`` and ``log10 κ`` (for ``d > 1``), the others drawn
    uniformly in between (unsorted: the first is 0, the last drawn one ``log10 κ``)."""
    top = np.log10(kappa)
    mid = draw(hnp.arrays(np.float64, (max(d - 2, 0),), elements=st.floats(0.0, 1.0)))
    return np.concatenate([[0.0], mid * top, [top]])[:d] if d > 1 else np.zeros(1)


@st.composite
def orthogonal_matrices(draw, dim) -> np.ndarray:
    """A ``(d, d)`` orthogonal matrix: the ``Q`` factor of a drawn matrix with entries in
    ``[-1, 1]`` (the all-zero draw gives a signed identity)."""
    d = draw(dimensions(dim))
    g = draw(hnp.arrays(np.float64, (d, d), elements=UNIT_FLOATS))
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
    d = draw(dimensions(dim))
    q = draw(orthogonal_matrices(d))
    kappa = draw(log_uniform(min_condition, max_condition))
    s = draw(log_uniform(*scale))
    logs = log10_spectrum(draw, d, kappa)
    c = (q * (s * 10.0**logs)[None, :]) @ q.T
    return 0.5 * (c + c.T)


@st.composite
def invertible_matrices(draw, dim=None, *, max_condition: float = 1e2) -> np.ndarray:
    """Invertible (not symmetric) matrices ``U diag(±σ) V^T`` with condition number
    ``<= max_condition`` and ``σ_max`` between 1 and ``max_condition``."""
    d = draw(dimensions(dim))
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
    d = draw(dimensions(dim, n_blocks, max(max_dim, n_blocks)))
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
    m_ = draw(dimensions(m, 1, 3))
    n_ = draw(dimensions(n, 1, 4))
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
    g = draw(log_uniform(*gamma))
    lo, hi = lam
    if sigma_z_max is not None:
        lo = max(lo, -(1.0 - margin) * g / (2.0 * sigma_z_max))
    if lo > hi:
        raise ValueError(f"lam: empty range after the M > 0 constraint ({lo} > {hi})")
    return g, draw(st.floats(lo, hi))
