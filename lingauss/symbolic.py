"""Symbolic (sympy) derivations of the Blahut–Arimoto updates of the γλ-VAE loss.

The loss is built exactly as in the reference (§2), in trace form, with
``R = (I - AB) Σ_Y (I - AB)^T + A Σ_W A^T``::

    L = 1/2 [tr(B Σ_Y B^T + Σ_W) - log|Σ_W| - m]
      + γ/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|] + λ tr(R)

Every matrix is a matrix of independent sympy symbols (symmetric ones for the covariances),
so the derivations hold for all values of the entries at the chosen (small) dimensions:

* :func:`verify_encoder_update` solves ``∂L/∂B = 0`` and ``∂L/∂Σ_W = 0`` and compares the
  solution with ``Σ_W = (I + A^T M A)^{-1}``, ``B = Σ_W A^T M``, ``M = γ Σ_Z^{-1} + 2λ I``;
* :func:`verify_decoder_update` solves ``∂L/∂A = 0`` and ``∂L/∂Σ_Z = 0`` and compares with
  ``P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``, ``A = P B^T Σ_W^{-1}``, ``Σ_Z = diag(P)`` (or ``P``);
* :func:`verify_collapse_hessian` computes the Hessian at the collapsed point
  ``(A, B, Σ_W, Σ_Z) = (0, 0, I, diag Σ_Y)``;
* :func:`verify_divergence_rate` computes the slope of ``L`` along the path to a
  deterministic encoder (``Σ_W = εI``), ``dL/d log ε → (γ - 1) m / 2``: for ``γ > 1`` the loss
  is unbounded below (reference §3).

Stationary equations that are not linear in the unknowns (those of the covariances) are made
linear by multiplying with the unknown covariance, an invertible matrix (e.g.
``G(Σ_W) Σ_W = 0 ⇔ G(Σ_W) = 0``), and then solved with :func:`sympy.linsolve`; nothing is
checked only numerically except the sign of Hessian eigenvalues at random admissible points,
which backs up a convexity argument stated in each function.

Examples
--------
>>> from lingauss.symbolic import verify_encoder_update
>>> bool(verify_encoder_update(m=1, n=2))
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

__all__ = [
    "SymbolicCheck",
    "loss_expression",
    "encoder_closed_form",
    "decoder_closed_form",
    "verify_encoder_update",
    "verify_decoder_update",
    "verify_collapse_hessian",
    "verify_divergence_rate",
    "verify_all",
]


@dataclass(frozen=True)
class SymbolicCheck:
    """Outcome of a symbolic verification.

    Attributes
    ----------
    name : str
        What was verified.
    ok : bool
        ``stationary and second_order``; also the truth value of the object.
    stationary : bool
        The solution of the first-order conditions equals the closed form (every residual
        simplifies to 0).
    second_order : bool
        The Hessian at the solution is positive definite (see ``hessian_min_eigenvalues``).
    residuals : dict of str -> sympy expression or Matrix
        Simplified differences ``derived - closed form`` (all zero when ``stationary``) and
        any other expression that must vanish.
    solution : dict of str -> sympy Matrix
        The solution derived from the stationarity conditions.
    hessian_min_eigenvalues : tuple of float
        Smallest Hessian eigenvalue at each random admissible numeric point (all > 0 when
        ``second_order``).
    notes : str
        The argument behind ``second_order``.
    """

    name: str
    ok: bool
    stationary: bool
    second_order: bool
    residuals: dict = field(repr=False)
    solution: dict = field(repr=False)
    hessian_min_eigenvalues: tuple = ()
    notes: str = ""

    def __bool__(self) -> bool:
        return bool(self.ok)


# ------------------------------------------------------------------------------ symbols
def _matrix(prefix: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{prefix}{i}{j}", real=True))


def _symmetric(prefix: str, d: int) -> sp.Matrix:
    def entry(i, j):
        i, j = min(i, j), max(i, j)
        return sp.Symbol(f"{prefix}{i}{j}", real=True, positive=(i == j) or None)

    return sp.Matrix(d, d, entry)


def _diagonal(prefix: str, d: int) -> sp.Matrix:
    return sp.diag(*[sp.Symbol(f"{prefix}{i}", positive=True) for i in range(d)])


def _upper(M: sp.Matrix) -> list[sp.Symbol]:
    d = M.shape[0]
    return [M[i, j] for i in range(d) for j in range(i, d)]


def _flat(M: sp.Matrix) -> list:
    return [M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1])]


def _is_zero(expr) -> bool:
    if isinstance(expr, sp.MatrixBase):
        return all(_is_zero(e) for e in expr)
    return sp.cancel(sp.together(expr)) == 0


def _simplify(expr):
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: sp.cancel(sp.together(e)))
    return sp.cancel(sp.together(expr))


def _gamma_lambda():
    return sp.Symbol("gamma", positive=True), sp.Symbol("lam", real=True)


# --------------------------------------------------------------------------- the loss
def loss_expression(A, B, Sigma_Z, Sigma_W, Sigma_Y, gamma, lam) -> dict:
    """The γλ loss and its terms as sympy expressions (reference §2, trace form).

    Parameters
    ----------
    A : sympy Matrix, shape (n, m)
    B : sympy Matrix, shape (m, n)
    Sigma_Z, Sigma_W, Sigma_Y : sympy Matrix, shapes (n, n), (m, m), (n, n)
    gamma, lam : sympy expressions

    Returns
    -------
    dict
        ``{"kl", "nll", "mse", "total", "R"}`` with
        ``kl = 1/2 [tr(B Σ_Y B^T + Σ_W) - log|Σ_W| - m]``,
        ``nll = 1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|]``, ``mse = tr R`` and
        ``total = kl + γ nll + λ mse``.
    """
    n = Sigma_Y.shape[0]
    m = Sigma_W.shape[0]
    E = sp.eye(n) - A * B
    R = E * Sigma_Y * E.T + A * Sigma_W * A.T
    kl = ((B * Sigma_Y * B.T + Sigma_W).trace() - sp.log(Sigma_W.det()) - m) / 2
    nll = ((_inverse(Sigma_Z) * R).trace() + n * sp.log(2 * sp.pi) + sp.log(Sigma_Z.det())) / 2
    mse = R.trace()
    return {"kl": kl, "nll": nll, "mse": mse, "total": kl + gamma * nll + lam * mse, "R": R}


def _inverse(M: sp.Matrix) -> sp.Matrix:
    if M.is_diagonal():
        return sp.diag(*[1 / M[i, i] for i in range(M.shape[0])])
    return M.inv(method="ADJ")


def _matrix_gradient(L, S: sp.Matrix) -> sp.Matrix:
    """``∂L/∂S`` for a symmetric matrix of symbols ``S`` (each off-diagonal symbol appears
    twice, so its partial derivative is twice the matrix-gradient entry)."""
    d = S.shape[0]
    return sp.Matrix(d, d, lambda i, j: sp.diff(L, S[i, j]) / (1 if i == j else 2))


def encoder_closed_form(A, Sigma_Z, gamma, lam):
    """Reference eq. 9 in sympy: ``M = γ Σ_Z^{-1} + 2λ I``, ``Σ_W = (I + A^T M A)^{-1}``,
    ``B = Σ_W A^T M``. Returns ``(B, Sigma_W)``."""
    n, m = A.shape
    M = gamma * _inverse(Sigma_Z) + 2 * lam * sp.eye(n)
    Sigma_W = (sp.eye(m) + A.T * M * A).inv(method="ADJ")
    return Sigma_W * A.T * M, Sigma_W


def decoder_closed_form(B, Sigma_W, Sigma_Y, diagonal=True):
    """Reference eq. 10 in sympy: ``P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``,
    ``A = P B^T Σ_W^{-1}``, ``Σ_Z = diag(P)`` (or ``P``). Returns ``(A, Sigma_Z)``."""
    Wi = _inverse(Sigma_W)
    P = (_inverse(Sigma_Y) + B.T * Wi * B).inv(method="ADJ")
    A = P * B.T * Wi
    if diagonal:
        return A, sp.diag(*[P[i, i] for i in range(P.shape[0])])
    return A, P


# --------------------------------------------------------------- numeric Hessian checks
def _random_spd(rng, d):
    g = rng.standard_normal((d, d))
    return g @ g.T + 0.5 * np.eye(d)


def _min_eigs(H: sp.Matrix, draw, n_points: int, seed: int, deps=()) -> tuple:
    """Smallest eigenvalue of the symbolic matrix ``H`` at ``n_points`` random points.

    ``draw(rng)`` returns a substitution dict of admissible numbers for the free symbols;
    ``deps`` is a sequence of ``(symbol, expression)`` evaluated in order on top of it (the
    stationary point, as a function of the drawn values).
    """
    rng = np.random.default_rng(seed)
    syms = sorted(H.free_symbols, key=str)
    f = sp.lambdify(syms, H, modules="numpy")
    dep_f = []
    for s, e in deps:
        args = sorted(e.free_symbols, key=str)
        dep_f.append((s, args, sp.lambdify(args, e, modules="numpy")))
    out = []
    for _ in range(n_points):
        sub = draw(rng)
        for s, args, g in dep_f:
            sub[s] = float(g(*[sub[a] for a in args]))
        val = np.asarray(f(*[sub[s] for s in syms]), dtype=float)
        out.append(float(np.linalg.eigvalsh(0.5 * (val + val.T))[0]))
    return tuple(out)


def _assign(sub: dict, S: sp.Matrix, value: np.ndarray) -> None:
    for i in range(S.shape[0]):
        for j in range(S.shape[1]):
            if isinstance(S[i, j], sp.Symbol):
                sub[S[i, j]] = float(value[i, j])


# --------------------------------------------------------------------------- encoder
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

    Examples
    --------
    >>> res = verify_encoder_update(1, 2)
    >>> res.ok, res.residuals["B"]
    (True, Matrix([[0, 0]]))
    """
    _check_dims(m, n)
    closed_form = encoder_closed_form if closed_form is None else closed_form
    gamma, lam = _gamma_lambda()
    A = _matrix("a", n, m)
    B = _matrix("b", m, n)
    Sz = _diagonal("z", n)
    Sw = _symmetric("w", m)
    Sy = _symmetric("y", n)
    L = loss_expression(A, B, Sz, Sw, Sy, gamma, lam)["total"]
    M = gamma * _inverse(Sz) + 2 * lam * sp.eye(n)

    b_syms = _flat(B)
    # ∂L/∂B (an m×n matrix) times adj(Σ_Y) (invertible): same solutions, and linsolve need
    # not invert Σ_Y itself, which is what makes the direct solve slow beyond m·n = 2.
    grad_B = sp.Matrix(m, n, [sp.diff(L, b) for b in b_syms])
    eqs = [sp.expand(e) for e in grad_B * Sy.adjugate()]
    (b_sol,) = sp.linsolve(eqs, b_syms)
    B_der = _simplify(sp.Matrix(m, n, list(b_sol)))
    w_syms = _upper(Sw)
    G = _matrix_gradient(L, Sw)
    eqs = [sp.cancel(sp.together(e)) for e in (G * Sw)]
    (w_sol,) = sp.linsolve(eqs, w_syms)
    w_sub = dict(zip(w_syms, w_sol, strict=True))
    Sw_der = _simplify(Sw.subs(w_sub))

    B_cf, Sw_cf = closed_form(A, Sz, gamma, lam)
    residuals = {"B": _simplify(B_der - B_cf), "Sigma_W": _simplify(Sw_der - Sw_cf)}
    stationary = _is_zero(residuals["B"]) and _is_zero(residuals["Sigma_W"])

    # L is quadratic in B, so the B-block of the Hessian is the same at every point; the
    # cross block vanishes identically. The Σ_W block is evaluated at the derived point.
    nb = len(b_syms)
    H = sp.hessian(L, b_syms + w_syms)
    K = sp.eye(m) + A.T * M * A
    residuals["hessian_BB - (I + A^T M A) kron Sigma_Y"] = _simplify(
        H[:nb, :nb] - sp.kronecker_product(K, Sy)
    )
    residuals["hessian_B,Sigma_W"] = _simplify(H[:nb, nb:])
    structure = _is_zero(residuals["hessian_BB - (I + A^T M A) kron Sigma_Y"]) and _is_zero(
        residuals["hessian_B,Sigma_W"]
    )

    def draw(rng):
        sub = {gamma: float(rng.uniform(0.2, 3.0))}
        z = rng.uniform(0.1, 2.0, n)
        sub[lam] = float(rng.uniform(-sub[gamma] / (2 * z.max()) * 0.95, 1.0))
        _assign(sub, Sz, np.diag(z))
        _assign(sub, Sy, _random_spd(rng, n))
        _assign(sub, A, rng.standard_normal((n, m)))
        return sub

    deps = list(zip(b_syms, _flat(B_der), strict=True)) + list(w_sub.items())
    eigs = _min_eigs(H, draw, n_points, seed, deps)
    second = structure and all(e > 0 for e in eigs)
    return SymbolicCheck(
        name=f"encoder update (m={m}, n={n})",
        ok=stationary and second,
        stationary=stationary,
        second_order=second,
        residuals=residuals,
        solution={"B": B_der, "Sigma_W": Sw_der},
        hessian_min_eigenvalues=eigs,
        notes="L is a PD quadratic in B (Hessian (I + A^T M A) ⊗ Σ_Y) plus a strictly "
        "convex function of Σ_W; the B-Σ_W cross Hessian vanishes.",
    )


