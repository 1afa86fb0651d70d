"""The λβ study's AdamW recipe: the full model's loss with its analytic gradient, batched over
members, trained by AdamW with per-member gradient clipping; each member keeps its best iterate.

Parameters ``A, B`` and full (lower-triangular after each step) factors ``L_Z, L_W`` with
``Σ = L L^T + 5e-5 I``; AdamW (lr 1e-3, betas (0.9, 0.999), weight decay 0.01); per member, the
gradient norm of ``(A, B)`` and that of ``(L_Z, L_W)`` are clipped separately (as
``torch.nn.utils.clip_grad_norm_`` would for one member). The gradient is analytic (checked
against autograd in the tests): with ``Z = Σ_Z^{-1}``::

    ∂L/∂A = Z (A Σ_X - Σ_Y B^T) + 2λ (A Σ_X - Σ_Y B^T)
    ∂L/∂B = (A^T Z A) B Σ_Y - A^T Z Σ_Y + β B Σ_Y + 2λ (A^T A B Σ_Y - A^T Σ_Y)
    ∂L/∂L_W = 2 G_W L_W,  G_W = 1/2 A^T Z A + β/2 (I - Σ_W^{-1}) + λ A^T A
    ∂L/∂L_Z = 2 G_Z L_Z,  G_Z = 1/2 (Z - Z R Z)

and ``Σ_Y = Γ Σ_V Γ^T + σ² I`` makes every product with ``Σ_Y`` low-rank, so a step costs about
five ``n × n × n`` products per member instead of the ~16 that autograd performs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from lingauss.blahut_arimoto import make_spd_matrix_authors
from lingauss.scenarios import Scenario

from ..device import torch_threads
from .common import (
    LOG_2PI,
    batch_trace,
    history_buffers,
    member_weights,
    resolve_device_dtype,
    sigma_y_times,
    study_constants,
    training_record,
)

__all__ = [
    "AdamWRecipe",
    "STUDY_ADAMW",
    "adamw_initial_parameters",
    "adamw_loss_and_grad",
    "train_adamw",
]


@dataclass(frozen=True)
class AdamWRecipe:
    """The study's AdamW recipe (defaults: the common settings; see :data:`STUDY_ADAMW`)."""

    steps: int = 30_000
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.01
    clip_ab: float = 1.0
    clip_chol: float = 2.0
    jitter: float = 5e-5


#: The study's AdamW settings per ``n``.
STUDY_ADAMW: dict[int, AdamWRecipe] = {
    50: AdamWRecipe(steps=30_000, clip_ab=1.0, clip_chol=2.0),
    100: AdamWRecipe(steps=50_000, clip_ab=2.0, clip_chol=3.0),
}


def adamw_initial_parameters(n: int, m: int, inits: int, rng: np.random.Generator):
    """The study's AdamW initialisation: ``A, B ~ N(0, 1)``; ``Σ_Z``, ``Σ_W`` random SPD
    (scikit-learn's ``make_spd_matrix``), returned as their Cholesky factors.

    Returns
    -------
    A0 : ndarray, shape (inits, n, m)
    B0 : ndarray, shape (inits, m, n)
    LZ0 : ndarray, shape (inits, n, n)
    LW0 : ndarray, shape (inits, m, m)
    """
    if isinstance(inits, bool) or not isinstance(inits, int | np.integer) or inits < 1:
        raise ValueError(f"inits: must be a positive integer, got {inits!r}")
    A0 = rng.standard_normal((inits, n, m))
    B0 = rng.standard_normal((inits, m, n))
    LZ0 = np.linalg.cholesky(make_spd_matrix_authors(n, rng, size=inits))
    LW0 = np.linalg.cholesky(make_spd_matrix_authors(m, rng, size=inits))
    return A0, B0, LZ0, LW0


