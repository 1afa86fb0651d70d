"""The two half-steps of the loop on the active stack (the updates of
:mod:`lingauss.solver.updates`, written with the products a run can reuse).

Decoder: ``J = Σ_Y^{-1} + G B`` with ``G = B^T Σ_W^{-1}``, ``P = J^{-1}``, ``A = P G``,
``Σ_Z = diag(P)`` (or ``P``). Encoder: ``K = I + A^T (M A)``, ``Σ_W = K^{-1}``,
``B = Σ_W (M A)^T``; then ``B^T Σ_W^{-1} = M A`` exactly, which the next decoder step reuses
where that is safe (see :class:`lingauss.solver.config.RunConfig`).
"""

from __future__ import annotations

import numpy as np

from .floor import floor_spectrum
from .numerics import mT
from .spd_inverse import inv_spd
from .state import RunState

__all__ = ["decoder_step", "encoder_step"]


def decoder_step(st: RunState) -> None:
    """Decoder half-step: ``(A, Σ_Z)`` of every active member, in place."""
    # G = B^T Σ_W^{-1}; right after an encoder step it equals M A exactly.
    G = mT(st.B) @ st.K if st.G is None else st.G
    st.J = st.Sy_inv + G @ st.B
    Pfull = inv_spd(st.J)
    st.A = Pfull @ G
    if st.floor is None:
        st.z = np.diagonal(Pfull, axis1=-2, axis2=-1).copy() if st.diagonal else Pfull
    elif st.diagonal:
        st.z = np.maximum(np.diagonal(Pfull, axis1=-2, axis2=-1), st.floor[1])
    else:
        # Σ_Z = P with its spectrum floored; J then holds Σ_Z^{-1} for the encoder's M
        st.z, st.J = floor_spectrum(st.J, st.floor[1], inverse=True)


def _m_times_a(st: RunState):
    """``M A`` of the active members and the mask of those whose ``M`` is not PD (or None)."""
    bad = None
    if st.diagonal:
        mvec = st.g1 / st.z + st.lm2
        # z > 0 and γ > 0, so only λ < 0 can make M indefinite
        if st.any_neg_lam and (mvec <= 0).any():
            bad = np.any(mvec <= 0, axis=-1)
        return mvec[:, :, None] * st.A, bad
    neg = st.lm < 0
    if st.config.carry_g:
        # Σ_Z^{-1} A = G: M A = γ G + 2λ A without an n x n product
        MA = st.g1[:, :, None] * st.G + st.lm2[:, :, None] * st.A
        Mneg = st.g1[neg][:, :, None] * st.J[neg] + st.lm2[neg][:, :, None] * st.eye_n
    else:
        Mmat = st.g1[:, :, None] * st.J + st.lm2[:, :, None] * st.eye_n
        MA = Mmat @ st.A
        Mneg = Mmat[neg]
    if neg.any():
        bad = np.zeros(st.idx.size, dtype=bool)
        bad[neg] = np.linalg.eigvalsh(Mneg)[:, 0] <= 0
    return MA, bad


def encoder_step(st: RunState, h: int):
    """Encoder half-step (the ``h``-th); returns the keep-mask when members were retired
    (``M`` not positive definite: ``"indefinite_M"``), else ``None``."""
    MA, bad = _m_times_a(st)
    if bad is not None:
        if not bad.any():
            bad = None
        else:
            st.retire(bad, "indefinite_M", h)
            MA = MA[~bad]
            if not st.idx.size:
                return ~bad
    st.K = st.eye_m + mT(st.A) @ MA
    st.Sw = inv_spd(st.K)
    st.B = st.Sw @ mT(MA)
    # B^T Σ_W^{-1} = M A exactly; reusing it saves a product in the diagonal model. With a
    # full Σ_Z the reuse amplifies rounding once Σ_W is ill-conditioned, so recompute
    # (unless the run carries G by choice, RunConfig.carry_g).
    st.G = MA if (st.diagonal or st.config.carry_g) else None
    if st.floor is not None:
        # exact minimiser of tr(Σ_W K) - log|Σ_W| over Σ_W ⪰ εI: floor K^{-1}'s spectrum
        st.Sw, st.K = floor_spectrum(st.K, st.floor[0], inverse=True)
        st.G = None
    return None if bad is None else ~bad
