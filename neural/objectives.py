"""The seeds' objectives on a minibatch (torch): β-VAE, β-TCVAE, FactorVAE, DIP-VAE, γλ.

One implementation of each loss, shared by the linear-Gaussian VAE (a full shared posterior
covariance ``cov = Σ_W``, shape ``(m, m)``) and the convolutional VAE (a diagonal posterior per
sample, ``var`` of shape ``(M, m)``). Weights and names are those of
:data:`lingauss.objectives.OBJECTIVES` and are validated by
:func:`lingauss.objectives.check_objective`; the exact (population) value of every term is
:func:`lingauss.objectives.objective_terms`.

Minibatch terms (Chen et al. 2018, "Isolating sources of disentanglement in VAEs")
---------------------------------------------------------------------------------
For a minibatch ``x_1..x_M`` drawn from a data set of ``N`` points, one reparameterised sample
``z_i ~ q(z|x_i)`` each, and the matrix ``ℓ_ik = log q(z_i | x_k)`` (joint) and
``ℓ_ikj = log q(z_ij | x_k)`` (dimension ``j``)::

    log q̂(z_i)        = logsumexp_k (ℓ_ik  + log w_ik)
    log ∏_j q̂(z_ij)   = Σ_j logsumexp_k (ℓ_ikj + log w_ik)

    MWS  w_ik = 1 / (N M)                                      (minibatch weighted sampling)
    MSS  w_ii = 1/N,  w_i,i+1 = (N - M + 1) / (N (M - 1)),      (minibatch stratified sampling;
         w_ik = 1/(M - 1) otherwise                              index i+1 taken mod M)

(The weights are indexed directly: the reference implementation's ``log_importance_weight_matrix``
strides the flattened matrix by the batch size, which fills columns instead of the diagonal —
reported in rtqichen/beta-tcvae pull request #1.) With ``log p(z) = Σ_j log N(z_ij; 0, 1)``,
batch means of::

    mi    = log q(z_i|x_i) - log q̂(z_i)          (index-code MI)
    tc    = log q̂(z_i) - log ∏_j q̂(z_ij)        (total correlation)
    dimkl = log ∏_j q̂(z_ij) - log p(z_i)        (dimension-wise KL)

Their sum is the one-sample Monte Carlo KL whatever the weights. The MSS weights of each row sum
to one and make ``Σ_k w_ik q(z|x_k)`` an unbiased estimate of the data set's aggregate
posterior ``q(z)`` (the MWS row sums to ``1/N``: see :mod:`neural.objective_estimators` for
what that costs). With a full covariance the marginal ``log q(z_ij|x_k)`` uses the variance
``cov_jj`` and the joint the full Gaussian.

Other terms: ``kl`` is the analytic KL to ``N(0, I)`` (batch mean); DIP-VAE penalties use the
batch moments, ``Cov[μ] = mean_i (μ_i - μ̄)(μ_i - μ̄)^T`` (DIP-I) and ``Cov[μ] + E[Σ]``
(DIP-II; ``E[Σ] = diag(mean_i var_i)`` or ``cov``)::

    dip_od = Σ_{i≠j} D_ij²,   dip_d = Σ_i (D_ii - 1)²

FactorVAE's ``tc_discriminator`` is :func:`neural.discriminator.discriminator_tc`.

Objectives (per data point, nats)::

    beta-vae      nll + β kl
    beta-tcvae    nll + α mi + β tc + γ dimkl
    factor-vae    nll + kl + γ tc_discriminator
    dip-vae-i/ii  nll + kl + λ_od dip_od + λ_d dip_d
    gamma-lambda  kl + γ nll + λ mse
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

__all__ = [
    "ESTIMATORS",
    "log_weight_matrix",
    "log_density_matrix",
    "aggregate_log_densities",
    "analytic_kl",
    "tc_decomposition",
    "dip_penalties",
    "objective_loss",
]

#: Minibatch estimators of the aggregate posterior (Chen et al. 2018).
ESTIMATORS = ("mws", "mss")

_LOG_2PI = math.log(2.0 * math.pi)


def _check_estimator(estimator: str) -> str:
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator: expected one of {ESTIMATORS}, got {estimator!r}")
    return estimator


def log_weight_matrix(M: int, dataset_size: int, estimator: str = "mss", *, like=None):
    """``log w_ik`` of the MWS or MSS estimator, shape ``(M, M)`` (see the module docstring).

    Parameters
    ----------
    M : int
        Minibatch size (``M >= 2``).
    dataset_size : int
        ``N >= M``, the number of points the minibatch is drawn from.
    estimator : {"mws", "mss"}
    like : Tensor, optional
        Dtype and device of the result (default float64 on the CPU).

    Examples
    --------
    >>> w = log_weight_matrix(4, 10, "mss").exp()
    >>> [round(float(v), 12) for v in w.sum(1)]
    [1.0, 1.0, 1.0, 1.0]
    >>> float(log_weight_matrix(4, 10, "mws").exp().sum(1)[0])  # doctest: +ELLIPSIS
    0.1...
    """
    _check_estimator(estimator)
    M, N = int(M), int(dataset_size)
    if M < 2:
        raise ValueError(f"M: the minibatch estimators need at least 2 samples, got {M}")
    if N < M:
        raise ValueError(f"dataset_size: must be >= the minibatch size {M}, got {N}")
    kw = {"dtype": torch.float64} if like is None else {"dtype": like.dtype, "device": like.device}
    if estimator == "mws":
        return torch.full((M, M), -math.log(N * M), **kw)
    W = torch.full((M, M), 1.0 / (M - 1), **kw)
    idx = torch.arange(M, device=W.device)
    W[idx, idx] = 1.0 / N
    W[idx, (idx + 1) % M] = (N - M + 1) / (N * (M - 1))
    return W.log()


def _check_posterior(mu, var, cov):
    if (var is None) == (cov is None):
        raise ValueError("var, cov: give exactly one posterior covariance (var or cov)")
    if var is not None and var.shape != mu.shape:
        raise ValueError(f"var: expected shape {tuple(mu.shape)} like mu, got {tuple(var.shape)}")
    m = mu.shape[-1]
    if cov is not None and cov.shape[-2:] != (m, m):
        raise ValueError(f"cov: expected shape (..., {m}, {m}), got {tuple(cov.shape)}")


def log_density_matrix(z, mu, *, var=None, cov=None):
    """``log q(z_i | x_k)`` for every pair, joint and per dimension.

    Parameters
    ----------
    z : Tensor, shape (..., M_z, m)
        Latent samples.
    mu : Tensor, shape (..., M, m)
        Posterior means of the ``M`` conditioning points.
    var : Tensor, shape (..., M, m), optional
        Diagonal posterior variances per point.
    cov : Tensor, shape (..., m, m), optional
        One full posterior covariance shared by all points (``Σ_W``).

    Returns
    -------
    joint : Tensor, shape (..., M_z, M)
        ``log q(z_i | x_k)``.
    marginal : Tensor, shape (..., M_z, M, m)
        ``log q(z_ij | x_k)`` (variance ``var_kj`` or ``cov_jj``).
    """
    _check_posterior(mu, var, cov)
    d = z[..., :, None, :] - mu[..., None, :, :]  # (..., Mz, M, m)
    if var is not None:
        v = var[..., None, :, :]
        marginal = -0.5 * (_LOG_2PI + torch.log(v) + d * d / v)
        return marginal.sum(-1), marginal
    diag = torch.diagonal(cov, dim1=-2, dim2=-1)[..., None, None, :]
    marginal = -0.5 * (_LOG_2PI + torch.log(diag) + d * d / diag)
    # whiten once with the shared Cholesky factor: (z_i - μ_k)ᵀ cov⁻¹ (z_i - μ_k) = |ẑ_i - μ̂_k|²
    L = torch.linalg.cholesky(cov)
    zw = torch.linalg.solve_triangular(L, z.mT, upper=False).mT
    mw = torch.linalg.solve_triangular(L, mu.mT, upper=False).mT
    dw = zw[..., :, None, :] - mw[..., None, :, :]
    logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    m = mu.shape[-1]
    joint = -0.5 * (m * _LOG_2PI + logdet[..., None, None] + (dw * dw).sum(-1))
    return joint, marginal


def aggregate_log_densities(
    z, mu, *, var=None, cov=None, dataset_size: int, estimator: str = "mss", chunk: int = 0
):
    """Minibatch estimates ``log q̂(z_i)`` and ``log ∏_j q̂(z_ij)`` (MWS or MSS), shape (..., M).

    ``z`` and ``mu`` come from the same minibatch (row ``i`` of ``z`` is drawn from
    ``q(z|x_i)``). ``chunk > 0`` evaluates ``chunk`` rows of the ``(M, M, m)`` density tensor
    at a time (same result, bounded memory). See the module docstring for the formulas.
    """
    M = mu.shape[-2]
    if z.shape != mu.shape:
        raise ValueError(f"z: expected shape {tuple(mu.shape)} like mu, got {tuple(z.shape)}")
    logw = log_weight_matrix(M, dataset_size, estimator, like=mu)
    step = M if chunk <= 0 else int(chunk)
    joint_out, prod_out = [], []
    for lo in range(0, M, step):
        zi = z[..., lo : lo + step, :]
        joint, marg = log_density_matrix(zi, mu, var=var, cov=cov)
        lw = logw[lo : lo + step]
        joint_out.append(torch.logsumexp(joint + lw, dim=-1))
        prod_out.append(torch.logsumexp(marg + lw[..., None], dim=-2).sum(-1))
    return torch.cat(joint_out, -1), torch.cat(prod_out, -1)


def analytic_kl(mu, *, var=None, cov=None):
    """``KL(q(z|x_i) || N(0, I))`` per point, shape (..., M).

    Diagonal: ``½ Σ_j (var_ij + μ_ij² - 1 - log var_ij)``; full:
    ``½ [tr cov + ||μ_i||² - m - log|cov|]``.
    """
    _check_posterior(mu, var, cov)
    if var is not None:
        return 0.5 * (var + mu * mu - 1.0 - torch.log(var)).sum(-1)
    m = mu.shape[-1]
    L = torch.linalg.cholesky(cov)
    logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    tr = torch.diagonal(cov, dim1=-2, dim2=-1).sum(-1)
    return 0.5 * ((tr - m - logdet)[..., None] + (mu * mu).sum(-1))


def _log_normal_standard(z):
    return -0.5 * (z * z + _LOG_2PI).sum(-1)


def _log_conditional(z, mu, var, cov):
    """``log q(z_i | x_i)``, shape (..., M): the joint matrix's diagonal, computed directly."""
    d = z - mu
    if var is not None:
        return -0.5 * (_LOG_2PI + torch.log(var) + d * d / var).sum(-1)
    m = mu.shape[-1]
    L = torch.linalg.cholesky(cov)
    sol = torch.linalg.solve_triangular(L, d.mT, upper=False).mT
    logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return -0.5 * (m * _LOG_2PI + logdet[..., None] + (sol * sol).sum(-1))


