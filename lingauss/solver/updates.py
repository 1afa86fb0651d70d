"""The exact block updates of the γλ loss (reference §3, eqs. 9–10) and the encoder's rate.

With ``M = γ Σ_Z^{-1} + 2λ I_n`` (positive definite):

* encoder update, the exact minimiser of L over ``(B, Σ_W)``::

      Σ_W ← (I_m + A^T M A)^{-1},   B ← Σ_W A^T M

* decoder update, the exact minimiser of L over ``(A, Σ_Z)``::

      P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1},   A ← P B^T Σ_W^{-1} (= Σ_Y B^T Σ_X^{-1}),
      Σ_Z ← diag(P)   (or P with ``diagonal=False``)

These are the checked, one-call forms; the solver's loop (:mod:`lingauss.solver.halfsteps`)
runs the same formulas on the active stack with the products it can reuse.
"""

from __future__ import annotations

import numpy as np

from ..validation import (
    as_float_array,
    check_covariance,
    check_finite_scalar,
    check_positive_scalar,
)
from .numerics import mT

__all__ = [
    "m_matrix",
    "encoder_update",
    "decoder_update",
    "encoder_mutual_information",
    "mi_xy_from_cholesky",
]


def m_matrix(Sigma_Z, gamma, lam):
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
    M = m_matrix(Sigma_Z, gamma, lam)
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"gamma, lam: M = gamma*inv(Sigma_Z) + 2*lam*I is not positive definite for "
            f"gamma={gamma}, lam={lam}; the encoder update is ill-posed (loss unbounded below)"
        ) from None
    K = np.eye(m) + mT(A) @ M @ A
    Sigma_W = np.linalg.inv(K)
    Sigma_W = 0.5 * (Sigma_W + mT(Sigma_W))
    B = Sigma_W @ mT(A) @ M
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
    G = mT(B) @ np.linalg.inv(Sigma_W)
    P = np.linalg.inv(np.linalg.inv(Sigma_Y) + G @ B)
    P = 0.5 * (P + mT(P))
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
    S = C @ Sigma_Y @ mT(C)
    ev = np.linalg.eigvalsh(0.5 * (S + mT(S)))
    return 0.5 * np.sum(np.log1p(np.maximum(ev, 0.0)), axis=-1)
