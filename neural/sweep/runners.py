"""The run functions of ``lingauss sweep``: one (objective, weight, seed) → one row.

* ``--data dsprites`` (or a dSprites npz): :func:`run_dsprites` trains the conv VAE with
  :func:`neural.image_training.train_and_evaluate` at the preset's budget (``--steps``
  overrides the step count) and returns its evaluation row.
* ``--data scenario:CONFIG:N`` (the linear bridge): :func:`run_linear_bridge` trains the
  linear-Gaussian VAE (:class:`neural.models.LinearGaussianVAE`) on samples of the scenario
  with the objective's minibatch loss (:func:`neural.objectives.objective_loss`, the code the
  conv VAE uses; FactorVAE with a small discriminator trained in alternation), then scores the
  learned ``(A, B, Σ_Z, Σ_W)`` with the *exact* terms (:func:`lingauss.objectives.objective_terms`)
  and the exact MIG, beside the exact optimum of the same objective
  (:func:`lingauss.objectives.optimize_objective`, columns ``exact_*``).

Both are deterministic for the task's seed on the CPU (one torch thread, seeded generators).
A run's ``status`` names what is degenerate: ``diverged`` (non-finite loss; metrics NaN),
``collapsed`` (no active latent: every latent's KL ≤ 0.01 nats on dSprites, I(X;Y) ≈ 0 for
the bridge: I(X;Y) ≤ 1e-3 nats), else ``ok``.
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

#: The linear bridge's budgets: Adam steps on minibatches of ``batch`` from a training set of
#: ``train_size`` samples of the scenario (fixed per seed).
BRIDGE_PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"steps": 1500, "batch": 256, "train_size": 8192, "lr": 1e-2},
    "paper": {"steps": 20000, "batch": 1024, "train_size": 100_000, "lr": 3e-3},
}
_NAN = float("nan")
#: A learned linear encoder with I(X;Y) at or below this many nats is named ``collapsed``
#: (the exact optimum's own regime uses lingauss.objectives' tolerance).
_COLLAPSE_MI = 1e-3


def default_steps(data: str, preset: str) -> int:
    """Training steps of ``preset`` for ``data`` (dSprites: the image model's presets)."""
    if data_kind(data) == "scenario":
        return int(BRIDGE_PRESETS[preset]["steps"])
    from neural.image_training import PRESETS

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
    import torch

    from lingauss.metrics import mig_score
    from lingauss.objectives import objective_loss as exact_loss
    from lingauss.objectives import objective_terms
    from neural.config import LinearVAEConfig, save_model
    from neural.discriminator import (
        Discriminator,
        discriminator_loss,
        discriminator_probability,
        permute_dims,
    )
    from neural.models import LinearGaussianVAE
    from neural.objective import mc_loss
    from neural.objectives import objective_loss

    sc = _scenario(task.data)
    p = BRIDGE_PRESETS[task.preset]
    gen = torch.Generator().manual_seed(int(task.seed))
    rng = np.random.default_rng([int(task.seed), 1])
    _, y_np = sc.sample(int(p["train_size"]), rng)
    y_all = torch.as_tensor(y_np, dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(task.seed))
        model = LinearGaussianVAE(LinearVAEConfig(n=sc.n, m=sc.m, batch=1))
        model.set_data_scale(sc.Sigma_Y).init_parameters([int(task.seed)])
        disc = (
            Discriminator(sc.m, hidden=64, layers=3).double()
            if task.objective == "factor-vae"
            else None
        )
    opt = torch.optim.Adam(model.parameters(), lr=float(p["lr"]))
    d_opt = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.9)) if disc else None
    N, M, m = y_all.shape[0], int(p["batch"]), sc.m

    def batch():
        idx = torch.randint(0, N, (M,), generator=gen)
        y = y_all[idx]
        eps = torch.randn(1, 1, M, m, generator=gen, dtype=torch.float64)
        nll = mc_loss(model, y, eps, 1.0, 0.0, per_sample=True).nll[0]  # (M,): -log p(y|z)
        mu = model.encode_mean(y)[0]
        z = mu + eps[0, 0] @ model.encoder_noise_factor()[0].mT
        return nll, mu, z

    status = "ok"
    for _ in range(task.steps):
        nll, mu, z = batch()
        loss, _ = objective_loss(
            task.objective,
            task.weights,
            nll=nll,
            mu=mu,
            z=z,
            cov=model.Sigma_W()[0],
            dataset_size=N,
            discriminator=disc,
        )
        if not torch.isfinite(loss):
            status = "diverged"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if disc is not None:
            with torch.no_grad():
                _, _, z2 = batch()
            d_opt.zero_grad(set_to_none=True)
            discriminator_loss(disc, z.detach(), permute_dims(z2, gen)).backward()
            d_opt.step()
    row: dict[str, Any] = {"steps": task.steps, **_exact(task, sc)}
    mats = {k: v[0] for k, v in model.matrices().items()}
    if status == "ok" and all(np.all(np.isfinite(v)) for v in mats.values()):
        terms = objective_terms(mats["A"], mats["B"], mats["Sigma_Z"], mats["Sigma_W"], sc.Sigma_Y)
        value, _ = exact_loss(
            task.objective,
            task.weights,
            mats["A"],
            mats["B"],
            mats["Sigma_Z"],
            mats["Sigma_W"],
            sc.Sigma_Y,
        )
        row.update(
            loss=float(value),
            rec_error=float(terms.nll),
            kl=float(terms.kl),
            mi=float(terms.mi),
            tc=float(terms.tc),
            dimkl=float(terms.dimkl),
            mig=float(mig_score(sc.joint_cov_xv(mats["B"], mats["Sigma_W"]), m).score)
            if m >= 2
            else _NAN,
        )
        if float(terms.mi) <= _COLLAPSE_MI:
            status = "collapsed"
            # MIG normalises by I(X; v_k); of a code carrying <= 1e-3 nats it is a ratio of
            # noise, not a disentanglement score: not reported
            row["mig"] = _NAN
        if disc is not None:
            with torch.no_grad():
                _, _, zr = batch()
                _, _, zo = batch()
                row["d_real"] = float(discriminator_probability(disc, zr).mean())
                row["d_perm"] = float(discriminator_probability(disc, permute_dims(zo, gen)).mean())
        gap = row.get("exact_loss", _NAN)
        if math.isfinite(gap):
            row["loss_gap"] = float(value) - gap
    else:
        status = "diverged"
    row["status"] = status
    if task.checkpoint_dir is not None and status != "diverged":
        save_model(model, task.checkpoint_dir, metadata={"task": task.to_dict()})
    return row
