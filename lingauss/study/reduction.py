"""Exact dimension reduction of the study's problems (``n`` to ``d = s + m``).

``Σ_Y`` is ``σ² I`` on the ``n - s`` directions orthogonal to ``col(Γ)``. Every half-step keeps
the rows of ``B`` (and the columns of ``A``) inside ``col(Γ) ⊕ S``, where ``S`` is the span of
the initial ``B``'s rows projected off ``col(Γ)`` (``dim S ≤ m``): the decoder maps
``A = Σ_Y B^T Σ_X^{-1}`` and the encoder ``B = Σ_W A^T M`` with ``M A = γ B^T Σ_W^{-1} + 2λ A``
both stay in that span. In an orthonormal basis ``U = [Q_Γ, Q_S]`` (``n × d``, ``d = s + m``)
the problem is therefore exactly the ``d``-dimensional one with
``Σ_Y' = U^T Σ_Y U = diag(Q_Γ^T Σ_Y Q_Γ, σ² I_m)``, and the ``n - d`` remaining directions
add constants: ``Σ_Z = σ² I`` there, so ``NLL += (n - d)/2 · (1 + log 2πσ²)`` and
``MSE += (n - d) σ²``; the KL term, ``I(X;Y)``, ``Cov(X, V)`` and every Frobenius change of a
parameter block are unchanged. For ``n = 100`` this turns 100×100 inversions into 15×15 ones;
:meth:`lingauss.study.FixedPointGrid.full_parameters` maps the solutions back to ``R^n``.
"""

from __future__ import annotations

import numpy as np

from ..scenarios import Scenario

__all__ = ["reduction_basis"]


def reduction_basis(sc: Scenario, B0: np.ndarray):
    """Orthonormal bases ``U (K, n, d)`` of ``col(Γ) ⊕ S_k`` and the reduced ``Σ_Y' (d, d)``.

    Returns ``None`` when no reduction is possible (``s + m >= n``).
    """
    K, m, n = B0.shape
    u, sv, _ = np.linalg.svd(sc.Gamma, full_matrices=False)
    r = int(np.sum(sv > sv[0] * max(n, sc.s) * np.finfo(float).eps))
    Qg = u[:, :r]
    d = r + m
    if d >= n:
        return None
    proj = np.swapaxes(B0, -1, -2) - Qg @ (Qg.T @ np.swapaxes(B0, -1, -2))  # (K, n, m)
    Qs, _ = np.linalg.qr(proj)
    Qs, _ = np.linalg.qr(Qs - Qg @ (Qg.T @ Qs))  # re-orthogonalise against col(Γ)
    U = np.concatenate([np.broadcast_to(Qg, (K, n, r)), Qs], axis=-1)
    Ut = np.swapaxes(U, -1, -2)
    # exactness: U orthonormal, B0 inside span(U) and Σ_Y = σ² I on U's second block
    ok = np.allclose(Ut @ U, np.eye(d), atol=1e-12)
    ok &= np.allclose(B0 @ U @ Ut, B0, rtol=0, atol=1e-10 * max(1.0, np.abs(B0).max()))
    ok &= np.allclose(
        sc.Sigma_Y @ Qs, sc.noise_var * Qs, rtol=0, atol=1e-10 * np.abs(sc.Sigma_Y).max()
    )
    if not ok:
        return None
    Sy = np.zeros((d, d))
    core = Qg.T @ sc.Sigma_Y @ Qg
    Sy[:r, :r] = 0.5 * (core + core.T)
    Sy[r:, r:] = sc.noise_var * np.eye(m)
    return U, Sy