# --------------------------------------------------------------------- AdamW: loss + grad
def adamw_loss_and_grad(A, B, LZ, LW, c, beta, lam, jitter, *, grad: bool = True):
    """λβ loss of the full model and its analytic gradient (see the module docstring).

    Parameters
    ----------
    A, B, LZ, LW : Tensor, shapes (P, n, m), (P, m, n), (P, n, n), (P, m, m)
        ``Σ_Z = L_Z L_Z^T + jitter I``, ``Σ_W = L_W L_W^T + jitter I``; the factors are used as
        full matrices (the gradient has an upper triangle too, as autograd's would).
    c : dict
        Constants from the scenario (``Γ``, ``Γ Σ_V``, ``Σ_V``, ``σ²``, ``tr Σ_Y``).
    beta, lam : Tensor, shape (P,)

    Returns
    -------
    loss, nll, mi : Tensor, shape (P,)
        ``mi`` is ``I(X;Y) = 1/2 (log|Σ_X| - log|Σ_W|)``.
    grads : tuple of Tensors (gA, gB, gLZ, gLW) or None
    """
    P, n, m = A.shape
    dt, dev = A.dtype, A.device
    eye_n = torch.eye(n, dtype=dt, device=dev)
    eye_m = torch.eye(m, dtype=dt, device=dev)
    Sz = LZ @ LZ.mT + jitter * eye_n
    Cz, info_z = torch.linalg.cholesky_ex(Sz)
    Z = torch.cholesky_inverse(Cz)
    Sw = LW @ LW.mT + jitter * eye_m
    Cw, info_w = torch.linalg.cholesky_ex(Sw)
    Swi = torch.cholesky_inverse(Cw)
    ldz = 2.0 * torch.log(torch.diagonal(Cz, dim1=-2, dim2=-1)).sum(-1)
    ldw = 2.0 * torch.log(torch.diagonal(Cw, dim1=-2, dim2=-1)).sum(-1)
    SyBt = sigma_y_times(c, B.mT)  # Σ_Y B^T (P, n, m)
    BSyBt = B @ SyBt
    Sx = 0.5 * (BSyBt + BSyBt.mT) + Sw
    ZA = Z @ A
    ZG = Z @ c["G"]
    ZSyBt = Z @ SyBt
    AtZA = A.mT @ ZA
    AtA = A.mT @ A
    GtZG = c["G"].mT @ ZG
    tr_z_sy = (GtZG * c["SV"]).sum((-2, -1)) + c["sig2"] * batch_trace(Z)
    tr_zr = tr_z_sy - 2.0 * (A * ZSyBt).sum((-2, -1)) + (AtZA * Sx).sum((-2, -1))
    nll = 0.5 * (tr_zr + n * LOG_2PI + ldz)
    mse = c["trSy"] - 2.0 * (A * SyBt).sum((-2, -1)) + (AtA * Sx).sum((-2, -1))
    kl = 0.5 * (batch_trace(BSyBt) + batch_trace(Sw) - ldw - m)
    loss = nll + beta * kl + lam * mse
    # no host sync: a failed Cholesky marks the member's loss NaN without a branch
    bad = (info_z != 0) | (info_w != 0)
    loss = torch.where(bad, torch.full_like(loss, float("nan")), loss)
    Cx, _ = torch.linalg.cholesky_ex(Sx)
    mi = torch.log(torch.diagonal(Cx, dim1=-2, dim2=-1)).sum(-1) - 0.5 * ldw
    if not grad:
        return loss, nll, mi, None
    b3 = beta[:, None, None]
    l3 = lam[:, None, None]
    ASx = A @ Sx
    gA = ZA @ Sx - ZSyBt + 2.0 * l3 * (ASx - SyBt)
    BSy = SyBt.mT
    SyZA = sigma_y_times(c, ZA)
    SyA = sigma_y_times(c, A)
    gB = AtZA @ BSy - SyZA.mT + b3 * BSy + 2.0 * l3 * (AtA @ BSy - SyA.mT)
    GW = 0.5 * AtZA + 0.5 * b3 * (eye_m - Swi) + l3 * AtA
    gLW = 2.0 * (0.5 * (GW + GW.mT)) @ LW
    # 2 G_Z L_Z = Z L - Z R Z L, with Z R Z = ZG Σ_V ZG^T + σ² Z Z - ZA (ZΣ_YB^T)^T
    #             - (ZΣ_YB^T) ZA^T + ZA Σ_X ZA^T
    ZL = Z @ LZ
    GtL = ZG.mT @ LZ
    AtL = ZA.mT @ LZ
    StL = ZSyBt.mT @ LZ
    ZRZL = ZG @ (c["SV"] @ GtL) + c["sig2"] * (Z @ ZL) + ZA @ (Sx @ AtL - StL) - ZSyBt @ AtL
    gLZ = ZL - ZRZL
    return loss, nll, mi, (gA, gB, gLZ, gLW)


def _clip_(grads, max_norm):
    """Scale each member's gradients so their joint norm is at most ``max_norm``."""
    sq = sum(g.square().sum((-2, -1)) for g in grads)
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)[:, None, None]
    for g in grads:
        g.mul_(coef)


