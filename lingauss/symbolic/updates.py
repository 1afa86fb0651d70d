"""The Blahut–Arimoto updates derived from the stationarity conditions of the γλ loss and
compared with the closed forms: the encoder (``∂L/∂B = 0``, ``∂L/∂Σ_W = 0``) and the decoder
(``∂L/∂A = 0``, ``∂L/∂Σ_Z = 0``), each with its second-order check."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from .expressions import (
    SymbolicCheck,
    assign_values,
    decoder_closed_form,
    encoder_closed_form,
    flat_entries,
    is_zero,
    loss_problem,
    matrix_gradient,
    min_hessian_eigenvalues,
    random_spd,
    simplify_rational,
    upper_entries,
)

__all__ = ["verify_encoder_update", "verify_decoder_update"]


def verify_encoder_update(
    m: int = 1,
    n: int = 2,
    *,
    closed_form: Callable | None = None,
    n_points: int = 5,
    seed: int = 0,
) -> SymbolicCheck:
    """Derive the encoder update from ``∂L/∂B = 0``, ``∂L/∂Σ_W = 0`` and compare.

    ``∂L/∂B = B Σ_Y - A^T M (I - A B) Σ_Y`` is linear in ``B`` and is solved with
    :func:`sympy.linsolve`. ``∂L/∂Σ_W = 1/2 (I + A^T M A - Σ_W^{-1})`` is multiplied on the
    right by ``Σ_W`` (invertible), which makes it linear in the entries of ``Σ_W``.

    Second order: ``L`` separates into a quadratic in ``B`` with Hessian
    ``(I + A^T M A) ⊗ Σ_Y`` (checked symbolically; positive definite when ``M`` is) and
    ``1/2 [tr((I + A^T M A) Σ_W) - log|Σ_W|]``, strictly convex on the SPD cone. The full
    Hessian's eigenvalues are also evaluated at random points with ``Σ_Y, Σ_Z`` SPD,
    ``γ > 0`` and ``λ > -γ / (2 max Σ_Z)`` (so ``M`` is PD).

    Parameters
    ----------
    m, n : int
        Latent and data dimensions, at most 4 (time grows fast: (1, 2) takes about a second,
        (2, 2) a few seconds, on one core).
    closed_form : callable, optional
        ``closed_form(A, Sigma_Z, gamma, lam) -> (B, Sigma_W)`` in sympy; default
        :func:`encoder_closed_form`. Pass a different formula to see it rejected.
    n_points, seed : int
        Random admissible points for the numeric Hessian check.

    Returns
    -------
    SymbolicCheck
        ``solution`` holds the derived ``B`` and ``Sigma_W``; ``residuals`` their differences
        from the closed form and the two Hessian-structure residuals.

    Examples
    --------
    >>> res = verify_encoder_update(1, 2)
    >>> res.ok, res.residuals["B"]
    (True, Matrix([[0, 0]]))
    """
    gamma, lam, A, B, Sz, Sw, Sy, L, M = loss_problem(m, n)
    closed_form = encoder_closed_form if closed_form is None else closed_form

    b_syms = flat_entries(B)
    # ∂L/∂B (an m×n matrix) times adj(Σ_Y) (invertible): same solutions, and linsolve need
    # not invert Σ_Y itself, which is what makes the direct solve slow beyond m·n = 2.
    grad_B = sp.Matrix(m, n, [sp.diff(L, b) for b in b_syms])
    eqs = [sp.expand(e) for e in grad_B * Sy.adjugate()]
    (b_sol,) = sp.linsolve(eqs, b_syms)
    B_der = simplify_rational(sp.Matrix(m, n, list(b_sol)))
    w_syms = upper_entries(Sw)
    G = matrix_gradient(L, Sw)
    eqs = [sp.cancel(sp.together(e)) for e in (G * Sw)]
    (w_sol,) = sp.linsolve(eqs, w_syms)
    w_sub = dict(zip(w_syms, w_sol, strict=True))
    Sw_der = simplify_rational(Sw.subs(w_sub))

    B_cf, Sw_cf = closed_form(A, Sz, gamma, lam)
    residuals = {"B": simplify_rational(B_der - B_cf), "Sigma_W": simplify_rational(Sw_der - Sw_cf)}
    stationary = is_zero(residuals["B"]) and is_zero(residuals["Sigma_W"])

    # L is quadratic in B, so the B-block of the Hessian is the same at every point; the
    # cross block vanishes identically. The Σ_W block is evaluated at the derived point.
    nb = len(b_syms)
    H = sp.hessian(L, b_syms + w_syms)
    K = sp.eye(m) + A.T * M * A
    residuals["hessian_BB - (I + A^T M A) kron Sigma_Y"] = simplify_rational(
        H[:nb, :nb] - sp.kronecker_product(K, Sy)
    )
    residuals["hessian_B,Sigma_W"] = simplify_rational(H[:nb, nb:])
    structure = is_zero(residuals["hessian_BB - (I + A^T M A) kron Sigma_Y"]) and is_zero(
        residuals["hessian_B,Sigma_W"]
    )

    def draw(rng):
        sub = {gamma: float(rng.uniform(0.2, 3.0))}
        z = rng.uniform(0.1, 2.0, n)
        sub[lam] = float(rng.uniform(-sub[gamma] / (2 * z.max()) * 0.95, 1.0))
        assign_values(sub, Sz, np.diag(z))
        assign_values(sub, Sy, random_spd(rng, n))
        assign_values(sub, A, rng.standard_normal((n, m)))
        return sub

    deps = list(zip(b_syms, flat_entries(B_der), strict=True)) + list(w_sub.items())
    eigs = min_hessian_eigenvalues(H, draw, n_points, seed, deps)
    notes = (
        "L is a PD quadratic in B (Hessian (I + A^T M A) ⊗ Σ_Y) plus a strictly convex "
        "function of Σ_W; the B-Σ_W cross Hessian vanishes."
    )
    name, solution = f"encoder update (m={m}, n={n})", {"B": B_der, "Sigma_W": Sw_der}
    return SymbolicCheck.checked(name, stationary, structure, eigs, residuals, solution, notes)


def verify_decoder_update(
    m: int = 1,
    n: int = 2,
    diagonal: bool = True,
    *,
    closed_form: Callable | None = None,
    n_points: int = 5,
    seed: int = 0,
) -> SymbolicCheck:
    """Derive the decoder update from ``∂L/∂A = 0``, ``∂L/∂Σ_Z = 0`` and compare.

    ``∂L/∂A = M (A Σ_X - Σ_Y B^T)`` with ``Σ_X = B Σ_Y B^T + Σ_W`` is linear in ``A``; its
    solution is checked to be free of ``Σ_Z``, ``γ`` and ``λ`` (the optimal ``A`` is the
    same for every PD ``M``, which is why the decoder step is a joint minimiser). With that
    ``A``, ``∂L/∂Σ_Z = γ/2 (Σ_Z^{-1} - Σ_Z^{-1} R Σ_Z^{-1})`` (restricted to the diagonal
    when ``diagonal``) is made linear by multiplying with ``Σ_Z`` on both sides.

    Second order: for fixed ``Σ_Z`` with ``M`` PD, ``L`` is a PD quadratic in ``A``
    (Hessian ``M ⊗ Σ_X``, checked symbolically); the ``A``-``Σ_Z`` cross Hessian vanishes
    at the optimal ``A`` (checked symbolically); in ``Σ_Z`` the profile
    ``γ/2 [tr(Σ_Z^{-1} P) + log|Σ_Z|]`` has the unique minimiser ``P`` (``diag P`` over
    diagonal matrices). The Hessian's eigenvalues are also evaluated at random points with
    ``λ > -γ / (2 max diag Σ_Y)``, which keeps ``M`` PD at ``Σ_Z ⪯ Σ_Y``.

    Parameters
    ----------
    m, n : int
        Latent and data dimensions, at most 4 (time grows fast: (1, 2) takes about a second
        with a diagonal Σ_Z and a few with a full one; (1, 3) about 20 s).
    diagonal : bool
        Diagonal ``Σ_Z`` (the paper's model) or a full symmetric ``Σ_Z``.
    closed_form : callable, optional
        ``closed_form(B, Sigma_W, Sigma_Y, diagonal) -> (A, Sigma_Z)``; default
        :func:`decoder_closed_form`.
    n_points, seed : int
        Random admissible points for the numeric Hessian check.

    Returns
    -------
    SymbolicCheck
        ``solution`` holds the derived ``A`` and ``Sigma_Z`` and ``A_free_of`` (the symbols
        among Σ_Z, γ, λ the derived ``A`` depends on: empty when the update is right).

    Examples
    --------
    >>> bool(verify_decoder_update(1, 2, diagonal=True))
    True
    """
    gamma, lam, A, B, Sz, Sw, Sy, L, M = loss_problem(m, n, diagonal=diagonal)
    closed_form = decoder_closed_form if closed_form is None else closed_form

    a_syms = flat_entries(A)
    (a_sol,) = sp.linsolve([sp.cancel(sp.together(sp.diff(L, a))) for a in a_syms], a_syms)
    A_der = simplify_rational(sp.Matrix(n, m, list(a_sol)))
    a_sub = dict(zip(a_syms, flat_entries(A_der), strict=True))
    z_syms = [Sz[i, i] for i in range(n)] if diagonal else upper_entries(Sz)
    leaked = A_der.free_symbols & (set(z_syms) | {gamma, lam})

    # Σ_Z G Σ_Z (G = ∂L/∂Σ_Z) is linear in Σ_Z: solve it for a general A, then put in the
    # optimal A (whose entries are large rational functions).
    if diagonal:
        eqs = [sp.cancel(sp.together(sp.diff(L, z) * z**2)) for z in z_syms]
    else:
        G = matrix_gradient(L, Sz).applyfunc(sp.cancel)
        eqs = [sp.cancel(e) for e in (Sz * G * Sz)]
    (z_sol,) = sp.linsolve(eqs, z_syms)
    z_sub = {z: e.subs(a_sub) for z, e in zip(z_syms, z_sol, strict=True)}
    Sz_der = simplify_rational(Sz.subs(z_sub))

    A_cf, Sz_cf = closed_form(B, Sw, Sy, diagonal)
    residuals = {
        "A": simplify_rational(A_der - A_cf),
        "Sigma_Z": simplify_rational(Sz_der - Sz_cf),
    }
    stationary = is_zero(residuals["A"]) and is_zero(residuals["Sigma_Z"]) and not leaked

    Sx = B * Sy * B.T + Sw
    nA = len(a_syms)
    H = sp.hessian(L, a_syms + z_syms)
    cross = simplify_rational(H[:nA, nA:].subs(a_sub))
    residuals["hessian_AA - M kron Sigma_X"] = simplify_rational(
        H[:nA, :nA] - sp.kronecker_product(M, Sx)
    )
    residuals["hessian_A,Sigma_Z at optimal A"] = cross
    structure = is_zero(residuals["hessian_AA - M kron Sigma_X"]) and is_zero(cross)

    def draw(rng):
        sub = {gamma: float(rng.uniform(0.2, 3.0))}
        y = random_spd(rng, n)
        sub[lam] = float(rng.uniform(-sub[gamma] / (2 * np.diag(y).max()) * 0.95, 1.0))
        assign_values(sub, Sy, y)
        assign_values(sub, Sw, random_spd(rng, m))
        assign_values(sub, B, rng.standard_normal((m, n)))
        return sub

    deps = list(a_sub.items()) + list(z_sub.items())
    eigs = min_hessian_eigenvalues(H, draw, n_points, seed, deps)
    notes = (
        "For PD M, L is a PD quadratic in A (Hessian M ⊗ Σ_X) whose minimiser does not "
        "depend on Σ_Z; the profile in Σ_Z is minimised at P (diag P)."
    )
    name = f"decoder update (m={m}, n={n}, diagonal={diagonal})"
    solution = {"A": A_der, "Sigma_Z": Sz_der, "A_free_of": leaked or set()}
    return SymbolicCheck.checked(name, stationary, structure, eigs, residuals, solution, notes)
