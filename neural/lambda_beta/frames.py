"""Reading a learned run: its regime per member, its tidy table, and its trajectories on disk."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lingauss.blahut_arimoto import classify_regime
from lingauss.gaussian import entropy
from lingauss.study import evaluate_solutions, expected_regime

from .learned import LearnedRun

__all__ = [
    "LEARNED_COLLAPSE_NATS",
    "LEARNED_FLOOR_FACTOR",
    "classify_learned_regime",
    "save_history",
    "learned_frame",
]


#: A learned run whose kept iterate carries at most this much ``I(X;Y)`` (nats) is collapsed.
#: AdamW's constant-size steps keep a collapsed encoder jittering at 1e-6 to 1e-4 nats (measured
#: on the study grid); every informative solution of the study carries more than 2 nats.
LEARNED_COLLAPSE_NATS = 1e-3
#: An AdamW run whose smallest eigenvalue of ``Σ_W`` is within this factor of the
#: parameterisation's floor (``Σ_W = L L^T + jitter I``) is held there by the floor, not by the
#: loss: the signature of a loss with no minimum (``Σ_W → 0``).
LEARNED_FLOOR_FACTOR = 10.0


def classify_learned_regime(
    mi_xy: float,
    min_eig_sigma_w: float,
    jitter: float,
    mi_history=None,
) -> str:
    """Regime of a gradient-trained member from its kept iterate.

    * ``collapsed``: ``I(X;Y) <= LEARNED_COLLAPSE_NATS``;
    * ``divergent``: with a floor (``jitter > 0``, the AdamW recipe), the smallest eigenvalue of
      ``Σ_W`` is at most ``LEARNED_FLOOR_FACTOR · jitter``: the run presses against
      ``Σ_W ⪰ jitter·I``, which an interior stationary point (whose ``Σ_W`` does not depend on
      the jitter) does not do. Without a floor (the best recipe), the BA trajectory test
      :func:`lingauss.blahut_arimoto.classify_regime` on the ``I(X;Y)`` record;
    * ``interior`` otherwise.

    The floor test is a threshold, not a proof: a true minimum whose ``Σ_W`` has an
    eigenvalue below ``LEARNED_FLOOR_FACTOR · jitter`` would be read as divergent. On the
    study's grid the smallest such eigenvalue at a minimum is 2e-3 (40× the jitter) and the
    largest at the floor 3e-4 (6×), both n (``results/lambda_beta_cuda/``); compare
    ``expected_regime`` where in doubt.

    The BA rule alone misreads AdamW: its constant-size steps make ``I(X;Y)`` fluctuate by
    ~0.01 nats around an interior optimum (read as "still rising") and by tens of percent at the
    floor (read as "not rising"). No convergence is claimed either way.
    """
    if not np.isfinite(mi_xy):
        return "nonfinite"
    if mi_xy <= LEARNED_COLLAPSE_NATS:
        return "collapsed"
    if jitter > 0:
        return "divergent" if min_eig_sigma_w <= LEARNED_FLOOR_FACTOR * jitter else "interior"
    if mi_history is None:
        return "interior"
    h = np.asarray(mi_history, dtype=float)
    return classify_regime(h[np.isfinite(h)], False)


def save_history(run: LearnedRun, path) -> None:
    """Write a run's trajectories and kept-iterate diagnostics to ``path`` (``.npz``).

    Keys: ``beta, lam, init, loss, best_step, stop_reason`` (per member), ``loss_history,
    mi_history`` (records × members), ``record_every, steps, seconds, method, device, dtype,
    jitter, scenario``. The encoders are not stored (``Σ_Z`` alone is ``P n²`` numbers);
    retrain from the seed to get them. The file is written to a temporary name first and
    renamed, so a failure leaves nothing half-written.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(
            tmp,
            beta=run.beta,
            lam=run.lam,
            init=run.init,
            loss=run.loss,
            best_step=run.best_step,
            stop_reason=run.stop_reason.astype(str),
            loss_history=run.loss_history,
            mi_history=run.mi_history,
            record_every=run.record_every,
            steps=run.steps,
            seconds=run.seconds,
            method=run.method,
            device=run.device,
            dtype=run.dtype,
            jitter=run.jitter,
            scenario=run.scenario.name,
        )
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def learned_frame(run: LearnedRun) -> pd.DataFrame:
    """The tidy table of a :class:`LearnedRun`, with the columns of
    :func:`lingauss.study.fixed_point_study` (``half_steps`` replaced by ``steps`` and
    ``best_step``), ready for :func:`lingauss.study.summarize_study`.

    ``regime`` comes from the kept iterate (:func:`classify_learned_regime`; a gradient run has
    no convergence test, so ``converged`` is False throughout).
    """
    sc = run.scenario
    ev = evaluate_solutions(sc, run.A, run.B, run.Sigma_Z, run.Sigma_W, run.beta, run.lam)
    df = pd.DataFrame(
        {
            "method": run.method,
            "stop_rule": "steps",
            "n": sc.n,
            "beta": run.beta,
            "lam": run.lam,
            "init": run.init,
        }
    )
    df = pd.concat([df, ev], axis=1)
    df["h_y"] = float(entropy(sc.Sigma_Y))
    df["regime"] = [
        classify_learned_regime(mi, eig, run.jitter, run.mi_history[:, p])
        for p, (mi, eig) in enumerate(zip(ev.mi_xy, ev.min_eig_sigma_w))
    ]
    df["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(run.beta, run.lam)]
    df["stop_reason"] = run.stop_reason
    df["converged"] = False
    df["steps"] = run.steps
    df["best_step"] = run.best_step
    return df
