# A little over ~400 lines: the table builder, its exact counterparts and the MWS offset
# prediction are one computation (each row is an estimate beside its exact value), kept together.
"""Minibatch estimators of the aggregate posterior held against the exact linear-Gaussian truth.

For a fixed linear encoder ``z = B y + w`` (``y ~ N(0, Σ_Y)``, ``w ~ N(0, Σ_W)``) the aggregate
posterior is ``q(z) = N(0, C)``, ``C = B Σ_Y Bᵀ + Σ_W``, so (exact, nats)::

    E log q(z)        = -½ log|2πe C|
    E log ∏_j q(z_j)  = -½ Σ_j log(2πe C_jj)
    TC                = ½ Σ_j log C_jj - ½ log|C|

:func:`estimator_table` draws a data set of ``N`` points of ``Y``, minibatches of ``M`` from it
(without replacement, ``repeats`` times), one latent sample per point, and reports the batch
means of the MWS and MSS estimates (:func:`neural.objectives.aggregate_log_densities`) of the
three quantities: mean and sd over minibatches beside the exact values. It also trains
FactorVAE's discriminator on the same latents and reports its density-ratio TC and
``E D(z_real)``, ``E D(z_perm)`` beside the Bayes-optimal ``D*`` (Monte Carlo of the exact
``D*`` on the same batches, and on exact samples of ``q`` and ``∏_j q(z_j)``).

The MWS offset (derived; :func:`mws_offset` evaluates it)
----------------------------------------------------------
MWS computes ``log q̂(z_i) = log[(1/M) Σ_k q(z_i|x_k)] - log N``: a Monte Carlo average of the
posterior densities divided once more by ``N``. With ``r_i = q(z_i|x_i)/q(z_i)`` (the
pointwise index-code information ``log r``) the average is ``≈ q(z_i)(1 + (r_i - 1)/M)``, so::

    E log q̂_MWS(z)        ≈ E log q(z)       - log N     + δ(M),   δ(M) = E log(1 + (r - 1)/M)
    E log ∏ q̂_MWS(z_j)    ≈ E log ∏ q(z_j)   - m log N   + Σ_j δ_j(M)
    TC_MWS                ≈ TC + (m - 1) log N + δ(M) - Σ_j δ_j(M)

(``δ_j`` with ``r_j = q(z_j|x)/q(z_j)``). MSS's weights sum to one per row, so its offset is
``log(1 + (r - 1)/N)``-small plus the Jensen term of a logarithm of an average of ``M - 1``
ratios ``r``: ``≈ -(E_q(z,x) r - 1) / (2 (M - 1))`` per log density (the delta method; it
needs ``M`` well above ``E r``, the exponential of the order-2 Rényi index-code MI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .device import torch_threads
from .discriminator import (
    Discriminator,
    OptimalDiscriminator,
    discriminator_loss,
    discriminator_probability,
    discriminator_tc,
    optimal_discriminator_expectations,
    permute_dims,
)
from .objectives import log_density_matrix, log_weight_matrix

__all__ = [
    "EstimatorTable",
    "exact_aggregate_terms",
    "mws_offset",
    "estimator_table",
    "standardized_encoder",
    "BATCH_SIZES",
    "DATASET_SIZES",
]

#: The issue's grid.
BATCH_SIZES = (64, 256, 1024, 4096)
DATASET_SIZES = (1_000, 100_000)
QUANTITIES = ("log_qz", "log_qz_prod", "tc")
#: Elements of the (repeats, rows, M, m) density tensor evaluated at once.
_CHUNK_ELEMENTS = 1 << 23


def _aggregate(C) -> np.ndarray:
    C = np.asarray(C, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C: expected a square matrix, got shape {C.shape}")
    if np.linalg.eigvalsh(0.5 * (C + C.T)).min() <= 0:
        raise ValueError("C: must be positive definite")
    return C


def exact_aggregate_terms(C) -> dict[str, float]:
    """Exact ``E log q(z)``, ``E log ∏_j q(z_j)`` and TC for ``q = N(0, C)`` (nats).

    Examples
    --------
    >>> import numpy as np
    >>> t = exact_aggregate_terms(np.eye(2))
    >>> round(t["tc"], 12), bool(np.isclose(t["log_qz"], -np.log(2 * np.pi * np.e)))
    (0.0, True)
    """
    C = _aggregate(C)
    m = C.shape[0]
    logdet = np.linalg.slogdet(C)[1]
    ld = np.log(np.diag(C))
    c = math.log(2 * math.pi * math.e)
    log_qz = -0.5 * (m * c + logdet)
    log_prod = -0.5 * (m * c + ld.sum())
    return {"log_qz": float(log_qz), "log_qz_prod": float(log_prod), "tc": float(log_qz - log_prod)}


def mws_offset(B, Sigma_W, Sigma_Y, M: int, N: int, *, samples: int = 200_000, seed: int = 0):
    """The predicted MWS offsets of the module docstring (Monte Carlo over ``r``).

    Returns
    -------
    dict
        ``log_qz``, ``log_qz_prod``, ``tc``: predicted ``E[estimate] - exact`` of MWS;
        ``delta``, ``delta_marginals``: ``δ(M)`` and ``Σ_j δ_j(M)``; ``mss_jensen_log_qz``,
        ``mss_jensen_log_qz_prod``, ``mss_jensen_tc``: MSS's delta-method (Jensen) bias
        ``-(E_q(z,x) r - 1) / (2(M - 1))`` per log density. It has the measured sign and
        ``1/M`` decay but overstates the size when ``r`` is heavy-tailed (3-4-3 scenario 2,
        standardized encoder with noise 0.1, N = 1e5, M = 1024: TC bias -0.12 predicted,
        -0.037 measured), so the table does not report it as a prediction.
    """
    B, Sw, Sy = (np.asarray(a, dtype=float) for a in (B, Sigma_W, Sigma_Y))
    C = _aggregate(B @ Sy @ B.T + Sw)
    m = C.shape[0]
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((samples, Sy.shape[0])) @ np.linalg.cholesky(Sy).T
    mu = y @ B.T
    z = mu + rng.standard_normal((samples, m)) @ np.linalg.cholesky(Sw).T

    def logpdf(x, cov):
        L = np.linalg.cholesky(cov)
        sol = np.linalg.solve(L, x.T).T
        return -0.5 * ((sol**2).sum(-1) + 2 * np.log(np.diag(L)).sum() + m * np.log(2 * np.pi))

    log_r = logpdf(z - mu, Sw) - logpdf(z, C)
    d = z - mu
    log_rj = -0.5 * (d**2 / np.diag(Sw) - z**2 / np.diag(C) + np.log(np.diag(Sw) / np.diag(C)))
    delta = float(np.mean(np.log1p(np.expm1(log_r) / M)))
    delta_j = float(np.sum(np.mean(np.log1p(np.expm1(log_rj) / M), axis=0)))
    ln = math.log(N)
    # MSS: the log of an unbiased average of M - 1 ratios r(z, x_k) (E = 1, variance
    # E_q(z)p(x) r² - 1 = E_q(z,x) r - 1) is low by about (E_q(z,x) r - 1) / (2 (M - 1))
    jensen = float(np.mean(np.exp(log_r)) - 1.0) / (2.0 * (M - 1))
    jensen_j = float(np.sum(np.mean(np.exp(log_rj), axis=0) - 1.0)) / (2.0 * (M - 1))
    return {
        "log_qz": -ln + delta,
        "log_qz_prod": -m * ln + delta_j,
        "tc": (m - 1) * ln + delta - delta_j,
        "delta": delta,
        "delta_marginals": delta_j,
        "mss_jensen_log_qz": -jensen,
        "mss_jensen_log_qz_prod": -jensen_j,
        "mss_jensen_tc": jensen_j - jensen,
    }


def standardized_encoder(Sigma_Y, m: int, *, noise: float = 0.1, seed: int = 0):
    """A seeded linear encoder with ``diag C = 1``: ``B = D G diag(Σ_Y)^{-1/2}``, ``Σ_W = w I``.

    ``G`` (m, n) standard normal from ``numpy.random.default_rng(seed)``; ``D`` scales each
    row so that ``(B Σ_Y Bᵀ)_jj = 1 - w``. Its latents mix the data coordinates, so its total
    correlation is not zero (a useful test case; an optimum of the TC objectives has TC ≈ 0).
    """
    Sy = np.asarray(Sigma_Y, dtype=float)
    if not 0 < noise < 1:
        raise ValueError(f"noise: expected 0 < noise < 1, got {noise!r}")
    G = np.random.default_rng(seed).standard_normal((m, Sy.shape[0])) / np.sqrt(np.diag(Sy))
    s = np.einsum("jk,kl,jl->j", G, Sy, G)
    B = G * np.sqrt((1 - noise) / s)[:, None]
    return B, noise * np.eye(m)


@dataclass(frozen=True)
class EstimatorTable:
    """Estimates beside the truth.

    Attributes
    ----------
    rows : DataFrame
        One row per (estimator, quantity, N, M): ``estimator`` (mws, mss, dataset,
        discriminator, optimal-discriminator), ``quantity`` (log_qz, log_qz_prod, tc, d_real,
        d_perm), ``N``, ``M``, ``mean``, ``sd`` (over minibatches), ``repeats``, ``exact``,
        ``bias`` (mean - exact), ``se`` (sd / sqrt(repeats)), ``predicted_bias`` (MWS: the
        derived offset; NaN elsewhere).
    exact : dict
        :func:`exact_aggregate_terms` of ``C``.
    optimal : dict
        :func:`neural.discriminator.optimal_discriminator_expectations` of ``C``.
    C : ndarray, shape (m, m)
    """

    rows: pd.DataFrame
    exact: dict
    optimal: dict
    C: np.ndarray = field(repr=False)

    def to_json_dict(self) -> dict:
        """``{"exact_tc", "rows": [TC rows], "log_density_rows", "exact", "optimal"}``."""
        r = self.rows.replace({np.nan: None})
        keep = ["estimator", "quantity", "N", "M", "mean", "sd", "repeats", "exact", "bias"]
        keep.append("predicted_bias")
        tc = r[r["quantity"] == "tc"][keep]
        other = r[r["quantity"] != "tc"][keep]
        return {
            "exact_tc": self.exact["tc"],
            "rows": tc.to_dict("records"),
            "log_density_rows": other.to_dict("records"),
            "exact": self.exact,
            "optimal": self.optimal,
        }


def _check_sizes(values, name):
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 2:
            raise ValueError(f"{name}: expected integers >= 2, got {v!r}")
        out.append(int(v))
    if not out:
        raise ValueError(f"{name}: expected at least one size")
    return out


def _row(estimator, quantity, N, M, values, exact, predicted=np.nan):
    v = np.asarray(values, dtype=float)
    sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    return {
        "estimator": estimator,
        "quantity": quantity,
        "N": int(N),
        "M": int(M),
        "mean": float(v.mean()),
        "sd": sd,
        "repeats": int(v.size),
        "exact": float(exact),
        "bias": float(v.mean() - exact),
        "se": sd / math.sqrt(v.size) if v.size > 1 else float("nan"),
        "predicted_bias": float(predicted),
    }


def _train_discriminator(mu_all, Lw, *, steps, batch, hidden, layers, lr, gen):
    """FactorVAE's discriminator trained on latents of the fixed encoder (Adam)."""
    N, m = mu_all.shape
    with torch.random.fork_rng(devices=[]):  # seeded initial weights, global state untouched
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        D = Discriminator(m, hidden=hidden, layers=layers).to(mu_all)
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.9))
    for _ in range(steps):
        idx = torch.randint(0, N, (2, batch), generator=gen)
        eps = torch.randn(2, batch, m, generator=gen, dtype=torch.float64).to(mu_all)
        z = mu_all[idx] + eps @ Lw.mT
        loss = discriminator_loss(D, z[0], permute_dims(z[1], generator=gen))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return D.eval()


