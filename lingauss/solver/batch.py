"""The batched solver: many problems advance together as stacked arrays.

:func:`blahut_arimoto_batch` checks its arguments, then :func:`run_batch` runs the one loop
(:func:`lingauss.solver.loop.iterate`) on the stack, in this process or dealt out to worker
processes; members that stop leave the active stack.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..validation import as_float_array, check_covariance, check_shape
from .config import RunConfig, make_config
from .finish import finish
from .loop import iterate
from .notebook_rule import NotebookRule
from .parallel import process_pool, resolve_jobs
from .results import BatchSolution, merge_batches
from .state import RunState
from .stop_rules import BlockRule, ExactRule, StopRule

__all__ = [
    "blahut_arimoto_batch",
    "run_batch",
    "solve_chunk",
    "check_batch_inputs",
    "check_latent_dim",
    "make_stop_rule",
]


def check_latent_dim(m) -> int:
    """``m`` as an int; ``ValueError`` unless it is a positive integer."""
    if not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    return int(m)


def check_batch_inputs(Sigma_Y, m, gamma, lam, B0, Sigma_W0, diagonal):
    """Checked arrays of a batch: ``Σ_Y`` stacked to ``(P, n, n)`` (contiguous), ``γ`` and
    ``λ`` as ``(P,)``, ``B0``, ``Σ_W0``; refuses ``(γ, λ)`` for which ``M`` can be indefinite."""
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y")
    n = Sigma_Y.shape[-1]
    check_latent_dim(m)
    B0 = as_float_array(B0, "B0", ndim=3)
    P = B0.shape[0]
    check_shape(B0, (P, m, n), "B0")
    Sigma_W0, _ = check_covariance(Sigma_W0, "Sigma_W0")
    check_shape(Sigma_W0, (P, m, m), "Sigma_W0")
    if Sigma_Y.ndim == 2:
        Sigma_Y = np.broadcast_to(Sigma_Y, (P, n, n))
    check_shape(Sigma_Y, (P, n, n), "Sigma_Y")
    gamma = np.broadcast_to(as_float_array(gamma, "gamma"), (P,)).astype(float)
    lam = np.broadcast_to(as_float_array(lam, "lam"), (P,)).astype(float)
    if np.any(gamma <= 0):
        raise ValueError(f"gamma: must be > 0, got min {gamma.min()!r}")
    # After a decoder step Σ_Z ≤ Σ_Y (Loewner), so M = γΣ_Z^{-1}+2λI stays PD whenever
    # γ / s + 2λ > 0 with s = max diag Σ_Y (diagonal Σ_Z) or λ_max(Σ_Y) (full Σ_Z).
    if np.any(lam < 0):
        if diagonal:
            s = np.max(np.diagonal(Sigma_Y, axis1=-2, axis2=-1), axis=-1)
        else:
            s = np.linalg.eigvalsh(Sigma_Y)[..., -1]
        bad = gamma / s + 2.0 * lam <= 0
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValueError(
                f"gamma, lam: gamma={gamma[k]}, lam={lam[k]} make M = gamma*inv(Sigma_Z) + "
                f"2*lam*I indefinite for admissible Sigma_Z (gamma/{s[k]:.4g} + 2*lam <= 0); "
                "the encoder update is ill-posed"
            )
    return np.ascontiguousarray(Sigma_Y), gamma, lam, B0, Sigma_W0


def blahut_arimoto_batch(
    Sigma_Y,
    m: int,
    gamma,
    lam,
    B0,
    Sigma_W0,
    *,
    max_half_steps: int = 10_000,
    tol: float = 1e-10,
    diagonal: bool = True,
    stop_rule: str = "exact",
    history_every: int | None = None,
    collapse_tol: float = 1e-8,
    variance_floor: float | tuple[float, float] | None = None,
    block_tol: float | None = None,
    n_jobs: int | str | None = 1,
    history: str = "full",
) -> BatchSolution:
    """Run many Blahut–Arimoto problems together as stacked arrays.

    Each problem starts from its encoder ``(B0[p], Σ_W0[p])`` with a decoder half-step, then
    alternates encoder and decoder half-steps. Problems that stop leave the active stack.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n) or (P, n, n)
    m : int
        Latent dimension.
    gamma, lam : float or array_like, shape (P,)
    B0 : array_like, shape (P, m, n)
    Sigma_W0 : array_like, shape (P, m, m)
    max_half_steps : int
        Budget of half-steps per problem.
    tol : float
        Exact rule: stop when, over one full iteration, the dimensionless parameter changes
        ``||ΔB||σ_Y``, ``||ΔA||/σ_Y``, ``||ΔΣ_W||``, ``||ΔΣ_Z||/σ_Y²`` (Frobenius, with
        ``σ_Y² = tr Σ_Y / n``) and the loss change ``|ΔL|/(1+|L|)`` are all ``<= tol``.
        Only problems whose ``||ΔB||σ_Y`` passes are checked further.
    diagonal : bool
        Diagonal Σ_Z (the paper's model) or full Σ_Z (the follow-up study).
    stop_rule : {"exact", "notebook", "block", "none"}
        ``"exact"`` also stops a run whose encoder noise has fallen below numerical
        resolution (:data:`RESOLUTION_LIMIT`; stop reason ``"resolution_limit"``).
        ``"notebook"``: the authors' rule (reference §6.3): after a half-step, the changed
        block's Frobenius changes are ≤ 1e-8, the loss change rounds to 0 at 8 decimals and
        the reconstruction error is ≤ 1e-6. ``"block"``: the follow-up study's rule, stop
        after a half-step in which both matrices of the updated block ((A, Σ_Z) or (B, Σ_W))
        changed by a Frobenius norm ≤ ``block_tol`` each. ``"none"``: always use the whole budget.
    history_every : int, optional
        Record the loss and I(X;Y) every this many half-steps; default
        ``max(1, max_half_steps // 500)`` (about 500 records, enough for the regime test).
    collapse_tol : float
        I(X;Y) (nats) at or below which an encoder counts as collapsed.
    variance_floor : float or (float, float), optional
        Constrain ``Σ_W ⪰ ε_W I`` and ``Σ_Z ⪰ ε_Z I`` (one value for both, or the pair
        ``(ε_W, ε_Z)``). The updates become projections onto the constraint set, which are
        still the exact constrained block minimisers: the optimal ``B`` and ``A`` do not
        depend on the noise covariances' constraint, and
        ``min_{Σ ⪰ εI} tr(Σ K) - log|Σ|`` is attained at ``K^{-1}`` with its eigenvalues
        raised to ``ε`` (von Neumann's trace inequality); likewise ``Σ_Z`` from ``P``. This
        makes the loss bounded below for γ > 1 (reference §3), at the price of a constrained
        optimum; ``constrained``/``floor_active`` in the result say where it binds.
    block_tol : float, optional
        Threshold of the ``"block"`` rule.
    n_jobs : int, "auto" or None, optional
        Worker processes; the stack is dealt out to ``n_jobs`` processes that run in
        parallel (``None`` or ``-1``: one per usable core; ``"auto"``: one per usable core
        when the work repays starting them, about a million problem half-steps or more, and
        processes can be forked, else 1). Members never interact, so the result is
        bit-identical to ``n_jobs=1``.
    history : {"full", "regime"}
        ``"full"``: keep every record. ``"regime"``: keep only the records the regime test
        reads (:func:`classify_regime`, for a run that uses its whole budget); the others
        are only checked to be finite, so runs stop exactly as with ``"full"`` (a record
        whose finiteness is not certain is computed in full). ``loss_history`` and
        ``mi_history`` are NaN elsewhere; every other output is identical. Runs that stop
        early without converging are re-run with the full history. Saves most of the cost
        of the records when only the regimes are wanted.

    Returns
    -------
    BatchSolution
    """
    if history not in ("full", "regime"):
        raise ValueError(f"history: expected 'full' or 'regime', got {history!r}")
    config = make_config(
        diagonal=diagonal,
        max_half_steps=max_half_steps,
        tol=tol,
        stop_rule=stop_rule,
        history_every=history_every,
        collapse_tol=collapse_tol,
        variance_floor=variance_floor,
        block_tol=block_tol,
        history=history,
    )
    Sy, gamma, lam, B0, Sw0 = check_batch_inputs(Sigma_Y, m, gamma, lam, B0, Sigma_W0, diagonal)
    return run_batch(Sy, gamma, lam, B0, Sw0, config, n_jobs)


def run_batch(Sy, gamma, lam, B0, Sw0, config: RunConfig, n_jobs=1) -> BatchSolution:
    """The batched run on checked arrays (:func:`check_batch_inputs`) and options
    (:func:`~lingauss.solver.config.make_config`), dealt out to ``n_jobs`` processes
    (:func:`~lingauss.solver.parallel.resolve_jobs`); bit-identical for every ``n_jobs``."""
    n_jobs = resolve_jobs(n_jobs, B0.shape[0], config.max_half_steps)
    if n_jobs == 1:
        return solve_chunk((Sy, gamma, lam, B0, Sw0, config))
    # every n_jobs-th member to each process: neighbours (restarts of one cell, say) tend to
    # cost alike, so this balances the processes better than contiguous blocks
    chunks = [np.arange(k, B0.shape[0], n_jobs) for k in range(n_jobs)]
    args = [(Sy[c], gamma[c], lam[c], B0[c], Sw0[c], config) for c in chunks]
    with process_pool(n_jobs) as pool:
        parts = list(pool.map(solve_chunk, args))
    return merge_batches(parts, chunks)


def make_stop_rule(config: RunConfig) -> StopRule:
    """The stopping rule ``config.stop_rule`` names, with its tolerance."""
    if config.stop_rule == "exact":
        return ExactRule(config.tol)
    if config.stop_rule == "block":
        return BlockRule(config.block_tol)
    if config.stop_rule == "notebook":
        return NotebookRule()
    return StopRule()


def solve_chunk(args) -> BatchSolution:
    """One process's share: ``(Σ_Y, γ, λ, B0, Σ_W0, config)`` run in this process."""
    Sy, gamma, lam, B0, Sw0, config = args
    run = RunState(Sy, gamma, lam, B0, Sw0, config)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # past float64 resolution (stop_rule "none"/"notebook" with γ > 1) values may turn
        # non-finite; such runs are retired with stop_reason "nonfinite"
        iterate(run, make_stop_rule(config))
    res = finish(run, config.collapse_tol)
    if config.history == "regime":
        # the kept records decide the regime of runs that converged or used their whole
        # budget with every record finite; the others run again with their full history
        ok = np.isfinite(res.mutual_information_xy) & (
            res.converged | ((res.stop_reason == "max_half_steps") & run.records_regular)
        )
        if not ok.all():
            keep, redo = np.flatnonzero(ok), np.flatnonzero(~ok)
            sub = (Sy[redo], gamma[redo], lam[redo], B0[redo], Sw0[redo])
            full = solve_chunk((*sub, replace(config, history="full")))
            res = merge_batches([(res, keep), full], [keep, redo])
    return res
