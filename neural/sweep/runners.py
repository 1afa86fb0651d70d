"""The run functions of ``lingauss sweep``: one (objective, weight, seed) → one row.

* ``--data dsprites`` (or a dSprites npz): :func:`run_dsprites` trains the conv VAE with
  :func:`neural.image_training.train_and_evaluate` at the preset's budget (``--steps``
  overrides the step count) and returns its evaluation row.
* ``--data scenario:CONFIG:N`` (the linear bridge): :func:`run_linear_bridge` trains the
  linear-Gaussian VAE on samples of the scenario's ``N(0, Σ_Y)`` with the objective's
  minibatch loss (:func:`neural.objective_training.train_objective`, which uses
  :func:`neural.objectives.objective_loss`, the code the conv VAE uses; FactorVAE with a small
  discriminator trained in alternation), then scores the learned ``(A, B, Σ_Z, Σ_W)`` with
  the *exact* terms (:func:`lingauss.objectives.objective_terms`), the exact MIG and, for
  FactorVAE, E D*(z_real), E D*(z_perm) of the Bayes-optimal discriminator of the learned
  aggregate posterior, beside the exact optimum of the same objective
  (:func:`lingauss.objectives.optimize_objective`, columns ``exact_*``). The learned matrices
  are kept as ``matrices.npz`` in the run's checkpoint folder.

Both are deterministic for the task's seed on the CPU (one torch thread, seeded generators).
A run's ``status`` names what is degenerate: ``diverged`` (non-finite loss or parameters;
metrics NaN), ``collapsed`` (no active latent: every latent's KL ≤ 0.01 nats on dSprites;
I(X;Y) ≤ 1e-3 nats on the bridge), else ``ok``.
"""

from __future__ import annotations

import math
from typing import Any

from .config import SweepConfig, SweepTask, data_kind

__all__ = [
    "run_task",
    "run_dsprites",
    "run_linear_bridge",
    "default_steps",
    "check_data",
    "BRIDGE_PRESETS",
]

#: The linear bridge's budgets (the bridge's own; the seed gives none): Adam steps on
#: minibatches of ``batch`` from a training set of ``train_size`` samples of ``N(0, Σ_Y)``
#: (fixed per seed), :func:`neural.objective_training.train_objective`.
BRIDGE_PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"steps": 2000, "batch": 256, "train_size": 100_000},
    "paper": {"steps": 20000, "batch": 1024, "train_size": 100_000},
}
_NAN = float("nan")
#: A learned linear encoder with I(X;Y) at or below this many nats is named ``collapsed``
#: (the exact optimum's own regime uses lingauss.objectives' tolerance).
_COLLAPSE_MI = 1e-3


def default_steps(data: str, preset: str) -> int:
    """Training steps of ``preset`` for ``data`` (dSprites: the image model's presets)."""
    if data_kind(data) == "scenario":
        return int(BRIDGE_PRESETS[preset]["steps"])
    from neural.image_spec import PRESETS

    return int(PRESETS[preset]["steps"])


def check_data(config: SweepConfig) -> None:
    """Refuse bad data before anything is written: a dSprites file of the wrong shape, a
    scenario that does not build. Raises ValueError."""
    if config.data.startswith("npz:"):
        from neural.datasets import load_dsprites_npz

        load_dsprites_npz(config.data[4:])
    elif data_kind(config.data) == "scenario":
        _scenario(config.data)
        if config.objective == "gamma-lambda":
            return
    elif config.objective == "gamma-lambda":
        raise ValueError("objective: 'gamma-lambda' needs a Gaussian decoder; not on dSprites")


def run_task(task: SweepTask) -> dict[str, Any]:
    """The run function of ``lingauss sweep``: dispatch on the task's data."""
    if data_kind(task.data) == "scenario":
        return run_linear_bridge(task)
    return run_dsprites(task)


def run_dsprites(task: SweepTask) -> dict[str, Any]:
    """Train and evaluate the conv VAE on dSprites (see the module docstring)."""
    from neural.image_training import ImageRunSpec, train_and_evaluate

    data = task.data[4:] if task.data.startswith("npz:") else "dsprites"
    spec = ImageRunSpec.for_preset(
        task.preset, task.objective, task.weights, seed=task.seed, steps=task.steps, data=data
    )
    row = dict(train_and_evaluate(spec, device=task.device, checkpoint_dir=task.checkpoint_dir))
    if row.get("diverged", 0.0):
        row["status"] = "diverged"
    elif row.get("active_latents", 1.0) == 0:
        row["status"] = "collapsed"
    return row


def _scenario(data: str):
    from lingauss.scenarios import scenario

    _, config, number = data.split(":")
    return scenario(config, int(number))


