"""The γλ-VAE loss of the linear-Gaussian model in closed form (reference §2).

Model: ``X = B Y + W`` with ``W ~ N(0, Σ_W)``, prior ``N(0, I_m)``; decoder ``Ŷ = A X + Z``
with ``Z ~ N(0, Σ_Z)``; data ``Y ~ N(0, Σ_Y)``. With the residual covariance

    R = E[(Y - AX)(Y - AX)^T] = (I - AB) Σ_Y (I - AB)^T + A Σ_W A^T,

the loss is

    L = 1/2 [tr(B Σ_Y B^T + Σ_W) - log|Σ_W| - m]            (KL = E_Y KL(q(x|y) || N(0, I)))
      + γ · 1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|]      (NLL = -E log p(y|x))
      + λ · tr(R)                                          (MSE = E||Y - AX||^2)

All functions broadcast over leading batch dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gaussian import logdet_from_cholesky, solve_triangular_batched
from .validation import (
    as_float_array,
    check_covariance,
    check_finite_scalar,
    check_positive_scalar,
)

__all__ = [
    "LossTerms",
    "gamma_lambda_loss",
    "lambda_beta_loss",
    "gamma_lambda_from_lambda_beta",
    "lambda_beta_from_gamma_lambda",
    "residual_covariance",
    "reconstruction_error",
    "check_model_shapes",
]

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class LossTerms:
    """The terms of the γλ-VAE loss (floats, or arrays for batched input).

    Attributes
    ----------
    kl : E_Y KL(q(x|y) || N(0, I_m))
    nll : -E log p(y|x)  (the reconstruction term, in nats)
    mse : E ||Y - A X||^2
    total : kl + gamma * nll + lam * mse
    gamma, lam : the weights used
    """

    kl: float | np.ndarray
    nll: float | np.ndarray
    mse: float | np.ndarray
    total: float | np.ndarray
    gamma: float | np.ndarray
    lam: float | np.ndarray

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("kl", "nll", "mse", "total", "gamma", "lam")}


def check_model_shapes(A, B, Sigma_Z, Sigma_W, Sigma_Y):
    """Validate and return float arrays ``A (n,m)``, ``B (m,n)`` and three SPD covariances.

    Leading batch dimensions are allowed and must broadcast.
    """
    A = as_float_array(A, "A", min_ndim=2)
    B = as_float_array(B, "B", min_ndim=2)
    Sigma_Z, lz = check_covariance(Sigma_Z, "Sigma_Z")
    Sigma_W, lw = check_covariance(Sigma_W, "Sigma_W")
    Sigma_Y, ly = check_covariance(Sigma_Y, "Sigma_Y")
    n = Sigma_Y.shape[-1]
    m = Sigma_W.shape[-1]
    if B.shape[-2:] != (m, n):
        raise ValueError(
            f"B: expected shape (..., {m}, {n}) from Sigma_W and Sigma_Y, got {B.shape}"
        )
    if A.shape[-2:] != (n, m):
        raise ValueError(
            f"A: expected shape (..., {n}, {m}) from Sigma_Y and Sigma_W, got {A.shape}"
        )
    if Sigma_Z.shape[-1] != n:
        raise ValueError(f"Sigma_Z: expected ({n}, {n}) to match Sigma_Y, got {Sigma_Z.shape}")
    try:
        np.broadcast_shapes(
            A.shape[:-2], B.shape[:-2], Sigma_Z.shape[:-2], Sigma_W.shape[:-2], Sigma_Y.shape[:-2]
        )
    except ValueError:
        raise ValueError(
            "A, B, Sigma_Z, Sigma_W, Sigma_Y: batch dimensions do not broadcast "
            f"({A.shape}, {B.shape}, {Sigma_Z.shape}, {Sigma_W.shape}, {Sigma_Y.shape})"
        ) from None
    return A, B, (Sigma_Z, lz), (Sigma_W, lw), (Sigma_Y, ly)


def residual_covariance(A, B, Sigma_W, Sigma_Y) -> np.ndarray:
    """``R = (I - AB) Σ_Y (I - AB)^T + A Σ_W A^T``, the covariance of ``Y - A X``.

    Shapes: ``A (..., n, m)``, ``B (..., m, n)``, ``Σ_W (..., m, m)``, ``Σ_Y (..., n, n)``.
    """
    n = Sigma_Y.shape[-1]
    e = np.eye(n) - A @ B
    r = e @ Sigma_Y @ np.swapaxes(e, -1, -2) + A @ Sigma_W @ np.swapaxes(A, -1, -2)
    return 0.5 * (r + np.swapaxes(r, -1, -2))


def loss_terms_from_cholesky(A, B, Sigma_Z, lz, Sigma_W, lw, Sigma_Y):
    """The γλ-loss terms ``(KL, NLL, MSE)`` (reference §2) from validated arrays.

    ``lz`` and ``lw`` are the Cholesky factors of ``Sigma_Z`` and ``Sigma_W``; no checks are
    made (:func:`gamma_lambda_loss` is the checked entry point). Batched over leading axes.
    """
    m = Sigma_W.shape[-1]
    n = Sigma_Y.shape[-1]
    trace_x = np.trace(B @ Sigma_Y @ np.swapaxes(B, -1, -2), axis1=-2, axis2=-1) + np.trace(
        Sigma_W, axis1=-2, axis2=-1
    )
    kl = 0.5 * (trace_x - logdet_from_cholesky(lw) - m)
    r = residual_covariance(A, B, Sigma_W, Sigma_Y)
    lz_b = np.broadcast_to(lz, np.broadcast_shapes(lz.shape, r.shape))
    half = solve_triangular_batched(lz_b, r)
    quad = np.trace(solve_triangular_batched(lz_b, np.swapaxes(half, -1, -2)), axis1=-2, axis2=-1)
    nll = 0.5 * (quad + n * _LOG_2PI + logdet_from_cholesky(lz))
    mse = np.trace(r, axis1=-2, axis2=-1)
    return kl, nll, mse


def _out(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def gamma_lambda_loss(A, B, Sigma_Z, Sigma_W, Sigma_Y, gamma, lam) -> LossTerms:
    """Closed-form γλ-VAE loss ``L = KL + γ NLL + λ MSE`` (reference §2).

    Parameters
    ----------
    A : array_like, shape (..., n, m)
        Decoder matrix.
    B : array_like, shape (..., m, n)
        Encoder matrix.
    Sigma_Z : array_like, shape (..., n, n)
        Decoder noise covariance (SPD; diagonal in the paper's model, any SPD accepted).
    Sigma_W : array_like, shape (..., m, m)
        Encoder noise covariance (SPD).
    Sigma_Y : array_like, shape (..., n, n)
        Data covariance (SPD).
    gamma : float
        Weight of the negative log-likelihood, ``> 0``.
    lam : float
        Weight of the mean squared error (any real).

    Returns
    -------
    LossTerms
        ``kl``, ``nll``, ``mse`` and ``total``.

    Examples
    --------
    >>> import numpy as np
    >>> n, m = 2, 1
    >>> t = gamma_lambda_loss(np.zeros((n, m)), np.zeros((m, n)), np.eye(n), np.eye(m),
    ...                       np.eye(n), 1.0, 0.0)
    >>> float(t.kl), bool(np.isclose(t.nll, 0.5 * (n + n * np.log(2 * np.pi))))
    (0.0, True)
    """
    gamma = check_positive_scalar(gamma, "gamma")
    lam = check_finite_scalar(lam, "lam")
    A, B, (Sz, lz), (Sw, lw), (Sy, _) = check_model_shapes(A, B, Sigma_Z, Sigma_W, Sigma_Y)
    kl, nll, mse = loss_terms_from_cholesky(A, B, Sz, lz, Sw, lw, Sy)
    total = kl + gamma * nll + lam * mse
    return LossTerms(_out(kl), _out(nll), _out(mse), _out(total), gamma, lam)


def gamma_lambda_from_lambda_beta(beta, lam):
    """Convert λβ-VAE weights to γλ weights: ``γ = 1/β``, ``λ_γλ = λ/β``.

    ``L_λβ = NLL + β KL + λ MSE = β · (KL + (1/β) NLL + (λ/β) MSE)``.
    """
    beta = check_positive_scalar(beta, "beta")
    lam = check_finite_scalar(lam, "lam")
    return 1.0 / beta, lam / beta


def lambda_beta_from_gamma_lambda(gamma, lam):
    """Inverse of :func:`gamma_lambda_from_lambda_beta`: ``β = 1/γ``, ``λ_λβ = λ/γ``."""
    gamma = check_positive_scalar(gamma, "gamma")
    lam = check_finite_scalar(lam, "lam")
    return 1.0 / gamma, lam / gamma


def lambda_beta_loss(A, B, Sigma_Z, Sigma_W, Sigma_Y, beta, lam) -> LossTerms:
    """λβ-VAE loss ``L = NLL + β KL + λ MSE`` (follow-up study).

    Returns :class:`LossTerms` whose ``total`` is the λβ total and whose ``gamma``/``lam``
    hold the *equivalent γλ weights* ``(1/β, λ/β)``; ``total == β · L_γλ``.
    """
    g, lg = gamma_lambda_from_lambda_beta(beta, lam)
    t = gamma_lambda_loss(A, B, Sigma_Z, Sigma_W, Sigma_Y, g, lg)
    beta = float(beta)
    total = t.nll + beta * t.kl + float(lam) * t.mse
    return LossTerms(t.kl, t.nll, t.mse, _out(total), g, lg)


def reconstruction_error(A, Sigma_Z, Sigma_Y) -> np.ndarray | float:
    """The authors' relative reconstruction error ``||A A^T + Σ_Z - Σ_Y||_2 / ||Σ_Y||_2``.

    Spectral norms; ``A A^T + Σ_Z`` is the covariance the decoder generates from the prior.
    """
    A = as_float_array(A, "A", min_ndim=2)
    Sigma_Z = as_float_array(Sigma_Z, "Sigma_Z", min_ndim=2)
    Sigma_Y = as_float_array(Sigma_Y, "Sigma_Y", min_ndim=2)
    diff = A @ np.swapaxes(A, -1, -2) + Sigma_Z - Sigma_Y
    return _out(
        np.linalg.norm(diff, ord=2, axis=(-2, -1)) / np.linalg.norm(Sigma_Y, ord=2, axis=(-2, -1))
    )
