"""From a finished run to its :class:`~lingauss.solver.results.BatchSolution`.

The loss terms and I(X;Y) at the final parameters (a member whose loss is not finite there
is ``"nonfinite"``), the regime of each run from its record (:func:`classify_regime`) and,
with a variance floor, where the floor binds.
"""

from __future__ import annotations

import numpy as np

from ..loss import LossTerms
from .numerics import safe_terms
from .regimes import classify_regime
from .results import BatchSolution
from .state import RunState
from .updates import mi_xy_from_cholesky

__all__ = ["finish"]


def finish(run: RunState, collapse_tol: float) -> BatchSolution:
    """The :class:`BatchSolution` of a finished run: final loss terms, I(X;Y), regimes."""
    A, B, Sz, Sw, Sy = run.out_A, run.out_B, run.out_Sz, run.out_Sw, run.Sy_all
    gamma, lam, reason = run.gamma_all, run.lam_all, run.reason
    P = B.shape[0]
    mi, mineig = np.full(P, np.nan), np.full(P, np.nan)
    kl, nll, mse = safe_terms(A, B, Sz, Sw, Sy)
    ok = np.isfinite(kl) & np.isfinite(nll) & np.isfinite(mse)
    reason[~ok] = "nonfinite"
    if ok.any():
        mi[ok] = mi_xy_from_cholesky(B[ok], Sw[ok], Sy[ok])
        mineig[ok] = np.linalg.eigvalsh(Sw[ok])[:, 0]
    total = kl + gamma * nll + lam * mse
    converged = np.array([r in ("converged", "notebook_rule") for r in reason])
    regime = np.empty(P, dtype=object)
    n_rec = run.max_half_steps // run.history_every
    for p in range(P):
        hist = run.mi_hist[:, p]
        loss_hist = run.loss_hist[:, p]
        if run.kept_records is not None and reason[p] == "max_half_steps":
            # history="regime", a run through its whole budget: records 1..n_rec, finite if
            # records_regular (else the run is re-run); the regime test reads only the kept
            # ones, the others are stand-ins
            hist = np.nan_to_num(hist[1 : n_rec + 1])
            loss_hist = np.nan_to_num(loss_hist[1 : n_rec + 1])
        hist = hist[np.isfinite(hist)]
        if np.isfinite(mi[p]):
            hist = np.append(hist, mi[p])
        regime[p] = classify_regime(
            hist,
            bool(converged[p]),
            collapse_tol,
            loss_hist,
            # a breakdown of the arithmetic is itself evidence of passing float64 resolution
            0.0 if reason[p] == "nonfinite" else mineig[p],
        )
    floor_active = None
    if run.floor is not None:
        fw, fz = run.floor
        ew = np.linalg.eigvalsh(Sw)[:, 0]
        ez = np.linalg.eigvalsh(Sz)[:, 0]
        floor_active = (ew <= fw * (1 + 1e-9)) | (ez <= fz * (1 + 1e-9))
    return BatchSolution(
        A=A,
        B=B,
        Sigma_Z=Sz,
        Sigma_W=Sw,
        gamma=gamma.copy(),
        lam=lam.copy(),
        loss=LossTerms(kl, nll, mse, total, gamma.copy(), lam.copy()),
        half_steps=run.half_steps,
        stop_reason=reason.astype(str),
        converged=converged,
        regime=regime.astype(str),
        mutual_information_xy=mi,
        min_eig_sigma_w=mineig,
        loss_history=run.loss_hist,
        mi_history=run.mi_hist,
        history_every=run.history_every,
        constrained=run.floor is not None,
        floor_active=floor_active,
    )
