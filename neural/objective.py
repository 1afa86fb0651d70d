"""The γλ-VAE loss in torch: closed form, and Monte Carlo with the reparameterisation trick.

With ``R = (I - AB) Σ_Y (I - AB)^T + A Σ_W A^T`` (reference §2)::

    L = 1/2 [tr(B Σ_Y B^T + Σ_W) - log|Σ_W| - m]          KL   = E_Y KL(q(x|y) || N(0, I))
      + γ · 1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|]    NLL  = -E log p(y|x)
      + λ · tr(R)                                         MSE  = E ||y - A x||^2

:func:`closed_form_loss` evaluates it exactly (batched over members; the torch twin of
:func:`lingauss.gamma_lambda_loss`). :func:`mc_loss` estimates it for any
:class:`~neural.models.GaussianVAE` from data ``y_i`` and noise ``ε_ik``: the KL of each data
point in closed form, ``½[tr Σ_W + ||μ(y_i)||² - m - log|Σ_W|]``, and with the reparameterised
latents ``x_ik = μ(y_i) + C ε_ik`` (``C C^T = Σ_W``)::

    NLL ≈ mean_ik 1/2 [(y_i - g(x_ik))^T Σ_Z^{-1} (y_i - g(x_ik)) + n log 2π + log|Σ_Z|]
    MSE ≈ mean_ik ||y_i - g(x_ik)||^2

an unbiased estimate of every term, differentiable in all parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .models import GaussianVAE, LinearGaussianVAE

__all__ = ["TorchLossTerms", "closed_form_loss", "model_closed_form_loss", "mc_loss"]

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class TorchLossTerms:
    """Loss terms as tensors of shape ``(G,)`` (or ``(G, b)`` per data point).

    ``total = kl + gamma * nll + lam * mse``.
    """

    kl: torch.Tensor
    nll: torch.Tensor
    mse: torch.Tensor
    total: torch.Tensor

    def numpy(self) -> dict:
        """The terms as float64 numpy arrays."""
        return {
            k: getattr(self, k).detach().double().cpu().numpy() for k in self.__dataclass_fields__
        }


def _weights(gamma, lam, G, like: torch.Tensor):
    g = torch.as_tensor(gamma, dtype=like.dtype, device=like.device).reshape(-1)
    lm = torch.as_tensor(lam, dtype=like.dtype, device=like.device).reshape(-1)
    if g.numel() not in (1, G) or lm.numel() not in (1, G):
        raise ValueError(
            f"gamma, lam: expected scalars or {G} values, got {g.numel()}, {lm.numel()}"
        )
    if not bool(torch.isfinite(g).all() and torch.isfinite(lm).all()):
        raise ValueError("gamma, lam: must be finite")
    if bool((g <= 0).any()):
        raise ValueError("gamma: must be > 0")
    return g.expand(G), lm.expand(G)


def _logdet_chol(C: torch.Tensor) -> torch.Tensor:
    return 2.0 * torch.log(torch.diagonal(C, dim1=-2, dim2=-1)).sum(-1)


def closed_form_loss(A, B, Sigma_Z, Sigma_W, Sigma_Y, gamma, lam) -> TorchLossTerms:
    """Exact γλ loss, batched over members (the torch twin of ``lingauss.gamma_lambda_loss``).

    Parameters
    ----------
    A : Tensor, shape (G, n, m)
    B : Tensor, shape (G, m, n)
    Sigma_Z : Tensor, shape (G, n, n)
        SPD (diagonal in the paper's model; any SPD accepted).
    Sigma_W : Tensor, shape (G, m, m)
        SPD.
    Sigma_Y : Tensor, shape (n, n) or (G, n, n)
    gamma, lam : float or Tensor, shape (G,)

    Returns
    -------
    TorchLossTerms
        Each term of shape (G,).

    Raises
    ------
    ValueError
        Shape mismatch, ``gamma <= 0``, or a covariance that is not positive definite.

    Examples
    --------
    >>> import torch
    >>> n, m = 2, 1
    >>> t = closed_form_loss(torch.zeros(1, n, m), torch.zeros(1, m, n), torch.eye(n)[None],
    ...                      torch.eye(m)[None], torch.eye(n), 1.0, 0.0)
    >>> float(t.kl[0]), round(float(t.nll[0]), 6) == round(0.5 * (n + n * _LOG_2PI), 6)
    (0.0, True)
    """
    if A.ndim != 3 or B.ndim != 3 or Sigma_Z.ndim != 3 or Sigma_W.ndim != 3:
        raise ValueError("A, B, Sigma_Z, Sigma_W: expected stacks of matrices (G, ., .)")
    G, n, m = A.shape
    if B.shape != (G, m, n):
        raise ValueError(f"B: expected shape ({G}, {m}, {n}) from A, got {tuple(B.shape)}")
    if Sigma_Z.shape != (G, n, n):
        raise ValueError(f"Sigma_Z: expected shape ({G}, {n}, {n}), got {tuple(Sigma_Z.shape)}")
    if Sigma_W.shape != (G, m, m):
        raise ValueError(f"Sigma_W: expected shape ({G}, {m}, {m}), got {tuple(Sigma_W.shape)}")
    if Sigma_Y.shape[-2:] != (n, n) or Sigma_Y.ndim not in (2, 3):
        raise ValueError(
            f"Sigma_Y: expected shape ({n}, {n}) or ({G}, {n}, {n}), got {tuple(Sigma_Y.shape)}"
        )
    g, lm = _weights(gamma, lam, G, A)
    lw, info_w = torch.linalg.cholesky_ex(Sigma_W)
    lz, info_z = torch.linalg.cholesky_ex(Sigma_Z)
    if bool((info_w != 0).any()):
        raise ValueError("Sigma_W: must be positive definite (Cholesky factorisation failed)")
    if bool((info_z != 0).any()):
        raise ValueError("Sigma_Z: must be positive definite (Cholesky factorisation failed)")
    eye = torch.eye(n, dtype=A.dtype, device=A.device)
    E = eye - A @ B
    R = E @ Sigma_Y @ E.mT + A @ Sigma_W @ A.mT
    R = 0.5 * (R + R.mT)
    tr = lambda M: torch.diagonal(M, dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    kl = 0.5 * (tr(B @ Sigma_Y @ B.mT) + tr(Sigma_W) - _logdet_chol(lw) - m)
    nll = 0.5 * (tr(torch.cholesky_solve(R, lz)) + n * _LOG_2PI + _logdet_chol(lz))
    mse = tr(R)
    return TorchLossTerms(kl, nll, mse, kl + g * nll + lm * mse)


def model_closed_form_loss(model: LinearGaussianVAE, Sigma_Y, gamma, lam) -> TorchLossTerms:
    """:func:`closed_form_loss` at a linear model's parameters (differentiable)."""
    if not isinstance(model, LinearGaussianVAE):
        raise ValueError(
            f"model: the closed-form loss needs a LinearGaussianVAE, got {type(model).__name__}"
        )
    Sy = torch.as_tensor(Sigma_Y, dtype=model.dtype, device=model.device)
    return closed_form_loss(model.A(), model.B(), model.Sigma_Z(), model.Sigma_W(), Sy, gamma, lam)


def mc_loss(model: GaussianVAE, y, eps, gamma, lam, *, per_sample: bool = False) -> TorchLossTerms:
    """Monte Carlo γλ loss with the reparameterisation trick (see the module docstring).

    Parameters
    ----------
    model : GaussianVAE
        ``G`` members.
    y : Tensor, shape (G, b, n) or (b, n)
        Data points (shared by all members when 2-d).
    eps : Tensor, shape (G, K, b, m) or (K, b, m)
        Standard normal encoder noise, ``K`` draws per data point.
    gamma, lam : float or Tensor, shape (G,)
    per_sample : bool
        Return per-data-point terms of shape (G, b) (averaged over the ``K`` draws) instead of
        their means.

    Returns
    -------
    TorchLossTerms
        Terms of shape (G,) (or (G, b)); unbiased for the closed-form terms.
    """
    G, n, m = model.batch, model.n, model.m
    y = model._batched(y, n, "y")
    if eps.ndim == 3:
        eps = eps.expand(G, *eps.shape)
    if eps.ndim != 4 or eps.shape[0] != G or eps.shape[2] != y.shape[1] or eps.shape[3] != m:
        raise ValueError(
            f"eps: expected shape (K, {y.shape[1]}, {m}) or ({G}, K, {y.shape[1]}, {m}), "
            f"got {tuple(eps.shape)}"
        )
    K, b = eps.shape[1], y.shape[1]
    g, lm = _weights(gamma, lam, G, y)
    mu = model.encode_mean(y)  # (G, b, m)
    C = model.encoder_noise_factor()
    logdet_w = _logdet_chol(C)
    tr_w = torch.diagonal(model.Sigma_W(), dim1=-2, dim2=-1).sum(-1)
    kl = 0.5 * (tr_w[:, None] + (mu * mu).sum(-1) - m - logdet_w[:, None])  # (G, b)
    x = mu[:, None] + eps @ C[:, None].mT  # (G, K, b, m)
    yhat = model.decode_mean(x.reshape(G, K * b, m)).reshape(G, K, b, n)
    r = y[:, None] - yhat
    sz = model.sigma_z()  # (G, n)
    quad = (r * r / sz[:, None, None, :]).sum(-1).mean(1)  # (G, b)
    nll = 0.5 * (quad + n * _LOG_2PI + torch.log(sz).sum(-1)[:, None])
    mse = (r * r).sum(-1).mean(1)
    if not per_sample:
        kl, nll, mse = kl.mean(-1), nll.mean(-1), mse.mean(-1)
        return TorchLossTerms(kl, nll, mse, kl + g * nll + lm * mse)
    return TorchLossTerms(kl, nll, mse, kl + g[:, None] * nll + lm[:, None] * mse)