def tc_decomposition(
    z, mu, *, var=None, cov=None, dataset_size: int, estimator: str = "mss", chunk: int = 0
) -> dict[str, torch.Tensor]:
    """Batch means ``mi``, ``tc``, ``dimkl`` (Chen et al.) and the log densities behind them.

    Returns
    -------
    dict
        ``"mi"``, ``"tc"``, ``"dimkl"`` of shape (...); ``"log_qz"``, ``"log_qz_prod"``,
        ``"log_qz_x"``, ``"log_pz"`` of shape (..., M). ``mi + tc + dimkl`` equals the batch
        mean of ``log_qz_x - log_pz`` (the one-sample Monte Carlo KL).
    """
    log_qz, log_prod = aggregate_log_densities(
        z, mu, var=var, cov=cov, dataset_size=dataset_size, estimator=estimator, chunk=chunk
    )
    log_qzx = _log_conditional(z, mu, var, cov)
    log_pz = _log_normal_standard(z)
    return {
        "mi": (log_qzx - log_qz).mean(-1),
        "tc": (log_qz - log_prod).mean(-1),
        "dimkl": (log_prod - log_pz).mean(-1),
        "log_qz": log_qz,
        "log_qz_prod": log_prod,
        "log_qz_x": log_qzx,
        "log_pz": log_pz,
    }


