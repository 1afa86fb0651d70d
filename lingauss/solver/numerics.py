"""Helpers on stacks of matrices shared by the solver's pieces: transposes, Frobenius norms,
positive-definiteness masks and loss terms that survive a numerical breakdown."""

from __future__ import annotations

import math

import numpy as np

from ..loss import loss_terms_from_cholesky

__all__ = ["mT", "fro", "pd_mask", "cholesky_or_none", "safe_terms"]


def mT(x):
    """Swap the last two axes (the transpose of every matrix of a stack)."""
    return np.swapaxes(x, -1, -2)


def fro(x):
    """Frobenius norm of each entry of a stack (leading axis), any trailing shape."""
    x = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    return np.sqrt(np.einsum("ij,ij->i", x, x))


def pd_mask(X: np.ndarray) -> np.ndarray:
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


def cholesky_or_none(X):
    """Cholesky factors of a stack of finite PD matrices; None unless all of them are."""
    if not np.isfinite(X).all():
        return None
    try:
        return np.linalg.cholesky(X)
    except np.linalg.LinAlgError:
        return None


def safe_terms(A, B, Sz, Sw, Sy, lw=None):
    """Loss terms with NaN where Σ_Z or Σ_W is not PD to working precision.

    ``lw``: the Cholesky factor of Σ_W when the caller has it (then all Σ_W are PD).
    """
    # the common case first: every member finite and PD (the same factors as below)
    lz = cholesky_or_none(Sz)
    if lz is not None and lw is None:
        lw = cholesky_or_none(Sw)
    if lz is not None and lw is not None and np.isfinite(A).all() and np.isfinite(B).all():
        return loss_terms_from_cholesky(A, B, Sz, lz, Sw, lw, Sy)
    ok = pd_mask(Sz) & pd_mask(Sw) & np.all(np.isfinite(A), axis=(-2, -1))
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
