"""Certificates of an objective's optimum and the loss along latent rotations.

:func:`certify` checks a candidate ``(B, Σ_W)`` (with its optimal decoder) three ways:

1. the gradient norm of the profiled loss (:mod:`.profile`);
2. random perturbations of *all* parameters ``(A, log Σ_Z,ii, B̃, log L_ii, L_ij)`` (standardised
   data coordinates, unit directions, steps ``t``), the loss evaluated by
   :func:`objective_loss`: no step may lower it by more than ``t‖∇‖ + ε`` (the first-order
   change a gradient of norm ``‖∇‖`` allows, by Cauchy–Schwarz, plus rounding ``ε``);
   the symmetric second difference ``F(θ+td) + F(θ−td) − 2F(θ)`` must be ``≥ −ε``;
3. latent rotations ``X → QX`` (``B → QB``, ``Σ_W → QΣ_WQᵀ``, ``A → AQᵀ``) by Givens angles on
   every pair of latents over a grid of angles in ``(−π/2, π/2]``: none may lower the loss by
   more than ``ε``.

Rounding: every term is a sum of ``O(n²)`` products and log-determinants of matrices with
condition ≤ ~1e4 on these problems, so its absolute rounding error is below
``1e-12 · max_t |c_t term_t|``; ``ε = 1e-10 · (1 + max_t |c_t term_t|)`` leaves a factor 100.

:func:`rotation_landscape` tabulates the loss and every term along one Givens rotation.
:func:`reference_optimum` is the independent multi-start reference: BFGS with finite-difference
gradients on the full, *unprofiled* parameters, losses from :func:`objective_loss`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ..validation import check_covariance
from .profile import ProfiledObjective, optimal_decoder
from .spec import TERM_NAMES, check_objective, objective_coefficients
from .terms import objective_loss

__all__ = [
    "Certificate",
    "certify",
    "givens_rotation",
    "rotate_latents",
    "rotation_landscape",
    "reference_optimum",
]


@dataclass(frozen=True)
class Certificate:
    """Evidence that ``(B, Σ_W)`` is a local minimum, in numbers.

    Attributes
    ----------
    gradient_norm : ‖∇F‖ of the profiled loss, optimiser coordinates.
    tolerance : ε, the rounding allowance (module docstring).
    n_directions : random directions tried; ``steps`` their step sizes.
    min_random_change : min over directions and steps of ``F(θ ± t d) − F(θ)``.
    min_random_margin : min of ``F(θ ± t d) − F(θ) + t‖∇F‖ + ε`` (≥ 0 to pass).
    min_second_difference : min of ``F(θ+td) + F(θ−td) − 2F(θ)`` (≥ −ε to pass).
    min_rotation_change : min over pairs and angles of ``F(rotated) − F``.
    passed : all three checks pass and ``gradient_norm ≤ gtol``.
    """

    gradient_norm: float
    tolerance: float
    n_directions: int
    steps: tuple
    min_random_change: float
    min_random_margin: float
    min_second_difference: float
    min_rotation_change: float
    passed: bool

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["steps"] = list(self.steps)
        return out


def givens_rotation(m: int, i: int, j: int, angle) -> np.ndarray:
    """Givens rotations ``Q`` of shape ``angle.shape + (m, m)`` in the ``(i, j)`` plane."""
    angle = np.asarray(angle, dtype=float)
    Q = np.broadcast_to(np.eye(m), angle.shape + (m, m)).copy()
    c, s = np.cos(angle), np.sin(angle)
    Q[..., i, i], Q[..., j, j] = c, c
    Q[..., i, j], Q[..., j, i] = -s, s
    return Q


def rotate_latents(Q, A, B, Sigma_W):
    """``X → QX``: ``(A Qᵀ, Q B, Q Σ_W Qᵀ)`` (batched over ``Q``'s leading axes)."""
    Qt = np.swapaxes(Q, -1, -2)
    return A @ Qt, Q @ B, Q @ Sigma_W @ Qt


def _tolerance(name, weights, terms) -> float:
    c = objective_coefficients(name, weights)
    mags = [abs(c[k] * float(getattr(terms, k))) for k in TERM_NAMES if c[k] != 0.0]
    return 1e-10 * (1.0 + max(mags))


class _Full:
    """The unprofiled loss on ``(A, log σ_Z, θ)``, standardised coordinates."""

    def __init__(self, pf: ProfiledObjective):
        self.pf = pf
        self.na = pf.n * pf.m

    def pack(self, A, Sz, theta):
        s = self.pf.scale
        return np.concatenate(
            [(A / s[:, None]).ravel(), 0.5 * np.log(np.diag(Sz)) - np.log(s), theta]
        )

    def unpack(self, x):
        pf, s = self.pf, self.pf.scale
        A = x[: self.na].reshape(pf.n, pf.m) * s[:, None]
        Sz = np.diag(np.exp(2.0 * (x[self.na : self.na + pf.n] + np.log(s))))
        B, Sw, _ = pf.unpack(x[self.na + pf.n :])
        return A, B, Sz, Sw

    def loss(self, x):
        A, B, Sz, Sw = self.unpack(np.asarray(x, dtype=float))
        try:
            return float(
                objective_loss(self.pf.name, self.pf.weights, A, B, Sz, Sw, self.pf.Sigma_Y)[0]
            )
        except (ValueError, np.linalg.LinAlgError):
            return np.inf


def certify(
    name: str,
    weights: Mapping[str, float] | None,
    Sigma_Y,
    B,
    Sigma_W,
    *,
    seed: int = 0,
    n_directions: int = 24,
    steps=(1e-3, 1e-2, 1e-1),
    n_angles: int = 24,
    gtol: float = 1e-6,
) -> Certificate:
    """Certify ``(B, Σ_W)`` with its optimal decoder as a local minimum (module docstring).

    Parameters
    ----------
    name, weights : the objective.
    Sigma_Y : array_like, shape (n, n)
    B : array_like, shape (m, n); Sigma_W : array_like, shape (m, m)
    seed : seeds the random directions.
    n_directions, steps : random unit directions in the full parameter space and step sizes.
    n_angles : angles per latent pair, on ``(−π/2, π/2]`` (the origin excluded).
    gtol : the gradient norm a certified optimum may have.

    Returns
    -------
    Certificate
    """
    name, w = check_objective(name, weights)
    Sy, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    B = np.asarray(B, dtype=float)
    Sw, _ = check_covariance(Sigma_W, "Sigma_W", batched=False)
    m = Sw.shape[0]
    pf = ProfiledObjective(name, w, Sy, m)
    theta = pf.pack(B, Sw)
    A, Sz, _ = optimal_decoder(B, Sw, Sy)
    f0, terms = objective_loss(name, w, A, B, Sz, Sw, Sy)
    eps = _tolerance(name, w, terms)
    g = float(np.linalg.norm(pf.grad(theta)))

    full = _Full(pf)
    x0 = full.pack(A, Sz, theta)
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n_directions, x0.size))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    changes, margins, second = [], [], []
    for t in steps:
        for di in d:
            fp, fm = full.loss(x0 + t * di), full.loss(x0 - t * di)
            changes += [fp - f0, fm - f0]
            margins += [fp - f0 + t * g + eps, fm - f0 + t * g + eps]
            second.append(fp + fm - 2.0 * f0)

    rot = []
    angles = np.linspace(-np.pi / 2, np.pi / 2, n_angles + 1)[1:]
    angles = angles[np.abs(angles) > 1e-12]
    for i in range(m):
        for j in range(i + 1, m):
            Q = givens_rotation(m, i, j, angles)
            Ar, Br, Swr = rotate_latents(Q, A, B, Sw)
            lr, _ = objective_loss(name, w, Ar, Br, Sz, 0.5 * (Swr + np.swapaxes(Swr, -1, -2)), Sy)
            rot.append(np.min(np.asarray(lr) - f0))
    min_rot = float(min(rot)) if rot else 0.0
    min_margin = float(min(margins))
    min_second = float(min(second))
    passed = g <= gtol and min_margin >= 0.0 and min_second >= -eps and min_rot >= -eps
    return Certificate(
        gradient_norm=g,
        tolerance=eps,
        n_directions=int(n_directions),
        steps=tuple(float(t) for t in steps),
        min_random_change=float(min(changes)),
        min_random_margin=min_margin,
        min_second_difference=min_second,
        min_rotation_change=min_rot,
        passed=bool(passed),
    )