def estimator_table(
    Sigma_Y,
    B,
    Sigma_W,
    *,
    batch_sizes=BATCH_SIZES,
    dataset_sizes=DATASET_SIZES,
    repeats: int = 10,
    seed: int = 0,
    discriminator: bool = True,
    disc_steps: int = 2000,
    disc_batch: int = 256,
    disc_hidden: int = 64,
    disc_layers: int = 3,
    disc_lr: float = 1e-3,
    dataset_exact_max: int = 10_000,
    offset_samples: int = 100_000,
    threads: int | None = 1,
) -> EstimatorTable:
    """MWS, MSS and discriminator estimates for a fixed linear encoder, against the truth.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n)
    B : array_like, shape (m, n)
    Sigma_W : array_like, shape (m, m)
    batch_sizes, dataset_sizes : sequences of int
        ``M`` and ``N`` grids; pairs with ``M > N`` are skipped.
    repeats : int
        Minibatches per (N, M) (and evaluation batches of the discriminator).
    seed : int
        Seeds the data sets, minibatches, latent noise and the discriminator.
    discriminator : bool
        Train and evaluate FactorVAE's discriminator (one per ``N``, ``disc_steps`` Adam steps
        on batches of ``disc_batch``; an MLP of ``disc_layers`` × ``disc_hidden``), evaluated
        on the same minibatches as the estimators at each ``M``.
    dataset_exact_max : int
        For ``N`` up to this, also report the data set's own exact aggregate (``estimator =
        "dataset"``, ``M = N``: every point weighs ``1/N``, Monte Carlo over one latent per
        point): what MWS / MSS estimate before the population limit.
    offset_samples : int
        Monte Carlo samples of :func:`mws_offset`.
    threads : int or None
        Intra-op torch threads (:func:`neural.device.torch_threads`).

    Returns
    -------
    EstimatorTable

    Raises
    ------
    ValueError
        Bad sizes, a non-SPD ``Σ_Y`` / ``Σ_W`` / ``C``, inconsistent shapes.
    """
    with torch_threads(threads), torch.no_grad():
        return _estimator_table(
            Sigma_Y,
            B,
            Sigma_W,
            batch_sizes,
            dataset_sizes,
            repeats,
            seed,
            discriminator,
            dict(
                steps=disc_steps,
                batch=disc_batch,
                hidden=disc_hidden,
                layers=disc_layers,
                lr=disc_lr,
            ),
            dataset_exact_max,
            offset_samples,
        )


