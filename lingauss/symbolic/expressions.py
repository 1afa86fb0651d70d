"""The pieces of the symbolic verifications: the :class:`SymbolicCheck` result, symbol
matrices, the γλ loss and the closed-form updates in sympy (reference §2, eq. 9-10), and the
numeric Hessian check at random admissible points."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

__all__ = [
    "SymbolicCheck",
    "LossProblem",
    "loss_problem",
    "loss_expression",
    "encoder_closed_form",
    "decoder_closed_form",
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

    @classmethod
    def checked(
        cls, name, stationary, structure, eigs, residuals, solution, notes, *, need_eigs=True
    ) -> SymbolicCheck:
        """A check whose second order is a symbolic ``structure`` backed by Hessian eigenvalues
        ``eigs`` at random points: ``second_order = structure and min(eigs) > 0``, ``ok =
        stationary and second_order`` (``stationary and structure`` without ``need_eigs``)."""
        second = structure and all(e > 0 for e in eigs)
        return cls(
            name=name,
            ok=stationary and (second if need_eigs else structure),
            stationary=stationary,
            second_order=second,
            residuals=residuals,
            solution=solution,
            hessian_min_eigenvalues=eigs,
            notes=notes,
        )


def matrix_symbols(prefix: str, rows: int, cols: int) -> sp.Matrix:
    """A ``rows × cols`` matrix of independent real symbols ``{prefix}{i}{j}``."""
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{prefix}{i}{j}", real=True))


def symmetric_symbols(prefix: str, d: int) -> sp.Matrix:
    """A symmetric ``d × d`` matrix of real symbols ``{prefix}{i}{j}`` (``i <= j``), with a
    positive diagonal."""

    def entry(i, j):
        i, j = min(i, j), max(i, j)
        return sp.Symbol(f"{prefix}{i}{j}", real=True, positive=(i == j) or None)

    return sp.Matrix(d, d, entry)


def diagonal_symbols(prefix: str, d: int) -> sp.Matrix:
    """A diagonal ``d × d`` matrix of positive symbols ``{prefix}{i}``."""
    return sp.diag(*[sp.Symbol(f"{prefix}{i}", positive=True) for i in range(d)])


def upper_entries(M: sp.Matrix) -> list[sp.Symbol]:
    """The entries on and above the diagonal of a square matrix, row by row."""
    d = M.shape[0]
    return [M[i, j] for i in range(d) for j in range(i, d)]


def flat_entries(M: sp.Matrix) -> list:
    """The entries of a matrix, row by row."""
    return [M[i, j] for i in range(M.shape[0]) for j in range(M.shape[1])]


def is_zero(expr) -> bool:
    """Whether an expression (every entry of a matrix) is identically 0 as a rational
    function."""
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    return sp.cancel(sp.together(expr)) == 0


def simplify_rational(expr):
    """An expression (or each entry of a matrix) in canonical rational form."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(lambda e: sp.cancel(sp.together(e)))
    return sp.cancel(sp.together(expr))


def gamma_lambda():
    """The symbols ``γ > 0`` and real ``λ``."""
    return sp.Symbol("gamma", positive=True), sp.Symbol("lam", real=True)


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
    nll = ((inverse(Sigma_Z) * R).trace() + n * sp.log(2 * sp.pi) + sp.log(Sigma_Z.det())) / 2
    mse = R.trace()
    return {"kl": kl, "nll": nll, "mse": mse, "total": kl + gamma * nll + lam * mse, "R": R}


def inverse(M: sp.Matrix) -> sp.Matrix:
    """``M^{-1}``: entrywise for a diagonal matrix, else by the adjugate."""
    if M.is_diagonal():
        return sp.diag(*[1 / M[i, i] for i in range(M.shape[0])])
    return M.inv(method="ADJ")


def matrix_gradient(L, S: sp.Matrix) -> sp.Matrix:
    """``∂L/∂S`` for a symmetric matrix of symbols ``S`` (each off-diagonal symbol appears
    twice, so its partial derivative is twice the matrix-gradient entry)."""
    d = S.shape[0]
    return sp.Matrix(d, d, lambda i, j: sp.diff(L, S[i, j]) / (1 if i == j else 2))