def rotation_landscape(
    name: str,
    weights: Mapping[str, float] | None,
    Sigma_Y,
    B,
    Sigma_W,
    *,
    pair: tuple[int, int] = (0, 1),
    angles=None,
) -> pd.DataFrame:
    """The loss and every term along the latent rotation of one encoder in the plane ``pair``.

    ``X → Q(t) X`` with ``Q(t)`` the Givens rotation by angle ``t`` (decoder rotated with it, so
    it stays optimal). Flat for beta-vae and gamma-lambda at any encoder (``KL``, ``NLL`` and
    ``MI`` are rotation invariant); for the others the TC, dimKL and DIP terms change with the
    angle, with the TC objectives' minima where the rotated ``C`` is diagonal. At an *optimum*
    ``C = I`` (:mod:`lingauss.objectives.spec`), so the landscape of every optimum is flat
    except beta-tcvae at ``γ = 0`` (``C`` diagonal, not ``I``) and dip-vae-i.

    Returns
    -------
    pandas.DataFrame
        One row per angle: ``angle``, ``loss``, every term of :data:`TERM_NAMES`, ``c_ij``
        (the rotated ``C``'s entry in the plane) and ``offdiag_c`` (``Σ_{i≠j} C_ij²``).

    Examples
    --------
    >>> import numpy as np
    >>> df = rotation_landscape("beta-vae", {"beta": 2}, np.eye(2), np.eye(2), np.eye(2),
    ...                         angles=[0.0, 0.3])
    >>> bool(np.allclose(df["loss"], df["loss"].iloc[0]))
    True
    """
    name, w = check_objective(name, weights)
    Sy, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    Sw, _ = check_covariance(Sigma_W, "Sigma_W", batched=False)
    B = np.asarray(B, dtype=float)
    m = Sw.shape[0]
    i, j = pair
    if not (0 <= i < m and 0 <= j < m and i != j):
        raise ValueError(f"pair: expected two distinct latent indices in [0, {m}), got {pair!r}")
    angles = np.linspace(-np.pi / 2, np.pi / 2, 73) if angles is None else np.asarray(angles, float)
    A, Sz, _ = optimal_decoder(B, Sw, Sy)
    Q = givens_rotation(m, i, j, angles)
    Ar, Br, Swr = rotate_latents(Q, A, B, Sw)
    Swr = 0.5 * (Swr + np.swapaxes(Swr, -1, -2))
    loss, terms = objective_loss(name, w, Ar, Br, Sz, Swr, Sy)
    C = Br @ Sy @ np.swapaxes(Br, -1, -2) + Swr
    eye = np.eye(m, dtype=bool)
    df = pd.DataFrame({"angle": angles, "loss": np.atleast_1d(loss)})
    for k, v in terms.as_dict().items():
        df[k] = np.atleast_1d(v)
    df["c_ij"] = C[..., i, j]
    df["offdiag_c"] = np.sum(np.where(eye, 0.0, C) ** 2, axis=(-2, -1))
    return df


