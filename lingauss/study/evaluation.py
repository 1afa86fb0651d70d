"""Scoring λβ solutions as the study does: loss terms, SAP, matched MI, I(X;Y)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..loss import gamma_lambda_loss
from ..metrics.matched import matched_mi_score
from ..metrics.sap import sap_score
from ..scenarios import Scenario
from ..solver import encoder_mutual_information
from ..validation import as_float_array
from .published import study_scenario  # noqa: F401  (used in the doctest)

__all__ = ["evaluate_stack", "evaluate_solutions"]


def evaluate_stack(A, B, Sz, Sw, Sy, Gamma, Sigma_V, beta, lam, n_extra=0, noise_var=0.0):
    """Loss terms and metrics of stacked solutions; ``Gamma`` in the same coordinates as ``B``.

    ``n_extra`` directions of variance ``noise_var`` that the parameters leave untouched
    (the reduced problem) add their constants to NLL and MSE.
    """
    t = gamma_lambda_loss(A, B, Sz, Sw, Sy, 1.0, 0.0)
    kl, nll, mse = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (t.kl, t.nll, t.mse))
    if n_extra:
        nll = nll + 0.5 * n_extra * (1.0 + np.log(2.0 * np.pi * noise_var))
        mse = mse + n_extra * noise_var
    Bt = np.swapaxes(B, -1, -2)
    Sx = B @ Sy @ Bt + Sw
    Sx = 0.5 * (Sx + np.swapaxes(Sx, -1, -2))
    cross = B @ Gamma @ Sigma_V
    m, s = cross.shape[-2:]
    P = B.shape[0]
    sv = np.broadcast_to(Sigma_V, (P, s, s))
    joint = np.concatenate(
        [
            np.concatenate([Sx, cross], axis=-1),
            np.concatenate([np.swapaxes(cross, -1, -2), sv], axis=-1),
        ],
        axis=-2,
    )
    mm = matched_mi_score(joint, m)
    beta = np.asarray(beta, dtype=float)
    lam = np.asarray(lam, dtype=float)
    return {
        "recon": nll,
        "sap": np.atleast_1d(sap_score(joint, m).score),
        "matched_mi": np.atleast_1d(mm.score),
        "loss": nll + beta * kl + lam * mse,
        "kl": kl,
        "mse": mse,
        "mi_xy": np.atleast_1d(encoder_mutual_information(B, Sw, Sy)),
        "min_eig_sigma_w": np.linalg.eigvalsh(Sw)[:, 0],
    }


def evaluate_solutions(sc: Scenario, A, B, Sigma_Z, Sigma_W, beta, lam) -> pd.DataFrame:
    """Score stacked solutions of the λβ problem of scenario ``sc`` as the study does.

    Parameters
    ----------
    sc : Scenario
        Supplies ``Σ_Y``, ``Γ`` and ``Σ_V``.
    A, B, Sigma_Z, Sigma_W : array_like, shapes (P, n, m), (P, m, n), (P, n, n), (P, m, m)
    beta, lam : float or array_like, shape (P,)
        λβ weights of each solution.

    Returns
    -------
    pandas.DataFrame
        One row per solution: ``recon`` (NLL ``1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|]``,
        nats), ``sap`` (squared correlations ``Cov(x_i, v_j)² / (Var x_i Var v_j)`` with the
        true ``Σ_X = B Σ_Y B^T + Σ_W``; top-two gap per factor, mean over factors),
        ``matched_mi`` (:func:`lingauss.metrics.matched.matched_mi_score`), ``loss``
        (``NLL + β KL + λ MSE``), ``kl``, ``mse``, ``mi_xy`` (``I(X;Y)``), ``min_eig_sigma_w``.

    Examples
    --------
    A collapsed encoder (``B = 0``, ``Σ_W = I``) with its optimal decoder (``A = 0``,
    ``Σ_Z = Σ_Y``) reconstructs at exactly ``h(Y)`` and scores 0 on both metrics:

    >>> from lingauss.gaussian import entropy
    >>> sc = study_scenario(50)
    >>> n, m = sc.n, sc.m
    >>> r = evaluate_solutions(sc, np.zeros((1, n, m)), np.zeros((1, m, n)), sc.Sigma_Y[None],
    ...                        np.eye(m)[None], 4.0, 0.0)
    >>> bool(np.isclose(r.recon[0], entropy(sc.Sigma_Y))), float(r.sap[0]), float(r.matched_mi[0])
    (True, 0.0, 0.0)
    """
    B = as_float_array(B, "B", ndim=3)
    P = B.shape[0]
    beta = np.broadcast_to(as_float_array(beta, "beta"), (P,))
    lam = np.broadcast_to(as_float_array(lam, "lam"), (P,))
    if np.any(beta <= 0):
        raise ValueError("beta: must be > 0")
    if B.shape[1:] != (B.shape[1], sc.n):
        raise ValueError(f"B: expected shape (P, m, {sc.n}), got {B.shape}")
    Sy = np.broadcast_to(sc.Sigma_Y, (P, sc.n, sc.n))
    out = evaluate_stack(A, B, Sigma_Z, Sigma_W, Sy, sc.Gamma, sc.Sigma_V, beta, lam)
    return pd.DataFrame(out)