def train_adamw(
    sc: Scenario,
    beta,
    lam,
    params0,
    recipe: AdamWRecipe,
    *,
    dtype="float64",
    device="cpu",
    record_every: int | None = None,
    threads: int | None = 1,
    progress=None,
) -> dict:
    """Train ``P`` members with the study's AdamW recipe; keep each member's best iterate.

    Parameters
    ----------
    sc : Scenario
        Its ``Γ``, ``Σ_V`` and ``σ²`` give every product with ``Σ_Y`` in low rank.
    beta, lam : array_like, shape (P,)
        λβ weights per member.
    params0 : tuple of arrays (A0, B0, LZ0, LW0), leading dimension P
    recipe : AdamWRecipe
    dtype, device : torch dtype/device requests (:mod:`neural.device`).
    record_every : int, optional
        Record loss and ``I(X;Y)`` every this many steps (default ``steps // 500``).
    threads : int or None
        Intra-op torch threads while training (:func:`neural.device.torch_threads`).
    progress : callable, optional
        Called as ``progress(step, steps)`` at every record.

    Returns
    -------
    dict
        ``A, B, Sigma_Z, Sigma_W, loss, best_step, loss_history, mi_history, record_every,
        seconds, stop_reason`` (numpy).
    """
    with torch_threads(threads):
        dev, dt = resolve_device_dtype(device, dtype)
        c = study_constants(sc, dt, dev)
        A, B, LZ, LW = (torch.tensor(np.asarray(x), dtype=dt, device=dev) for x in params0)
        P = A.shape[0]
        beta_t, lam_t = member_weights(beta, lam, P, dt, dev)
        for p in (A, B, LZ, LW):
            p.requires_grad_(True)
        opt = torch.optim.AdamW(
            [A, B, LZ, LW],
            lr=recipe.lr,
            betas=recipe.betas,
            eps=recipe.eps,
            weight_decay=recipe.weight_decay,
        )
        steps = int(recipe.steps)
        every, loss_hist, mi_hist = history_buffers(steps, record_every, P)
        best = [x.detach().clone() for x in (A, B, LZ, LW)]
        best_loss = torch.full((P,), float("inf"), dtype=dt, device=dev)
        best_step = torch.zeros(P, dtype=torch.long, device=dev)
        alive = torch.ones(P, dtype=torch.bool, device=dev)
        t0 = time.perf_counter()
        for step in range(steps + 1):
            with torch.no_grad():
                loss, _, mi, grads = adamw_loss_and_grad(
                    A, B, LZ, LW, c, beta_t, lam_t, recipe.jitter, grad=step < steps
                )
                finite = torch.isfinite(loss)
                alive &= finite
                better = alive & (loss < best_loss)
                # masked copies rather than a data-dependent branch: no host-device sync per step
                b3 = better[:, None, None]
                for dst, src in zip(best, (A, B, LZ, LW)):
                    torch.where(b3, src.detach(), dst, out=dst)
                best_loss = torch.where(better, loss, best_loss)
                best_step = torch.where(better, torch.full_like(best_step, step), best_step)
                if step % every == 0:
                    r = step // every
                    loss_hist[r] = loss.cpu().numpy()
                    mi_hist[r] = mi.cpu().numpy()
                    if progress is not None:
                        progress(step, steps)
                if step == steps:
                    break
                gA, gB, gLZ, gLW = grads
                keep = alive[:, None, None]
                for g in grads:
                    torch.where(keep, g, torch.zeros((), dtype=dt, device=dev), out=g)
                    torch.nan_to_num_(g, nan=0.0, posinf=0.0, neginf=0.0)
                _clip_((gA, gB), recipe.clip_ab)
                _clip_((gLZ, gLW), recipe.clip_chol)
                A.grad, B.grad, LZ.grad, LW.grad = gA, gB, gLZ, gLW
            opt.step()
            with torch.no_grad():
                LZ.tril_()
                LW.tril_()
        seconds = time.perf_counter() - t0
        bA, bB, bLZ, bLW = best
        n, m = bA.shape[-2], bA.shape[-1]
        Sz = bLZ @ bLZ.mT + recipe.jitter * torch.eye(n, dtype=dt, device=dev)
        Sw = bLW @ bLW.mT + recipe.jitter * torch.eye(m, dtype=dt, device=dev)
        to = lambda x: x.detach().double().cpu().numpy()  # noqa: E731
        kept = {
            "A": to(bA),
            "B": to(bB),
            "Sigma_Z": to(Sz),
            "Sigma_W": to(Sw),
            "loss": to(best_loss),
            "best_step": best_step.cpu().numpy(),
        }
        return training_record(
            kept,
            loss_hist,
            mi_hist,
            every,
            seconds,
            np.where(alive.cpu().numpy(), "max_steps", "nonfinite"),
            dev,
            dt,
        )
