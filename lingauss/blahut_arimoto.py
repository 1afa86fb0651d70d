"""Blahut–Arimoto (alternating exact minimisation) for the γλ-VAE loss (reference §3).

With ``M = γ Σ_Z^{-1} + 2λ I_n`` (positive definite):

* encoder update, the exact minimiser of L over ``(B, Σ_W)``::

      Σ_W ← (I_m + A^T M A)^{-1},   B ← Σ_W A^T M

* decoder update, the exact minimiser of L over ``(A, Σ_Z)``::

      P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1},   A ← P B^T Σ_W^{-1} (= Σ_Y B^T Σ_X^{-1}),
      Σ_Z ← diag(P)   (or P with ``diagonal=False``)

The optimal ``A`` does not depend on ``M`` (it minimises ``tr(M R)`` for every PD ``M``), so the
decoder step is a joint minimiser and the loss never increases while ``M`` stays PD.

Many small problems advance together in :func:`blahut_arimoto_batch` as stacked arrays; members
that stop drop out of the active set.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .loss import LossTerms, loss_terms_from_cholesky
from .validation import (
    as_float_array,
    check_covariance,
    check_finite_scalar,
    check_positive_scalar,
    check_shape,
)

__all__ = [
    "Solution",
    "BatchSolution",
    "encoder_update",
    "decoder_update",
    "blahut_arimoto",
    "blahut_arimoto_batch",
    "random_encoder",
    "make_spd_matrix_authors",
    "encoder_mutual_information",
    "classify_regime",
    "REGIMES",
    "RESOLUTION_LIMIT",
    "STOP_REASONS",
]

REGIMES = ("collapsed", "interior", "divergent")
STOP_REASONS = (
    "converged",
    "max_half_steps",
    "notebook_rule",
    "block_rule",
    "resolution_limit",
    "indefinite_M",
    "nonfinite",
)

#: The exact rule stops a run once ``λ_min(Σ_W)`` is below about this value (tested through
#: ``max diag Σ_W^{-1}``, within a factor ``m``): the loss is then no longer resolvable in
#: float64, and a run gets there only by drifting to a deterministic encoder (γ > 1).
RESOLUTION_LIMIT = 1e-9


# ----------------------------------------------------------------------------- linear algebra
def _inv_spd(K: np.ndarray) -> np.ndarray:
    """Inverse of a stack of small SPD matrices, shape ``(..., d, d)``.

    For ``d <= 6`` a Cholesky factorisation ``K = L L^T``, the triangular inverse ``L^{-1}``
    and the product ``L^{-T} L^{-1}``, written out entry by entry, each entry a vector over
    the stack: a few dozen vector operations instead of one LAPACK call per matrix, several
    times faster than ``np.linalg.inv`` on thousands of 3x3 matrices. The first two steps
    run as straight-line code generated once per ``d`` (:func:`_inv_kernel`); the product's
    terms are formed in one vector operation, then summed in the same order as entry by
    entry. Larger matrices go to LAPACK.
    """
    d = K.shape[-1]
    if d > 6 or K.ndim == 2:
        out = np.linalg.inv(K)
        return 0.5 * (out + np.swapaxes(out, -1, -2))
    shape = K.shape
    K = K.reshape(-1, d, d)
    pos, gather, n_terms, sizes, full = _product_plan(d)
    Li = np.empty((len(pos), K.shape[0]))  # row pos[i, j]: entry (i, j) of L^{-1}
    _inv_kernel(d)(K, Li)
    # (L^{-T} L^{-1})[i, j] = sum over k = i, i + 1, ... of Li[k, i] Li[k, j] (j <= i):
    # every product at once, then the terms k = i + q added for q = 1, 2, ...
    g = Li[gather]
    prod = g[:n_terms] * g[n_terms:]
    out = prod[: sizes[0]]
    at = sizes[0]
    for size in sizes[1:]:
        out[:size] += prod[at : at + size]
        at += size
    return out.T.take(full, axis=1).reshape(shape)


def _inv_source(d: int) -> str:
    """Source of :func:`_inv_kernel` for ``d x d`` matrices.

    Unrolls, for entries ``k_ij = K[:, i, j]`` (``j <= i``)::

        for j in range(d):                      # Cholesky, L = [l_ij], r_j = 1 / l_jj
            s = k_jj; for k < j: s = s - l_jk * l_jk
            r_j = 1 / sqrt(s)
            for i > j: t = k_ij; for k < j: t = t - l_ik * l_jk;  l_ij = t * r_j
        for i in range(d):                      # L^{-1} = [li_ij], li_ii = r_i
            for j < i: t = l_ij * r_j; for j < k < i: t = t + l_ik * li_kj;  li_ij = -t * r_i

    Each line of the result is one vector operation (nested expressions evaluate in the
    order of the loops); ``r_j`` and ``li_ij`` are written to their rows of ``Li``.
    """
    pos = {}
    for i in range(d):
        for j in range(i + 1):
            pos[i, j] = len(pos)
    src = [f"def kernel(K, Li):  # d = {d}"]
    src += [f"    k{i}{j} = K[:, {i}, {j}]" for (i, j) in pos]
    for j in range(d):
        s = f"k{j}{j}"
        for k in range(j):
            s = f"({s} - l{j}{k} * l{j}{k})"
        src.append(f"    r{j} = divide(1.0, sqrt({s}), out=Li[{pos[j, j]}])")
        for i in range(j + 1, d):
            t = f"k{i}{j}"
            for k in range(j):
                t = f"({t} - l{i}{k} * l{j}{k})"
            src.append(f"    l{i}{j} = {t} * r{j}")
    for i in range(d):
        for j in range(i):
            t = f"l{i}{j} * r{j}"
            for k in range(j + 1, i):
                t = f"({t} + l{i}{k} * li{k}{j})"
            src.append(f"    li{i}{j} = multiply(-({t}), r{i}, out=Li[{pos[i, j]}])")
    return "\n".join(src) + "\n"


@functools.cache
def _inv_kernel(d: int):
    """``kernel(K, Li)``: the Cholesky factorisation and triangular inverse of
    :func:`_inv_spd` for a ``(P, d, d)`` stack ``K``, written to the rows of ``Li``
    (``(d (d + 1) / 2, P)``, packed as in :func:`_product_plan`); see :func:`_inv_source`.
    Straight-line code spares the interpreter the loops and index arithmetic around each of
    its few dozen vector operations.
    """
    namespace = {"divide": np.divide, "sqrt": np.sqrt, "multiply": np.multiply}
    exec(compile(_inv_source(d), f"<_inv_kernel({d})>", "exec"), namespace)
    return namespace["kernel"]


@functools.cache
def _product_plan(d: int):
    """Index plan of :func:`_inv_spd`'s product for ``d x d`` matrices.

    Returns ``pos`` (entry ``(i, j)``, ``j <= i``, of ``L^{-1}`` to its row, packed row by
    row), the rows to gather (left factors, then right factors), the number of products,
    the number of entries with a term ``k = i + q`` for each ``q`` (those come first in the
    packed order, so each term is added to a leading block) and, for each entry of the
    symmetric result in row-major order, its packed row.
    """
    pos = {}
    for i in range(d):
        for j in range(i + 1):
            pos[i, j] = len(pos)
    left, right, sizes = [], [], []
    for q in range(d):
        entries = [(i, j) for (i, j) in pos if i + q < d]
        sizes.append(len(entries))
        left += [pos[i + q, i] for i, j in entries]
        right += [pos[i + q, j] for i, j in entries]
    full = np.array([pos[max(i, j), min(i, j)] for i in range(d) for j in range(d)])
    return pos, np.array(left + right), len(left), tuple(sizes), full


def _T(x):
    return np.swapaxes(x, -1, -2)


# ------------------------------------------------------------------------------ the updates
def _m_matrix(Sigma_Z, gamma, lam):
    n = Sigma_Z.shape[-1]
    g = np.asarray(gamma, dtype=float)[..., None, None]
    lm = np.asarray(lam, dtype=float)[..., None, None]
    return g * np.linalg.inv(Sigma_Z) + 2.0 * lm * np.eye(n)


def encoder_update(A, Sigma_Z, gamma, lam):
    """Exact minimiser of the γλ loss over the encoder ``(B, Σ_W)`` (reference eq. 9).

    ``M = γ Σ_Z^{-1} + 2λ I``, ``Σ_W = (I + A^T M A)^{-1}``, ``B = Σ_W A^T M``.

    Parameters
    ----------
    A : array_like, shape (..., n, m)
    Sigma_Z : array_like, shape (..., n, n)
        SPD decoder noise covariance.
    gamma : float, > 0
    lam : float

    Returns
    -------
    B : ndarray, shape (..., m, n)
    Sigma_W : ndarray, shape (..., m, m)

    Raises
    ------
    ValueError
        If ``gamma <= 0``, shapes mismatch, or ``M`` is not positive definite (then the
        update is a saddle point, not a minimiser, and the loss is unbounded below).

    Examples
    --------
    >>> import numpy as np
    >>> B, Sw = encoder_update(np.ones((1, 1)), np.eye(1), 1.0, 0.0)
    >>> float(Sw[0, 0]), float(B[0, 0])
    (0.5, 0.5)
    """
    gamma = check_positive_scalar(gamma, "gamma")
    lam = check_finite_scalar(lam, "lam")
    A = as_float_array(A, "A", min_ndim=2)
    Sigma_Z, _ = check_covariance(Sigma_Z, "Sigma_Z")
    n, m = A.shape[-2:]
    if Sigma_Z.shape[-1] != n:
        raise ValueError(f"Sigma_Z: expected ({n}, {n}) to match A's {n} rows, got {Sigma_Z.shape}")
    M = _m_matrix(Sigma_Z, gamma, lam)
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"gamma, lam: M = gamma*inv(Sigma_Z) + 2*lam*I is not positive definite for "
            f"gamma={gamma}, lam={lam}; the encoder update is ill-posed (loss unbounded below)"
        ) from None
    K = np.eye(m) + _T(A) @ M @ A
    Sigma_W = np.linalg.inv(K)
    Sigma_W = 0.5 * (Sigma_W + _T(Sigma_W))
    B = Sigma_W @ _T(A) @ M
    return B, Sigma_W


def decoder_update(B, Sigma_W, Sigma_Y, diagonal: bool = True):
    """Exact minimiser of the γλ loss over the decoder ``(A, Σ_Z)`` (reference eq. 10).

    ``P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``, ``A = P B^T Σ_W^{-1}``, ``Σ_Z = diag(P)``
    (``P`` itself when ``diagonal=False``). ``P`` is the posterior covariance of ``Y``
    given ``X``.

    Parameters
    ----------
    B : array_like, shape (..., m, n)
    Sigma_W : array_like, shape (..., m, m)
    Sigma_Y : array_like, shape (..., n, n)
    diagonal : bool
        Keep only the diagonal of ``P`` (the paper's model; default) or the full ``P``.

    Returns
    -------
    A : ndarray, shape (..., n, m)
    Sigma_Z : ndarray, shape (..., n, n)

    Examples
    --------
    >>> import numpy as np
    >>> A, Sz = decoder_update(np.ones((1, 1)), np.eye(1), np.eye(1))
    >>> float(A[0, 0]), float(Sz[0, 0])
    (0.5, 0.5)
    """
    B = as_float_array(B, "B", min_ndim=2)
    Sigma_W, _ = check_covariance(Sigma_W, "Sigma_W")
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y")
    m, n = B.shape[-2:]
    if Sigma_W.shape[-1] != m:
        raise ValueError(f"Sigma_W: expected ({m}, {m}) to match B's {m} rows, got {Sigma_W.shape}")
    if Sigma_Y.shape[-1] != n:
        raise ValueError(
            f"Sigma_Y: expected ({n}, {n}) to match B's {n} columns, got {Sigma_Y.shape}"
        )
    G = _T(B) @ np.linalg.inv(Sigma_W)
    P = np.linalg.inv(np.linalg.inv(Sigma_Y) + G @ B)
    P = 0.5 * (P + _T(P))
    A = P @ G
    if diagonal:
        P = np.diagonal(P, axis1=-2, axis2=-1)[..., :, None] * np.eye(n)
    return A, P


def encoder_mutual_information(B, Sigma_W, Sigma_Y) -> np.ndarray | float:
    """``I(X;Y) = 1/2 (log|B Σ_Y B^T + Σ_W| - log|Σ_W|)`` in nats (the encoder's rate)."""
    B = as_float_array(B, "B", min_ndim=2)
    Sigma_W, _ = check_covariance(Sigma_W, "Sigma_W")
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y")
    val = mi_xy_from_cholesky(B, Sigma_W, Sigma_Y)
    return float(val) if np.ndim(val) == 0 else val


def mi_xy_from_cholesky(B, Sigma_W, Sigma_Y, lw=None):
    """``I(X;Y) = ½ log|I + L_W⁻¹ B Σ_Y Bᵀ L_W⁻ᵀ|`` in nats, unchecked (``lw``: Cholesky of Σ_W).

    The eigenvalue form has no cancellation when I(X;Y) is small; batched over leading axes.
    :func:`encoder_mutual_information` is the checked entry point.
    """
    if lw is None:
        lw = np.linalg.cholesky(Sigma_W)
    C = np.linalg.solve(lw, B)
    S = C @ Sigma_Y @ _T(C)
    ev = np.linalg.eigvalsh(0.5 * (S + _T(S)))
    return 0.5 * np.sum(np.log1p(np.maximum(ev, 0.0)), axis=-1)


# --------------------------------------------------------------------------- initialisation
def make_spd_matrix_authors(m: int, rng: np.random.Generator, size: int | None = None):
    """Random SPD matrix drawn as scikit-learn's ``make_spd_matrix`` does (reference §6.1).

    ``A ~ U[0,1)^{m×m}``; ``U, s, V^T = svd(A^T A)``; ``Σ = U (J + diag(u)) V^T`` with
    ``u ~ U[0,1)^m`` and ``J`` the all-ones matrix. Not exchangeable across coordinates.

    Returns an array of shape ``(m, m)`` or ``(size, m, m)``.
    """
    shape = () if size is None else (size,)
    a = rng.random(shape + (m, m))
    u_, _, vt = np.linalg.svd(_T(a) @ a)
    d = rng.random(shape + (m,))
    core = 1.0 + d[..., :, None] * np.eye(m)
    out = u_ @ core @ vt
    return 0.5 * (out + _T(out))


def random_encoder(
    m: int, n: int, rng: np.random.Generator, size: int | None = None, method: str = "authors"
):
    """Random initial encoder ``(B0, Σ_W0)``.

    Parameters
    ----------
    m, n : int
        Latent and data dimensions.
    rng : numpy.random.Generator
    size : int, optional
        Number of independent draws (stacked on a leading axis).
    method : {"authors", "exchangeable"}
        ``"authors"``: B uniform on [0,1), Σ_W from :func:`make_spd_matrix_authors`.
        ``"exchangeable"``: B uniform on [0,1), ``Σ_W = Q diag(1 + u) Q^T`` with ``Q`` a
        Haar-random orthogonal matrix and ``u ~ U[0,1)^m``, a law invariant under permutations
        (and rotations) of the latents.
    """
    shape = () if size is None else (size,)
    if method == "authors":
        B0 = rng.random(shape + (m, n))
        Sw0 = make_spd_matrix_authors(m, rng, size)
    elif method == "exchangeable":
        B0 = rng.random(shape + (m, n))
        g = rng.standard_normal(shape + (m, m))
        q, r = np.linalg.qr(g)
        q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
        u = 1.0 + rng.random(shape + (m,))
        Sw0 = (q * u[..., None, :]) @ _T(q)
        Sw0 = 0.5 * (Sw0 + _T(Sw0))
    else:
        raise ValueError(f"method: expected 'authors' or 'exchangeable', got {method!r}")
    return B0, Sw0


# --------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Solution:
    """Result of one Blahut–Arimoto run.

    Attributes
    ----------
    A, B, Sigma_Z, Sigma_W : ndarray
        Final decoder ``(n, m)``, encoder ``(m, n)`` and noise covariances.
    gamma, lam : float
    loss : LossTerms
        Closed-form loss terms at the final parameters.
    half_steps : int
        Half-steps (encoder or decoder updates) performed.
    stop_reason : str
        One of :data:`STOP_REASONS`.
    converged : bool
        True when the exact stopping rule (or the notebook rule) fired.
    regime : str
        ``"collapsed"`` (I(X;Y) = 0 at the optimum), ``"interior"`` (a finite optimum) or
        ``"divergent"`` (I(X;Y) still rising at a non-decaying rate: the loss has no minimum),
        decided from the run's evidence by :func:`classify_regime`.
    mutual_information_xy : float
        I(X;Y) in nats at the final parameters.
    min_eig_sigma_w : float
        Smallest eigenvalue of Σ_W.
    loss_history, mi_history : ndarray
        Total loss and I(X;Y) every ``history_every`` half-steps (index 0: initial encoder
        after the first decoder step).
    history_every : int
    constrained : bool
        Whether the run used ``variance_floor`` (projected updates).
    floor_active : bool
        Whether a floor binds at the final parameters (an eigenvalue of Σ_W or Σ_Z at it).
    """

    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    gamma: float
    lam: float
    loss: LossTerms
    half_steps: int
    stop_reason: str
    converged: bool
    regime: str
    mutual_information_xy: float
    min_eig_sigma_w: float
    loss_history: np.ndarray = field(repr=False)
    mi_history: np.ndarray = field(repr=False)
    history_every: int = 1
    constrained: bool = False
    floor_active: bool = False

    def summary(self) -> dict:
        """Scalar fields as a dict (for tables and JSON)."""
        out = {
            "gamma": self.gamma,
            "lam": self.lam,
            "regime": self.regime,
            "stop_reason": self.stop_reason,
            "converged": self.converged,
            "half_steps": self.half_steps,
            "mi_xy": self.mutual_information_xy,
            "min_eig_sigma_w": self.min_eig_sigma_w,
            "constrained": self.constrained,
            "floor_active": self.floor_active,
        }
        out.update(
            {
                f"loss_{k}": float(v)
                for k, v in self.loss.as_dict().items()
                if k not in ("gamma", "lam")
            }
        )
        return out


@dataclass(frozen=True)
class BatchSolution:
    """Stacked results of :func:`blahut_arimoto_batch` (leading axis: problem index)."""

    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    gamma: np.ndarray
    lam: np.ndarray
    loss: LossTerms
    half_steps: np.ndarray
    stop_reason: np.ndarray
    converged: np.ndarray
    regime: np.ndarray
    mutual_information_xy: np.ndarray
    min_eig_sigma_w: np.ndarray
    loss_history: np.ndarray = field(repr=False)
    mi_history: np.ndarray = field(repr=False)
    history_every: int = 1
    constrained: bool = False
    floor_active: np.ndarray | None = None

    def __len__(self) -> int:
        return self.B.shape[0]

    def __getitem__(self, i: int) -> Solution:
        h = self.loss_history[:, i]
        keep = np.isfinite(h)
        return Solution(
            A=self.A[i],
            B=self.B[i],
            Sigma_Z=self.Sigma_Z[i],
            Sigma_W=self.Sigma_W[i],
            gamma=float(self.gamma[i]),
            lam=float(self.lam[i]),
            loss=LossTerms(
                *(
                    float(np.asarray(getattr(self.loss, k))[i])
                    for k in ("kl", "nll", "mse", "total", "gamma", "lam")
                )
            ),
            half_steps=int(self.half_steps[i]),
            stop_reason=str(self.stop_reason[i]),
            converged=bool(self.converged[i]),
            regime=str(self.regime[i]),
            mutual_information_xy=float(self.mutual_information_xy[i]),
            min_eig_sigma_w=float(self.min_eig_sigma_w[i]),
            loss_history=h[keep],
            mi_history=self.mi_history[:, i][keep],
            history_every=self.history_every,
            constrained=self.constrained,
            floor_active=bool(self.floor_active[i]) if self.floor_active is not None else False,
        )


# ---------------------------------------------------------------------------- regime logic
def classify_regime(
    mi_history,
    converged: bool,
    collapse_tol: float = 1e-8,
    loss_history=None,
    min_eig_sigma_w: float | None = None,
) -> str:
    """Decide the regime of a run from its I(X;Y) (and loss) trajectory.

    The last three records at spacing ``w`` (a tenth of the run, at least 3 records) give
    the rises ``d1`` (earlier) and ``d2`` (later) of I(X;Y).

    * ``collapsed``: final I(X;Y) ≤ ``collapse_tol`` nats; or, for a run that did not
      converge, I(X;Y) falling geometrically to a limit (Aitken's Δ² extrapolation
      ``I - d2²/(d2 - d1)``) that is ≤ ``collapse_tol``;
    * ``divergent``: not converged, I(X;Y) rising in both windows with ``d2 ≥ d1/2`` (growth
      that does not decay geometrically to a limit), while the loss keeps falling by more than
      ``1e-9 (1 + |L|)`` per window (or Σ_W has an eigenvalue below
      :data:`RESOLUTION_LIMIT`, past which float64 no longer resolves the loss): the signature
      of a loss unbounded below (γ > 1: I grows by ½ log γ per direction and iteration;
      γ = 1 with λ > 0: slower);
    * ``interior`` otherwise. A run that hit its budget without converging and shows neither
      signature (for example a loss flat to 1e-9 along a direction, as at γ = 1) is
      ``interior`` with ``converged=False``: check ``stop_reason``.
    """
    h = np.asarray(mi_history, dtype=float)
    h = h[np.isfinite(h)]
    if h.size == 0:
        return "interior"
    if h[-1] <= collapse_tol:
        return "collapsed"
    if converged or h.size < 9:
        return "interior"
    w = _regime_window(h.size)
    i2, i1, i0 = h[-1], h[-1 - w], h[-1 - 2 * w]
    d2, d1 = i2 - i1, i1 - i0
    scale = 1e-12 * max(1.0, abs(i2))
    falling_loss = True
    if loss_history is not None:
        lh = np.asarray(loss_history, dtype=float)
        lh = lh[np.isfinite(lh)]
        if lh.size > w:
            falling_loss = lh[-1 - w] - lh[-1] > 1e-9 * (1.0 + abs(lh[-1]))
    if min_eig_sigma_w is not None and min_eig_sigma_w < RESOLUTION_LIMIT:
        falling_loss = True
    if d2 > scale and d1 > scale and d2 >= 0.5 * d1 and falling_loss:
        return "divergent"
    if d2 < -scale and d1 < d2:
        limit = i2 - d2 * d2 / (d2 - d1)
        if limit <= collapse_tol:
            return "collapsed"
    return "interior"


def _regime_window(size: int) -> int:
    """Spacing of the records :func:`classify_regime` compares, for ``size`` I(X;Y) values."""
    return max(3, size // 10)


def _regime_records(max_half_steps: int, history_every: int) -> frozenset:
    """Record indices :func:`classify_regime` reads for a run that uses its whole budget.

    Its ``max_half_steps // history_every`` records (index ``r`` at half-step
    ``r * history_every``) and the final I(X;Y) give ``w``; the test reads I(X;Y) at the
    records ``R + 1 - w`` and ``R + 1 - 2w`` and the loss at ``R - w`` and ``R``.
    """
    R = max_half_steps // history_every
    w = _regime_window(R + 1)
    return frozenset(r for r in (R - w, R + 1 - 2 * w, R + 1 - w, R) if r >= 1)


# ---------------------------------------------------------------------------------- solver
def _check_batch_inputs(Sigma_Y, m, gamma, lam, B0, Sigma_W0, diagonal):
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y")
    n = Sigma_Y.shape[-1]
    if not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    B0 = as_float_array(B0, "B0", ndim=3)
    P = B0.shape[0]
    check_shape(B0, (P, m, n), "B0")
    Sigma_W0, _ = check_covariance(Sigma_W0, "Sigma_W0")
    check_shape(Sigma_W0, (P, m, m), "Sigma_W0")
    if Sigma_Y.ndim == 2:
        Sigma_Y = np.broadcast_to(Sigma_Y, (P, n, n))
    check_shape(Sigma_Y, (P, n, n), "Sigma_Y")
    gamma = np.broadcast_to(as_float_array(gamma, "gamma"), (P,)).astype(float)
    lam = np.broadcast_to(as_float_array(lam, "lam"), (P,)).astype(float)
    if np.any(gamma <= 0):
        raise ValueError(f"gamma: must be > 0, got min {gamma.min()!r}")
    # After a decoder step Σ_Z ≤ Σ_Y (Loewner), so M = γΣ_Z^{-1}+2λI stays PD whenever
    # γ / s + 2λ > 0 with s = max diag Σ_Y (diagonal Σ_Z) or λ_max(Σ_Y) (full Σ_Z).
    if np.any(lam < 0):
        if diagonal:
            s = np.max(np.diagonal(Sigma_Y, axis1=-2, axis2=-1), axis=-1)
        else:
            s = np.linalg.eigvalsh(Sigma_Y)[..., -1]
        bad = gamma / s + 2.0 * lam <= 0
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValueError(
                f"gamma, lam: gamma={gamma[k]}, lam={lam[k]} make M = gamma*inv(Sigma_Z) + "
                f"2*lam*I indefinite for admissible Sigma_Z (gamma/{s[k]:.4g} + 2*lam <= 0); "
                "the encoder update is ill-posed"
            )
    return np.ascontiguousarray(Sigma_Y), gamma, lam, B0, Sigma_W0


def blahut_arimoto_batch(
    Sigma_Y,
    m: int,
    gamma,
    lam,
    B0,
    Sigma_W0,
    *,
    max_half_steps: int = 10_000,
    tol: float = 1e-10,
    diagonal: bool = True,
    stop_rule: str = "exact",
    history_every: int | None = None,
    collapse_tol: float = 1e-8,
    variance_floor: float | tuple[float, float] | None = None,
    block_tol: float | None = None,
    n_jobs: int | str | None = 1,
    history: str = "full",
) -> BatchSolution:
    """Run many Blahut–Arimoto problems together as stacked arrays.

    Each problem starts from its encoder ``(B0[p], Σ_W0[p])`` with a decoder half-step, then
    alternates encoder and decoder half-steps. Problems that stop leave the active stack.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n) or (P, n, n)
    m : int
        Latent dimension.
    gamma, lam : float or array_like, shape (P,)
    B0 : array_like, shape (P, m, n)
    Sigma_W0 : array_like, shape (P, m, m)
    max_half_steps : int
        Budget of half-steps per problem.
    tol : float
        Exact rule: stop when, over one full iteration, the dimensionless parameter changes
        ``||ΔB||σ_Y``, ``||ΔA||/σ_Y``, ``||ΔΣ_W||``, ``||ΔΣ_Z||/σ_Y²`` (Frobenius, with
        ``σ_Y² = tr Σ_Y / n``) and the loss change ``|ΔL|/(1+|L|)`` are all ``<= tol``.
        Only problems whose ``||ΔB||σ_Y`` passes are checked further.
    diagonal : bool
        Diagonal Σ_Z (the paper's model) or full Σ_Z (the follow-up study).
    stop_rule : {"exact", "notebook", "block", "none"}
        ``"exact"`` also stops a run whose encoder noise has fallen below numerical
        resolution (:data:`RESOLUTION_LIMIT`; stop reason ``"resolution_limit"``).
        ``"notebook"``: the authors' rule (reference §6.3): after a half-step, the changed
        block's Frobenius changes are ≤ 1e-8, the loss change rounds to 0 at 8 decimals and
        the reconstruction error is ≤ 1e-6. ``"block"``: the follow-up study's rule, stop
        after a half-step in which both matrices of the updated block ((A, Σ_Z) or (B, Σ_W))
        changed by a Frobenius norm ≤ ``block_tol`` each. ``"none"``: always use the whole budget.
    history_every : int, optional
        Record the loss and I(X;Y) every this many half-steps; default
        ``max(1, max_half_steps // 500)`` (about 500 records, enough for the regime test).
    collapse_tol : float
        I(X;Y) (nats) at or below which an encoder counts as collapsed.
    variance_floor : float or (float, float), optional
        Constrain ``Σ_W ⪰ ε_W I`` and ``Σ_Z ⪰ ε_Z I`` (one value for both, or the pair
        ``(ε_W, ε_Z)``). The updates become projections onto the constraint set, which are
        still the exact constrained block minimisers: the optimal ``B`` and ``A`` do not
        depend on the noise covariances' constraint, and
        ``min_{Σ ⪰ εI} tr(Σ K) - log|Σ|`` is attained at ``K^{-1}`` with its eigenvalues
        raised to ``ε`` (von Neumann's trace inequality); likewise ``Σ_Z`` from ``P``. This
        makes the loss bounded below for γ > 1 (reference §3), at the price of a constrained
        optimum; ``constrained``/``floor_active`` in the result say where it binds.
    block_tol : float, optional
        Threshold of the ``"block"`` rule.
    n_jobs : int, "auto" or None, optional
        Worker processes; the stack is dealt out to ``n_jobs`` processes that run in
        parallel (``None`` or ``-1``: one per usable core; ``"auto"``: one per usable core
        when the work repays starting them, about a million problem half-steps or more, and
        processes can be forked, else 1). Members never interact, so the result is
        bit-identical to ``n_jobs=1``.
    history : {"full", "regime"}
        ``"full"``: keep every record. ``"regime"``: keep only the records the regime test
        reads (:func:`classify_regime`, for a run that uses its whole budget); the others
        are only checked to be finite, so runs stop exactly as with ``"full"`` (a record
        whose finiteness is not certain is computed in full). ``loss_history`` and
        ``mi_history`` are NaN elsewhere; every other output is identical. Runs that stop
        early without converging are re-run with the full history. Saves most of the cost
        of the records when only the regimes are wanted.

    Returns
    -------
    BatchSolution
    """
    if history not in ("full", "regime"):
        raise ValueError(f"history: expected 'full' or 'regime', got {history!r}")
    if stop_rule not in ("exact", "notebook", "block", "none"):
        raise ValueError(
            f"stop_rule: expected 'exact', 'notebook', 'block' or 'none', got {stop_rule!r}"
        )
    if stop_rule == "block":
        if block_tol is None:
            raise ValueError("block_tol: required with stop_rule='block'")
        block_tol = check_positive_scalar(block_tol, "block_tol")
    if history_every is None:
        history_every = max(1, int(max_half_steps) // 500)
    floor = None
    if variance_floor is not None:
        fl = np.broadcast_to(as_float_array(variance_floor, "variance_floor"), (2,))
        if np.any(fl <= 0):
            raise ValueError(f"variance_floor: must be > 0, got {variance_floor!r}")
        floor = (float(fl[0]), float(fl[1]))
    if int(max_half_steps) < 1:
        raise ValueError(f"max_half_steps: must be >= 1, got {max_half_steps!r}")
    if int(history_every) < 1:
        raise ValueError(f"history_every: must be >= 1, got {history_every!r}")
    tol = check_positive_scalar(tol, "tol")
    Sy, gamma, lam, B0, Sw0 = _check_batch_inputs(Sigma_Y, m, gamma, lam, B0, Sigma_W0, diagonal)
    n_jobs = _resolve_jobs(n_jobs, B0.shape[0], int(max_half_steps))
    common = (
        diagonal,
        int(max_half_steps),
        int(history_every),
        floor,
        stop_rule,
        tol,
        block_tol,
        collapse_tol,
        history,
    )
    if n_jobs == 1:
        return _solve_chunk((Sy, gamma, lam, B0, Sw0, *common))
    # every n_jobs-th member to each process: neighbours (restarts of one cell, say) tend to
    # cost alike, so this balances the processes better than contiguous blocks
    chunks = [np.arange(k, B0.shape[0], n_jobs) for k in range(n_jobs)]
    args = [(Sy[c], gamma[c], lam[c], B0[c], Sw0[c], *common) for c in chunks]
    with _pool(n_jobs) as pool:
        parts = list(pool.map(_solve_chunk, args))
    return _merge_batches(parts, chunks)


def _solve_chunk(args) -> BatchSolution:
    Sy, gamma, lam, B0, Sw0, *opts = args
    diagonal, H, every, floor, stop_rule, tol, block_tol, ctol, history = opts
    run = _Run(Sy, gamma, lam, B0, Sw0, diagonal, H, every, floor, history)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # past float64 resolution (stop_rule "none"/"notebook" with γ > 1) values may turn
        # non-finite; such runs are retired with stop_reason "nonfinite"
        run.loop(stop_rule, tol, block_tol)
    res = _finish(run, ctol)
    if history == "regime":
        # the kept records decide the regime of runs that converged or used their whole
        # budget with every record finite; the others run again with their full history
        ok = np.isfinite(res.mutual_information_xy) & (
            res.converged | ((res.stop_reason == "max_half_steps") & run.records_regular)
        )
        if not ok.all():
            keep, redo = np.flatnonzero(ok), np.flatnonzero(~ok)
            sub = (Sy[redo], gamma[redo], lam[redo], B0[redo], Sw0[redo])
            full = _solve_chunk((*sub, *opts[:-1], "full"))
            res = _merge_batches([(res, keep), full], [keep, redo])
    return res


def _resolve_jobs(n_jobs, P: int, max_half_steps: int) -> int:
    import multiprocessing as mp
    import os

    if isinstance(n_jobs, str) and n_jobs == "auto":
        # a fork costs some 10-30 ms; each process then spares the others its members' share
        # of the per-member work (a few microseconds per problem and half-step, against the
        # per-operation overhead every process pays in full)
        if (
            P * max_half_steps < 1_000_000
            or "fork" not in mp.get_all_start_methods()
            or mp.current_process().daemon
        ):
            return 1
        n_jobs = None
    if n_jobs is None or n_jobs == -1:
        try:
            n_jobs = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            n_jobs = os.cpu_count() or 1
    if not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise ValueError(f"n_jobs: must be a positive integer, -1, None or 'auto', got {n_jobs!r}")
    return int(max(1, min(n_jobs, P)))


def _pool(n_jobs: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx)


def _merge_batches(parts: list[BatchSolution], members: list[np.ndarray]) -> BatchSolution:
    """One batch from the results of disjoint sets of members, in member order.

    ``parts[i]`` holds the members ``members[i]`` (indices into the merged batch, each index
    in exactly one set); ``parts[i]`` may also be ``(result, rows)``, its members ``rows``.
    """
    order = np.argsort(np.concatenate(members), kind="stable")
    parts = [p if isinstance(p, tuple) else (p, None) for p in parts]

    def field(get, axis=0):
        values = []
        for res, rows in parts:
            v = np.asarray(get(res))
            values.append(v if rows is None else v.take(rows, axis=axis))
        return np.concatenate(values, axis=axis).take(order, axis=axis)

    first = parts[0][0]
    gamma = field(lambda r: r.gamma)
    lam = field(lambda r: r.lam)
    loss = LossTerms(
        *(field(lambda r, k=k: getattr(r.loss, k)) for k in ("kl", "nll", "mse", "total")),
        gamma.copy(),
        lam.copy(),
    )
    return BatchSolution(
        A=field(lambda r: r.A),
        B=field(lambda r: r.B),
        Sigma_Z=field(lambda r: r.Sigma_Z),
        Sigma_W=field(lambda r: r.Sigma_W),
        gamma=gamma,
        lam=lam,
        loss=loss,
        half_steps=field(lambda r: r.half_steps),
        stop_reason=field(lambda r: r.stop_reason),
        converged=field(lambda r: r.converged),
        regime=field(lambda r: r.regime),
        mutual_information_xy=field(lambda r: r.mutual_information_xy),
        min_eig_sigma_w=field(lambda r: r.min_eig_sigma_w),
        loss_history=field(lambda r: r.loss_history, 1),
        mi_history=field(lambda r: r.mi_history, 1),
        history_every=first.history_every,
        constrained=first.constrained,
        floor_active=None if first.floor_active is None else field(lambda r: r.floor_active),
    )


class _Run:
    """Mutable state of a batched BA run (active problems only)."""

    def __init__(
        self,
        Sy,
        gamma,
        lam,
        B0,
        Sw0,
        diagonal,
        max_half_steps,
        history_every,
        floor=None,
        history="full",
    ):
        P, m, n = B0.shape
        self.floor = floor  # (floor on eig Σ_W, floor on eig Σ_Z) or None
        self.P, self.m, self.n = P, m, n
        self.Sy_all, self.gamma_all, self.lam_all = Sy, gamma, lam
        self.diagonal = diagonal
        self.max_half_steps = max_half_steps
        self.history_every = history_every
        n_rec = max_half_steps // history_every + 1
        self.loss_hist = np.full((n_rec, P), np.nan)
        self.mi_hist = np.full((n_rec, P), np.nan)
        # history="regime": the records always kept, and per member (all members) whether
        # every record so far was finite
        self.kept_records = (
            _regime_records(max_half_steps, history_every) if history == "regime" else None
        )
        self.records_regular = np.ones(P, dtype=bool)
        self.fixed_bound = max(1.0, *(np.max(np.abs(x), initial=0.0) for x in (Sy, gamma, lam)))
        self.out_A = np.zeros((P, n, m))
        self.out_B = np.zeros((P, m, n))
        self.out_Sz = np.zeros((P, n, n))
        self.out_Sw = np.zeros((P, m, m))
        self.half_steps = np.full(P, max_half_steps, dtype=int)
        self.reason = np.full(P, "max_half_steps", dtype=object)
        # active state
        self.idx = np.arange(P)
        self.Sy = Sy
        self.Sy_inv = _inv_spd(Sy)
        sig2 = np.trace(Sy, axis1=-2, axis2=-1) / n
        self.sig = np.sqrt(sig2)
        self.norm_y = np.linalg.eigvalsh(Sy)[:, -1]
        self.fro_y = _fro(Sy)
        self.g = gamma
        self.lm = lam
        # the encoder's γ and 2λ as columns (the same products as computed in place)
        self.g1 = gamma[:, None]
        self.lm2 = 2.0 * lam[:, None]
        self.eye_m, self.eye_n = np.eye(m), np.eye(n)
        self.B = B0.copy()
        self.Sw = Sw0.copy()
        self.K = _inv_spd(self.Sw)
        self.A = np.zeros((P, n, m))
        self.z = np.zeros((P, n)) if diagonal else np.zeros((P, n, n))
        self.J = np.zeros((P, n, n))
        self.G = None
        self.snap = None
        self.skip_until = np.zeros(P, dtype=int)
        # notebook rule: a certified lower bound on ||AA^T + Σ_Z - Σ_Y||_2 - 1e-6 ||Σ_Y||_2
        # (<= 0: none) and the bound on ||A^T v|| it is carried forward with (_certify_recon)
        self.recon_margin = np.full(P, -1.0)
        self.a_bound = np.zeros(P)
        self.any_neg_lam = bool(np.any(lam < 0))

    _ARRAYS = (
        "Sy",
        "Sy_inv",
        "sig",
        "norm_y",
        "fro_y",
        "g",
        "lm",
        "g1",
        "lm2",
        "B",
        "Sw",
        "K",
        "A",
        "z",
        "J",
        "skip_until",
        "recon_margin",
        "a_bound",
    )

    # -- helpers
    def Sz(self, z=None):
        z = self.z if z is None else z
        return z[..., :, None] * self.eye_n if self.diagonal else z

    def loss(self, A, B, z, Sw, sel):
        """Total loss; NaN for members whose Σ_W or Σ_Z is not PD to working precision."""
        kl, nll, mse = _safe_terms(A, B, self.Sz(z), Sw, self.Sy[sel])
        return kl + self.g[sel] * nll + self.lm[sel] * mse

    @staticmethod
    def _subset(arrays, keep):
        """Keep the rows of ``arrays`` (a pre-step snapshot) for members still active."""
        if keep is None or keep.all():
            return arrays
        return tuple(x[keep] for x in arrays)

    def record(self, h):
        """Record loss and I(X;Y); returns the keep-mask when members had to be retired."""
        if h % self.history_every or not self.idx.size:
            return None
        r = h // self.history_every
        if self.kept_records is None or r in self.kept_records:
            sel = slice(None)
        else:
            # history="regime": only what decides who stops here, the members whose loss
            # (or I(X;Y)) might not be finite
            sel = np.flatnonzero(~self._finite_members())
            if not sel.size:
                return None
        A, B, z, Sw, Sy = (x[sel] for x in (self.A, self.B, self.z, self.Sw, self.Sy))
        ids = self.idx[sel]
        lw = _cholesky_or_none(Sw)  # shared by the loss and I(X;Y)
        kl, nll, mse = _safe_terms(A, B, self.Sz(z), Sw, Sy, lw)
        loss = kl + self.g[sel] * nll + self.lm[sel] * mse
        bad = ~np.isfinite(loss)
        keep = None
        if bad.any():
            # past float64 resolution (a γ > 1 drift without the resolution stop) Σ_W can
            # turn numerically indefinite: the run's arithmetic has broken down
            mask = np.zeros(self.idx.size, dtype=bool)
            mask[sel] = bad
            self.retire(mask, "nonfinite", h)
            keep = ~mask
            good = ~bad
            loss, ids, B, Sw, Sy, lw = loss[good], ids[good], B[good], Sw[good], Sy[good], None
            if not ids.size:
                return keep
        self.loss_hist[r, ids] = loss
        mi = mi_xy_from_cholesky(B, Sw, Sy, lw)
        self.mi_hist[r, ids] = mi
        self.records_regular[ids[~np.isfinite(mi)]] = False
        return keep

    def _finite_members(self):
        """Which members' loss and I(X;Y) are certainly finite now.

        Diagonal Σ_Z only. Let ``M >= 1`` bound the entries of A, B, Σ_W, Σ_Z, Σ_Y and γ, |λ|
        in magnitude, ``M <= 1e30``, and ``d = max(m, n)``. Then the residual covariance
        ``R`` has entries below ``5 d^4 M^5``, and with ``min Σ_Z >= 5 d^5 M^6 1e-300``
        neither ``tr(Σ_Z^{-1} R)`` nor any other term of the loss can overflow (the
        Cholesky factor of Σ_W must exist: Σ_W positive definite); with
        ``|L_W^{-1} B| <= 1e100``, I(X;Y) cannot either.
        """
        if not self.diagonal:
            return np.zeros(self.idx.size, dtype=bool)
        M = np.maximum(self.fixed_bound, self.z.max(axis=-1))
        for x in (self.A, self.B, self.Sw):
            M = np.maximum(M, np.abs(x).max(axis=(-2, -1)))
        d = max(self.m, self.n)
        # NaN anywhere fails a comparison
        ok = (M <= 1e30) & (self.z.min(axis=-1) >= 5.0 * d**5 * M**6 * 1e-300)
        c = np.flatnonzero(ok)
        if c.size:
            Sw = self.Sw[c]
            lw = _cholesky_or_none(Sw)
            if lw is None:  # rare: some Σ_W not positive definite
                pd = _pd_mask(Sw)
                ok[c[~pd]] = False
                c, Sw = c[pd], Sw[pd]
                lw = np.linalg.cholesky(Sw)
            try:
                x = np.linalg.solve(lw, self.B[c])
                ok[c] = np.abs(x).max(axis=(-2, -1)) <= 1e100
            except np.linalg.LinAlgError:
                ok[c] = False
        return ok

    def retire(self, mask, why, h):
        ids = self.idx[mask]
        if not ids.size:
            return
        self.out_A[ids] = self.A[mask]
        self.out_B[ids] = self.B[mask]
        self.out_Sz[ids] = self.Sz(self.z[mask])
        self.out_Sw[ids] = self.Sw[mask]
        self.half_steps[ids] = h
        self.reason[ids] = why
        keep = ~mask
        self.idx = self.idx[keep]
        for name in self._ARRAYS:
            setattr(self, name, getattr(self, name)[keep])
        if self.G is not None:
            self.G = self.G[keep]
        if self.snap is not None:
            self.snap = tuple(x[keep] for x in self.snap)

    # -- half-steps
    def decoder(self):
        # G = B^T Σ_W^{-1}; right after an encoder step it equals M A exactly.
        G = _T(self.B) @ self.K if self.G is None else self.G
        self.J = self.Sy_inv + G @ self.B
        Pfull = _inv_spd(self.J)
        self.A = Pfull @ G
        if self.floor is None:
            self.z = np.diagonal(Pfull, axis1=-2, axis2=-1).copy() if self.diagonal else Pfull
        elif self.diagonal:
            self.z = np.maximum(np.diagonal(Pfull, axis1=-2, axis2=-1), self.floor[1])
        else:
            # Σ_Z = P with its spectrum floored; J then holds Σ_Z^{-1} for the encoder's M
            self.z, self.J = _floor_spectrum(self.J, self.floor[1], inverse=True)

    def encoder(self, h):
        """Encoder half-step; returns the keep-mask when members had to be retired."""
        bad = None
        if self.diagonal:
            mvec = self.g1 / self.z + self.lm2
            # z > 0 and γ > 0, so only λ < 0 can make M indefinite
            if self.any_neg_lam and (mvec <= 0).any():
                bad = np.any(mvec <= 0, axis=-1)
            MA = mvec[:, :, None] * self.A
        else:
            Mmat = self.g1[:, :, None] * self.J + self.lm2[:, :, None] * self.eye_n
            neg = self.lm < 0
            if neg.any():
                bad = np.zeros(self.idx.size, dtype=bool)
                bad[neg] = np.linalg.eigvalsh(Mmat[neg])[:, 0] <= 0
            MA = Mmat @ self.A
        if bad is not None:
            if not bad.any():
                bad = None
            else:
                self.retire(bad, "indefinite_M", h)
                MA = MA[~bad]
                if not self.idx.size:
                    return ~bad
        self.K = self.eye_m + _T(self.A) @ MA
        self.Sw = _inv_spd(self.K)
        self.B = self.Sw @ _T(MA)
        # B^T Σ_W^{-1} = M A exactly; reusing it saves a product in the diagonal model. With a
        # full Σ_Z the reuse amplifies rounding once Σ_W is ill-conditioned, so recompute.
        self.G = MA if self.diagonal else None
        if self.floor is not None:
            # exact minimiser of tr(Σ_W K) - log|Σ_W| over Σ_W ⪰ εI: floor K^{-1}'s spectrum
            self.Sw, self.K = _floor_spectrum(self.K, self.floor[0], inverse=True)
            self.G = None
        return None if bad is None else ~bad

    # -- stopping rules
    def notebook_check(self, old, h, decoder_step):
        """Authors' rule after a half-step; ``old`` holds the block before it.

        Cheap tests first, on the whole stack: the changes of the block just updated (both
        matrices after a decoder step, the first after an encoder step) and the certificates
        that the reconstruction error is still above 1e-6 (:meth:`_certify_recon`). Then,
        for the few members left, a Frobenius bound on the reconstruction error
        (``||D||_2 >= ||D||_F / sqrt(n)``), the spectral error, and only then the two losses.
        """
        new = (self.A, self.z) if decoder_step else (self.B, self.Sw)
        if decoder_step:
            dA = _fro(new[0] - old[0])
            dz = _fro(new[1] - old[1])
            small = (dA <= 1e-8) & (dz <= 1e-8)
            # a member whose (A, Σ_Z) moves by more than the rule allows loses its recon-error
            # certificate (encoder steps leave (A, Σ_Z) and so the certificates alone)
            self.skip_until *= small
            # the certified error moves by at most dA (2a + dA) + dz (see _certify_recon)
            self.recon_margin -= ((2.0 * self.a_bound + dA) * dA + dz) * (1.0 + 1e-6)
            self.a_bound += dA
            go = small & (self.skip_until <= h)
        else:
            go = self.skip_until <= h
        # recon error certified above 1e-6 (NaN: not certified)
        go &= ~(self.recon_margin > 0)
        if not go.any():
            return
        if not decoder_step:
            go &= _fro(new[0] - old[0]) <= 1e-8
            if not go.any():
                return
        c = np.flatnonzero(go)
        if not decoder_step:
            c = c[_fro(new[1][c] - old[1][c]) <= 1e-8]
            if not c.size:
                return
        Ac, zc, norm_y = self.A[c], self.z[c], self.norm_y[c]
        diff = Ac @ _T(self.A[c]) + self.Sz(zc) - self.Sy[c]
        # ||D||_2 >= ||D||_F / sqrt(n): a cheap lower bound on the recon error first
        fro_diff = _fro(diff)
        lower = fro_diff / (np.sqrt(self.n) * norm_y)
        maybe = lower <= 1e-6
        if not maybe.all():
            # Only decoder half-steps move (A, Σ_Z); while a member keeps passing the 1e-8
            # change test, one such step moves ||AA^T + Σ_Z - Σ_Y||_2 by at most
            # 2(||A||_F + 1e-4) 1e-8 + 1e-16 + 1e-8 (for up to 10^4 steps, ||A||_F grows by
            # < 1e-4), so the error stays above 1e-6 for the next k decoder steps.
            far = ~maybe
            cf = c[far]
            step = (2.0 * (_fro(Ac[far]) + 1e-4) * 1e-8 + 1e-16 + 1e-8) / norm_y[far]
            k = np.minimum(np.floor((lower[far] - 1e-6) / step), 1e4)
            self.skip_until[cf] = h + 2 * k.astype(int)
            self._certify_recon(cf, diff[far], Ac[far], zc[far])
        if not maybe.any():
            return
        c, diff, norm_y = c[maybe], diff[maybe], norm_y[maybe]
        # the spectral norm, as np.linalg.norm(diff, 2, axis=(-2, -1)) computes it
        spectral = np.max(np.linalg.svd(diff, compute_uv=False), axis=-1)
        ok = spectral / norm_y <= 1e-6
        if not ok.all():
            no = np.flatnonzero(maybe)[~ok]
            self._certify_recon(c[~ok], diff[~ok], Ac[no], zc[no])
        if not ok.any():
            return
        c = c[ok]
        now = self.loss(self.A[c], self.B[c], self.z[c], self.Sw[c], c)
        if decoder_step:
            before = self.loss(old[0][c], self.B[c], old[1][c], self.Sw[c], c)
        else:
            before = self.loss(self.A[c], old[0][c], self.z[c], old[1][c], c)
        ok = np.round(now - before, 8) == 0
        stop = np.zeros(self.idx.size, dtype=bool)
        stop[c[ok]] = True
        self.retire(stop, "notebook_rule", h)

    def _certify_recon(self, ids, D, A, z):
        """Start recon-error certificates for members ``ids`` whose computed recon matrix
        ``D = AA^T + Σ_Z - Σ_Y`` is above the rule's 1e-6 (``A``, ``z``: their A and Σ_Z).

        With ``v`` the unit eigenvector of D's eigenvalue largest in magnitude,
        ``|v^T D v| = ||D||_2`` now and ``|v^T D' v| <= ||D'||_2`` at every later step. A
        decoder step moves ``v^T D v`` by ``v^T (A'A'^T - AA^T) v + v^T ΔΣ_Z v``, at most
        ``dA (2a + dA) + dz`` with ``a >= ||A^T v||``, which grows by ``dA`` at most
        (:meth:`notebook_check`); ``||A^T v||`` is often a tenth of ``||A||_F``.

        The margin ``|v^T D v| - 1e-6 ||Σ_Y||_2`` is cut for rounding in the norms and the
        comparison, and by ``1e-10 s`` with ``s = ||A||_F^2 + ||Σ_Z||_F + ||Σ_Y||_F``: far more
        than the rounding error of the computed ``D`` (each entry a sum of ``m + 2`` terms),
        now or at any later step the margin lasts to (``s`` can grow at most tenfold before
        the decoder steps spend it). While it is positive the rule cannot stop the member,
        so its remaining tests are skipped.
        """
        try:
            w, V = np.linalg.eigh(D)
        except np.linalg.LinAlgError:  # not for finite D; then no certificate
            return
        top = np.argmax(np.abs(w), axis=-1)
        v = np.take_along_axis(V, top[:, None, None], axis=-1)
        a = _fro(_T(A) @ v) * (1.0 + 1e-9)
        s = _fro(A) ** 2 + _fro(z) + self.fro_y[ids]
        lower = np.abs(np.take_along_axis(w, top[:, None], axis=-1)[:, 0])
        self.recon_margin[ids] = (
            lower * (1.0 - 1e-9) - 1e-6 * self.norm_y[ids] * (1.0 + 1e-9) - 1e-10 * s
        )
        self.a_bound[ids] = a

    def exact_check(self, tol, h):
        A0, B0, Sw0, z0 = self.snap
        s = self.sig
        dB = _fro(self.B - B0) * s
        cand = dB <= tol
        if not cand.any():
            return
        c = np.flatnonzero(cand)
        sc = s[c]
        zs = sc[:, None] ** 2 if self.diagonal else sc[:, None, None] ** 2
        small = (
            (_fro(self.A[c] - A0[c]) / sc <= tol)
            & (_fro(self.Sw[c] - Sw0[c]) <= tol)
            & (_fro((self.z[c] - z0[c]) / zs) <= tol)
        )
        if not small.any():
            return
        c = c[small]
        now = self.loss(self.A[c], self.B[c], self.z[c], self.Sw[c], c)
        before = self.loss(A0[c], B0[c], z0[c], Sw0[c], c)
        ok = np.abs(now - before) <= tol * (1.0 + np.abs(now))
        stop = np.zeros(self.idx.size, dtype=bool)
        stop[c[ok]] = True
        self.retire(stop, "converged", h)

    def block_check(self, old, h, decoder_step, block_tol):
        """Stop when both matrices of the block just updated moved by ≤ ``block_tol``."""
        if decoder_step:
            d = np.maximum(_fro(self.A - old[0]), _fro(self.z - old[1]))
        else:
            d = np.maximum(_fro(self.B - old[0]), _fro(self.Sw - old[1]))
        self.retire(d <= block_tol, "block_rule", h)

    def loop(self, stop_rule, tol, block_tol=None):
        h = 0
        H = self.max_half_steps
        while h < H and self.idx.size:
            old = (self.A, self.z)
            self.decoder()
            h += 1
            old = self._subset(old, self.record(h))
            if not self.idx.size:
                break
            if stop_rule == "notebook" and h > 1:
                self.notebook_check(old, h, decoder_step=True)
            elif stop_rule == "block" and h > 1:
                self.block_check(old, h, True, block_tol)
            if h >= H or not self.idx.size:
                break
            if stop_rule == "exact" and self.snap is None:
                self.snap = (self.A, self.B, self.Sw, self.z)
            old = (self.B, self.Sw)
            kept = self.encoder(h)
            h += 1
            if not self.idx.size:
                break
            old = self._subset(old, kept)
            old = self._subset(old, self.record(h))
            if not self.idx.size:
                break
            if stop_rule == "notebook":
                self.notebook_check(old, h, decoder_step=False)
            elif stop_rule == "block":
                self.block_check(old, h, False, block_tol)
            elif stop_rule == "exact":
                self.exact_check(tol, h)
                if self.idx.size:
                    kmax = np.max(np.diagonal(self.K, axis1=-2, axis2=-1), axis=-1)
                    self.retire(kmax > 1.0 / RESOLUTION_LIMIT, "resolution_limit", h)
                self.snap = (self.A, self.B, self.Sw, self.z)
            if not np.isfinite(self.B).all():
                self.retire(~np.isfinite(self.B).all(axis=(-2, -1)), "nonfinite", h)
        if self.idx.size:
            self.retire(np.ones(self.idx.size, dtype=bool), "max_half_steps", h)


def _floor_spectrum(K, eps, inverse):
    """For SPD ``K = U diag(κ) U^T`` return ``(S, S^{-1})`` with
    ``S = U diag(max(1/κ, eps)) U^T`` (``inverse=True``)."""
    kappa, U = np.linalg.eigh(K)
    sv = np.maximum(1.0 / kappa, eps)
    S = (U * sv[..., None, :]) @ _T(U)
    Si = (U * (1.0 / sv)[..., None, :]) @ _T(U)
    return 0.5 * (S + _T(S)), 0.5 * (Si + _T(Si))


def _fro(x):
    x = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    return np.sqrt(np.einsum("ij,ij->i", x, x))


def _pd_mask(X: np.ndarray) -> np.ndarray:
    """Which matrices of a stack are positive definite to working precision."""
    ok = np.all(np.isfinite(X), axis=(-2, -1))
    if not ok.any():
        return ok
    try:
        np.linalg.cholesky(X[ok])
        return ok
    except np.linalg.LinAlgError:
        ev = np.full(X.shape[0], -1.0)
        ev[ok] = np.linalg.eigvalsh(X[ok])[:, 0]
        out = ev > 0
        for i in np.flatnonzero(out):  # rare: only after a breakdown
            try:
                np.linalg.cholesky(X[i])
            except np.linalg.LinAlgError:
                out[i] = False
        return out


def _cholesky_or_none(X):
    """Cholesky factors of a stack of finite PD matrices; None unless all of them are."""
    if not np.isfinite(X).all():
        return None
    try:
        return np.linalg.cholesky(X)
    except np.linalg.LinAlgError:
        return None


def _safe_terms(A, B, Sz, Sw, Sy, lw=None):
    """Loss terms with NaN where Σ_Z or Σ_W is not PD to working precision.

    ``lw``: the Cholesky factor of Σ_W when the caller has it (then all Σ_W are PD).
    """
    # the common case first: every member finite and PD (the same factors as below)
    lz = _cholesky_or_none(Sz)
    if lz is not None and lw is None:
        lw = _cholesky_or_none(Sw)
    if lz is not None and lw is not None and np.isfinite(A).all() and np.isfinite(B).all():
        return loss_terms_from_cholesky(A, B, Sz, lz, Sw, lw, Sy)
    ok = _pd_mask(Sz) & _pd_mask(Sw) & np.all(np.isfinite(A), axis=(-2, -1))
    ok &= np.all(np.isfinite(B), axis=(-2, -1))
    out = [np.full(B.shape[0], np.nan) for _ in range(3)]
    if ok.any():
        t = loss_terms_from_cholesky(
            A[ok],
            B[ok],
            Sz[ok],
            np.linalg.cholesky(Sz[ok]),
            Sw[ok],
            np.linalg.cholesky(Sw[ok]),
            Sy[ok],
        )
        for o, v in zip(out, t, strict=True):
            o[ok] = v
    return tuple(out)


def _finish(run: _Run, collapse_tol: float) -> BatchSolution:
    A, B, Sz, Sw, Sy = run.out_A, run.out_B, run.out_Sz, run.out_Sw, run.Sy_all
    gamma, lam, reason = run.gamma_all, run.lam_all, run.reason
    P = B.shape[0]
    kl, nll, mse, mi, mineig = (np.full(P, np.nan) for _ in range(5))
    kl, nll, mse = _safe_terms(A, B, Sz, Sw, Sy)
    ok = np.isfinite(kl) & np.isfinite(nll) & np.isfinite(mse)
    reason[~ok] = "nonfinite"
    if ok.any():
        mi[ok] = mi_xy_from_cholesky(B[ok], Sw[ok], Sy[ok])
        mineig[ok] = np.linalg.eigvalsh(Sw[ok])[:, 0]
    total = kl + gamma * nll + lam * mse
    converged = np.array([r in ("converged", "notebook_rule") for r in reason])
    regime = np.empty(P, dtype=object)
    n_rec = run.max_half_steps // run.history_every
    for p in range(P):
        hist = run.mi_hist[:, p]
        loss_hist = run.loss_hist[:, p]
        if run.kept_records is not None and reason[p] == "max_half_steps":
            # history="regime", a run through its whole budget: records 1..n_rec, finite if
            # records_regular (else the run is re-run); the regime test reads only the kept
            # ones, the others are stand-ins
            hist = np.nan_to_num(hist[1 : n_rec + 1])
            loss_hist = np.nan_to_num(loss_hist[1 : n_rec + 1])
        hist = hist[np.isfinite(hist)]
        if np.isfinite(mi[p]):
            hist = np.append(hist, mi[p])
        regime[p] = classify_regime(
            hist,
            bool(converged[p]),
            collapse_tol,
            loss_hist,
            # a breakdown of the arithmetic is itself evidence of passing float64 resolution
            0.0 if reason[p] == "nonfinite" else mineig[p],
        )
    floor_active = None
    if run.floor is not None:
        fw, fz = run.floor
        ew = np.linalg.eigvalsh(Sw)[:, 0]
        ez = np.linalg.eigvalsh(Sz)[:, 0]
        floor_active = (ew <= fw * (1 + 1e-9)) | (ez <= fz * (1 + 1e-9))
    return BatchSolution(
        A=A,
        B=B,
        Sigma_Z=Sz,
        Sigma_W=Sw,
        gamma=gamma.copy(),
        lam=lam.copy(),
        loss=LossTerms(kl, nll, mse, total, gamma.copy(), lam.copy()),
        half_steps=run.half_steps,
        stop_reason=reason.astype(str),
        converged=converged,
        regime=regime.astype(str),
        mutual_information_xy=mi,
        min_eig_sigma_w=mineig,
        loss_history=run.loss_hist,
        mi_history=run.mi_hist,
        history_every=run.history_every,
        constrained=run.floor is not None,
        floor_active=floor_active,
    )


def blahut_arimoto(
    Sigma_Y,
    m: int,
    gamma: float,
    lam: float,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    init="authors",
    max_half_steps: int = 10_000,
    tol: float = 1e-10,
    diagonal: bool = True,
    stop_rule: str = "exact",
    history_every: int | None = None,
    collapse_tol: float = 1e-8,
    variance_floor: float | tuple[float, float] | None = None,
    block_tol: float | None = None,
) -> Solution:
    """Minimise the γλ-VAE loss by alternating exact encoder and decoder updates.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n)
        Data covariance (SPD).
    m : int
        Latent dimension.
    gamma : float, > 0
    lam : float
    seed, rng :
        Randomness for the initial encoder (give one; ``seed`` builds
        ``numpy.random.default_rng(seed)``).
    init : {"authors", "exchangeable"} or tuple (B0, Sigma_W0)
        Random initial encoder (see :func:`random_encoder`) or the caller's own.
    max_half_steps, tol, diagonal, stop_rule, history_every, collapse_tol, variance_floor, \
block_tol :
        See :func:`blahut_arimoto_batch`.

    Returns
    -------
    Solution

    Examples
    --------
    >>> import numpy as np
    >>> sol = blahut_arimoto(np.diag([1.0, 0.5]), 1, 0.9, 0.0, seed=0)
    >>> sol.regime
    'collapsed'
    """
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    n = Sigma_Y.shape[0]
    if not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    if isinstance(init, str):
        if rng is not None and seed is not None:
            raise ValueError("seed, rng: give at most one of them")
        rng = rng if rng is not None else np.random.default_rng(seed)
        if init not in ("authors", "exchangeable"):
            raise ValueError(
                f"init: expected 'authors', 'exchangeable' or a pair (B0, Sigma_W0), got {init!r}"
            )
        B0, Sw0 = random_encoder(m, n, rng, method=init)
    else:
        try:
            B0, Sw0 = init
        except (TypeError, ValueError):
            raise ValueError(
                "init: expected 'authors', 'exchangeable' or a pair (B0, Sigma_W0)"
            ) from None
        B0 = as_float_array(B0, "init[0] (B0)", ndim=2)
        check_shape(B0, (m, n), "init[0] (B0)")
        Sw0, _ = check_covariance(Sw0, "init[1] (Sigma_W0)", batched=False)
        check_shape(Sw0, (m, m), "init[1] (Sigma_W0)")
    res = blahut_arimoto_batch(
        Sigma_Y,
        m,
        gamma,
        lam,
        B0[None],
        Sw0[None],
        max_half_steps=max_half_steps,
        tol=tol,
        diagonal=diagonal,
        stop_rule=stop_rule,
        history_every=history_every,
        collapse_tol=collapse_tol,
        variance_floor=variance_floor,
        block_tol=block_tol,
    )
    return res[0]
