"""The Blahut–Arimoto runs of a table: every run of a group of scenarios in batched calls,
made robust to a run whose linear algebra breaks down, and the kept run of each cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blahut_arimoto import BatchSolution, Solution, blahut_arimoto_batch
from ..loss import reconstruction_error
from .conventions import Protocol
from .seeding import initial_encoders

__all__ = ["RunStack", "robust_batch", "solve_group"]

#: Runs per batched solver call (rounded down to whole seeds), so progress is reported often.
CHUNK_RUNS = 2048


@dataclass(frozen=True)
class RunStack:
    """The final state of a stack of runs; a run whose arithmetic broke down is ``nonfinite``
    (NaN arrays, no half-steps, not converged).

    Attributes
    ----------
    A, B, Sigma_Z, Sigma_W : ndarray, shapes (P, n, m), (P, m, n), (P, n, n), (P, m, m)
    loss, mi_xy : ndarray, shape (P,)
        Total loss and I(X; Y) (nats).
    stop_reason, regime : ndarray of object, shape (P,)
    converged : ndarray of bool, shape (P,)
    half_steps : ndarray of int, shape (P,)
    parts : tuple of (start, BatchSolution)
        The batches that finished, by first run index (for :meth:`solution`).
    """

    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    loss: np.ndarray
    mi_xy: np.ndarray
    stop_reason: np.ndarray
    regime: np.ndarray
    converged: np.ndarray
    half_steps: np.ndarray
    parts: tuple[tuple[int, BatchSolution], ...]

    @classmethod
    def from_parts(cls, parts, P: int, m: int, n: int) -> RunStack:
        """Assemble ``P`` runs from ``[(start, BatchSolution), ...]``; runs in no part broke
        down."""
        cols = {
            "A": np.full((P, n, m), np.nan),
            "B": np.full((P, m, n), np.nan),
            "Sigma_Z": np.full((P, n, n), np.nan),
            "Sigma_W": np.full((P, m, m), np.nan),
            "loss": np.full(P, np.nan),
            "mi_xy": np.full(P, np.nan),
            "stop_reason": np.full(P, "nonfinite", dtype=object),
            "regime": np.full(P, "nonfinite", dtype=object),
            "converged": np.zeros(P, dtype=bool),
            "half_steps": np.zeros(P, dtype=int),
        }
        for start, b in parts:
            sl = slice(start, start + len(b))
            for name in ("A", "B", "Sigma_Z", "Sigma_W"):
                cols[name][sl] = getattr(b, name)
            cols["loss"][sl] = b.loss.total
            cols["mi_xy"][sl] = b.mutual_information_xy
            cols["stop_reason"][sl] = b.stop_reason
            cols["regime"][sl] = b.regime
            cols["converged"][sl] = b.converged
            cols["half_steps"][sl] = b.half_steps
        return cls(**cols, parts=tuple(parts))

    def solution(self, i: int) -> Solution | None:
        """Run ``i`` as a :class:`lingauss.Solution` (``None`` if it broke down)."""
        for start, b in self.parts:
            if start <= i < start + len(b):
                return b[int(i - start)]
        return None


def robust_batch(Sy, m, gamma, lam, B0, Sw0, opts, start: int = 0) -> list:
    """``blahut_arimoto_batch`` that survives a run whose linear algebra breaks down.

    A drifting run (γ > 1 under the notebook rule, which has no resolution limit) can make
    Σ_W numerically indefinite; the solver then raises for the whole batch. The batch is
    split in halves until the failing run is alone, and that run is left out (the others are
    unaffected: batch members do not interact).

    Returns
    -------
    list of (start, BatchSolution)
        The batches that finished, with the index of their first run (``start`` + offset in
        this stack); :meth:`RunStack.from_parts` reports the runs left out as ``nonfinite``.
    """
    try:
        return [(start, blahut_arimoto_batch(Sy, m, gamma, lam, B0, Sw0, **opts))]
    except np.linalg.LinAlgError:
        P = B0.shape[0]
        if P == 1:
            return []
        h = P // 2
        return robust_batch(
            Sy[:h], m, gamma[:h], lam[:h], B0[:h], Sw0[:h], opts, start
        ) + robust_batch(Sy[h:], m, gamma[h:], lam[h:], B0[h:], Sw0[h:], opts, start + h)


def solve_group(
    label, scs_by_seed, protocol: Protocol, seeds, gammas, lambdas, progress, keep=False, n_jobs=1
):
    """All runs of one group of scenarios (same m, n) over all seeds, in batched BA calls,
    and the kept run of each cell.

    ``scs_by_seed[a][k]`` is scenario ``k`` under seed ``a``. Each cell's runs start from
    :func:`initial_encoders`; the kept run has the smallest reconstruction error
    (``select="recon"``) or loss (``"loss"``) among the finite ones, the first on ties (like
    the authors' strict ``<``).

    Returns
    -------
    chosen : dict of str to ndarray, one entry per cell in (seed, scenario, γ, λ) order
        ``A, B, Sigma_Z, Sigma_W, loss, recon, reason, regime, converged, half_steps, mi_xy``
        of the kept run and ``n_finite`` (finite runs in the cell); with ``keep``,
        ``solutions`` (the kept :class:`lingauss.Solution` objects, ``None`` where every run
        broke down).
    shape : tuple (S, K, G, L)
    runs : int
        Runs per cell.
    """
    scs = scs_by_seed[0]
    m, n = scs[0].m, scs[0].n
    R = max(protocol.runs_per_cell(sc) for sc in scs)
    nS, nK, nG, nL = len(seeds), len(scs), len(gammas), len(lambdas)
    shape = (nS, nK, nG, nL, R)
    B0, Sw0 = initial_encoders(label, scs, protocol, seeds, gammas, lambdas, R)
    Sy = np.broadcast_to(
        np.stack([[sc.Sigma_Y for sc in row] for row in scs_by_seed])[:, :, None, None, None],
        shape + (n, n),
    )
    gam = np.broadcast_to(gammas[None, None, :, None, None], shape)
    lam = np.broadcast_to(lambdas[None, None, None, :, None], shape)
    flat = lambda x, tail: np.ascontiguousarray(x).reshape((-1,) + tail)  # noqa: E731
    Sy_f, gam_f, lam_f = flat(Sy, (n, n)), flat(gam, ()), flat(lam, ())
    B0_f, Sw0_f = flat(B0, (m, n)), flat(Sw0, (m, m))
    P = B0_f.shape[0]
    per_seed = P // nS
    chunk = max(1, CHUNK_RUNS // per_seed) * per_seed
    opts = dict(
        max_half_steps=protocol.max_half_steps,
        tol=protocol.tol,
        stop_rule=protocol.stop_rule,
        history_every=protocol.history_every,
        n_jobs=n_jobs,
        # the table needs the regimes, not the histories; under the exact rule too many runs
        # stop early (resolution limit) and would be re-run for their histories
        history="full" if keep or protocol.stop_rule == "exact" else "regime",
    )
    parts = []
    for lo in range(0, P, chunk):
        sl = slice(lo, min(P, lo + chunk))
        parts += robust_batch(
            Sy_f[sl], m, gam_f[sl], lam_f[sl], B0_f[sl], Sw0_f[sl], opts, start=lo
        )
        if progress is not None:
            progress(sl.stop - sl.start)
    runs = RunStack.from_parts(parts, P, m, n)
    finite = runs.stop_reason != "nonfinite"
    recon = np.full(P, np.nan)
    if finite.any():
        recon[finite] = reconstruction_error(runs.A[finite], runs.Sigma_Z[finite], Sy_f[finite])
    crit = recon if protocol.select == "recon" else runs.loss
    crit = np.where(finite & np.isfinite(crit), crit, np.inf).reshape(shape)
    pick = np.argmin(crit, axis=-1)  # first on ties, like the authors' strict "<"
    idx = (np.arange(P).reshape(shape)[..., 0] + pick).reshape(-1)  # (nS*nK*nG*nL,)
    chosen = {
        "A": runs.A[idx],
        "B": runs.B[idx],
        "Sigma_Z": runs.Sigma_Z[idx],
        "Sigma_W": runs.Sigma_W[idx],
        "loss": runs.loss[idx],
        "recon": recon[idx],
        "reason": runs.stop_reason[idx],
        "regime": runs.regime[idx],
        "converged": runs.converged[idx],
        "half_steps": runs.half_steps[idx],
        "mi_xy": runs.mi_xy[idx],
        "n_finite": finite.reshape(shape).sum(-1).reshape(-1),
    }
    if keep:
        chosen["solutions"] = [runs.solution(int(i)) for i in idx]
    return chosen, (nS, nK, nG, nL), R
