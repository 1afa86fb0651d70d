"""One problem: :func:`blahut_arimoto`, a batch of one through the batched solver."""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_covariance, check_shape
from .batch import blahut_arimoto_batch, check_latent_dim
from .initial import random_encoder
from .results import Solution

__all__ = ["blahut_arimoto"]


def blahut_arimoto(
    Sigma_Y,
    m: int,
    gamma: float,
    lam: float,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    init="authors",
    **options,
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
    **options :
        ``max_half_steps``, ``tol``, ``diagonal``, ``stop_rule``, ``history_every``,
        ``collapse_tol``, ``variance_floor``, ``block_tol``: as in
        :func:`blahut_arimoto_batch` (same defaults).

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
    check_latent_dim(m)
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
        **options,
    )
    return res[0]
