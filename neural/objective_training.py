"""The linear-Gaussian VAE trained on samples with any of the seeds' objectives.

One :class:`~neural.models.LinearGaussianVAE` member (``X = B Y + W``, ``W ~ N(0, Σ_W)``
full; decoder ``N(A X, Σ_Z)`` diagonal) is trained by Adam on minibatches of a fixed data set
of ``N`` samples of ``Y`` (each epoch a fresh permutation, minibatches without replacement),
one reparameterised latent per point, with the minibatch loss
:func:`neural.objectives.objective_loss`::

    nll_i = ½ [(y_i - A x_i)ᵀ Σ_Z⁻¹ (y_i - A x_i) + n log 2π + log|Σ_Z|]
    mse_i = |y_i - A x_i|²

β-TCVAE uses the MWS or MSS estimator (``estimator``) with ``dataset_size = N``; FactorVAE
trains its discriminator alternately (one Adam step on ``½[CE(D(z), real) + CE(D(z̃), perm)]``
per VAE step, ``z̃`` the permuted latents of a second minibatch, as Kim & Mnih); DIP-VAE uses
the batch moments of the encoder means.

The learning rate decays geometrically from ``lr`` to ``lr_final`` and the returned
parameters are the average of the iterates over the last ``average_fraction`` of the steps
(Polyak–Ruppert tail averaging: it removes most of the minibatch noise of the final iterate).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .config import LinearVAEConfig
from .device import torch_threads
from .discriminator import Discriminator, discriminator_loss, permute_dims
from .models import LinearGaussianVAE
from .objectives import ESTIMATORS, objective_loss

__all__ = ["ObjectiveTrainResult", "train_objective"]

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ObjectiveTrainResult:
    """A trained linear encoder/decoder.

    Attributes
    ----------
    name, weights, estimator : the objective trained.
    A, B, Sigma_Z, Sigma_W : ndarray
        The (tail-averaged) parameters on the data scale.
    steps : int
    wall_time_s : float
    history : DataFrame
        ``step, lr, loss`` (minibatch loss, mean over the logging window), ``loss_se`` (its
        standard error over the window's steps) and the minibatch terms.
    dataset_size, batch_size : int
    """

    name: str
    weights: dict
    estimator: str
    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    steps: int
    wall_time_s: float
    dataset_size: int
    batch_size: int
    history: pd.DataFrame = field(repr=False)

    def matrices(self) -> dict:
        """``A, B, Sigma_Z, Sigma_W``."""
        return {"A": self.A, "B": self.B, "Sigma_Z": self.Sigma_Z, "Sigma_W": self.Sigma_W}


def _positive_int(v, name, lo=1):
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
        raise ValueError(f"{name}: expected an integer >= {lo}, got {v!r}")
    return int(v)


def train_objective(
    Sigma_Y,
    m: int,
    name: str,
    weights: Mapping[str, float] | None = None,
    *,
    estimator: str = "mss",
    dataset_size: int = 100_000,
    batch_size: int = 256,
    steps: int = 2000,
    lr: float = 0.1,
    lr_final: float = 1e-3,
    average_fraction: float = 0.25,
    seed: int = 0,
    disc_hidden: int = 64,
    disc_layers: int = 3,
    disc_lr: float = 1e-3,
    log_every: int = 100,
    threads: int | None = 1,
) -> ObjectiveTrainResult:
    """Train the linear VAE on ``dataset_size`` samples of ``N(0, Σ_Y)`` with one objective.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n)
    m : int
        Latent dimension.
    name, weights
        The objective (validated by :func:`lingauss.objectives.check_objective`).
    estimator : {"mss", "mws"}
        β-TCVAE's aggregate-posterior estimator.
    dataset_size, batch_size, steps : int
    lr, lr_final : float
        Adam's learning rate, decayed geometrically from ``lr`` to ``lr_final``.
    average_fraction : float
        Tail fraction of the steps whose iterates are averaged (0: the last iterate).
    seed : int
        Seeds the data set, the initial parameters, the minibatches and the noise.
    disc_hidden, disc_layers, disc_lr
        FactorVAE's discriminator (an MLP; Adam with betas (0.5, 0.9)).
    log_every : int
        Steps per history row.
    threads : int or None
        Intra-op torch threads during training (:func:`neural.device.torch_threads`).

    Returns
    -------
    ObjectiveTrainResult

    Raises
    ------
    ValueError
        Bad sizes or rates, an unknown objective / estimator or bad weights.
    """
    from lingauss.objectives import check_objective

    name, w = check_objective(name, weights)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator: expected one of {ESTIMATORS}, got {estimator!r}")
    Sy = np.asarray(Sigma_Y, dtype=float)
    if Sy.ndim != 2 or Sy.shape[0] != Sy.shape[1]:
        raise ValueError(f"Sigma_Y: expected a square matrix, got shape {Sy.shape}")
    m = _positive_int(m, "m")
    N = _positive_int(dataset_size, "dataset_size", 2)
    M = _positive_int(batch_size, "batch_size", 2)
    steps = _positive_int(steps, "steps")
    if M > N:
        raise ValueError(f"batch_size: must be <= dataset_size {N}, got {M}")
    for nm, v in (("lr", lr), ("lr_final", lr_final), ("disc_lr", disc_lr)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValueError(f"{nm}: expected a positive finite number, got {v!r}")
    if not 0 <= average_fraction < 1:
        raise ValueError(f"average_fraction: expected 0 <= value < 1, got {average_fraction!r}")

    with torch_threads(threads):
        n = Sy.shape[0]
        gen = torch.Generator().manual_seed(int(seed))
        Ly = torch.as_tensor(np.linalg.cholesky(Sy), dtype=torch.float64)
        Y = torch.randn(N, n, generator=gen, dtype=torch.float64) @ Ly.mT
        model = LinearGaussianVAE(LinearVAEConfig(n=n, m=m, batch=1)).set_data_scale(Sy)
        model.init_parameters([int(seed)])
        params = list(model.parameters())
        opt = torch.optim.Adam(params, lr=lr)
        D = dopt = None
        if name == "factor-vae":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed) + 1)
                D = Discriminator(m, hidden=disc_hidden, layers=disc_layers).double()
            dopt = torch.optim.Adam(D.parameters(), lr=disc_lr, betas=(0.5, 0.9))
        decay = (lr_final / lr) ** (1.0 / max(steps - 1, 1))
        avg_start = steps - int(round(average_fraction * steps))
        avg = [torch.zeros_like(p) for p in params]
        n_avg = 0
        perm, pos = torch.randperm(N, generator=gen), 0
        hist, window = [], []
        t0 = time.perf_counter()
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = lr * decay**step
            need = 2 * M if D is not None else M
            if pos + need > N:
                perm, pos = torch.randperm(N, generator=gen), 0
            idx = perm[pos : pos + need]
            pos += need
            y = Y[idx[:M]]
            eps = torch.randn(1, M, m, generator=gen, dtype=torch.float64)
            x, mu, yhat = model(y, eps)
            sz = model.sigma_z()  # (1, n)
            r = y - yhat
            nll = 0.5 * (
                (r * r / sz[:, None, :]).sum(-1) + n * _LOG_2PI + torch.log(sz).sum(-1)[:, None]
            )
            loss, terms = objective_loss(
                name,
                w,
                nll=nll,
                mu=mu,
                z=x,
                cov=model.Sigma_W(),
                dataset_size=N,
                estimator=estimator,
                discriminator=D,
                mse=(r * r).sum(-1),
            )
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
            if D is not None:
                with torch.no_grad():
                    eps2 = torch.randn(1, M, m, generator=gen, dtype=torch.float64)
                    z2 = model.encode(Y[idx[M:]], eps2)[0]
                dloss = discriminator_loss(D, x.detach()[0], permute_dims(z2, generator=gen))
                dopt.zero_grad()
                dloss.backward()
                dopt.step()
            if step >= avg_start:
                n_avg += 1
                with torch.no_grad():
                    for a, p in zip(avg, params):
                        a.add_(p.detach() - a, alpha=1.0 / n_avg)
            window.append(
                [float(loss.detach().sum())] + [float(v.detach().sum()) for v in terms.values()]
            )
            if (step + 1) % log_every == 0 or step == steps - 1:
                vals = np.mean(window, axis=0)
                se = float(np.std(np.array(window)[:, 0], ddof=1) / np.sqrt(len(window)))
                hist.append(
                    {
                        "step": step + 1,
                        "lr": lr * decay**step,
                        "loss": vals[0],
                        "loss_se": se if len(window) > 1 else float("nan"),
                        **dict(zip(terms, vals[1:])),
                    }
                )
                window = []
        if n_avg:
            with torch.no_grad():
                for a, p in zip(avg, params):
                    p.copy_(a)
        wall = time.perf_counter() - t0
        mats = {k: v[0] for k, v in model.matrices().items()}
        return ObjectiveTrainResult(
            name=name,
            weights=w,
            estimator=estimator,
            A=mats["A"],
            B=mats["B"],
            Sigma_Z=mats["Sigma_Z"],
            Sigma_W=mats["Sigma_W"],
            steps=steps,
            wall_time_s=wall,
            dataset_size=N,
            batch_size=M,
            history=pd.DataFrame(hist),
        )
