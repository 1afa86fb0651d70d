"""Batched, seeded training of a whole (γ, λ) grid × seeds as one model.

Members are ordered seed-major: member ``g = r · C + c`` is cell ``c`` (of ``C`` cells) with seed
``seeds[r]``. The loss is the sum of the members' losses and every operation acts per member,
so each member receives exactly its own gradient; :class:`BatchedAdam` is Adam (Kingma & Ba)
with a learning rate per member, so each member follows exactly the trajectory it would follow
alone and can be slowed down or frozen on its own.

Randomness. For seed ``r`` three CPU streams are derived from ``r``: the member's initial
parameters, its training data (and encoder noise), and its validation set. A member therefore
depends only on its seed and cell, not on the grid it is trained with, nor (up to floating
point) on the device. On the CPU a run is bit-for-bit reproducible.

Stopping. Every ``eval_every`` steps each member's validation loss is computed: the closed-form
loss at the sample second-moment matrix of its validation set for the linear model with the
Monte Carlo objective (data only, no peeking at Σ_Y), the exact loss for the closed-form
objective, and the Monte Carlo loss on the fixed validation set (fixed noise) for the MLP.
The iterate with the lowest validation loss is kept. After ``patience`` evaluations without an
improvement of ``min_delta`` the member's learning rate is multiplied by ``lr_decay``; after
``n_decays`` reductions the next plateau freezes the member (early stopping). The run ends when
every member is frozen or after ``max_steps``. A member whose loss becomes non-finite is
restored to its best iterate, frozen and reported with ``stop_reason="nonfinite"``.

The optimiser and the per-member masks are in :mod:`neural.batched_optim`, the data streams
in :mod:`neural.grid_data` (:class:`BatchedAdam` and :func:`stream_seed` are re-exported here).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from lingauss import Scenario
from lingauss.validation import as_float_array

from .batched_optim import BatchedAdam, finite_member_grads, restore_members
from .data import ScenarioSampler
from .device import (
    deterministic,
    device_description,
    resolve_device,
    resolve_dtype,
    torch_threads,
)
from .grid_data import STREAM_INIT, GridData, stream_seed
from .model_config import LinearVAEConfig, MLPVAEConfig
from .models import GaussianVAE, LinearGaussianVAE, build_model
from .objective import closed_form_loss, mc_loss, model_closed_form_loss
from .training_config import TrainingConfig

__all__ = ["BatchedAdam", "TrainResult", "train_grid", "stream_seed", "STOP_REASONS"]

STOP_REASONS = ("plateau", "max_steps", "nonfinite")


@dataclass(frozen=True)
class TrainResult:
    """A trained grid.

    Attributes
    ----------
    model : GaussianVAE
        The trained members (each at its best validation iterate).
    gamma, lam, floor_w, floor_z : ndarray, shape (G,)
        Each member's weights and variance floors (0: no floor).
    seed : ndarray of int, shape (G,)
        Each member's seed.
    cell : ndarray of int, shape (G,)
        Each member's cell index into the grid given to :func:`train_grid`.
    best_val : ndarray, shape (G,)
        Validation loss of the kept iterate (nats).
    best_step : ndarray of int, shape (G,)
        Step of the kept iterate.
    stop_step : ndarray of int, shape (G,)
        Step at which the member was frozen (``steps_run`` if never).
    stop_reason : ndarray of str, shape (G,)
        One of :data:`STOP_REASONS`.
    steps_run : int
    wall_time_s : float
        Training wall time (excluding data set-up).
    device : str
        Device description (type and name).
    training : TrainingConfig
    history : pandas.DataFrame
        ``step, member, val_loss, lr`` at every evaluation.
    """

    model: GaussianVAE
    gamma: np.ndarray
    lam: np.ndarray
    floor_w: np.ndarray
    floor_z: np.ndarray
    seed: np.ndarray
    cell: np.ndarray
    best_val: np.ndarray
    best_step: np.ndarray
    stop_step: np.ndarray
    stop_reason: np.ndarray
    steps_run: int
    wall_time_s: float
    device: str
    training: TrainingConfig
    history: pd.DataFrame = field(repr=False)

    def frame(self) -> pd.DataFrame:
        """One row per member: cell, seed, γ, λ, floors, stopping information."""
        return pd.DataFrame(
            {
                "member": np.arange(len(self.gamma)),
                "cell": self.cell,
                "seed": self.seed,
                "gamma": self.gamma,
                "lam": self.lam,
                "floor_w": self.floor_w,
                "floor_z": self.floor_z,
                "constrained": (self.floor_w > 0) | (self.floor_z > 0),
                "best_val": self.best_val,
                "best_step": self.best_step,
                "stop_step": self.stop_step,
                "stop_reason": self.stop_reason,
            }
        )


def _grid_arrays(gammas, lams, floor_w, floor_z):
    gammas = as_float_array(gammas, "gammas")
    lams = as_float_array(lams, "lams")
    if gammas.ndim == 0:
        gammas = gammas[None]
    if lams.ndim == 0:
        lams = lams[None]
    if gammas.ndim != 1 or lams.shape != gammas.shape:
        raise ValueError(
            f"gammas, lams: expected two 1-d arrays of the same length (one per cell), "
            f"got shapes {gammas.shape} and {lams.shape}"
        )
    if np.any(gammas <= 0):
        raise ValueError(f"gammas: must be > 0, got min {gammas.min()!r}")
    C = gammas.size
    out = []
    for name, f in (("floor_w", floor_w), ("floor_z", floor_z)):
        arr = np.zeros(C) if f is None else as_float_array(f, name)
        try:
            arr = np.broadcast_to(arr, (C,)).astype(float)
        except ValueError:
            raise ValueError(
                f"{name}: expected a scalar or {C} values, got shape {arr.shape}"
            ) from None
        if np.any(arr < 0):
            raise ValueError(f"{name}: must be >= 0")
        out.append(arr)
    return gammas, lams, out[0], out[1]


def _check_seeds(seeds) -> list[int]:
    try:
        seeds = [s for s in seeds]
    except TypeError:
        seeds = [seeds]
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0:
            raise ValueError(f"seeds: must be non-negative integers, got {s!r}")
    if len(set(int(s) for s in seeds)) != len(seeds):
        raise ValueError(f"seeds: must be distinct, got {list(seeds)}")
    return [int(s) for s in seeds]


def _model_config(model, n, m, G):
    if isinstance(model, str):
        if model == "linear":
            return LinearVAEConfig(n=n, m=m, batch=G)
        if model == "mlp":
            return MLPVAEConfig(n=n, m=m, batch=G)
        raise ValueError(f"model: expected 'linear', 'mlp' or a model configuration, got {model!r}")
    if isinstance(model, LinearVAEConfig | MLPVAEConfig):
        if (model.n, model.m) != (n, m):
            raise ValueError(
                f"model: configuration has (n, m) = ({model.n}, {model.m}), the scenario "
                f"needs ({n}, {m})"
            )
        return type(model).from_dict({**model.to_dict(), "batch": G})
    raise ValueError(f"model: expected 'linear', 'mlp' or a model configuration, got {model!r}")


def _validation_loss(model, data: GridData, cfg, Sigma_Y, g, lm) -> torch.Tensor:
    with torch.no_grad():
        if cfg.objective == "closed_form":
            return model_closed_form_loss(model, Sigma_Y, g, lm).total
        if isinstance(model, LinearGaussianVAE):
            mom = data.expand(data.val_moment)
            return closed_form_loss(
                model.A(), model.B(), model.Sigma_Z(), model.Sigma_W(), mom, g, lm
            ).total
        tot = torch.zeros(model.batch, dtype=model.dtype, device=model.device)
        N = data.val_y.shape[1]
        chunk = 4096
        for lo in range(0, N, chunk):
            y = data.expand(data.val_y[:, lo : lo + chunk])
            e = data.expand(data.val_eps[:, :, lo : lo + chunk])
            tot += mc_loss(model, y, e, g, lm).total * y.shape[1]
        return tot / N


def train_grid(
    scenario: Scenario,
    gammas,
    lams,
    *,
    seeds: Sequence[int] | int = (0,),
    model: str | LinearVAEConfig | MLPVAEConfig = "linear",
    training: TrainingConfig | None = None,
    floor_w=None,
    floor_z=None,
) -> TrainResult:
    """Train one model per (cell, seed) of a grid, all members together.

    Parameters
    ----------
    scenario : lingauss.Scenario
        Data source (``n``, ``m`` and ``Σ_Y`` come from it).
    gammas, lams : array_like, shape (C,)
        The cells' weights (e.g. the flattened 5×5 grid).
    seeds : sequence of int
        Independent replicates; ``G = C × len(seeds)`` members, seed-major.
    model : {"linear", "mlp"} or a model configuration
        Its ``batch`` is set to ``G``.
    training : TrainingConfig
        Optimiser, objective, stopping, device, dtype.
    floor_w, floor_z : float or array_like, shape (C,), optional
        Variance floors per cell (0 or None: unconstrained); see
        :class:`neural.config.VarianceFloor`.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import lingauss
    >>> from neural.config import TrainingConfig
    >>> cfg = TrainingConfig(max_steps=20, eval_every=10, device="cpu", progress=False)
    >>> res = train_grid(lingauss.scenario("3-4-3", 3), [0.98, 0.99], [0.0, 0.0],
    ...                  seeds=[0, 1], training=cfg)
    >>> res.model.batch, res.cell.tolist(), res.seed.tolist()
    (4, [0, 1, 0, 1], [0, 0, 1, 1])
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario: expected a lingauss.Scenario, got {type(scenario).__name__}")
    cfg = TrainingConfig() if training is None else training
    if not isinstance(cfg, TrainingConfig):
        raise ValueError(f"training: expected a TrainingConfig, got {type(cfg).__name__}")
    gammas, lams, fw, fz = _grid_arrays(gammas, lams, floor_w, floor_z)
    seeds = _check_seeds(seeds)
    C, S = gammas.size, len(seeds)
    G = C * S
    mcfg = _model_config(model, scenario.n, scenario.m, G)
    if cfg.objective == "closed_form" and not isinstance(mcfg, LinearVAEConfig):
        raise ValueError("training: objective='closed_form' needs the linear model")
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype)
    member_seed = np.repeat(seeds, C)
    member_cell = np.tile(np.arange(C), S)
    g_np, l_np = gammas[member_cell], lams[member_cell]
    fw_np, fz_np = fw[member_cell], fz[member_cell]

    with deterministic(device), torch_threads(cfg.num_threads if device.type == "cpu" else None):
        net = build_model(mcfg, dtype=dtype)
        net.set_data_scale(scenario.Sigma_Y).set_floors(fw_np, fz_np)
        net.init_parameters([stream_seed(s, STREAM_INIT) for s in member_seed])
        net = net.to(device)
        sampler = ScenarioSampler(scenario, device=device, dtype=cfg.dtype)
        data = GridData(sampler, seeds, C, cfg, scenario.m)
        g_t = torch.as_tensor(g_np, dtype=dtype, device=device)
        l_t = torch.as_tensor(l_np, dtype=dtype, device=device)
        Sy = torch.as_tensor(scenario.Sigma_Y, dtype=dtype, device=device)
        result = _loop(net, data, cfg, Sy, g_t, l_t, device)
        desc = device_description(device)

    steps_run, best_val, best_step, stop_step, reason, history, wall = result
    return TrainResult(
        model=net,
        gamma=g_np,
        lam=l_np,
        floor_w=fw_np,
        floor_z=fz_np,
        seed=member_seed,
        cell=member_cell,
        best_val=best_val,
        best_step=best_step,
        stop_step=stop_step,
        stop_reason=reason,
        steps_run=steps_run,
        wall_time_s=wall,
        device=desc,
        training=cfg,
        history=history,
    )


