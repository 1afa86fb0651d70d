"""The two limits of the γλ loss checked symbolically: the Hessian at the collapsed point
(when collapse is a strict local minimum) and the slope along the path to a deterministic
encoder (no minimum for γ > 1, reference §3); :func:`verify_all` runs every check."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .expressions import (
    SymbolicCheck,
    assign_values,
    check_dims,
    decoder_closed_form,
    diagonal_symbols,
    flat_entries,
    gamma_lambda,
    inverse,
    is_zero,
    loss_expression,
    loss_problem,
    min_hessian_eigenvalues,
    random_spd,
    simplify_rational,
)
from .updates import verify_decoder_update, verify_encoder_update

__all__ = ["verify_collapse_hessian", "verify_divergence_rate", "verify_all"]


def verify_collapse_hessian(n: int = 2, *, n_points: int = 5, seed: int = 0) -> SymbolicCheck:
    """Hessian of ``L`` (m = 1, diagonal ``Σ_Z``) at the collapsed point.

    The point ``A = 0, B = 0, Σ_W = 1, Σ_Z = D = diag(Σ_Y)`` is stationary for every
    ``(γ, λ)``. Its Hessian in ``(a, b)`` (``A = a``, ``B = b^T``) is checked to be
    ``[[M, -M Σ_Y], [-Σ_Y M, Σ_Y]]`` with ``M = γ D^{-1} + 2λ I``, and the ``(a, b)`` block
    decouples from ``(Σ_W, Σ_Z)`` (whose own Hessian, ``1/2`` and ``γ/(2 D_ii^2)``, is PD).
    By the Schur complement the ``(a, b)`` block is PD iff ``0 ≺ M ≺ Σ_Y^{-1}``, i.e. (with
    ``M ≻ 0``, which the BA solver requires anyway) iff ``λ_max(Σ_Y^{1/2} M Σ_Y^{1/2}) < 1``;
    at ``λ = 0`` that is ``γ λ_max(corr(Y)) < 1`` (``γ < 1`` for a diagonal ``Σ_Y``, for
    which it reads ``γ + 2λ max_i Σ_Y,ii < 1``). The ``ok`` flag is the stationarity and the
    block structure; ``second_order`` reports the eigenvalues at random points that satisfy
    the condition (with ``λ_max = 0.9``).

    Returns
    -------
    SymbolicCheck
        ``solution["threshold"]`` holds ``Σ_Y^{-1} - M`` (with ``M ≻ 0``: PD iff collapse is
        a strict local minimum).

    Examples
    --------
    >>> bool(verify_collapse_hessian(2))
    True
    """
    gamma, lam, A, B, Sz, Sw, Sy, L, _ = loss_problem(1, n)
    D = sp.diag(*[Sy[i, i] for i in range(n)])
    M = gamma * inverse(D) + 2 * lam * sp.eye(n)
    a_syms, b_syms = flat_entries(A), flat_entries(B)
    z_syms = [Sz[i, i] for i in range(n)]
    vars_ = a_syms + b_syms + [Sw[0, 0]] + z_syms
    point = {s: 0 for s in a_syms + b_syms} | {Sw[0, 0]: 1}
    point |= {z_syms[i]: Sy[i, i] for i in range(n)}
    grad = simplify_rational(sp.Matrix([sp.diff(L, v) for v in vars_]).subs(point))
    H = simplify_rational(sp.hessian(L, vars_).subs(point))
    expected = sp.BlockMatrix([[M, -M * Sy], [-Sy * M, Sy]]).as_explicit()
    k = 2 * n
    residuals = {
        "gradient": grad,
        "hessian_ab - [[M, -M Sigma_Y], [-Sigma_Y M, Sigma_Y]]": simplify_rational(
            H[:k, :k] - expected
        ),
        "hessian_ab,noise": H[:k, k:],
    }
    stationary = is_zero(grad)
    structure = all(is_zero(r) for r in residuals.values())

    def draw(rng):
        # Σ_Y SPD and (γ, λ) with M ≻ 0, rescaled so that λ_max(Σ_Y^{1/2} M Σ_Y^{1/2}) = 0.9.
        y = random_spd(rng, n)
        d = np.diag(y)
        g = float(rng.uniform(0.1, 1.0))
        lam_v = float(rng.uniform(-0.45 * g, 0.5)) / d.max()
        ly = np.linalg.cholesky(y)
        top = np.linalg.eigvalsh(ly.T @ np.diag(g / d + 2 * lam_v) @ ly)[-1]
        sub = {gamma: 0.9 * g / top, lam: 0.9 * lam_v / top}
        assign_values(sub, Sy, y)
        return sub

    eigs = min_hessian_eigenvalues(H[:k, :k], draw, n_points, seed)
    return SymbolicCheck.checked(
        f"collapse Hessian (m=1, n={n})", stationary, structure, eigs, residuals,
        {"threshold": simplify_rational(inverse(Sy) - M)},
        "Collapse is a strict local minimum iff 0 ≺ γ D^{-1} + 2λI ≺ Σ_Y^{-1}.",
        need_eigs=False,
    )  # fmt: skip


def verify_divergence_rate(m: int = 1, n: int = 2) -> SymbolicCheck:
    """Slope of the loss along the path to a deterministic encoder (reference §3).

    Path: ``B = [I_m, 0]`` (the encoder reads the first ``m`` coordinates), ``Σ_W = ε I``,
    decoder at its optimum (``A``, ``Σ_Z = diag P`` from :func:`decoder_closed_form`), with a
    diagonal ``Σ_Y``. Verifies ``lim_{ε→0+} ε dL/dε = (γ - 1) m / 2``: for ``γ > 1`` the loss
    falls without bound (like ``(γ-1) m/2 · log ε``) while ``I(X;Y)`` grows like
    ``-m/2 log ε``, so no finite minimiser exists.

    Returns
    -------
    SymbolicCheck
        ``solution["slope"]`` is the computed limit.

    Examples
    --------
    >>> verify_divergence_rate(1, 2).solution["slope"]
    gamma/2 - 1/2
    """
    check_dims(m, n)
    if m > n:
        raise ValueError(f"m: must be <= n for this path, got m={m}, n={n}")
    gamma, lam = gamma_lambda()
    eps = sp.Symbol("epsilon", positive=True)
    Sy = diagonal_symbols("s", n)
    B = sp.zeros(m, n)
    for i in range(m):
        B[i, i] = 1
    Sw = eps * sp.eye(m)
    A, Sz = decoder_closed_form(B, Sw, Sy, diagonal=True)
    L = loss_expression(A, B, Sz, Sw, Sy, gamma, lam)["total"]
    slope = sp.simplify(sp.limit(sp.simplify(eps * sp.diff(L, eps)), eps, 0, "+"))
    expected = (gamma - 1) * sp.Rational(m, 2)
    res = sp.simplify(slope - expected)
    ok = res == 0
    return SymbolicCheck(
        name=f"divergence rate (m={m}, n={n})",
        ok=ok,
        stationary=ok,
        second_order=ok,
        residuals={"slope - (gamma - 1) m / 2": res},
        solution={"slope": slope},
        notes="L ~ (γ-1) m/2 · log ε as ε → 0: unbounded below for γ > 1.",
    )


def verify_all() -> dict[str, SymbolicCheck]:
    """Run every verification at its default (small) dimensions."""
    out = {}
    for chk in (
        verify_encoder_update(),
        verify_decoder_update(diagonal=True),
        verify_decoder_update(diagonal=False),
        verify_collapse_hessian(),
        verify_divergence_rate(),
    ):
        out[chk.name] = chk
    return out
