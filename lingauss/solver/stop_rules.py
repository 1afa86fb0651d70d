"""Stopping rules of the loop: the exact rule, the follow-up study's block rule, none.

A rule is an object the loop (:mod:`lingauss.solver.loop`) calls at fixed points of each
iteration; it retires the members it stops through :meth:`RunState.retire
<lingauss.solver.state.RunState.retire>` and keeps any per-member bookkeeping of its own
(registered with :meth:`~lingauss.solver.state.RunState.on_retire`, so retired members leave
it too):

* ``after_decoder(st, old, h)``: after every decoder half-step but the first (``old``: the
  block ``(A, z)`` before the step, rows of the members still active);
* ``before_encoder(st)``: before every encoder half-step;
* ``after_encoder(st, old, h)``: after every encoder half-step (``old``: ``(B, Σ_W)``).

The authors' notebook rule lives in :mod:`lingauss.solver.notebook_rule`;
:func:`lingauss.solver.batch.make_stop_rule` builds any of them by name.
"""

from __future__ import annotations

import numpy as np

from .numerics import fro
from .regimes import RESOLUTION_LIMIT
from .state import RunState

__all__ = ["StopRule", "ExactRule", "BlockRule"]


class StopRule:
    """A rule that never stops a run (``stop_rule="none"``); the base of the others."""

    def attach(self, st: RunState) -> None:
        """Prepare for a run of ``st`` (allocate per-member bookkeeping)."""

    def drop(self, keep) -> None:
        """Keep the bookkeeping rows of the members ``keep`` (called at each retirement)."""

    def after_decoder(self, st: RunState, old, h: int) -> None:
        pass

    def before_encoder(self, st: RunState) -> None:
        pass

    def after_encoder(self, st: RunState, old, h: int) -> None:
        pass


class ExactRule(StopRule):
    """Stop when, over one full iteration, the dimensionless parameter changes
    ``||ΔB||σ_Y``, ``||ΔA||/σ_Y``, ``||ΔΣ_W||``, ``||ΔΣ_Z||/σ_Y²`` and the loss change
    ``|ΔL|/(1+|L|)`` are all ``<= tol`` (``"converged"``); also stop a run whose encoder noise
    fell below numerical resolution, ``max diag Σ_W^{-1} > 1/RESOLUTION_LIMIT``
    (``"resolution_limit"``). Checked after encoder half-steps against the state one
    iteration earlier."""

    def __init__(self, tol: float):
        self.tol = tol
        self.snap = None

    def attach(self, st: RunState) -> None:
        self.snap = None
        st.on_retire(self)

    def drop(self, keep) -> None:
        if self.snap is not None:
            self.snap = tuple(x[keep] for x in self.snap)

    def before_encoder(self, st: RunState) -> None:
        if self.snap is None:
            self.snap = (st.A, st.B, st.Sw, st.z)

    def after_encoder(self, st: RunState, old, h: int) -> None:
        self._converged(st, h)
        if st.idx.size:
            kmax = np.max(np.diagonal(st.K, axis1=-2, axis2=-1), axis=-1)
            st.retire(kmax > 1.0 / RESOLUTION_LIMIT, "resolution_limit", h)
        self.snap = (st.A, st.B, st.Sw, st.z)

    def _converged(self, st: RunState, h: int) -> None:
        tol = self.tol
        A0, B0, Sw0, z0 = self.snap
        s = st.sig
        dB = fro(st.B - B0) * s
        cand = dB <= tol
        if not cand.any():
            return
        c = np.flatnonzero(cand)
        sc = s[c]
        zs = sc[:, None] ** 2 if st.diagonal else sc[:, None, None] ** 2
        small = (
            (fro(st.A[c] - A0[c]) / sc <= tol)
            & (fro(st.Sw[c] - Sw0[c]) <= tol)
            & (fro((st.z[c] - z0[c]) / zs) <= tol)
        )
        if not small.any():
            return
        c = c[small]
        now = st.loss(st.A[c], st.B[c], st.z[c], st.Sw[c], c)
        before = st.loss(A0[c], B0[c], z0[c], Sw0[c], c)
        ok = np.abs(now - before) <= tol * (1.0 + np.abs(now))
        stop = np.zeros(st.idx.size, dtype=bool)
        stop[c[ok]] = True
        st.retire(stop, "converged", h)


class BlockRule(StopRule):
    """The follow-up λβ study's rule: stop after a half-step in which both matrices of the
    block just updated (``(A, Σ_Z)`` or ``(B, Σ_W)``) moved by a Frobenius norm
    ``<= block_tol`` each since that block's previous update (``"block_rule"``)."""

    def __init__(self, block_tol: float):
        self.block_tol = block_tol

    def after_decoder(self, st: RunState, old, h: int) -> None:
        d = np.maximum(fro(st.A - old[0]), fro(st.z - old[1]))
        st.retire(d <= self.block_tol, "block_rule", h)

    def after_encoder(self, st: RunState, old, h: int) -> None:
        d = np.maximum(fro(st.B - old[0]), fro(st.Sw - old[1]))
        st.retire(d <= self.block_tol, "block_rule", h)
