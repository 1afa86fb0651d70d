"""The decoder profiled out: each objective as a function of the encoder ``(B, Σ_W)`` alone.

Every objective is ``c_nll·NLL + c_mse·MSE + f(B, Σ_W)`` (:func:`objective_coefficients`), and
the decoder ``(A, Σ_Z)`` enters only NLL and MSE through the residual covariance

    R(A) = Σ_Y − A K ᵀ − K Aᵀ + A C Aᵀ = (A − A*) C (A − A*)ᵀ + P,
    K = Σ_Y Bᵀ,  A* = K C⁻¹,  P = Σ_Y − K C⁻¹ Kᵀ = (Σ_Y⁻¹ + Bᵀ Σ_W⁻¹ B)⁻¹.

So ``R(A) ⪰ P`` with equality at ``A*``; NLL (for any Σ_Z) and MSE are increasing in ``R`` in
the positive-semidefinite order, hence ``A*`` is optimal whenever ``c_mse ≥ 0``, and the
diagonal ``Σ_Z`` minimising ``½ Σ_i (P_ii/σ_i + log σ_i)`` is ``σ_i = P_ii``. The profiled loss

    F(B, Σ_W) = c_nll·½[Σ_i log P_ii + n + n log 2π] + c_mse·tr P + f(B, Σ_W)

is reported through :func:`objective_loss` at ``(A*, B, diag P, Σ_W)`` (every number the
optimiser returns comes from there). Inside the optimiser's loop, :meth:`ProfiledObjective.
value_and_grad` evaluates ``F`` by its profiled closed form (Cholesky log-determinants; ~30×
faster than the validated :func:`objective_loss`), held to :func:`objective_loss` to 1e-12
relative by a test. Its gradient (new here, checked against finite differences in the tests): with
symmetric ``G_P = c_nll·½ diag(1/P_ii) + c_mse·I`` and the derivatives ``G_C``, ``G_S`` of ``f``
in ``C = S + Σ_W``, ``S = B Σ_Y Bᵀ`` (KL: ``½I``, ``−½Σ_W⁻¹``; MI: ``½C⁻¹``, ``−½Σ_W⁻¹``; TC:
``½ diag(1/C_jj) − ½C⁻¹``; dimKL: ``½ diag(1 − 1/C_jj)``; DIP od: ``2 S∘(1 − I)``; DIP d:
``2 diag(S_ii − 1)``),

    ∂F/∂B   = 2 (G_C + G_S + C⁻¹ K ᵀ G_P K C⁻¹) B Σ_Y − 2 C⁻¹ B Σ_Y G_P Σ_Y,
    ∂F/∂Σ_W = G_C + C⁻¹ Kᵀ G_P K C⁻¹ − (c_kl + c_mi)·½ Σ_W⁻¹.

Parameters: ``B = B̃ diag(1/√Σ_Y,ii)`` (standardised data coordinates, which make the scales of
the published Σ_Y (≈1e-4) harmless) and ``Σ_W = L Lᵀ`` with ``L`` lower triangular,
``L_ii = exp(ℓ_i)``; ``θ = (B̃, ℓ, strict lower part of L)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import objective_coefficients
from .terms import dip_penalties, objective_loss

_LOG_2PI = np.log(2.0 * np.pi)

__all__ = ["ProfiledObjective", "optimal_decoder"]


def optimal_decoder(B, Sigma_W, Sigma_Y):
    """The optimal decoder for a fixed encoder: ``(A*, diag P, P)``.

    ``A* = Σ_Y Bᵀ C⁻¹`` and ``P = (Σ_Y⁻¹ + Bᵀ Σ_W⁻¹ B)⁻¹`` (the posterior covariance of Y given
    X); the optimal diagonal ``Σ_Z`` is ``diag(P)``. Shapes ``(m, n)``, ``(m, m)``, ``(n, n)``;
    returns ``A (n, m)``, ``Σ_Z (n, n)`` diagonal, ``P (n, n)``.
    """
    B = np.asarray(B, dtype=float)
    Sw = np.asarray(Sigma_W, dtype=float)
    Sy = np.asarray(Sigma_Y, dtype=float)
    C = B @ Sy @ B.T + Sw
    K = Sy @ B.T
    A = np.linalg.solve(C, K.T).T
    lw = np.linalg.cholesky(Sw)
    G = np.linalg.solve(lw, B)
    info = np.linalg.inv(Sy) + G.T @ G
    P = np.linalg.inv(0.5 * (info + info.T))
    P = 0.5 * (P + P.T)
    return A, np.diag(np.diag(P)), P


@dataclass(frozen=True)
class ProfiledObjective:
    """``F(θ)`` and ``∇F(θ)`` of one objective on one data covariance (module docstring)."""

    name: str
    weights: dict
    Sigma_Y: np.ndarray
    m: int

    @property
    def n(self) -> int:
        return self.Sigma_Y.shape[0]

    @property
    def scale(self) -> np.ndarray:
        return np.sqrt(np.diag(self.Sigma_Y))

    @property
    def size(self) -> int:
        return self.m * self.n + self.m * (self.m + 1) // 2

    # ------------------------------------------------------------------ parameters
    def unpack(self, theta):
        """``θ -> (B, Σ_W, L)`` in the original data coordinates."""
        m, n = self.m, self.n
        theta = np.asarray(theta, dtype=float)
        B = theta[: m * n].reshape(m, n) / self.scale
        L = np.zeros((m, m))
        L[np.diag_indices(m)] = np.exp(theta[m * n : m * n + m])
        L[np.tril_indices(m, -1)] = theta[m * n + m :]
        return B, L @ L.T, L

    def pack(self, B, Sigma_W):
        """``(B, Σ_W) -> θ``."""
        B = np.asarray(B, dtype=float) * self.scale
        L = np.linalg.cholesky(np.asarray(Sigma_W, dtype=float))
        return np.concatenate([B.ravel(), np.log(np.diag(L)), L[np.tril_indices(self.m, -1)]])

    # ------------------------------------------------------------------ value and gradient
    def model(self, theta):
        """The full model ``(A*, B, Σ_Z*, Σ_W)`` at ``θ``."""
        B, Sw, _ = self.unpack(theta)
        A, Sz, _ = optimal_decoder(B, Sw, self.Sigma_Y)
        return A, B, Sz, Sw

    def value_terms(self, theta):
        """``(F(θ), ObjectiveTerms)`` through :func:`objective_loss` at the optimal decoder."""
        A, B, Sz, Sw = self.model(theta)
        return objective_loss(self.name, self.weights, A, B, Sz, Sw, self.Sigma_Y)

    def value(self, theta) -> float:
        try:
            return float(self.value_terms(theta)[0])
        except (ValueError, np.linalg.LinAlgError):
            return np.inf

    def _fast(self, B, Sw, L, want_grad: bool):
        """Profiled value (closed form) and, if asked, ``(∂F/∂B, ∂F/∂Σ_W)``."""
        c = objective_coefficients(self.name, self.weights)
        Sy, m, n = self.Sigma_Y, self.m, self.n
        eye = np.eye(m)
        S = B @ Sy @ B.T
        S = 0.5 * (S + S.T)
        C = S + Sw
        lc = np.linalg.cholesky(C)
        _, _, P = optimal_decoder(B, Sw, Sy)
        p = np.diag(P)
        cd = np.diag(C)
        sd = np.diag(S)
        logdet_c = 2.0 * np.sum(np.log(np.diag(lc)))
        logdet_w = 2.0 * np.sum(np.log(np.abs(np.diag(L))))
        t = {
            "nll": 0.5 * (np.sum(np.log(p)) + n + n * _LOG_2PI),
            "mse": np.sum(p),
            "kl": 0.5 * (np.trace(C) - logdet_w - m),
            "mi": 0.5 * (logdet_c - logdet_w),
            "tc": 0.5 * (np.sum(np.log(cd)) - logdet_c),
            "dimkl": 0.5 * np.sum(cd - 1.0 - np.log(cd)),
        }
        t["dip_i_od"], t["dip_i_d"] = dip_penalties(S)
        t["dip_ii_od"], t["dip_ii_d"] = dip_penalties(C)
        f = float(sum(coef * t[k] for k, coef in c.items() if coef != 0.0))
        if not want_grad:
            return f, None, None
        Ci = np.linalg.inv(C)
        Ci = 0.5 * (Ci + Ci.T)
        Swi = np.linalg.inv(Sw)
        Swi = 0.5 * (Swi + Swi.T)
        G_P = np.diag(c["nll"] * 0.5 / p + c["mse"])
        G_C = (
            c["kl"] * 0.5 * eye
            + c["mi"] * 0.5 * Ci
            + c["tc"] * (0.5 * np.diag(1.0 / cd) - 0.5 * Ci)
            + c["dimkl"] * 0.5 * np.diag(1.0 - 1.0 / cd)
            + c["dip_ii_od"] * 2.0 * C * (1.0 - eye)
            + c["dip_ii_d"] * 2.0 * np.diag(cd - 1.0)
        )
        G_S = c["dip_i_od"] * 2.0 * S * (1.0 - eye) + c["dip_i_d"] * 2.0 * np.diag(sd - 1.0)
        KtCi = Ci @ B @ Sy  # C⁻¹ Kᵀ, (m, n)
        G_CP = KtCi @ G_P @ KtCi.T
        g_B = 2.0 * (G_C + G_S + G_CP) @ B @ Sy - 2.0 * KtCi @ G_P @ Sy
        g_W = G_C + G_CP - (c["kl"] + c["mi"]) * 0.5 * Swi
        return f, g_B, 0.5 * (g_W + g_W.T)

    def grad_matrices(self, B, Sw):
        """``(∂F/∂B, ∂F/∂Σ_W)`` in the original coordinates (module docstring)."""
        _, g_B, g_W = self._fast(B, Sw, np.linalg.cholesky(Sw), True)
        return g_B, g_W

    def fast_value(self, theta) -> float:
        """``F(θ)`` by the profiled closed form (``inf`` where it is undefined)."""
        try:
            B, Sw, L = self.unpack(theta)
            f = self._fast(B, Sw, L, False)[0]
        except (np.linalg.LinAlgError, FloatingPointError):
            return np.inf
        return f if np.isfinite(f) else np.inf

    def value_and_grad(self, theta):
        """``(F(θ), ∇_θ F)`` by the profiled closed form (the optimiser's inner loop)."""
        m = self.m
        try:
            B, Sw, L = self.unpack(theta)
            f, g_B, g_W = self._fast(B, Sw, L, True)
        except (np.linalg.LinAlgError, FloatingPointError):
            return np.inf, np.zeros(self.size)
        if not np.isfinite(f):
            return np.inf, np.zeros(self.size)
        g_L = 2.0 * g_W @ L
        g = np.concatenate(
            [(g_B / self.scale).ravel(), np.diag(g_L) * np.diag(L), g_L[np.tril_indices(m, -1)]]
        )
        return f, g

    def grad(self, theta) -> np.ndarray:
        """``∇_θ F``."""
        return self.value_and_grad(theta)[1]

    def grad_norm_original(self, theta) -> float:
        """``‖(∂F/∂B, ∂F/∂L)‖`` in the original coordinates (``L`` the Cholesky factor)."""
        B, Sw, L = self.unpack(theta)
        g_B, g_W = self.grad_matrices(B, Sw)
        g_L = np.tril(2.0 * g_W @ L)
        return float(np.sqrt(np.sum(g_B**2) + np.sum(g_L**2)))
