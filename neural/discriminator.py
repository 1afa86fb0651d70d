"""FactorVAE's discriminator (Kim & Mnih 2018) and, for the linear-Gaussian model, the optimal one.

The discriminator tells samples of the aggregate posterior ``q(z)`` (class 0, "real") from
samples of the product of its marginals ``∏_j q(z_j)`` (class 1), obtained by permuting each
latent dimension independently across a batch (:func:`permute_dims`). With logits
``(a_0, a_1)``, ``D(z) = softmax(a)_0`` and the density-ratio estimate of the total correlation
is::

    TC ≈ E_q(z) log D(z) / (1 - D(z)) = E_q(z) [a_0(z) - a_1(z)]      (discriminator_tc)

trained with the cross entropy ``½ [CE(D(z), 0) + CE(D(z̃), 1)]`` (discriminator_loss).

The Bayes-optimal discriminator is ``D*(z) = q(z) / (q(z) + ∏_j q(z_j))``. In the
linear-Gaussian model ``q(z) = N(0, C)`` with ``C = B Σ_Y B^T + Σ_W`` and
``∏_j q(z_j) = N(0, diag C)``, so its logit is known exactly::

    a*(z) = log N(z; 0, C) - Σ_j log N(z_j; 0, C_jj)
          = ½ Σ_j log C_jj - ½ log|C| - ½ z^T (C^{-1} - diag(C)^{-1}) z

and ``E_q a* = TC = ½ Σ_j log C_jj - ½ log|C|`` exactly (:class:`OptimalDiscriminator`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "Discriminator",
    "OptimalDiscriminator",
    "permute_dims",
    "discriminator_tc",
    "discriminator_loss",
    "discriminator_probability",
    "optimal_discriminator_expectations",
]


class Discriminator(nn.Module):
    """MLP ``m → hidden → … → 2`` with ``layers`` hidden layers and LeakyReLU(0.2).

    Kim & Mnih's FactorVAE uses 6 layers of 1000 units (the default); the linear model may use
    a smaller one. Output: two logits (class 0: ``q(z)``, class 1: ``∏_j q(z_j)``).

    Examples
    --------
    >>> import torch
    >>> D = Discriminator(3, hidden=8, layers=2)
    >>> tuple(D(torch.zeros(5, 3)).shape)
    (5, 2)
    """

    def __init__(self, latent_dim: int, hidden: int = 1000, layers: int = 6):
        super().__init__()
        for nm, v, lo in (
            ("latent_dim", latent_dim, 1),
            ("hidden", hidden, 1),
            ("layers", layers, 1),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{nm}: expected an integer >= {lo}, got {v!r}")
        self.latent_dim = latent_dim
        mods: list[nn.Module] = []
        width = latent_dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        mods.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"z: expected last dimension {self.latent_dim}, got {tuple(z.shape)}")
        return self.net(z)


class OptimalDiscriminator(nn.Module):
    """The Bayes-optimal discriminator for ``q(z) = N(0, C)``: logits ``(a*(z), 0)``.

    Parameters
    ----------
    C : Tensor or array, shape (m, m)
        The aggregate posterior covariance (SPD).

    Examples
    --------
    >>> import torch
    >>> D = OptimalDiscriminator(torch.eye(2, dtype=torch.float64))
    >>> float(discriminator_probability(D, torch.randn(4, 2, dtype=torch.float64)).max())
    0.5
    """

    def __init__(self, C):
        super().__init__()
        C = torch.as_tensor(C, dtype=torch.float64) if not torch.is_tensor(C) else C
        if C.ndim != 2 or C.shape[0] != C.shape[1]:
            raise ValueError(f"C: expected a square matrix, got shape {tuple(C.shape)}")
        L, info = torch.linalg.cholesky_ex(C)
        if int(info) != 0:
            raise ValueError("C: must be symmetric positive definite")
        d = torch.diagonal(C)
        eye = torch.eye(C.shape[0], dtype=C.dtype, device=C.device)
        prec = torch.cholesky_solve(eye, L)
        self.register_buffer("K", prec - torch.diag(1.0 / d))
        tc = 0.5 * torch.log(d).sum() - torch.log(torch.diagonal(L)).sum()
        self.register_buffer("tc", tc)
        self.latent_dim = C.shape[0]

    def logit(self, z: torch.Tensor) -> torch.Tensor:
        """``a*(z) = log q(z) - Σ_j log q(z_j)``, shape (...,)."""
        return self.tc - 0.5 * ((z @ self.K) * z).sum(-1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        a = self.logit(z)
        return torch.stack([a, torch.zeros_like(a)], -1)


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each latent dimension permuted independently across the batch (dimension ``-2``).

    The result has exactly the same per-dimension empirical marginals as ``z`` and, for a batch
    from ``q(z)``, approximately the distribution ``∏_j q(z_j)``. One ``argsort`` of uniform
    noise gives all ``m`` permutations at once (drawn on ``generator``'s device, default CPU).
    """
    if z.ndim < 2:
        raise ValueError(f"z: expected shape (..., M, m), got {tuple(z.shape)}")
    dev = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(z.shape, generator=generator, device=dev)
    idx = torch.argsort(u, dim=-2).to(z.device)
    return torch.gather(z, -2, idx)