def _loop(net, data, cfg, Sy, g_t, l_t, device):
    G = net.batch
    params = list(net.parameters())
    opt = BatchedAdam(params, betas=cfg.betas)
    lr = torch.full((G,), cfg.lr, dtype=net.dtype, device=device)
    best = [p.detach().clone() for p in params]
    best_val = torch.full((G,), float("inf"), dtype=net.dtype, device=device)
    best_step = np.zeros(G, dtype=int)
    since = np.zeros(G, dtype=int)
    decays_left = np.full(G, cfg.n_decays)
    stop_step = np.full(G, -1)
    reason = np.full(G, "max_steps", dtype=object)
    hist_rows: list[tuple[int, np.ndarray, np.ndarray]] = []

    def evaluate(step):
        val = _validation_loss(net, data, cfg, Sy, g_t, l_t)
        val = torch.where(torch.isfinite(val), val, torch.full_like(val, float("inf")))
        better = (val < best_val) & (lr > 0)
        with torch.no_grad():
            for p, bp in zip(params, best):
                shape = (-1,) + (1,) * (p.ndim - 1)
                bp.copy_(torch.where(better.view(shape), p, bp))
        improved = (val < best_val - cfg.min_delta).cpu().numpy()
        best_val.copy_(torch.where(better, val, best_val))
        b = better.cpu().numpy()
        best_step[b] = step
        hist_rows.append((step, val.double().cpu().numpy(), lr.double().cpu().numpy()))
        return improved

    def freeze(mask_np, step, why):
        mask_np = mask_np & (stop_step < 0)
        if not mask_np.any():
            return
        stop_step[mask_np] = step
        reason[mask_np] = why
        mask = torch.as_tensor(mask_np, device=device)
        lr.masked_fill_(mask, 0.0)

    start = time.perf_counter()
    evaluate(0)
    step = 0
    bar = tqdm(total=cfg.max_steps, disable=not cfg.progress, desc="training", unit="step")
    try:
        while step < cfg.max_steps and bool((lr > 0).any()):
            step += 1
            if cfg.objective == "closed_form":
                terms = model_closed_form_loss(net, Sy, g_t, l_t)
            else:
                y, eps = data.batch()
                if cfg.antithetic:
                    eps = torch.cat([eps, -eps], dim=1)
                terms = mc_loss(net, y, eps, g_t, l_t)
            total = terms.total
            finite = torch.isfinite(total)
            opt.zero_grad()
            torch.where(finite, total, torch.zeros_like(total)).sum().backward()
            bad = ~finite | ~finite_member_grads(params, G)
            if bool(bad.any()):
                bad_np = bad.cpu().numpy() & (stop_step < 0)
                restore_members(params, best, bad)
                opt.reset_members(bad)
                freeze(bad_np, step, "nonfinite")
            opt.step(lr)
            if step % cfg.eval_every == 0 or step == cfg.max_steps:
                improved = evaluate(step)
                active = stop_step < 0
                since[:] = np.where(improved, 0, since + 1)
                plateau = active & (since >= cfg.patience)
                decay = plateau & (decays_left > 0)
                if decay.any():
                    lr.mul_(
                        torch.as_tensor(
                            np.where(decay, cfg.lr_decay, 1.0), dtype=lr.dtype, device=device
                        )
                    )
                    decays_left[decay] -= 1
                    since[decay] = 0
                freeze(plateau & ~decay, step, "plateau")
                bar.set_postfix(active=int((stop_step < 0).sum()), refresh=False)
                bar.update(step - bar.n)
    finally:
        bar.update(step - bar.n)
        bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - start
    restore_members(params, best, torch.ones(G, dtype=torch.bool, device=device))
    stop_step[stop_step < 0] = step
    history = pd.DataFrame(
        {
            "step": np.repeat([h[0] for h in hist_rows], G),
            "member": np.tile(np.arange(G), len(hist_rows)),
            "val_loss": np.concatenate([h[1] for h in hist_rows]),
            "lr": np.concatenate([h[2] for h in hist_rows]),
        }
    )
    bv = best_val.double().cpu().numpy()
    return step, bv, best_step, stop_step, reason.astype(str), history, wall