def _estimator_table(
    Sigma_Y,
    B,
    Sigma_W,
    batch_sizes,
    dataset_sizes,
    repeats,
    seed,
    discriminator,
    disc,
    dataset_exact_max,
    offset_samples,
):
    Sy = np.asarray(Sigma_Y, dtype=float)
    Bn = np.asarray(B, dtype=float)
    Sw = np.asarray(Sigma_W, dtype=float)
    if Sy.ndim != 2 or Bn.ndim != 2 or Sw.ndim != 2 or Bn.shape[1] != Sy.shape[0]:
        raise ValueError(
            f"B, Sigma_Y: expected B (m, n) and Sigma_Y (n, n), got {Bn.shape}, {Sy.shape}"
        )
    if Sw.shape != (Bn.shape[0],) * 2:
        raise ValueError(f"Sigma_W: expected shape {(Bn.shape[0],) * 2}, got {Sw.shape}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise ValueError(f"repeats: expected an integer >= 2, got {repeats!r}")
    Ms, Ns = _check_sizes(batch_sizes, "batch_sizes"), _check_sizes(dataset_sizes, "dataset_sizes")
    C = _aggregate(Bn @ Sy @ Bn.T + Sw)
    m = C.shape[0]
    exact = exact_aggregate_terms(C)
    optimal = optimal_discriminator_expectations(C, seed=seed)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    Ly, Lw, Bt, Sw_t = (
        t(np.linalg.cholesky(Sy)),
        t(np.linalg.cholesky(Sw)),
        t(Bn),
        t(Sw),
    )
    D_opt = OptimalDiscriminator(t(C))
    gen = torch.Generator().manual_seed(int(seed))
    rows = []
    for N in Ns:
        mu_all = (torch.randn(N, Sy.shape[0], generator=gen, dtype=torch.float64) @ Ly.mT) @ Bt.mT
        D = None
        if discriminator:
            with torch.enable_grad():
                D = _train_discriminator(mu_all, Lw, gen=gen, **disc)
        if N <= dataset_exact_max:
            z = mu_all + torch.randn(N, m, generator=gen, dtype=torch.float64) @ Lw.mT
            lq, lp = _dataset_log_densities(z, mu_all, Sw_t)
            vals = {"log_qz": lq, "log_qz_prod": lp, "tc": lq - lp}
            for q in QUANTITIES:
                # one value: the data set's aggregate, Monte Carlo over N latents (sd = its se)
                r = _row("dataset", q, N, N, vals[q].numpy(), exact[q])
                r.update(sd=r["se"], repeats=1, se=float("nan"))
                rows.append(r)
        for M in Ms:
            if M > N:
                continue
            idx = torch.argsort(torch.rand(repeats, N, generator=gen), dim=1)[:, :M]
            mu = mu_all[idx]  # (R, M, m)
            z = mu + torch.randn(repeats, M, m, generator=gen, dtype=torch.float64) @ Lw.mT
            chunk = max(1, _CHUNK_ELEMENTS // (repeats * M * m))
            off = mws_offset(Bn, Sw, Sy, M, N, samples=offset_samples, seed=seed)
            both = _minibatch_log_densities(z, mu, Sw_t, N, chunk)
            for est in ("mws", "mss"):
                lq, lp = both[est]
                vals = {"log_qz": lq.mean(-1), "log_qz_prod": lp.mean(-1)}
                vals["tc"] = vals["log_qz"] - vals["log_qz_prod"]
                for q in QUANTITIES:
                    pred = off[q] if est == "mws" else np.nan
                    rows.append(_row(est, q, N, M, vals[q].numpy(), exact[q], pred))
            zp = permute_dims(z, generator=gen)
            rows.append(
                _row("optimal-discriminator", "tc", N, M, discriminator_tc(D_opt, z), exact["tc"])
            )
            p_real = discriminator_probability(D_opt, z).mean(-1)
            p_perm = discriminator_probability(D_opt, zp).mean(-1)
            rows.append(_row("optimal-discriminator", "d_real", N, M, p_real, optimal["d_real"]))
            rows.append(_row("optimal-discriminator", "d_perm", N, M, p_perm, optimal["d_perm"]))
            if D is not None:
                rows.append(_row("discriminator", "tc", N, M, discriminator_tc(D, z), exact["tc"]))
                p_real = discriminator_probability(D, z).mean(-1)
                p_perm = discriminator_probability(D, zp).mean(-1)
                rows.append(_row("discriminator", "d_real", N, M, p_real, optimal["d_real"]))
                rows.append(_row("discriminator", "d_perm", N, M, p_perm, optimal["d_perm"]))
    return EstimatorTable(pd.DataFrame(rows), exact, optimal, C)


def _minibatch_log_densities(z, mu, Sw, N, chunk):
    """MWS and MSS ``(log q̂(z_i), log ∏_j q̂(z_ij))`` from one evaluation of the densities.

    The same sums as :func:`neural.objectives.aggregate_log_densities` (tested equal), with
    the ``(R, M, M, m)`` density tensor computed once for both weight matrices.
    """
    M = mu.shape[-2]
    logw = {e: log_weight_matrix(M, N, e, like=mu) for e in ("mws", "mss")}
    parts = {e: ([], []) for e in logw}
    for lo in range(0, M, chunk):
        joint, marg = log_density_matrix(z[..., lo : lo + chunk, :], mu, cov=Sw)
        for e, lw in logw.items():
            w = lw[lo : lo + chunk]
            parts[e][0].append(torch.logsumexp(joint + w, dim=-1))
            parts[e][1].append(torch.logsumexp(marg + w[..., None], dim=-2).sum(-1))
    return {e: (torch.cat(a, -1), torch.cat(b, -1)) for e, (a, b) in parts.items()}


def _dataset_log_densities(z, mu_all, Sw):
    """``log q_N(z_i)`` and ``log ∏_j q_N(z_ij)`` with every point of the data set, weight 1/N."""
    N, m = mu_all.shape
    lq, lp = [], []
    step = max(1, _CHUNK_ELEMENTS // (N * m))
    for lo in range(0, z.shape[0], step):
        joint, marg = log_density_matrix(z[lo : lo + step], mu_all, cov=Sw)
        lq.append(torch.logsumexp(joint, -1) - math.log(N))
        lp.append((torch.logsumexp(marg, -2) - math.log(N)).sum(-1))
    return torch.cat(lq), torch.cat(lp)