def encoder_closed_form(A, Sigma_Z, gamma, lam):
    """Reference eq. 9 in sympy: ``M = γ Σ_Z^{-1} + 2λ I``, ``Σ_W = (I + A^T M A)^{-1}``,
    ``B = Σ_W A^T M``. Returns ``(B, Sigma_W)``."""
    n, m = A.shape
    M = gamma * inverse(Sigma_Z) + 2 * lam * sp.eye(n)
    Sigma_W = (sp.eye(m) + A.T * M * A).inv(method="ADJ")
    return Sigma_W * A.T * M, Sigma_W


def decoder_closed_form(B, Sigma_W, Sigma_Y, diagonal=True):
    """Reference eq. 10 in sympy: ``P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``,
    ``A = P B^T Σ_W^{-1}``, ``Σ_Z = diag(P)`` (or ``P``). Returns ``(A, Sigma_Z)``."""
    Wi = inverse(Sigma_W)
    P = (inverse(Sigma_Y) + B.T * Wi * B).inv(method="ADJ")
    A = P * B.T * Wi
    if diagonal:
        return A, sp.diag(*[P[i, i] for i in range(P.shape[0])])
    return A, P


def random_spd(rng, d):
    """A random ``d × d`` symmetric positive-definite matrix (``G Gᵀ + I/2``)."""
    g = rng.standard_normal((d, d))
    return g @ g.T + 0.5 * np.eye(d)


def min_hessian_eigenvalues(H: sp.Matrix, draw, n_points: int, seed: int, deps=()) -> tuple:
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


def assign_values(sub: dict, S: sp.Matrix, value: np.ndarray) -> None:
    """Put ``value[i, j]`` in ``sub`` for every entry of ``S`` that is a symbol."""
    for i in range(S.shape[0]):
        for j in range(S.shape[1]):
            if isinstance(S[i, j], sp.Symbol):
                sub[S[i, j]] = float(value[i, j])


def check_dims(m, n) -> None:
    """Refuse dimensions that are not positive integers or exceed 4 (``ValueError``)."""
    for name, v in (("m", m), ("n", n)):
        if not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name}: must be a positive integer, got {v!r}")
        if v > 4:
            raise ValueError(f"{name}: symbolic checks are limited to dimensions <= 4, got {v}")


@dataclass(frozen=True)
class LossProblem:
    """The symbols of the γλ loss at dimensions ``(m, n)`` and the loss built from them.

    ``A`` (n×m, entries ``a_ij``), ``B`` (m×n, ``b_ij``), ``Sigma_Z`` (diagonal ``z_i`` or
    symmetric ``z_ij``), ``Sigma_W`` (symmetric ``w_ij``), ``Sigma_Y`` (symmetric ``y_ij``),
    ``gamma > 0``, real ``lam``; ``L`` the total loss (:func:`loss_expression`) and
    ``M = γ Σ_Z^{-1} + 2λ I``.
    """

    gamma: sp.Symbol
    lam: sp.Symbol
    A: sp.Matrix
    B: sp.Matrix
    Sigma_Z: sp.Matrix
    Sigma_W: sp.Matrix
    Sigma_Y: sp.Matrix
    L: sp.Expr
    M: sp.Matrix

    def __iter__(self):
        """The fields in order, to unpack: ``gamma, lam, A, B, Sz, Sw, Sy, L, M = problem``."""
        return iter((self.gamma, self.lam, self.A, self.B, self.Sigma_Z, self.Sigma_W,
                     self.Sigma_Y, self.L, self.M))  # fmt: skip


def loss_problem(m: int, n: int, *, diagonal: bool = True) -> LossProblem:
    """The symbols and the loss of a verification at dimensions ``(m, n)`` (checked)."""
    check_dims(m, n)
    gamma, lam = gamma_lambda()
    A = matrix_symbols("a", n, m)
    B = matrix_symbols("b", m, n)
    Sz = diagonal_symbols("z", n) if diagonal else symmetric_symbols("z", n)
    Sw = symmetric_symbols("w", m)
    Sy = symmetric_symbols("y", n)
    L = loss_expression(A, B, Sz, Sw, Sy, gamma, lam)["total"]
    M = gamma * inverse(Sz) + 2 * lam * sp.eye(n)
    return LossProblem(gamma, lam, A, B, Sz, Sw, Sy, L, M)
