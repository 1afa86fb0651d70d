"""The Gaussian rate–distortion bound under squared error, and where BA solutions sit against it.

For ``Y ~ N(0, Σ_Y)`` with eigenvalues ``λ_1, …, λ_n`` and distortion ``E‖Y − Ŷ‖²``, the
rate–distortion function is given by *reverse water-filling* (Cover & Thomas, Thm 10.3.3):
with a water level ``θ > 0``,

    D(θ) = Σ_i min(θ, λ_i),        R(θ) = Σ_i ½ log(λ_i / min(θ, λ_i))     (nats).

``θ ↦ (R(θ), D(θ))`` traces the curve; ``R(D)`` is convex and decreasing on ``(0, tr Σ_Y]``
and zero beyond. Any encoder ``X = BY + W`` followed by any decoder ``Ŷ = AX`` satisfies
``I(Y; Ŷ) ≤ I(X; Y)``, so its distortion ``tr R`` (``R`` the residual covariance of
:func:`lingauss.loss.residual_covariance`) is at least ``D(I(X; Y))``: every point the
Blahut–Arimoto solver returns lies on or above the curve.

All functions accept a single ``Σ_Y`` of shape ``(n, n)`` or a stack ``(..., n, n)``; the
distortion or rate argument broadcasts against the stack's leading shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .loss import residual_covariance
from .solver.updates import mi_xy_from_cholesky
from .validation import as_float_array, check_covariance, check_positive_scalar

__all__ = [
    "gaussian_rate_distortion",
    "distortion_rate",
    "water_level",
    "rate_distortion_curve",
    "OperatingPoint",
    "operating_point",
    "solution_operating_point",
]


def _eigs(Sigma_Y, rank=None) -> tuple[np.ndarray, np.ndarray]:
    """Ascending eigenvalues of a validated SPD (stack) and the rank-constrained split.

    Returns ``(top, tail)``: the largest ``rank`` eigenvalues, shape ``(..., rank)`` (all of
    them when ``rank`` is None or ``>= n``), and the sum of the others, shape ``(...)``.
    """
    cov, _ = check_covariance(Sigma_Y, "Sigma_Y")
    ev = np.linalg.eigvalsh(cov)
    # Cholesky succeeded, so Σ_Y is PD; eigvalsh can still round a tiny eigenvalue to <= 0.
    ev = np.maximum(ev, np.finfo(float).tiny)
    n = ev.shape[-1]
    if rank is None:
        return ev, np.zeros(ev.shape[:-1])
    if not isinstance(rank, int | np.integer) or isinstance(rank, bool) or rank < 1:
        raise ValueError(f"rank: must be a positive integer or None, got {rank!r}")
    k = max(n - int(rank), 0)
    return ev[..., k:], np.sum(ev[..., :k], axis=-1)


def _broadcast(ev: np.ndarray, x: np.ndarray, name: str):
    try:
        shape = np.broadcast_shapes(ev.shape[:-1], x.shape)
    except ValueError:
        raise ValueError(
            f"{name}: shape {x.shape} does not broadcast against the Sigma_Y stack {ev.shape[:-1]}"
        ) from None
    ev = np.broadcast_to(ev, shape + ev.shape[-1:])
    return ev, np.broadcast_to(x, shape)


def _level_from_distortion(ev: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Water level θ with ``Σ min(θ, λ_i) = d`` (``d >= tr Σ_Y`` gives ``θ >= λ_max``)."""
    n = ev.shape[-1]
    c = np.concatenate([np.zeros(ev.shape[:-1] + (1,)), np.cumsum(ev, axis=-1)], axis=-1)
    # D at θ = λ_(k), k = 1..n-1: c_k + (n-k) λ_(k); increasing in k.
    k_idx = np.arange(1, n)
    breaks = c[..., 1:n] + (n - k_idx) * ev[..., : n - 1]
    k = np.sum(breaks <= d[..., None], axis=-1)
    ck = np.take_along_axis(c, k[..., None], axis=-1)[..., 0]
    return (d - ck) / (n - k)


