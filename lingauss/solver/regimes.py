"""Regimes of a run and why it stopped: :func:`classify_regime`, :data:`REGIMES`,
:data:`STOP_REASONS`.

The stopping rules themselves act on the running stack (:mod:`lingauss.solver.stop_rules`,
:mod:`lingauss.solver.notebook_rule`); this module names their outcomes and reads a finished
run's record.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "REGIMES",
    "STOP_REASONS",
    "RESOLUTION_LIMIT",
    "classify_regime",
    "regime_window",
    "regime_records",
]

REGIMES = ("collapsed", "interior", "divergent")
STOP_REASONS = (
    "converged",
    "max_half_steps",
    "notebook_rule",
    "block_rule",
    "resolution_limit",
    "indefinite_M",
    "nonfinite",
)

#: The exact rule stops a run once ``λ_min(Σ_W)`` is below about this value (tested through
#: ``max diag Σ_W^{-1}``, within a factor ``m``): the loss is then no longer resolvable in
#: float64, and a run gets there only by drifting to a deterministic encoder (γ > 1).
RESOLUTION_LIMIT = 1e-9


def classify_regime(
    mi_history,
    converged: bool,
    collapse_tol: float = 1e-8,
    loss_history=None,
    min_eig_sigma_w: float | None = None,
) -> str:
    """Decide the regime of a run from its I(X;Y) (and loss) trajectory.

    The last three records at spacing ``w`` (a tenth of the run, at least 3 records) give
    the rises ``d1`` (earlier) and ``d2`` (later) of I(X;Y).

    * ``collapsed``: final I(X;Y) ≤ ``collapse_tol`` nats; or, for a run that did not
      converge, I(X;Y) falling geometrically to a limit (Aitken's Δ² extrapolation
      ``I - d2²/(d2 - d1)``) that is ≤ ``collapse_tol``;
    * ``divergent``: not converged, I(X;Y) rising in both windows with ``d2 ≥ d1/2`` (growth
      that does not decay geometrically to a limit), while the loss keeps falling by more than
      ``1e-9 (1 + |L|)`` per window (or Σ_W has an eigenvalue below
      :data:`RESOLUTION_LIMIT`, past which float64 no longer resolves the loss): the signature
      of a loss unbounded below (γ > 1: I grows by ½ log γ per direction and iteration;
      γ = 1 with λ > 0: slower);
    * ``interior`` otherwise. A run that hit its budget without converging and shows neither
      signature (for example a loss flat to 1e-9 along a direction, as at γ = 1) is
      ``interior`` with ``converged=False``: check ``stop_reason``.
    """
    h = np.asarray(mi_history, dtype=float)
    h = h[np.isfinite(h)]
    if h.size == 0:
        return "interior"
    if h[-1] <= collapse_tol:
        return "collapsed"
    if converged or h.size < 9:
        return "interior"
    w = regime_window(h.size)
    i2, i1, i0 = h[-1], h[-1 - w], h[-1 - 2 * w]
    d2, d1 = i2 - i1, i1 - i0
    scale = 1e-12 * max(1.0, abs(i2))
    falling_loss = True
    if loss_history is not None:
        lh = np.asarray(loss_history, dtype=float)
        lh = lh[np.isfinite(lh)]
        if lh.size > w:
            falling_loss = lh[-1 - w] - lh[-1] > 1e-9 * (1.0 + abs(lh[-1]))
    if min_eig_sigma_w is not None and min_eig_sigma_w < RESOLUTION_LIMIT:
        falling_loss = True
    if d2 > scale and d1 > scale and d2 >= 0.5 * d1 and falling_loss:
        return "divergent"
    if d2 < -scale and d1 < d2:
        limit = i2 - d2 * d2 / (d2 - d1)
        if limit <= collapse_tol:
            return "collapsed"
    return "interior"


def regime_window(size: int) -> int:
    """Spacing of the records :func:`classify_regime` compares, for ``size`` I(X;Y) values."""
    return max(3, size // 10)


def regime_records(max_half_steps: int, history_every: int) -> frozenset:
    """Record indices :func:`classify_regime` reads for a run that uses its whole budget.

    Its ``max_half_steps // history_every`` records (index ``r`` at half-step
    ``r * history_every``) and the final I(X;Y) give ``w``; the test reads I(X;Y) at the
    records ``R + 1 - w`` and ``R + 1 - 2w`` and the loss at ``R - w`` and ``R``.
    """
    R = max_half_steps // history_every
    w = regime_window(R + 1)
    return frozenset(r for r in (R - w, R + 1 - 2 * w, R + 1 - w, R) if r >= 1)
