"""Random initial encoders ``(B0, Σ_W0)`` (reference §6.1): the authors' and an exchangeable law."""

from __future__ import annotations

import numpy as np

from .numerics import mT

__all__ = ["make_spd_matrix_authors", "random_encoder"]


def make_spd_matrix_authors(m: int, rng: np.random.Generator, size: int | None = None):
    """Random SPD matrix drawn as scikit-learn's ``make_spd_matrix`` does (reference §6.1).

    ``A ~ U[0,1)^{m×m}``; ``U, s, V^T = svd(A^T A)``; ``Σ = U (J + diag(u)) V^T`` with
    ``u ~ U[0,1)^m`` and ``J`` the all-ones matrix. Not exchangeable across coordinates.

    Returns an array of shape ``(m, m)`` or ``(size, m, m)``.
    """
    shape = () if size is None else (size,)
    a = rng.random(shape + (m, m))
    u_, _, vt = np.linalg.svd(mT(a) @ a)
    d = rng.random(shape + (m,))
    core = 1.0 + d[..., :, None] * np.eye(m)
    out = u_ @ core @ vt
    return 0.5 * (out + mT(out))


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
        Sw0 = (q * u[..., None, :]) @ mT(q)
        Sw0 = 0.5 * (Sw0 + mT(Sw0))
    else:
        raise ValueError(f"method: expected 'authors' or 'exchangeable', got {method!r}")
    return B0, Sw0
