"""The learned half of the λβ study: the study's AdamW recipe, a best-effort recipe, and the
Procrustes explanation of the metric gaps.

Both recipes minimise the closed-form λβ loss of the linear-Gaussian model (reference
``lambda-beta-linear-study.md``)::

    L = NLL + β KL + λ MSE,
    NLL = 1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|],   KL = 1/2 [tr Σ_X - log|Σ_W| - m],
    MSE = tr R,   R = Σ_Y - A B Σ_Y - Σ_Y B^T A^T + A Σ_X A^T,   Σ_X = B Σ_Y B^T + Σ_W,

batched over the (β, λ) cells × initialisations (``P`` members; every operation acts per member,
so batching changes nothing in any member's trajectory).

* :func:`train_adamw` is the study's recipe: parameters ``A, B`` and full (lower-triangular
  after each step) factors ``L_Z, L_W`` with ``Σ = L L^T + 5e-5 I``; AdamW (lr 1e-3, betas
  (0.9, 0.999), weight decay 0.01); per member, the gradient norm of ``(A, B)`` and that of
  ``(L_Z, L_W)`` are clipped separately (as ``torch.nn.utils.clip_grad_norm_`` would for one
  member); the iterate with the lowest loss is kept. The gradient is analytic (checked against
  autograd in the tests): with ``Z = Σ_Z^{-1}``::

      ∂L/∂A = Z (A Σ_X - Σ_Y B^T) + 2λ (A Σ_X - Σ_Y B^T)
      ∂L/∂B = (A^T Z A) B Σ_Y - A^T Z Σ_Y + β B Σ_Y + 2λ (A^T A B Σ_Y - A^T Σ_Y)
      ∂L/∂L_W = 2 G_W L_W,  G_W = 1/2 A^T Z A + β/2 (I - Σ_W^{-1}) + λ A^T A
      ∂L/∂L_Z = 2 G_Z L_Z,  G_Z = 1/2 (Z - Z R Z)

  and ``Σ_Y = Γ Σ_V Γ^T + σ² I`` makes every product with ``Σ_Y`` low-rank, so a step costs
  about five ``n × n × n`` products per member instead of the ~16 that autograd performs.
* :func:`train_best` is the project's recipe for reaching the fixed point's loss: the decoder
  is eliminated in closed form (for any encoder the optimal decoder is ``A = Σ_Y B^T Σ_X^{-1}``,
  ``Σ_Z = Σ_{Y|X}``, and then ``R = Σ_Z``), leaving the profile loss of the encoder::

      L*(B, Σ_W) = 1/2 [n (1 + log 2π) + log|Σ_Y| + log|Σ_W| - log|Σ_X|]
                 + β/2 [tr Σ_X - log|Σ_W| - m] + λ [tr Σ_Y - tr(Σ_X^{-1} B Σ_Y² B^T)],

  which is minimised by Adam (one-cycle learning-rate schedule) in whitened coordinates
  ``B = B̃ Σ_Y^{-1/2}`` (so ``B Σ_Y B^T = B̃ B̃^T``: the data's 1e3 spread of variances no longer
  conditions the problem) with ``Σ_W = L L^T``, ``L`` lower triangular with positive diagonal
  ``exp(ℓ)``. The decoder is then set to its optimum.
* :func:`explain_gap` aligns each learned encoder to the fixed-point one of the same cell by an
  orthogonal Procrustes rotation of the latent space (the loss is invariant under
  ``X → Q X``; the metrics are not) and splits each metric gap into a rotation part and a
  different-solution part, beside the loss gap.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from lingauss.blahut_arimoto import classify_regime, make_spd_matrix_authors
from lingauss.scenarios import Scenario
from lingauss.study import (
    STUDY_BETAS,
    STUDY_LAMS,
    FixedPointGrid,
    evaluate_solutions,
    expected_regime,
    study_scenario,
)

__all__ = [
    "AdamWRecipe",
    "STUDY_ADAMW",
    "BestRecipe",
    "LearnedRun",
    "adamw_initial_parameters",
    "adamw_loss_and_grad",
    "train_adamw",
    "train_best",
    "learned_study",
    "learned_frame",
    "save_history",
    "classify_learned_regime",
    "LEARNED_COLLAPSE_NATS",
    "LEARNED_FLOOR_FACTOR",
    "procrustes_rotation",
    "rotate_encoder",
    "explain_gap",
    "summarize_explanation",
]

_LOG_2PI = math.log(2.0 * math.pi)


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


@dataclass(frozen=True)
class LearnedRun:
    """Result of a batched training run (``P`` members, numpy arrays on the original scale).

    Attributes
    ----------
    scenario : Scenario
    method : str
        ``"adamw"`` or ``"best"``.
    beta, lam : ndarray, shape (P,)
    init : ndarray of int, shape (P,)
    A, B, Sigma_Z, Sigma_W : ndarray
        The kept iterate: the lowest-loss one (AdamW) or the last one (best).
    loss : ndarray, shape (P,)
        λβ loss at the kept iterate.
    best_step : ndarray of int, shape (P,)
        Step of the kept iterate (0 = the initial parameters).
    steps : int
    seconds : float
        Wall time of the training loop.
    loss_history, mi_history : ndarray, shape (records, P)
        Loss and ``I(X;Y)`` every ``record_every`` steps.
    stop_reason : ndarray of str, shape (P,)
        ``"max_steps"``, or ``"nonfinite"`` for a member whose loss stopped being finite
        (its kept iterate is the last finite one).
    device, dtype : str
        Where and in which precision the training ran (e.g. ``"cuda:0"``, ``"float64"``).
    jitter : float
        The floor ``Σ = L L^T + jitter I`` of the AdamW parameterisation (0 for the best recipe).
    """

    scenario: Scenario = field(repr=False)
    method: str
    beta: np.ndarray
    lam: np.ndarray
    init: np.ndarray
    A: np.ndarray = field(repr=False)
    B: np.ndarray = field(repr=False)
    Sigma_Z: np.ndarray = field(repr=False)
    Sigma_W: np.ndarray = field(repr=False)
    loss: np.ndarray
    best_step: np.ndarray
    steps: int
    seconds: float
    loss_history: np.ndarray = field(repr=False)
    mi_history: np.ndarray = field(repr=False)
    record_every: int
    stop_reason: np.ndarray
    device: str = "cpu"
    dtype: str = "float64"
    jitter: float = 0.0

    def __len__(self) -> int:
        return self.beta.size


# --------------------------------------------------------------------------------- set-up
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


def _grid(betas, lams, K):
    betas = np.asarray(betas, dtype=float).ravel()
    lams = np.asarray(lams, dtype=float).ravel()
    if betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas <= 0):
        raise ValueError(f"betas: must be a non-empty list of positive numbers, got {betas}")
    if lams.size == 0 or not np.all(np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError(f"lams: must be a non-empty list of numbers >= 0, got {lams}")
    bb, ll = (x.ravel() for x in np.meshgrid(betas, lams, indexing="ij"))
    return np.repeat(bb, K), np.repeat(ll, K), np.tile(np.arange(K), bb.size)


def _consts(sc: Scenario, dtype, device):
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # noqa: E731
    return {
        "G": t(sc.Gamma),
        "GSV": t(sc.Gamma @ sc.Sigma_V),
        "SV": t(sc.Sigma_V),
        "sig2": float(sc.noise_var),
        "trSy": float(np.trace(sc.Sigma_Y)),
        "Sy": t(sc.Sigma_Y),
    }


def _tr(M):
    return torch.diagonal(M, dim1=-2, dim2=-1).sum(-1)


def _sy_times(c, X):
    """``Σ_Y X`` for a stack ``X (P, n, k)``, using ``Σ_Y = Γ Σ_V Γ^T + σ² I``."""
    return c["GSV"] @ (c["G"].mT @ X) + c["sig2"] * X


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
    SyBt = _sy_times(c, B.mT)  # Σ_Y B^T (P, n, m)
    BSyBt = B @ SyBt
    Sx = 0.5 * (BSyBt + BSyBt.mT) + Sw
    ZA = Z @ A
    ZG = Z @ c["G"]
    ZSyBt = Z @ SyBt
    AtZA = A.mT @ ZA
    AtA = A.mT @ A
    GtZG = c["G"].mT @ ZG
    tr_z_sy = (GtZG * c["SV"]).sum((-2, -1)) + c["sig2"] * _tr(Z)
    tr_zr = tr_z_sy - 2.0 * (A * ZSyBt).sum((-2, -1)) + (AtZA * Sx).sum((-2, -1))
    nll = 0.5 * (tr_zr + n * _LOG_2PI + ldz)
    mse = c["trSy"] - 2.0 * (A * SyBt).sum((-2, -1)) + (AtA * Sx).sum((-2, -1))
    kl = 0.5 * (_tr(BSyBt) + _tr(Sw) - ldw - m)
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
    SyZA = _sy_times(c, ZA)
    SyA = _sy_times(c, A)
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


@contextlib.contextmanager
def _threads(k: int | None):
    """Run with ``k`` intra-op torch threads (``None``: leave torch's setting alone).

    The batched steps are many small kernels: on a shared CPU one thread is several times faster
    than torch's default pool (measured in ``benchmarks/bench_study.py``).
    """
    if k is None:
        yield
        return
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"threads: must be a positive integer or None, got {k!r}")
    old = torch.get_num_threads()
    torch.set_num_threads(k)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _resolve(device, dtype):
    from .device import resolve_device, resolve_dtype

    return resolve_device(device), resolve_dtype(dtype)


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
    beta, lam : array_like, shape (P,)
        λβ weights per member.
    params0 : tuple of arrays (A0, B0, LZ0, LW0), leading dimension P
    recipe : AdamWRecipe
    dtype, device : torch dtype/device requests (:mod:`neural.device`).
    record_every : int, optional
        Record loss and ``I(X;Y)`` every this many steps (default ``steps // 500``).
    progress : callable, optional
        Called as ``progress(step, steps)`` at every record.

    Returns
    -------
    dict
        ``A, B, Sigma_Z, Sigma_W, loss, best_step, loss_history, mi_history, record_every,
        seconds, stop_reason`` (numpy).
    """
    with _threads(threads):
        dev, dt = _resolve(device, dtype)
        c = _consts(sc, dt, dev)
        A, B, LZ, LW = (torch.tensor(np.asarray(x), dtype=dt, device=dev) for x in params0)
        P = A.shape[0]
        beta_t = torch.as_tensor(np.broadcast_to(beta, (P,)).copy(), dtype=dt, device=dev)
        lam_t = torch.as_tensor(np.broadcast_to(lam, (P,)).copy(), dtype=dt, device=dev)
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
        every = int(record_every or max(1, steps // 500))
        n_rec = steps // every + 1
        loss_hist = np.full((n_rec, P), np.nan)
        mi_hist = np.full((n_rec, P), np.nan)
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
        return {
            "A": to(bA),
            "B": to(bB),
            "Sigma_Z": to(Sz),
            "Sigma_W": to(Sw),
            "loss": to(best_loss),
            "best_step": best_step.cpu().numpy(),
            "loss_history": loss_hist,
            "mi_history": mi_hist,
            "record_every": every,
            "seconds": seconds,
            "stop_reason": np.where(alive.cpu().numpy(), "max_steps", "nonfinite"),
            "device": str(dev),
            "dtype": str(dt),
        }


# ------------------------------------------------------------------------ the best recipe
def _profile_loss(Bt, Lraw, c, beta, lam, sqrt_sy, ld_sy, n):
    """Profile λβ loss ``L*(B, Σ_W)`` in whitened coordinates ``B = B̃ Σ_Y^{-1/2}``."""
    m = Bt.shape[-2]
    L = torch.tril(Lraw, -1) + torch.diag_embed(torch.exp(torch.diagonal(Lraw, dim1=-2, dim2=-1)))
    Sw = L @ L.mT
    ldw = 2.0 * torch.diagonal(Lraw, dim1=-2, dim2=-1).sum(-1)
    Sx = Bt @ Bt.mT + Sw
    Cx = torch.linalg.cholesky(Sx)
    ldx = 2.0 * torch.log(torch.diagonal(Cx, dim1=-2, dim2=-1)).sum(-1)
    nll = 0.5 * (n * (1.0 + _LOG_2PI) + ld_sy + ldw - ldx)
    kl = 0.5 * (_tr(Sx) - ldw - m)
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
    beta, lam : array_like, shape (P,)
    B0 : array_like, shape (P, m, n)
        Initial encoder matrix (the AdamW recipe's ``N(0, 1)`` draw in :func:`learned_study`).
    Sigma_W0 : array_like, shape (P, m, m)
    recipe : BestRecipe

    Returns
    -------
    dict
        As :func:`train_adamw`; the kept iterate is the last one, with
        ``A = Σ_Y B^T Σ_X^{-1}`` and ``Σ_Z = Σ_Y - Σ_Y B^T Σ_X^{-1} B Σ_Y``.
    """
    with _threads(threads):
        dev, dt = _resolve(device, dtype)
        c = _consts(sc, dt, dev)
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
        beta_t = torch.as_tensor(np.broadcast_to(beta, (P,)).copy(), dtype=dt, device=dev)
        lam_t = torch.as_tensor(np.broadcast_to(lam, (P,)).copy(), dtype=dt, device=dev)
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
        every = int(record_every or max(1, steps // 500))
        n_rec = steps // every + 1
        loss_hist = np.full((n_rec, P), np.nan)
        mi_hist = np.full((n_rec, P), np.nan)
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
        return {
            "A": A,
            "B": B,
            "Sigma_Z": Sz,
            "Sigma_W": 0.5 * (Sw + np.swapaxes(Sw, -1, -2)),
            "loss": loss.detach().double().cpu().numpy(),
            "best_step": np.full(P, steps),
            "loss_history": loss_hist,
            "mi_history": mi_hist,
            "record_every": every,
            "seconds": seconds,
            "stop_reason": np.full(P, "max_steps"),
            "device": str(dev),
            "dtype": str(dt),
        }


# ------------------------------------------------------------------------- the study
def learned_study(
    n: int | Scenario = 50,
    inits: int = 5,
    *,
    method: str = "adamw",
    seed: int | None = 0,
    betas: Sequence[float] = STUDY_BETAS,
    lams: Sequence[float] = STUDY_LAMS,
    steps: int | None = None,
    dtype="float64",
    device="cpu",
    threads: int | None = 1,
    progress=None,
) -> LearnedRun:
    """Train every (β, λ) cell from the same ``inits`` initialisations, all in one batch.

    Parameters
    ----------
    n : {50, 100} or Scenario
    inits : int
        Initialisations per cell (the study: 50), shared by all cells.
    method : {"adamw", "best"}
        The study's AdamW recipe (:data:`STUDY_ADAMW`, ``n = 50`` settings for other
        scenarios) or the project's :class:`BestRecipe`.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the initialisations (both methods start from
        the same ``B``, ``Σ_W`` draws).
    steps : int, optional
        Override the recipe's number of steps (e.g. for a quick look; then it is not the
        study's protocol).
    dtype, device : torch dtype and device requests (:mod:`neural.device`).
    threads : int or None
        Intra-op torch threads during training (default 1; ``None`` keeps torch's setting).
    progress : callable, optional
        ``progress(step, steps)``, called at every record.

    Returns
    -------
    LearnedRun
        Use :func:`learned_frame` for the tidy table.
    """
    if method not in ("adamw", "best"):
        raise ValueError(f"method: expected 'adamw' or 'best', got {method!r}")
    sc = n if isinstance(n, Scenario) else study_scenario(n)
    rng = np.random.default_rng(seed)
    A0, B0, LZ0, LW0 = adamw_initial_parameters(sc.n, sc.m, inits, rng)
    beta, lam, init = _grid(betas, lams, int(inits))
    cells = beta.size // int(inits)
    recipe, out = _train(
        sc, method, beta, lam, cells, A0, B0, LZ0, LW0, steps, dtype, device, threads, progress
    )
    return LearnedRun(
        scenario=sc,
        method=method,
        beta=beta,
        lam=lam,
        init=init,
        A=out["A"],
        B=out["B"],
        Sigma_Z=out["Sigma_Z"],
        Sigma_W=out["Sigma_W"],
        loss=out["loss"],
        best_step=out["best_step"],
        steps=int(recipe.steps),
        seconds=float(out["seconds"]),
        loss_history=out["loss_history"],
        mi_history=out["mi_history"],
        record_every=int(out["record_every"]),
        stop_reason=np.asarray(out["stop_reason"]).astype(str),
        device=str(out["device"]),
        dtype=str(out["dtype"]).removeprefix("torch."),
        jitter=float(getattr(recipe, "jitter", 0.0)),
    )


def _train(sc, method, beta, lam, cells, A0, B0, LZ0, LW0, steps, dtype, device, threads, progress):
    tile = lambda x: np.tile(x, (cells, 1, 1))  # noqa: E731
    if method == "adamw":
        recipe = STUDY_ADAMW.get(sc.n, STUDY_ADAMW[50])
        if steps is not None:
            recipe = replace(recipe, steps=_check_steps(steps))
        out = train_adamw(
            sc,
            beta,
            lam,
            (tile(A0), tile(B0), tile(LZ0), tile(LW0)),
            recipe,
            dtype=dtype,
            device=device,
            threads=threads,
            progress=progress,
        )
    else:
        recipe = BestRecipe() if steps is None else BestRecipe(steps=_check_steps(steps))
        Sw0 = LW0 @ np.swapaxes(LW0, -1, -2)
        out = train_best(
            sc,
            beta,
            lam,
            tile(B0),
            tile(Sw0),
            recipe,
            dtype=dtype,
            device=device,
            threads=threads,
            progress=progress,
        )
    return recipe, out


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps: must be a positive integer, got {steps!r}")
    return int(steps)


#: A learned run whose kept iterate carries at most this much ``I(X;Y)`` (nats) is collapsed.
#: AdamW's constant-size steps keep a collapsed encoder jittering at 1e-6 to 1e-4 nats (measured
#: on the study grid); every informative solution of the study carries more than 2 nats.
LEARNED_COLLAPSE_NATS = 1e-3
#: An AdamW run whose smallest eigenvalue of ``Σ_W`` is within this factor of the
#: parameterisation's floor (``Σ_W = L L^T + jitter I``) is held there by the floor, not by the
#: loss: the signature of a loss with no minimum (``Σ_W → 0``).
LEARNED_FLOOR_FACTOR = 10.0


def classify_learned_regime(
    mi_xy: float,
    min_eig_sigma_w: float,
    jitter: float,
    mi_history=None,
) -> str:
    """Regime of a gradient-trained member from its kept iterate.

    * ``collapsed``: ``I(X;Y) <= LEARNED_COLLAPSE_NATS``;
    * ``divergent``: with a floor (``jitter > 0``, the AdamW recipe), the smallest eigenvalue of
      ``Σ_W`` is at most ``LEARNED_FLOOR_FACTOR · jitter``: the run presses against
      ``Σ_W ⪰ jitter·I``, which an interior stationary point (whose ``Σ_W`` does not depend on
      the jitter) does not do. Without a floor (the best recipe), the BA trajectory test
      :func:`lingauss.blahut_arimoto.classify_regime` on the ``I(X;Y)`` record;
    * ``interior`` otherwise.

    The floor test is a threshold, not a proof: a true minimum whose ``Σ_W`` has an
    eigenvalue below ``LEARNED_FLOOR_FACTOR · jitter`` would be read as divergent. On the
    study's grid the smallest such eigenvalue at a minimum is 2e-3 (40× the jitter) and the
    largest at the floor 3e-4 (6×), both n (``results/lambda_beta_cuda/``); compare
    ``expected_regime`` where in doubt.

    The BA rule alone misreads AdamW: its constant-size steps make ``I(X;Y)`` fluctuate by
    ~0.01 nats around an interior optimum (read as "still rising") and by tens of percent at the
    floor (read as "not rising"). No convergence is claimed either way.
    """
    if not np.isfinite(mi_xy):
        return "nonfinite"
    if mi_xy <= LEARNED_COLLAPSE_NATS:
        return "collapsed"
    if jitter > 0:
        return "divergent" if min_eig_sigma_w <= LEARNED_FLOOR_FACTOR * jitter else "interior"
    if mi_history is None:
        return "interior"
    h = np.asarray(mi_history, dtype=float)
    return classify_regime(h[np.isfinite(h)], False)


def save_history(run: LearnedRun, path) -> None:
    """Write a run's trajectories and kept-iterate diagnostics to ``path`` (``.npz``).

    Keys: ``beta, lam, init, loss, best_step, stop_reason`` (per member), ``loss_history,
    mi_history`` (records × members), ``record_every, steps, seconds, method, device, dtype,
    jitter, scenario``. The encoders are not stored (``Σ_Z`` alone is ``P n²`` numbers);
    retrain from the seed to get them. The file is written to a temporary name first and
    renamed, so a failure leaves nothing half-written.
    """
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(
            tmp,
            beta=run.beta,
            lam=run.lam,
            init=run.init,
            loss=run.loss,
            best_step=run.best_step,
            stop_reason=run.stop_reason.astype(str),
            loss_history=run.loss_history,
            mi_history=run.mi_history,
            record_every=run.record_every,
            steps=run.steps,
            seconds=run.seconds,
            method=run.method,
            device=run.device,
            dtype=run.dtype,
            jitter=run.jitter,
            scenario=run.scenario.name,
        )
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def learned_frame(run: LearnedRun) -> pd.DataFrame:
    """The tidy table of a :class:`LearnedRun`, with the columns of
    :func:`lingauss.study.fixed_point_study` (``half_steps`` replaced by ``steps`` and
    ``best_step``), ready for :func:`lingauss.study.summarize_study`.

    ``regime`` comes from the kept iterate (:func:`classify_learned_regime`; a gradient run has
    no convergence test, so ``converged`` is False throughout).
    """
    sc = run.scenario
    ev = evaluate_solutions(sc, run.A, run.B, run.Sigma_Z, run.Sigma_W, run.beta, run.lam)
    from lingauss.gaussian import entropy

    df = pd.DataFrame(
        {
            "method": run.method,
            "stop_rule": "steps",
            "n": sc.n,
            "beta": run.beta,
            "lam": run.lam,
            "init": run.init,
        }
    )
    df = pd.concat([df, ev], axis=1)
    df["h_y"] = float(entropy(sc.Sigma_Y))
    df["regime"] = [
        classify_learned_regime(mi, eig, run.jitter, run.mi_history[:, p])
        for p, (mi, eig) in enumerate(zip(ev.mi_xy, ev.min_eig_sigma_w))
    ]
    df["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(run.beta, run.lam)]
    df["stop_reason"] = run.stop_reason
    df["converged"] = False
    df["steps"] = run.steps
    df["best_step"] = run.best_step
    return df


# ----------------------------------------------------------------- Procrustes explanation
def procrustes_rotation(B_from, B_to, Sigma_Y=None) -> np.ndarray:
    """Orthogonal ``Q`` minimising ``E||Q B_from y - B_to y||² = ||(Q B_from - B_to) Σ_Y^½||_F²``.

    ``Q = U V^T`` with ``U S V^T = svd(B_to Σ_Y B_from^T)`` (orthogonal Procrustes on the latent
    means, weighted by the data covariance; ``Σ_Y = I`` when omitted). Batched over leading
    dimensions.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> B = rng.standard_normal((3, 5))
    >>> Q0, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    >>> bool(np.allclose(procrustes_rotation(B, Q0 @ B), Q0))
    True
    """
    B_from = np.asarray(B_from, dtype=float)
    B_to = np.asarray(B_to, dtype=float)
    if B_from.shape[-2:] != B_to.shape[-2:]:
        raise ValueError(f"B_to: expected shape (..., {B_from.shape[-2:]}), got {B_to.shape}")
    M = (
        B_to @ np.swapaxes(B_from, -1, -2)
        if Sigma_Y is None
        else (B_to @ np.asarray(Sigma_Y, dtype=float) @ np.swapaxes(B_from, -1, -2))
    )
    U, _, Vt = np.linalg.svd(M)
    return U @ Vt


def rotate_encoder(Q, A, B, Sigma_Z, Sigma_W):
    """The same model with latents ``X' = Q X``: ``(A Q^T, Q B, Σ_Z, Q Σ_W Q^T)``.

    The prior ``N(0, I)`` is rotation invariant, so every loss term is unchanged.
    """
    Qt = np.swapaxes(Q, -1, -2)
    Sw = Q @ Sigma_W @ Qt
    return A @ Qt, Q @ B, Sigma_Z, 0.5 * (Sw + np.swapaxes(Sw, -1, -2))


def explain_gap(run: LearnedRun, fixed: FixedPointGrid) -> pd.DataFrame:
    """Split each learned–fixed-point metric gap into rotation and different-solution parts.

    For learned member ``p`` (cell ``(β, λ)``, initialisation ``k``) the reference is the
    fixed-point solution of the same cell from initialisation ``k mod K_fp``. With ``Q`` the
    Procrustes rotation of the learned encoder onto the reference (:func:`procrustes_rotation`,
    ``Σ_Y``-weighted) and ``M`` a metric (SAP, matched MI)::

        M(learned) - M(fp) = [M(learned) - M(Q·learned)] + [M(Q·learned) - M(fp)]
                              rotation part                 solution part

    ``Q·learned`` has exactly the learned loss; the solution part is what no rotation can
    remove, and goes with ``loss_gap = L(learned) - L(fp)`` and the alignment residual
    ``||(Q B_l - B_fp) Σ_Y^{1/2}||_F / max(||B_fp Σ_Y^{1/2}||_F, ||B_l Σ_Y^{1/2}||_F)`` (0 when
    the two encoders are the same solution up to rotation).

    Returns
    -------
    pandas.DataFrame
        One row per learned member: ``method, n, beta, lam, init, expected_regime``,
        ``loss_learned, loss_fp, loss_gap, recon_learned, recon_fp, recon_gap``, and for
        ``M`` in ``sap, matched_mi``: ``M_learned, M_fp, M_aligned, M_gap, M_rotation,
        M_solution``; ``alignment_residual``.
    """
    sc = run.scenario
    if fixed.scenario.n != sc.n:
        raise ValueError(f"fixed: n = {fixed.scenario.n} does not match the learned n = {sc.n}")
    K_fp = int(fixed.init.max()) + 1
    ref = np.empty(len(run), dtype=int)
    for p in range(len(run)):
        hit = np.flatnonzero(
            (fixed.beta == run.beta[p])
            & (fixed.lam == run.lam[p])
            & (fixed.init == run.init[p] % K_fp)
        )
        if hit.size != 1:
            raise ValueError(
                f"fixed: no fixed-point solution for beta={run.beta[p]}, lam={run.lam[p]}"
            )
        ref[p] = hit[0]
    fA, fB, fSz, fSw = fixed.full_parameters(ref)
    Q = procrustes_rotation(run.B, fB, sc.Sigma_Y)
    rA, rB, rSz, rSw = rotate_encoder(Q, run.A, run.B, run.Sigma_Z, run.Sigma_W)
    learned = evaluate_solutions(sc, run.A, run.B, run.Sigma_Z, run.Sigma_W, run.beta, run.lam)
    aligned = evaluate_solutions(sc, rA, rB, rSz, rSw, run.beta, run.lam)
    fp = fixed.metrics.iloc[ref].reset_index(drop=True)
    ev, U = np.linalg.eigh(sc.Sigma_Y)
    S = (U * np.sqrt(ev)) @ U.T
    diff = np.linalg.norm((rB - fB) @ S, axis=(-2, -1))
    scale = np.maximum(
        np.linalg.norm(fB @ S, axis=(-2, -1)), np.linalg.norm(run.B @ S, axis=(-2, -1))
    )
    out = pd.DataFrame(
        {
            "method": run.method,
            "n": sc.n,
            "beta": run.beta,
            "lam": run.lam,
            "init": run.init,
            "expected_regime": [expected_regime(b, lm) for b, lm in zip(run.beta, run.lam)],
            "loss_learned": learned.loss,
            "loss_fp": fp.loss,
            "loss_gap": learned.loss - fp.loss,
            "recon_learned": learned.recon,
            "recon_fp": fp.recon,
            "recon_gap": learned.recon - fp.recon,
        }
    )
    for metric in ("sap", "matched_mi"):
        out[f"{metric}_learned"] = learned[metric]
        out[f"{metric}_fp"] = fp[metric]
        out[f"{metric}_aligned"] = aligned[metric]
        out[f"{metric}_gap"] = learned[metric] - fp[metric]
        out[f"{metric}_rotation"] = learned[metric] - aligned[metric]
        out[f"{metric}_solution"] = aligned[metric] - fp[metric]
    out["alignment_residual"] = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), 0.0)
    return out


#: A loss gap below this (nats, relative to ``1 + |L|``) counts as "the same loss".
LOSS_GAP_RTOL = 1e-6
#: A metric gap counts as explained by rotation when what the rotation leaves is at most this
#: fraction of it, or below ``EXPLAINED_ATOL`` (SAP and matched MI are O(0.1-1)).
EXPLAINED_RTOL = 0.1
EXPLAINED_ATOL = 1e-3


def summarize_explanation(df: pd.DataFrame) -> pd.DataFrame:
    """Per-cell means of :func:`explain_gap`, whether the losses agree, and a verdict.

    ``same_loss``: ``|loss_gap| <= LOSS_GAP_RTOL · (1 + |L_fp|)``. ``verdict``:

    * ``"no-minimum"``: β = 1, λ > 0 (or β < 1): both numbers are where a stopping rule fired;
    * ``"flat"``: β = 1, λ = 0: a continuum of minimisers sharing one loss value;
    * ``"collapsed"``: the fixed point carries no information (matched MI < 1e-6);
    * ``"rotation"``: for SAP and matched MI, the part no rotation removes is at most
      ``EXPLAINED_RTOL`` of the gap (or below ``EXPLAINED_ATOL``);
    * ``"different-solution"`` otherwise (read ``loss_gap`` beside it).
    """
    keys = ["method", "n", "beta", "lam"]
    cols = [c for c in df.columns if c not in (*keys, "init", "expected_regime")]
    g = df.groupby(keys, sort=True)
    out = g[cols].mean().reset_index()
    out["inits"] = g.size().to_numpy()
    out["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(out.beta, out.lam)]
    out["same_loss"] = out.loss_gap.abs() <= LOSS_GAP_RTOL * (1 + out.loss_fp.abs())
    verdict = []
    for r in out.itertuples():
        explained = all(
            abs(getattr(r, f"{k}_solution"))
            <= max(EXPLAINED_RTOL * abs(getattr(r, f"{k}_gap")), EXPLAINED_ATOL)
            for k in ("sap", "matched_mi")
        )
        if r.expected_regime == "divergent":
            verdict.append("no-minimum")
        elif r.expected_regime == "flat":
            verdict.append("flat")
        elif r.expected_regime == "collapsed" and r.matched_mi_fp < 1e-6:
            verdict.append("collapsed")
        elif explained:
            verdict.append("rotation")
        else:
            verdict.append("different-solution")
    out["verdict"] = verdict
    return out