def reference_optimum(
    name: str,
    weights: Mapping[str, float] | None,
    Sigma_Y,
    m: int,
    *,
    seed: int = 1,
    restarts: int = 4,
    maxiter: int = 4000,
):
    """Independent multi-start reference: the best loss BFGS reaches on the full loss.

    Optimises all of ``(A, Σ_Z diagonal, B, Σ_W)`` (no profiling, finite-difference gradients,
    every loss from :func:`objective_loss`) from ``restarts`` random starts seeded by ``seed``.

    Returns
    -------
    (loss, (A, B, Sigma_Z, Sigma_W))
        The best loss found and its parameters.
    """
    name, w = check_objective(name, weights)
    Sy, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    pf = ProfiledObjective(name, w, Sy, int(m))
    full = _Full(pf)
    rng = np.random.default_rng(seed)
    best, best_x = np.inf, None
    for _ in range(restarts):
        theta = np.concatenate(
            [
                rng.normal(size=m * pf.n) / np.sqrt(pf.n),
                rng.normal(scale=0.5, size=m) - 0.5,
                rng.normal(scale=0.2, size=m * (m - 1) // 2),
            ]
        )
        A0 = rng.normal(size=(pf.n, m)) * 0.5 * pf.scale[:, None]
        x0 = full.pack(A0, np.diag(pf.scale**2), theta)
        res = optimize.minimize(
            full.loss, x0, method="BFGS", options={"maxiter": maxiter, "gtol": 1e-9}
        )
        if res.fun < best:
            best, best_x = float(res.fun), np.asarray(res.x)
    return best, full.unpack(best_x)
