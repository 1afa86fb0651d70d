"""The run's history: the loss and I(X;Y) every ``history_every`` half-steps.

Record ``r`` holds the values after half-step ``r * history_every`` (record 0 stays empty).
A member whose loss is not finite at a record has broken down numerically and is retired
(``"nonfinite"``), except with ``history="mi"``, which only records I(X;Y) where ``B`` and
``Σ_W`` are finite. With ``history="regime"`` the records the regime test does not read are
computed only for members whose values might not be finite (:func:`finite_members`).
"""

from __future__ import annotations

import numpy as np

from .numerics import cholesky_or_none, pd_mask, safe_terms
from .state import RunState
from .updates import mi_xy_from_cholesky

__all__ = ["record", "finite_members"]


def record(st: RunState, h: int):
    """Record after half-step ``h``; returns the keep-mask when members had to be retired."""
    if h % st.history_every or not st.idx.size:
        return None
    r = h // st.history_every
    if st.config.history == "mi":
        _record_mi(st, r)
        return None
    if st.kept_records is None or r in st.kept_records:
        sel = slice(None)
    else:
        # history="regime": only what decides who stops here, the members whose loss
        # (or I(X;Y)) might not be finite
        sel = np.flatnonzero(~finite_members(st))
        if not sel.size:
            return None
    A, B, z, Sw, Sy = (x[sel] for x in (st.A, st.B, st.z, st.Sw, st.Sy))
    ids = st.idx[sel]
    lw = cholesky_or_none(Sw)  # shared by the loss and I(X;Y)
    kl, nll, mse = safe_terms(A, B, st.Sz(z), Sw, Sy, lw)
    loss = kl + st.g[sel] * nll + st.lm[sel] * mse
    bad = ~np.isfinite(loss)
    keep = None
    if bad.any():
        # past float64 resolution (a γ > 1 drift without the resolution stop) Σ_W can
        # turn numerically indefinite: the run's arithmetic has broken down
        mask = np.zeros(st.idx.size, dtype=bool)
        mask[sel] = bad
        st.retire(mask, "nonfinite", h)
        keep = ~mask
        good = ~bad
        loss, ids, B, Sw, Sy, lw = loss[good], ids[good], B[good], Sw[good], Sy[good], None
        if not ids.size:
            return keep
    st.loss_hist[r, ids] = loss
    mi = mi_xy_from_cholesky(B, Sw, Sy, lw)
    st.mi_hist[r, ids] = mi
    st.records_regular[ids[~np.isfinite(mi)]] = False
    return keep


def _record_mi(st: RunState, r: int) -> None:
    """``history="mi"``: I(X;Y) of the members with finite, positive-definite ``(B, Σ_W)``."""
    ok = np.isfinite(st.B).all(axis=(-2, -1)) & np.isfinite(st.Sw).all(axis=(-2, -1))
    if not ok.any():
        return
    ids, B, Sw, Sy = st.idx[ok], st.B[ok], st.Sw[ok], st.Sy[ok]
    lw = cholesky_or_none(Sw)
    if lw is None:  # rare: some Σ_W not positive definite to working precision
        pd = pd_mask(Sw)
        if not pd.any():
            return
        ids, B, Sw, Sy = ids[pd], B[pd], Sw[pd], Sy[pd]
        lw = np.linalg.cholesky(Sw)
    st.mi_hist[r, ids] = mi_xy_from_cholesky(B, Sw, Sy, lw)


def finite_members(st: RunState):
    """Which members' loss and I(X;Y) are certainly finite now.

    Diagonal Σ_Z only. Let ``M >= 1`` bound the entries of A, B, Σ_W, Σ_Z, Σ_Y and γ, |λ|
    in magnitude, ``M <= 1e30``, and ``d = max(m, n)``. Then the residual covariance
    ``R`` has entries below ``5 d^4 M^5``, and with ``min Σ_Z >= 5 d^5 M^6 1e-300``
    neither ``tr(Σ_Z^{-1} R)`` nor any other term of the loss can overflow (the
    Cholesky factor of Σ_W must exist: Σ_W positive definite); with
    ``|L_W^{-1} B| <= 1e100``, I(X;Y) cannot either.
    """
    if not st.diagonal:
        return np.zeros(st.idx.size, dtype=bool)
    M = np.maximum(st.fixed_bound, st.z.max(axis=-1))
    for x in (st.A, st.B, st.Sw):
        M = np.maximum(M, np.abs(x).max(axis=(-2, -1)))
    d = max(st.m, st.n)
    # NaN anywhere fails a comparison
    ok = (M <= 1e30) & (st.z.min(axis=-1) >= 5.0 * d**5 * M**6 * 1e-300)
    c = np.flatnonzero(ok)
    if c.size:
        Sw = st.Sw[c]
        lw = cholesky_or_none(Sw)
        if lw is None:  # rare: some Σ_W not positive definite
            pd = pd_mask(Sw)
            ok[c[~pd]] = False
            c, Sw = c[pd], Sw[pd]
            lw = np.linalg.cholesky(Sw)
        try:
            x = np.linalg.solve(lw, st.B[c])
            ok[c] = np.abs(x).max(axis=(-2, -1)) <= 1e100
        except np.linalg.LinAlgError:
            ok[c] = False
    return ok