# --------------------------------------------------------------------------- decoder
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

    Examples
    --------
    >>> bool(verify_decoder_update(1, 2, diagonal=True))
    True
    """
    _check_dims(m, n)
    closed_form = decoder_closed_form if closed_form is None else closed_form
    gamma, lam = _gamma_lambda()
    A = _matrix("a", n, m)
    B = _matrix("b", m, n)
    Sz = _diagonal("z", n) if diagonal else _symmetric("z", n)
    Sw = _symmetric("w", m)
    Sy = _symmetric("y", n)
    L = loss_expression(A, B, Sz, Sw, Sy, gamma, lam)["total"]
    M = gamma * _inverse(Sz) + 2 * lam * sp.eye(n)

    a_syms = _flat(A)
    (a_sol,) = sp.linsolve([sp.cancel(sp.together(sp.diff(L, a))) for a in a_syms], a_syms)
    A_der = _simplify(sp.Matrix(n, m, list(a_sol)))
    a_sub = dict(zip(a_syms, _flat(A_der), strict=True))
    z_syms = [Sz[i, i] for i in range(n)] if diagonal else _upper(Sz)
    leaked = A_der.free_symbols & (set(z_syms) | {gamma, lam})

    # Σ_Z G Σ_Z (G = ∂L/∂Σ_Z) is linear in Σ_Z: solve it for a general A, then put in the
    # optimal A (whose entries are large rational functions).
    if diagonal:
        eqs = [sp.cancel(sp.together(sp.diff(L, z) * z**2)) for z in z_syms]
    else:
        G = _matrix_gradient(L, Sz).applyfunc(sp.cancel)
        eqs = [sp.cancel(e) for e in (Sz * G * Sz)]
    (z_sol,) = sp.linsolve(eqs, z_syms)
    z_sub = {z: e.subs(a_sub) for z, e in zip(z_syms, z_sol, strict=True)}
    Sz_der = _simplify(Sz.subs(z_sub))

    A_cf, Sz_cf = closed_form(B, Sw, Sy, diagonal)
    residuals = {
        "A": _simplify(A_der - A_cf),
        "Sigma_Z": _simplify(Sz_der - Sz_cf),
    }
    stationary = _is_zero(residuals["A"]) and _is_zero(residuals["Sigma_Z"]) and not leaked

    Sx = B * Sy * B.T + Sw
    nA = len(a_syms)
    H = sp.hessian(L, a_syms + z_syms)
    cross = _simplify(H[:nA, nA:].subs(a_sub))
    residuals["hessian_AA - M kron Sigma_X"] = _simplify(H[:nA, :nA] - sp.kronecker_product(M, Sx))
    residuals["hessian_A,Sigma_Z at optimal A"] = cross
    structure = _is_zero(residuals["hessian_AA - M kron Sigma_X"]) and _is_zero(cross)

    def draw(rng):
        sub = {gamma: float(rng.uniform(0.2, 3.0))}
        y = _random_spd(rng, n)
        sub[lam] = float(rng.uniform(-sub[gamma] / (2 * np.diag(y).max()) * 0.95, 1.0))
        _assign(sub, Sy, y)
        _assign(sub, Sw, _random_spd(rng, m))
        _assign(sub, B, rng.standard_normal((m, n)))
        return sub

    deps = list(a_sub.items()) + list(z_sub.items())
    eigs = _min_eigs(H, draw, n_points, seed, deps)
    second = structure and all(e > 0 for e in eigs)
    return SymbolicCheck(
        name=f"decoder update (m={m}, n={n}, diagonal={diagonal})",
        ok=stationary and second,
        stationary=stationary,
        second_order=second,
        residuals=residuals,
        solution={"A": A_der, "Sigma_Z": Sz_der, "A_free_of": leaked or set()},
        hessian_min_eigenvalues=eigs,
        notes="For PD M, L is a PD quadratic in A (Hessian M ⊗ Σ_X) whose minimiser does "
        "not depend on Σ_Z; the profile in Σ_Z is minimised at P (diag P).",
    )


# ----------------------------------------------------------------------- collapse point
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
    _check_dims(1, n)
    gamma, lam = _gamma_lambda()
    A = _matrix("a", n, 1)
    B = _matrix("b", 1, n)
    Sz = _diagonal("z", n)
    Sw = _symmetric("w", 1)
    Sy = _symmetric("y", n)
    L = loss_expression(A, B, Sz, Sw, Sy, gamma, lam)["total"]
    D = sp.diag(*[Sy[i, i] for i in range(n)])
    M = gamma * _inverse(D) + 2 * lam * sp.eye(n)
    a_syms, b_syms = _flat(A), _flat(B)
    z_syms = [Sz[i, i] for i in range(n)]
    vars_ = a_syms + b_syms + [Sw[0, 0]] + z_syms
    point = {s: 0 for s in a_syms + b_syms} | {Sw[0, 0]: 1}
    point |= {z_syms[i]: Sy[i, i] for i in range(n)}
    grad = _simplify(sp.Matrix([sp.diff(L, v) for v in vars_]).subs(point))
    H = _simplify(sp.hessian(L, vars_).subs(point))
    expected = sp.BlockMatrix([[M, -M * Sy], [-Sy * M, Sy]]).as_explicit()
    k = 2 * n
    residuals = {
        "gradient": grad,
        "hessian_ab - [[M, -M Sigma_Y], [-Sigma_Y M, Sigma_Y]]": _simplify(H[:k, :k] - expected),
        "hessian_ab,noise": H[:k, k:],
    }
    stationary = _is_zero(grad)
    structure = all(_is_zero(r) for r in residuals.values())

    def draw(rng):
        # Σ_Y SPD and (γ, λ) with M ≻ 0, rescaled so that λ_max(Σ_Y^{1/2} M Σ_Y^{1/2}) = 0.9.
        y = _random_spd(rng, n)
        d = np.diag(y)
        g = float(rng.uniform(0.1, 1.0))
        lam_v = float(rng.uniform(-0.45 * g, 0.5)) / d.max()
        ly = np.linalg.cholesky(y)
        top = np.linalg.eigvalsh(ly.T @ np.diag(g / d + 2 * lam_v) @ ly)[-1]
        sub = {gamma: 0.9 * g / top, lam: 0.9 * lam_v / top}
        _assign(sub, Sy, y)
        return sub

    eigs = _min_eigs(H[:k, :k], draw, n_points, seed)
    second = structure and all(e > 0 for e in eigs)
    return SymbolicCheck(
        name=f"collapse Hessian (m=1, n={n})",
        ok=stationary and structure,
        stationary=stationary,
        second_order=second,
        residuals=residuals,
        solution={"threshold": _simplify(_inverse(Sy) - M)},
        hessian_min_eigenvalues=eigs,
        notes="Collapse is a strict local minimum iff 0 ≺ γ D^{-1} + 2λI ≺ Σ_Y^{-1}.",
    )


# ------------------------------------------------------------------------- divergence
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
    _check_dims(m, n)
    if m > n:
        raise ValueError(f"m: must be <= n for this path, got m={m}, n={n}")
    gamma, lam = _gamma_lambda()
    eps = sp.Symbol("epsilon", positive=True)
    Sy = _diagonal("s", n)
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


def _check_dims(m, n) -> None:
    for name, v in (("m", m), ("n", n)):
        if not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name}: must be a positive integer, got {v!r}")
        if v > 4:
            raise ValueError(f"{name}: symbolic checks are limited to dimensions <= 4, got {v}")
