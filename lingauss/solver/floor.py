"""The variance floor: the exact constrained block minimisers under ``Σ ⪰ εI``.

``min_{Σ ⪰ εI} tr(Σ K) - log|Σ|`` is attained at ``K^{-1}`` with its eigenvalues raised to
``ε`` (von Neumann's trace inequality); the optimal ``B`` and ``A`` do not depend on the
constraint. With a floor the loss is bounded below for γ > 1 (reference §3).
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array
from .numerics import mT

__all__ = ["floor_spectrum", "parse_variance_floor"]


def parse_variance_floor(variance_floor) -> tuple[float, float] | None:
    """``(ε_W, ε_Z)`` from one value for both or the pair; ``None`` stays ``None``."""
    if variance_floor is None:
        return None
    fl = np.broadcast_to(as_float_array(variance_floor, "variance_floor"), (2,))
    if np.any(fl <= 0):
        raise ValueError(f"variance_floor: must be > 0, got {variance_floor!r}")
    return (float(fl[0]), float(fl[1]))


def floor_spectrum(K, eps, inverse):
    """For SPD ``K = U diag(κ) U^T`` return ``(S, S^{-1})`` with
    ``S = U diag(max(1/κ, eps)) U^T`` (``inverse=True``)."""
    kappa, U = np.linalg.eigh(K)
    sv = np.maximum(1.0 / kappa, eps)
    S = (U * sv[..., None, :]) @ mT(U)
    Si = (U * (1.0 / sv)[..., None, :]) @ mT(U)
    return 0.5 * (S + mT(S)), 0.5 * (Si + mT(Si))