def discriminator_tc(D: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Density-ratio TC estimate ``mean_i [a_0(z_i) - a_1(z_i)]`` over a batch from ``q(z)``."""
    logits = D(z)
    return (logits[..., 0] - logits[..., 1]).mean(-1)


def discriminator_loss(D: nn.Module, z: torch.Tensor, z_other: torch.Tensor) -> torch.Tensor:
    """``½ [CE(D(z), 0) + CE(D(z_other), 1)]``: ``z`` from ``q(z)``, ``z_other`` permuted.

    The caller passes detached latents (only ``D`` learns from this loss) and, as Kim & Mnih
    do, permutes an independent batch: ``z_other = permute_dims(z2.detach())``.
    """
    a_real, a_perm = D(z), D(z_other)
    lbl0 = torch.zeros(a_real.shape[:-1], dtype=torch.long, device=a_real.device)
    lbl1 = torch.ones(a_perm.shape[:-1], dtype=torch.long, device=a_perm.device)
    return 0.5 * (
        F.cross_entropy(a_real.reshape(-1, 2), lbl0.reshape(-1))
        + F.cross_entropy(a_perm.reshape(-1, 2), lbl1.reshape(-1))
    )


def discriminator_probability(D: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """``D(z) = softmax(logits)_0``: the probability that ``z`` comes from ``q(z)``."""
    return torch.softmax(D(z), -1)[..., 0]


def optimal_discriminator_expectations(C, *, samples: int = 200_000, seed: int = 0) -> dict:
    """Exact TC and Monte Carlo ``E_q D*(z)``, ``E_∏q D*(z)`` for ``q = N(0, C)``.

    ``z_real ~ N(0, C)`` and ``z_perm ~ N(0, diag C)`` (the exact product of marginals), each
    ``samples`` draws from a CPU generator seeded ``seed``; the Monte Carlo standard errors
    are returned beside the means.

    Returns
    -------
    dict
        ``tc`` (exact), ``tc_mc`` (mean of ``a*`` on ``z_real``), ``d_real``, ``d_perm`` and
        ``d_real_se``, ``d_perm_se``, ``tc_mc_se``.
    """
    C = torch.as_tensor(C, dtype=torch.float64) if not torch.is_tensor(C) else C.double()
    D = OptimalDiscriminator(C)
    g = torch.Generator().manual_seed(int(seed))
    m = C.shape[0]
    eps = torch.randn(2, int(samples), m, generator=g, dtype=torch.float64)
    z_real = eps[0] @ torch.linalg.cholesky(C).mT
    z_perm = eps[1] * torch.sqrt(torch.diagonal(C))
    a = D.logit(z_real)
    p_real = torch.sigmoid(a)
    p_perm = torch.sigmoid(D.logit(z_perm))
    se = lambda x: float(x.std() / math.sqrt(x.numel()))  # noqa: E731
    return {
        "tc": float(D.tc),
        "tc_mc": float(a.mean()),
        "tc_mc_se": se(a),
        "d_real": float(p_real.mean()),
        "d_real_se": se(p_real),
        "d_perm": float(p_perm.mean()),
        "d_perm_se": se(p_perm),
    }