def dip_penalties(mu, *, var=None, cov=None, kind: str = "i"):
    """DIP-VAE penalties from batch moments: ``(dip_od, dip_d)``, each of shape (...).

    ``D = Cov[μ]`` (``kind="i"``) or ``Cov[μ] + E[Σ]`` (``kind="ii"``), with the batch
    covariance ``mean_i (μ_i - μ̄)(μ_i - μ̄)^T``; ``dip_od = Σ_{i≠j} D_ij²``,
    ``dip_d = Σ_i (D_ii - 1)²``.
    """
    if kind not in ("i", "ii"):
        raise ValueError(f"kind: expected 'i' or 'ii', got {kind!r}")
    c = mu - mu.mean(-2, keepdim=True)
    D = c.mT @ c / mu.shape[-2]
    if kind == "ii":
        _check_posterior(mu, var, cov)
        D = D + (torch.diag_embed(var.mean(-2)) if var is not None else cov)
    diag = torch.diagonal(D, dim1=-2, dim2=-1)
    od = (D * D).sum((-2, -1)) - (diag * diag).sum(-1)
    return od, ((diag - 1.0) ** 2).sum(-1)


def objective_loss(
    name: str,
    weights: Mapping[str, float] | None,
    *,
    nll,
    mu,
    z,
    var=None,
    cov=None,
    dataset_size: int,
    estimator: str = "mss",
    discriminator=None,
    mse=None,
    chunk: int = 0,
):
    """Minibatch loss of one of the seeds' objectives, and its terms.

    Parameters
    ----------
    name : str
        ``"beta-vae"``, ``"beta-tcvae"``, ``"factor-vae"``, ``"dip-vae-i"``, ``"dip-vae-ii"``
        or ``"gamma-lambda"`` (see :data:`lingauss.objectives.OBJECTIVES`).
    weights : mapping or None
        The objective's weights (defaults filled in, validated by
        :func:`lingauss.objectives.check_objective`).
    nll : Tensor, shape (..., M)
        Per-sample negative log-likelihood ``-log p(x_i | z_i)`` (nats).
    mu : Tensor, shape (..., M, m)
        Posterior means.
    z : Tensor, shape (..., M, m)
        One reparameterised sample per point.
    var : Tensor, shape (..., M, m), optional
        Diagonal posterior variances (conv VAE).
    cov : Tensor, shape (..., m, m), optional
        Shared full posterior covariance ``Σ_W`` (linear VAE). Exactly one of var / cov.
    dataset_size : int
        ``N``, the size of the data set the minibatch is drawn from (MWS / MSS weights).
    estimator : {"mss", "mws"}
        Estimator of the aggregate posterior for β-TCVAE.
    discriminator : torch.nn.Module, optional
        FactorVAE's discriminator (2 logits; required for ``"factor-vae"``). Its parameters
        receive gradients too: the caller's VAE optimiser must not step them.
    mse : Tensor, shape (..., M), optional
        Per-sample squared reconstruction error (``"gamma-lambda"`` with ``lam > 0``).
    chunk : int
        Row chunk of the density matrix (0: all at once).

    Returns
    -------
    loss : Tensor, shape (...)
        A scalar for an unbatched minibatch.
    terms : dict[str, Tensor]
        ``"nll"``, ``"kl"`` and the objective's own terms (batch means, shape (...)).

    Raises
    ------
    ValueError
        Unknown objective or estimator, bad weights, inconsistent shapes, a missing
        discriminator / mse.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> mu = torch.randn(8, 2, generator=g, dtype=torch.float64)
    >>> z = mu + 0.5 * torch.randn(8, 2, generator=g, dtype=torch.float64)
    >>> loss, t = objective_loss("beta-vae", {"beta": 4}, nll=torch.zeros(8), mu=mu, z=z,
    ...                          var=torch.full((8, 2), 0.25, dtype=torch.float64),
    ...                          dataset_size=100)
    >>> bool(torch.isclose(loss, 4 * t["kl"]))
    True
    """
    from lingauss.objectives import check_objective

    name, w = check_objective(name, weights)
    _check_estimator(estimator)
    if mu.ndim < 2 or z.shape != mu.shape:
        raise ValueError(
            f"mu, z: expected equal shapes (..., M, m), got {tuple(mu.shape)}, {tuple(z.shape)}"
        )
    if nll.shape != mu.shape[:-1]:
        raise ValueError(f"nll: expected shape {tuple(mu.shape[:-1])}, got {tuple(nll.shape)}")
    _check_posterior(mu, var, cov)
    terms = {"nll": nll.mean(-1), "kl": analytic_kl(mu, var=var, cov=cov).mean(-1)}
    if name == "beta-vae":
        loss = terms["nll"] + w["beta"] * terms["kl"]
    elif name == "beta-tcvae":
        dec = tc_decomposition(
            z, mu, var=var, cov=cov, dataset_size=dataset_size, estimator=estimator, chunk=chunk
        )
        terms.update(mi=dec["mi"], tc=dec["tc"], dimkl=dec["dimkl"])
        loss = terms["nll"] + w["alpha"] * dec["mi"] + w["beta"] * dec["tc"]
        loss = loss + w["gamma"] * dec["dimkl"]
    elif name == "factor-vae":
        if discriminator is None:
            raise ValueError("discriminator: factor-vae needs a discriminator")
        from .discriminator import discriminator_tc

        terms["tc_discriminator"] = discriminator_tc(discriminator, z)
        loss = terms["nll"] + terms["kl"] + w["gamma"] * terms["tc_discriminator"]
    elif name in ("dip-vae-i", "dip-vae-ii"):
        od, dd = dip_penalties(mu, var=var, cov=cov, kind=name.rsplit("-", 1)[1])
        terms.update(dip_od=od, dip_d=dd)
        loss = terms["nll"] + terms["kl"] + w["lambda_od"] * od + w["lambda_d"] * dd
    elif name == "gamma-lambda":
        loss = terms["kl"] + w["gamma"] * terms["nll"]
        if w["lam"] != 0:
            if mse is None or mse.shape != nll.shape:
                raise ValueError(f"mse: gamma-lambda with lam > 0 needs mse of shape {nll.shape}")
            terms["mse"] = mse.mean(-1)
            loss = loss + w["lam"] * terms["mse"]
    else:  # pragma: no cover - check_objective knows only the names above
        raise ValueError(f"name: no minibatch loss for objective {name!r}")
    return loss, terms
