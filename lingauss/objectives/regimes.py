"""Drift paths: the exact loss along the paths that make an objective unbounded below.

The derivation (:mod:`lingauss.objectives.spec`) names two paths; :func:`drift_path` evaluates
every objective along them with :func:`objective_loss`, so a test can watch the loss fall
like the predicted rate for the unbounded weights, and stay bounded for the others.

``"encoding"`` (scale ``ε`` → 0): latent 1 encodes the data coordinate ``Y_k`` with noise
variance ``ε``: ``B = b e_kᵀ`` in row 1, ``b² Σ_Y,kk + ε = 1`` (so ``C_11 = 1``), the other latents
collapsed (``B`` rows 0, ``Σ_W`` = 1), the optimal decoder. Exactly: ``KL = MI = −½ log ε``,
``TC = dimKL = 0``, ``P_kk = ε Σ_Y,kk`` so ``NLL = ½ log ε + const``. The loss of beta-vae is
``(1 − β)/2 · log ε + const``, of beta-tcvae ``(1 − α)/2 · log ε + const``, of gamma-lambda
``(γ − 1)/2 · (−log ε) + const``, of the others a constant plus bounded penalties.

``"decoder"`` (scale ``a`` → ∞): the collapsed encoder with decoder ``A = a·1`` (all ones) and
``Σ_Z = diag R`` (its optimum): ``R = Σ_Y + a² 11ᵀ m``; NLL grows like ``n log a`` and MSE like
``n m a²``, so gamma-lambda with λ < 0 falls like ``λ n m a²``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..validation import check_covariance
from .profile import optimal_decoder
from .spec import check_objective
from .terms import objective_loss

__all__ = ["drift_path", "DRIFT_PATHS"]

#: The drift paths of :func:`drift_path`.
DRIFT_PATHS = ("encoding", "decoder")


def drift_path(
    name: str,
    weights: Mapping[str, float] | None,
    Sigma_Y,
    m: int,
    scales,
    *,
    path: str = "encoding",
    coordinate: int = 0,
) -> pd.DataFrame:
    """The exact loss and terms of an objective along a drift path (module docstring).

    Parameters
    ----------
    name, weights : the objective (unbounded weights allowed: that is the point).
    Sigma_Y : array_like, shape (n, n)
    m : int
        Latent dimension.
    scales : array_like
        ``ε`` values in (0, 1) for ``"encoding"``; decoder scales ``a > 0`` for ``"decoder"``.
    path : {"encoding", "decoder"}
    coordinate : int
        The data coordinate ``k`` the encoding path encodes.

    Returns
    -------
    pandas.DataFrame
        One row per scale: ``scale``, ``loss`` and every term.

    Examples
    --------
    >>> import numpy as np
    >>> df = drift_path("beta-vae", {"beta": 0.5}, np.eye(2), 1, [1e-2, 1e-4])
    >>> bool(df["loss"].iloc[1] < df["loss"].iloc[0])
    True
    """
    name, w = check_objective(name, weights)
    Sy, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    n = Sy.shape[0]
    if not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    if path not in DRIFT_PATHS:
        raise ValueError(f"path: expected one of {DRIFT_PATHS}, got {path!r}")
    if not 0 <= coordinate < n:
        raise ValueError(f"coordinate: expected an index in [0, {n}), got {coordinate!r}")
    scales = np.atleast_1d(np.asarray(scales, dtype=float))
    rows = []
    for t in scales:
        if path == "encoding":
            if not 0.0 < t < 1.0:
                raise ValueError(f"scales: encoding-path scales must lie in (0, 1), got {t!r}")
            B = np.zeros((m, n))
            B[0, coordinate] = np.sqrt((1.0 - t) / Sy[coordinate, coordinate])
            Sw = np.eye(m)
            Sw[0, 0] = t
            A, Sz, _ = optimal_decoder(B, Sw, Sy)
        else:
            if not t > 0.0:
                raise ValueError(f"scales: decoder-path scales must be > 0, got {t!r}")
            B, Sw = np.zeros((m, n)), np.eye(m)
            A = t * np.ones((n, m))
            Sz = np.diag(np.diag(Sy + A @ A.T))
        loss, terms = objective_loss(name, w, A, B, Sz, Sw, Sy)
        rows.append({"scale": float(t), "loss": float(loss), **terms.as_dict()})
    return pd.DataFrame(rows)