def _exact(task: SweepTask, sc) -> dict[str, Any]:
    """The exact optimum's loss and terms (seed 0: the same for every run of the sweep)."""
    from lingauss.metrics import mig_score

    try:
        from lingauss.objectives import optimize_objective
    except ImportError:  # before the package re-exports it
        from lingauss.objectives.optimum import optimize_objective

    try:
        sol = optimize_objective(
            task.objective, task.weights, sc.Sigma_Y, sc.m, seed=0, restarts=4, certify=False
        )
    except ValueError as exc:
        if "unbounded" not in str(exc):
            raise
        return {"exact_regime": "unbounded"}
    t = sol.terms
    mig = mig_score(sc.joint_cov_xv(sol.B, sol.Sigma_W), sc.m).score if sc.m >= 2 else _NAN
    return {
        "exact_loss": float(sol.loss),
        "exact_nll": float(t.nll),
        "exact_kl": float(t.kl),
        "exact_mi": float(t.mi),
        "exact_tc": float(t.tc),
        "exact_dimkl": float(t.dimkl),
        "exact_mig": float(mig),
        "exact_regime": sol.regime,
        "exact_gradient_norm": float(sol.gradient_norm),
    }


def run_linear_bridge(task: SweepTask) -> dict[str, Any]:
    """Train the linear VAE with the task's objective on its scenario; exact terms beside.

    Runs with one torch thread (the previous setting is restored), so that its numbers do
    not depend on the executor.
    """
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _bridge(task)
    finally:
        torch.set_num_threads(prev)


def _bridge(task: SweepTask) -> dict[str, Any]:
    import numpy as np

    from lingauss.metrics import mig_score
    from lingauss.objectives import objective_loss as exact_loss
    from lingauss.objectives import objective_terms
    from neural.discriminator import optimal_discriminator_expectations
    from neural.objective_training import train_objective

    sc = _scenario(task.data)
    p = BRIDGE_PRESETS[task.preset]
    fit = train_objective(
        sc.Sigma_Y,
        sc.m,
        task.objective,
        task.weights,
        dataset_size=int(p["train_size"]),
        batch_size=int(p["batch"]),
        steps=task.steps,
        seed=int(task.seed),
        threads=1,
    )
    mats = fit.matrices()
    row: dict[str, Any] = {"steps": fit.steps, **_exact(task, sc)}
    if not all(np.all(np.isfinite(v)) for v in mats.values()):
        row["status"] = "diverged"
        return row
    A, B, Sz, Sw = mats["A"], mats["B"], mats["Sigma_Z"], mats["Sigma_W"]
    terms = objective_terms(A, B, Sz, Sw, sc.Sigma_Y)
    value, _ = exact_loss(task.objective, task.weights, A, B, Sz, Sw, sc.Sigma_Y)
    status = "ok"
    row.update(
        loss=float(value),
        rec_error=float(terms.nll),
        kl=float(terms.kl),
        mi=float(terms.mi),
        tc=float(terms.tc),
        dimkl=float(terms.dimkl),
        mig=float(mig_score(sc.joint_cov_xv(B, Sw), sc.m).score) if sc.m >= 2 else _NAN,
    )
    if float(terms.mi) <= _COLLAPSE_MI:
        status = "collapsed"
        # MIG normalises by I(X; v_k); of a code carrying <= 1e-3 nats it is a ratio of
        # noise, not a disentanglement score: not reported
        row["mig"] = _NAN
    if task.objective == "factor-vae" and status == "ok":
        # the Bayes-optimal discriminator of the learned aggregate posterior N(0, C): the
        # values a perfectly trained discriminator would report (the seed's D columns)
        d = optimal_discriminator_expectations(B @ sc.Sigma_Y @ B.T + Sw, seed=int(task.seed))
        row["d_real"], row["d_perm"] = float(d["d_real"]), float(d["d_perm"])
    gap = row.get("exact_loss", _NAN)
    if math.isfinite(gap):
        row["loss_gap"] = float(value) - gap
    row["status"] = status
    if task.checkpoint_dir is not None:
        _save_matrices(task.checkpoint_dir, mats, task)
    return row


def _save_matrices(folder: str, mats: dict, task: SweepTask) -> None:
    """``matrices.npz`` (A, B, Sigma_Z, Sigma_W) and ``task.json``, each written atomically."""
    import json
    import os
    import tempfile
    from pathlib import Path

    import numpy as np

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for name, write in (
        ("matrices.npz", lambda fh: np.savez(fh, **mats)),
        ("task.json", lambda fh: fh.write(json.dumps(task.to_dict(), sort_keys=True).encode())),
    ):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=d)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.replace(tmp, d / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
