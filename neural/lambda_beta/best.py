"""The project's recipe for reaching the fixed point's loss: Adam on the whitened profile loss
of the encoder, then the optimal decoder.

The decoder is eliminated in closed form (for any encoder the optimal decoder is
``A = Σ_Y B^T Σ_X^{-1}``, ``Σ_Z = Σ_{Y|X}``, and then ``R = Σ_Z``), leaving the profile loss::

    L*(B, Σ_W) = 1/2 [n (1 + log 2π) + log|Σ_Y| + log|Σ_W| - log|Σ_X|]
               + β/2 [tr Σ_X - log|Σ_W| - m] + λ [tr Σ_Y - tr(Σ_X^{-1} B Σ_Y² B^T)],

minimised by Adam (one-cycle learning-rate schedule) in whitened coordinates
``B = B̃ Σ_Y^{-1/2}`` (so ``B Σ_Y B^T = B̃ B̃^T``: the data's 1e3 spread of variances no longer
conditions the problem) with ``Σ_W = L L^T``, ``L`` lower triangular with positive diagonal
``exp(ℓ)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from lingauss.scenarios import Scenario

from ..device import torch_threads
from .common import (
    LOG_2PI,
    batch_trace,
    history_buffers,
    member_weights,
    resolve_device_dtype,
    study_constants,
    training_record,
)

__all__ = ["BestRecipe", "train_best"]


@dataclass(frozen=True)
class BestRecipe:
    """The project's recipe: Adam on the whitened profile loss (see the module docstring).

    ``max_lr`` is the peak of a one-cycle schedule (warm-up over ``pct_start`` of the steps,
    cosine annealing down to ``max_lr / (div_factor · final_div_factor)``).
    """

    steps: int = 3_000
    max_lr: float = 0.03
    pct_start: float = 0.05
    div_factor: float = 25.0
    final_div_factor: float = 1e3


def _profile_loss(Bt, Lraw, c, beta, lam, sqrt_sy, ld_sy, n):
    """Profile λβ loss ``L*(B, Σ_W)`` in whitened coordinates ``B = B̃ Σ_Y^{-1/2}``."""
    m = Bt.shape[-2]
    L = torch.tril(Lraw, -1) + torch.diag_embed(torch.exp(torch.diagonal(Lraw, dim1=-2, dim2=-1)))
    Sw = L @ L.mT
    ldw = 2.0 * torch.diagonal(Lraw, dim1=-2, dim2=-1).sum(-1)
    Sx = Bt @ Bt.mT + Sw
    Cx = torch.linalg.cholesky(Sx)
    ldx = 2.0 * torch.log(torch.diagonal(Cx, dim1=-2, dim2=-1)).sum(-1)
    nll = 0.5 * (n * (1.0 + LOG_2PI) + ld_sy + ldw - ldx)
    kl = 0.5 * (batch_trace(Sx) - ldw - m)
    BS = Bt @ sqrt_sy  # B Σ_Y (whitened: B̃ Σ_Y^{1/2})
    mse = c["trSy"] - (torch.cholesky_solve(BS, Cx) * BS).sum((-2, -1))
    return nll + beta * kl + lam * mse, Sw, ldx - ldw


def train_best(
    sc: Scenario,
    beta,
    lam,
    B0,
    Sigma_W0,
    recipe: BestRecipe = BestRecipe(),
    *,
    dtype="float64",
    device="cpu",
    record_every: int | None = None,
    threads: int | None = 1,
    progress=None,
) -> dict:
    """The project's recipe: Adam on the whitened profile loss, then the optimal decoder.

    Parameters
    ----------
    sc : Scenario
        Only its ``Σ_Y`` enters (whitening, the profile loss, the optimal decoder).
    beta, lam : array_like, shape (P,)
        λβ weights per member.
    B0 : array_like, shape (P, m, n)
        Initial encoder matrix (the AdamW recipe's ``N(0, 1)`` draw in :func:`learned_study`).
    Sigma_W0 : array_like, shape (P, m, m)
        Initial encoder noise covariance (its Cholesky factor starts ``L``).
    recipe : BestRecipe
        Steps and the one-cycle schedule.
    dtype, device, record_every, threads, progress
        As in :func:`train_adamw`.

    Returns
    -------
    dict
        As :func:`train_adamw`; the kept iterate is the last one, with
        ``A = Σ_Y B^T Σ_X^{-1}`` and ``Σ_Z = Σ_Y - Σ_Y B^T Σ_X^{-1} B Σ_Y``.
    """
    with torch_threads(threads):
        dev, dt = resolve_device_dtype(device, dtype)
        c = study_constants(sc, dt, dev)
        ev, U = np.linalg.eigh(sc.Sigma_Y)
        sqrt_sy = (U * np.sqrt(ev)) @ U.T
        inv_sqrt = (U / np.sqrt(ev)) @ U.T
        ld_sy = float(np.sum(np.log(ev)))
        n = sc.n
        B0 = np.asarray(B0, dtype=float)
        P = B0.shape[0]
        L0 = np.linalg.cholesky(np.asarray(Sigma_W0, dtype=float))
        Lraw0 = np.tril(L0, -1) + np.log(np.diagonal(L0, axis1=-2, axis2=-1))[..., None] * np.eye(
            L0.shape[-1]
        )
        Bt = torch.tensor(B0 @ sqrt_sy, dtype=dt, device=dev, requires_grad=True)
        Lraw = torch.tensor(Lraw0, dtype=dt, device=dev, requires_grad=True)
        S = torch.tensor(sqrt_sy, dtype=dt, device=dev)
        beta_t, lam_t = member_weights(beta, lam, P, dt, dev)
        steps = int(recipe.steps)
        opt = torch.optim.Adam([Bt, Lraw], lr=recipe.max_lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=recipe.max_lr,
            total_steps=max(steps, 1),
            pct_start=recipe.pct_start,
            div_factor=recipe.div_factor,
            final_div_factor=recipe.final_div_factor,
        )
        every, loss_hist, mi_hist = history_buffers(steps, record_every, P)
        t0 = time.perf_counter()
        for step in range(steps + 1):
            loss, _, mi2 = _profile_loss(Bt, Lraw, c, beta_t, lam_t, S, ld_sy, n)
            if step % every == 0:
                loss_hist[step // every] = loss.detach().cpu().numpy()
                mi_hist[step // every] = 0.5 * mi2.detach().cpu().numpy()
                if progress is not None:
                    progress(step, steps)
            if step == steps:
                break
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            sched.step()
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            loss, Sw, _ = _profile_loss(Bt, Lraw, c, beta_t, lam_t, S, ld_sy, n)
        Bw = Bt.detach().double().cpu().numpy()
        Sw = Sw.detach().double().cpu().numpy()
        B = Bw @ inv_sqrt
        Sx = Bw @ np.swapaxes(Bw, -1, -2) + Sw
        SyBt = sc.Sigma_Y @ np.swapaxes(B, -1, -2)
        A = np.swapaxes(np.linalg.solve(Sx, np.swapaxes(SyBt, -1, -2)), -1, -2)
        Sz = sc.Sigma_Y - A @ np.swapaxes(SyBt, -1, -2)
        Sz = 0.5 * (Sz + np.swapaxes(Sz, -1, -2))
        kept = {
            "A": A,
            "B": B,
            "Sigma_Z": Sz,
            "Sigma_W": 0.5 * (Sw + np.swapaxes(Sw, -1, -2)),
            "loss": loss.detach().double().cpu().numpy(),
            "best_step": np.full(P, steps),
        }
        return training_record(
            kept, loss_hist, mi_hist, every, seconds, np.full(P, "max_steps"), dev, dt
        )
