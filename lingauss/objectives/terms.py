"""Exact terms of the seeds' objectives for a linear-Gaussian encoder/decoder, batched.

Model (reference §1): ``Y ~ N(0, Σ_Y)``, ``X = B Y + W``, ``W ~ N(0, Σ_W)``, prior ``N(0, I_m)``,
decoder ``N(A X, Σ_Z)``. Aggregate posterior ``q(x) = N(0, C)``, ``C = B Σ_Y Bᵀ + Σ_W``. Per
data point, in nats:

* ``nll = ½[tr(Σ_Z⁻¹ R) + n log 2π + log|Σ_Z|]``, ``R = (I − AB) Σ_Y (I − AB)ᵀ + A Σ_W Aᵀ``
  (:func:`lingauss.gamma_lambda_loss`'s NLL), and ``mse = tr R``;
* ``kl = ½[tr C − log|Σ_W| − m] = mi + tc + dimkl`` with ``mi = ½ log|C| − ½ log|Σ_W|``,
  ``tc = ½ Σ_j log C_jj − ½ log|C|``, ``dimkl = Σ_j ½(C_jj − 1 − log C_jj)``
  (:func:`lingauss.kl_decomposition`, which keeps full relative precision near collapse);
* DIP-VAE-I penalties on ``S = B Σ_Y Bᵀ``: ``dip_i_od = Σ_{i≠j} S_ij²``,
  ``dip_i_d = Σ_i (S_ii − 1)²``; DIP-VAE-II the same on ``C`` (``dip_ii_od``, ``dip_ii_d``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..decomposition import kl_decomposition
from ..loss import check_model_shapes, gamma_lambda_loss
from .spec import TERM_NAMES, check_objective, objective_coefficients

__all__ = ["ObjectiveTerms", "objective_terms", "objective_loss", "dip_penalties"]


@dataclass(frozen=True)
class ObjectiveTerms:
    """Exact terms of the objectives (floats, or arrays of the broadcast batch shape).

    Attributes
    ----------
    nll : −E log p(y|x), per data point, nats, with its ``n/2 · log 2π``.
    kl : E_Y KL(q(x|y) ‖ N(0, I_m)) = mi + tc + dimkl.
    mi : index-code mutual information I_q(X; Y).
    tc : total correlation of q(x) = N(0, C).
    dimkl : dimension-wise KL Σ_j KL(q(x_j) ‖ N(0, 1)).
    mse : E‖Y − A X‖² = tr R (gamma-lambda's λ term).
    dip_i_od, dip_i_d : DIP-VAE-I off-diagonal / diagonal penalties on B Σ_Y Bᵀ.
    dip_ii_od, dip_ii_d : DIP-VAE-II penalties on C = B Σ_Y Bᵀ + Σ_W.
    """

    nll: float | np.ndarray
    kl: float | np.ndarray
    mi: float | np.ndarray
    tc: float | np.ndarray
    dimkl: float | np.ndarray
    mse: float | np.ndarray
    dip_i_od: float | np.ndarray
    dip_i_d: float | np.ndarray
    dip_ii_od: float | np.ndarray
    dip_ii_d: float | np.ndarray

    def as_dict(self) -> dict:
        """The terms as a dict (name -> float or array), in :data:`TERM_NAMES` order."""
        return {k: getattr(self, k) for k in TERM_NAMES}


def _out(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def dip_penalties(S) -> tuple[np.ndarray, np.ndarray]:
    """DIP-VAE penalties of a (stack of) symmetric matrices ``S``: off-diagonal and diagonal.

    ``od = Σ_{i≠j} S_ij²``, ``d = Σ_i (S_ii − 1)²``; shapes ``(..., m, m)`` -> ``(...)``.

    Examples
    --------
    >>> import numpy as np
    >>> od, d = dip_penalties(np.array([[2.0, 0.5], [0.5, 1.0]]))
    >>> float(od), float(d)
    (0.5, 1.0)
    """
    S = np.asarray(S, dtype=float)
    diag = np.diagonal(S, axis1=-2, axis2=-1)
    off = ~np.eye(S.shape[-1], dtype=bool)  # summed directly: no cancellation near diagonal S
    od = np.sum(np.where(off, S, 0.0) ** 2, axis=(-2, -1))
    d = np.sum((diag - 1.0) ** 2, axis=-1)
    return od, d


def objective_terms(A, B, Sigma_Z, Sigma_W, Sigma_Y) -> ObjectiveTerms:
    """Every exact term of the seeds' objectives for ``(A, B, Σ_Z, Σ_W, Σ_Y)``.

    Parameters
    ----------
    A : array_like, shape (..., n, m)
        Decoder matrix.
    B : array_like, shape (..., m, n)
        Encoder matrix.
    Sigma_Z : array_like, shape (..., n, n)
        Decoder noise covariance (SPD; diagonal in the model, any SPD accepted).
    Sigma_W : array_like, shape (..., m, m)
        Encoder noise covariance (SPD).
    Sigma_Y : array_like, shape (..., n, n)
        Data covariance (SPD).

    Returns
    -------
    ObjectiveTerms
        Floats, or arrays of the broadcast batch shape. Formulas: module docstring.

    Raises
    ------
    ValueError
        Non-finite input, a covariance that is not SPD, shapes that do not match or batch
        dimensions that do not broadcast (:func:`lingauss.loss.check_model_shapes`).

    Examples
    --------
    >>> import numpy as np
    >>> t = objective_terms(np.zeros((2, 1)), np.zeros((1, 2)), np.eye(2), np.eye(1), np.eye(2))
    >>> t.kl, t.mi, t.tc, t.dimkl, t.dip_ii_od, t.dip_ii_d
    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    """
    A, B, (Sz, _), (Sw, _), (Sy, _) = check_model_shapes(A, B, Sigma_Z, Sigma_W, Sigma_Y)
    batch = np.broadcast_shapes(
        A.shape[:-2], B.shape[:-2], Sz.shape[:-2], Sw.shape[:-2], Sy.shape[:-2]
    )
    gl = gamma_lambda_loss(A, B, Sz, Sw, Sy, 1.0, 0.0)
    dec = kl_decomposition(B, Sw, Sy)
    S = B @ Sy @ np.swapaxes(B, -1, -2)
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    i_od, i_d = dip_penalties(S)
    ii_od, ii_d = dip_penalties(S + Sw)

    def full(x):
        return _out(np.broadcast_to(np.asarray(x, dtype=float), batch))

    return ObjectiveTerms(
        nll=full(gl.nll),
        kl=full(dec.kl),
        mi=full(dec.index_code_mi),
        tc=full(dec.total_correlation),
        dimkl=full(dec.dimensionwise_kl),
        mse=full(gl.mse),
        dip_i_od=full(i_od),
        dip_i_d=full(i_d),
        dip_ii_od=full(ii_od),
        dip_ii_d=full(ii_d),
    )


def combine_terms(name: str, weights: Mapping[str, float] | None, terms: ObjectiveTerms):
    """``Σ_t c_t · terms.t`` with the coefficients of :func:`objective_coefficients`."""
    coef = objective_coefficients(name, weights)
    total = 0.0
    for key, c in coef.items():
        if c != 0.0:
            total = total + c * np.asarray(getattr(terms, key), dtype=float)
    return _out(total)


def objective_loss(name: str, weights: Mapping[str, float] | None, A, B, Sigma_Z, Sigma_W, Sigma_Y):
    """Exact loss of objective ``name`` at ``(A, B, Σ_Z, Σ_W, Σ_Y)``, and its terms.

    ``loss = Σ_t c_t(weights) · term_t`` (:func:`objective_coefficients`), e.g. beta-tcvae:
    ``nll + α·mi + β·tc + γ·dimkl``. Batched like :func:`objective_terms`.

    Parameters
    ----------
    name : str
        One of :data:`lingauss.objectives.OBJECTIVE_NAMES`.
    weights : mapping, optional
        The objective's weights (missing ones take their defaults).
    A, B, Sigma_Z, Sigma_W, Sigma_Y : array_like
        As in :func:`objective_terms`.

    Returns
    -------
    (loss, ObjectiveTerms)
        ``loss`` a float or an array of the batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> A, B = np.zeros((2, 1)), np.zeros((1, 2))
    >>> loss, t = objective_loss("beta-vae", {"beta": 4}, A, B, np.eye(2), np.eye(1), np.eye(2))
    >>> bool(np.isclose(loss, t.nll))
    True
    """
    name, w = check_objective(name, weights)
    terms = objective_terms(A, B, Sigma_Z, Sigma_W, Sigma_Y)
    return combine_terms(name, w, terms), terms