def _level_from_rate(ev: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Water level θ with ``Σ ½ log(λ_i / min(θ, λ_i)) = r``; ``r = inf`` gives θ = 0."""
    n = ev.shape[-1]
    lg = np.log(ev)
    # suffix sums S_k = Σ_{i>k} log λ_(i), k = 0..n
    rev = np.cumsum(lg[..., ::-1], axis=-1)[..., ::-1]
    suffix = np.concatenate([rev, np.zeros(ev.shape[:-1] + (1,))], axis=-1)
    k_idx = np.arange(1, n + 1)
    # R at θ = λ_(k), k = 1..n: ½ (S_k − (n−k) log λ_(k)); decreasing in k, R_n = 0.
    breaks = 0.5 * (suffix[..., 1:] - (n - k_idx) * lg)
    k = np.sum(breaks > r[..., None], axis=-1)
    sk = np.take_along_axis(suffix, k[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore", over="ignore"):
        log_theta = (sk - 2.0 * r) / (n - k)
    return np.where(np.isinf(r), 0.0, np.exp(log_theta))


def _rate_at(ev: np.ndarray, theta: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        terms = np.log(ev) - np.log(theta)[..., None]
    return 0.5 * np.sum(np.maximum(terms, 0.0), axis=-1)


def _distortion_at(ev: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.sum(np.minimum(theta[..., None], ev), axis=-1)


def _out(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def water_level(Sigma_Y, *, distortion=None, rate=None, rank=None) -> np.ndarray | float:
    """The reverse water-filling level θ for a given distortion or rate (give exactly one).

    ``θ`` solves ``Σ_i min(θ, λ_i) = D`` or ``Σ_i ½ log(λ_i / min(θ, λ_i)) = R`` (sums over
    the ``rank`` largest eigenvalues, ``D`` less the others' sum, when ``rank`` is given). For
    ``D >= tr Σ_Y`` (zero rate) the level is ``θ = D − (tr Σ_Y − λ_max) >= λ_max``; for
    ``R = 0`` it is ``λ_max``; for ``D = 0`` or ``R = inf`` it is 0.

    Parameters
    ----------
    Sigma_Y : array_like, shape (..., n, n)
    distortion, rate : array_like, broadcastable against ``Sigma_Y``'s leading shape
    rank : int, optional
        See :func:`gaussian_rate_distortion`.

    Returns
    -------
    float or ndarray
    """
    if (distortion is None) == (rate is None):
        raise ValueError("distortion, rate: give exactly one of them")
    top, tail = _eigs(Sigma_Y, rank)
    if distortion is not None:
        d = _check_nonneg(distortion, "distortion")
        top, d = _broadcast(top, d, "distortion")
        return _out(_level_from_distortion(top, np.maximum(d - tail, 0.0)))
    r = _check_nonneg(rate, "rate")
    top, r = _broadcast(top, r, "rate")
    return _out(_level_from_rate(top, r))


def _check_nonneg(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be converted to a float array ({exc})") from None
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name}: contains NaN")
    if np.any(arr < 0):
        raise ValueError(f"{name}: must be >= 0, got min {float(np.min(arr))!r}")
    if name == "distortion" and np.any(np.isinf(arr)):
        raise ValueError(f"{name}: must be finite")
    return arr


def gaussian_rate_distortion(Sigma_Y, distortion, *, rank: int | None = None):
    """Rate–distortion function ``R(D)`` of ``N(0, Σ_Y)`` under squared error, in nats.

    Reverse water-filling on the eigenvalues ``λ_i`` of ``Σ_Y``: find ``θ`` with
    ``Σ_i min(θ, λ_i) = D``, then ``R = Σ_i ½ log(λ_i / min(θ, λ_i))``.

    With ``rank = m`` it is the bound for reconstructions confined to an ``m``-dimensional
    subspace (``Ŷ = AX`` with ``X ∈ R^m``): ``R_m(D) = R_top(D − Σ_{i>m} λ_(i))``, reverse
    water-filling on the ``m`` largest eigenvalues after paying the others in full (``inf``
    when ``D`` is at most that floor). For a subspace with projector ``Π`` the distortion is
    ``tr((I−Π)Σ_Y) + D_{ΠΣ_YΠ}(R)``, which decreases in each eigenvalue of ``ΠΣ_YΠ``; by
    Cauchy interlacing those are at most the ``m`` largest of ``Σ_Y``, the minimiser.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n) or (..., n, n)
        Data covariance (SPD).
    distortion : array_like
        Mean squared error ``D = E‖Y − Ŷ‖² >= 0`` (the trace, not per coordinate);
        broadcasts against ``Sigma_Y``'s leading shape.
    rank : int, optional
        Dimension ``m`` of the reconstruction subspace (``None``: unconstrained).

    Returns
    -------
    float or ndarray
        ``R(D)``: ``inf`` at ``D = 0`` (at ``D <= floor`` with ``rank``), ``0`` for
        ``D >= tr Σ_Y``.

    Raises
    ------
    ValueError
        If ``Sigma_Y`` is not SPD, ``distortion`` is negative, NaN or infinite, or ``rank``
        is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.diag([4.0, 1.0])
    >>> float(gaussian_rate_distortion(S, 1.0))    # θ = 0.5: ½ log 8 + ½ log 2 = log 4
    1.3862943611198906
    >>> float(gaussian_rate_distortion(S, 3.0))    # θ = 2: only λ = 4 is coded, ½ log 2
    0.34657359027997264
    >>> float(gaussian_rate_distortion(S, 5.0))
    0.0
    >>> float(gaussian_rate_distortion(S, 1.0, rank=1))   # one latent: D >= 1 always
    inf
    """
    top, tail = _eigs(Sigma_Y, rank)
    d = _check_nonneg(distortion, "distortion")
    top, d = _broadcast(top, d, "distortion")
    theta = _level_from_distortion(top, np.maximum(d - tail, 0.0))
    return _out(_rate_at(top, theta))


def distortion_rate(Sigma_Y, rate, *, rank: int | None = None) -> np.ndarray | float:
    """Distortion–rate function ``D(R)`` of ``N(0, Σ_Y)`` under squared error (``R`` in nats).

    The inverse of :func:`gaussian_rate_distortion` on ``R > 0``: find ``θ`` with
    ``Σ_i ½ log(λ_i / min(θ, λ_i)) = R``, then ``D = Σ_i min(θ, λ_i)``. On each interval
    between eigenvalues the active set ``{i: λ_i > θ}`` is fixed, so
    ``log θ = (Σ_{active} log λ_i − 2R) / |active|`` in closed form.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n) or (..., n, n)
    rate : array_like
        ``R >= 0`` in nats (``inf`` allowed: ``D = 0``, or the rank floor).
    rank : int, optional
        Dimension of the reconstruction subspace; adds ``Σ_{i>rank} λ_(i)`` (the smallest
        eigenvalues) to the water-filling distortion of the ``rank`` largest.

    Returns
    -------
    float or ndarray
        ``D(R)``: ``tr Σ_Y`` at ``R = 0``, decreasing and convex in ``R``.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.diag([4.0, 1.0])
    >>> float(distortion_rate(S, np.log(4.0)))
    1.0
    >>> float(distortion_rate(S, 0.0))
    5.0
    >>> float(distortion_rate(S, np.inf, rank=1))
    1.0
    """
    top, tail = _eigs(Sigma_Y, rank)
    r = _check_nonneg(rate, "rate")
    top, r = _broadcast(top, r, "rate")
    theta = _level_from_rate(top, r)
    return _out(tail + _distortion_at(top, theta))


def rate_distortion_curve(
    Sigma_Y, num: int = 200, *, max_rate: float | None = None, rank: int | None = None
):
    """The bound sampled on an even grid of rates, as a tidy table.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n)
    num : int
        Number of points (``>= 2``), rates ``linspace(0, max_rate, num)``.
    max_rate : float, optional
        Largest rate (nats). Default: the rate at which the water-filled part of the
        distortion is 1 % of its value at rate 0 (1 % of ``tr Σ_Y`` without ``rank``).
    rank : int, optional
        See :func:`gaussian_rate_distortion`.

    Returns
    -------
    pandas.DataFrame
        One row per point: ``rate`` (nats), ``distortion`` (``D(rate)``),
        ``water_level`` (θ) and ``relative_distortion`` (``D / tr Σ_Y``).

    Examples
    --------
    >>> import numpy as np
    >>> df = rate_distortion_curve(np.diag([4.0, 1.0]), num=3, max_rate=np.log(4.0))
    >>> df["distortion"].round(6).tolist()
    [5.0, 2.0, 1.0]
    """
    top, tail = _eigs(Sigma_Y, rank)
    if top.ndim != 1:
        raise ValueError(f"Sigma_Y: expected one (n, n) matrix, got shape {np.shape(Sigma_Y)}")
    if not isinstance(num, int | np.integer) or num < 2:
        raise ValueError(f"num: must be an integer >= 2, got {num!r}")
    total = float(np.sum(top) + tail)
    if max_rate is None:
        level = _level_from_distortion(top, np.asarray(0.01 * np.sum(top)))
        max_rate = float(_rate_at(top, level))
    else:
        max_rate = check_positive_scalar(max_rate, "max_rate")
    r = np.linspace(0.0, max_rate, int(num))
    evb, r = _broadcast(top, r, "rate")
    theta = _level_from_rate(evb, r)
    d = tail + _distortion_at(evb, theta)
    return pd.DataFrame(
        {"rate": r, "distortion": d, "water_level": theta, "relative_distortion": d / total}
    )


@dataclass(frozen=True)
class OperatingPoint:
    """Where an encoder–decoder pair sits in the rate–distortion plane.

    Attributes
    ----------
    rate : float or ndarray
        ``I(X; Y)`` in nats.
    distortion : float or ndarray
        ``E‖Y − AX‖² = tr R``.
    bound : float or ndarray
        ``D(rate)``, the least distortion any code of that rate achieves.
    excess : float or ndarray
        ``distortion − bound`` (``>= 0`` up to rounding).
    relative_excess : float or ndarray
        ``excess / tr Σ_Y``.
    rank_bound : float or ndarray
        ``D_m(rate)`` with ``m`` the latent dimension: the least distortion of a code whose
        reconstruction lies in an ``m``-dimensional subspace (``>= bound``; equal to it
        when ``m >= n``).
    rank_excess : float or ndarray
        ``distortion − rank_bound`` (``>= 0`` up to rounding).
    """

    rate: float | np.ndarray
    distortion: float | np.ndarray
    bound: float | np.ndarray
    excess: float | np.ndarray
    relative_excess: float | np.ndarray
    rank_bound: float | np.ndarray
    rank_excess: float | np.ndarray


def operating_point(A, B, Sigma_W, Sigma_Y) -> OperatingPoint:
    """Rate ``I(X;Y)`` and distortion ``tr R`` of a linear-Gaussian encoder/decoder.

    ``I(X;Y) = ½ log|I + Σ_W^{-½} B Σ_Y Bᵀ Σ_W^{-½}|`` and
    ``R = (I − AB) Σ_Y (I − AB)ᵀ + A Σ_W Aᵀ``.

    Parameters
    ----------
    A : array_like, shape (..., n, m)
    B : array_like, shape (..., m, n)
    Sigma_W : array_like, shape (..., m, m)
    Sigma_Y : array_like, shape (n, n) or (..., n, n)

    Returns
    -------
    OperatingPoint
        With ``rank_bound`` for ``rank = m`` (the rows of ``B``).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.diag([4.0, 1.0])
    >>> # code the first coordinate with noise variance 4/3: posterior variance 1 = θ
    >>> B, Sw = np.array([[1.0, 0.0]]), np.array([[4.0 / 3.0]])
    >>> A = S @ B.T / (B @ S @ B.T + Sw)           # the MMSE decoder Σ_Y Bᵀ Σ_X⁻¹
    >>> p = operating_point(A, B, Sw, S)
    >>> round(float(p.distortion), 12), round(float(p.excess), 12)
    (2.0, 0.0)
    """
    A = as_float_array(A, "A", min_ndim=2)
    B = as_float_array(B, "B", min_ndim=2)
    Sigma_W, _ = check_covariance(Sigma_W, "Sigma_W")
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y")
    n, m = Sigma_Y.shape[-1], Sigma_W.shape[-1]
    if B.shape[-2:] != (m, n):
        raise ValueError(f"B: expected shape (..., {m}, {n}), got {B.shape}")
    if A.shape[-2:] != (n, m):
        raise ValueError(f"A: expected shape (..., {n}, {m}), got {A.shape}")
    rate = mi_xy_from_cholesky(B, Sigma_W, Sigma_Y)
    dist = np.trace(residual_covariance(A, B, Sigma_W, Sigma_Y), axis1=-2, axis2=-1)
    ev, _ = _eigs(Sigma_Y)
    evb, r = _broadcast(ev, np.asarray(rate), "rate")
    bound = _distortion_at(evb, _level_from_rate(evb, r))
    top, tail = _eigs(Sigma_Y, m)
    top, r = _broadcast(top, np.asarray(rate), "rate")
    rank_bound = tail + _distortion_at(top, _level_from_rate(top, r))
    excess = dist - bound
    return OperatingPoint(
        rate=_out(rate),
        distortion=_out(dist),
        bound=_out(bound),
        excess=_out(excess),
        relative_excess=_out(excess / np.sum(ev, axis=-1)),
        rank_bound=_out(rank_bound),
        rank_excess=_out(dist - rank_bound),
    )


def solution_operating_point(solution, Sigma_Y) -> OperatingPoint:
    """:func:`operating_point` of a :class:`~lingauss.blahut_arimoto.Solution` or
    :class:`~lingauss.blahut_arimoto.BatchSolution` (stacked arrays) on data ``Σ_Y``.

    Raises
    ------
    ValueError
        If the solution holds non-finite parameters (a run stopped as ``"nonfinite"``).
    """
    for name in ("A", "B", "Sigma_W"):
        if not hasattr(solution, name):
            raise ValueError(f"solution: expected a Solution or BatchSolution, got {solution!r}")
    if not np.all(np.isfinite(np.asarray(solution.B))):
        raise ValueError("solution: holds non-finite parameters (a run that diverged)")
    return operating_point(solution.A, solution.B, solution.Sigma_W, Sigma_Y)
