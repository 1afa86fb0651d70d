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
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from lingauss import Scenario
from lingauss.validation import as_float_array

from .config import LinearVAEConfig, MLPVAEConfig, TrainingConfig
from .data import ScenarioSampler
from .device import deterministic, device_description, resolve_device, resolve_dtype
from .models import GaussianVAE, LinearGaussianVAE, build_model
from .objective import closed_form_loss, mc_loss, model_closed_form_loss

__all__ = ["BatchedAdam", "TrainResult", "train_grid", "stream_seed", "STOP_REASONS"]

STOP_REASONS = ("plateau", "max_steps", "nonfinite")

_STREAM_INIT, _STREAM_TRAIN, _STREAM_VAL = 0, 1, 2


def stream_seed(seed: int, stream: int) -> int:
    """Seed of random stream ``stream`` (0 init, 1 training data, 2 validation) of ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(stream)]).generate_state(1)[0])


class BatchedAdam:
    """Adam with one learning rate per member (leading dimension of every parameter).

    ``m ← β1 m + (1-β1) g``, ``v ← β2 v + (1-β2) g²``,
    ``θ ← θ - lr_g · m̂ / (sqrt(v̂) + ε)`` with the bias corrections ``m̂ = m / (1-β1^t)``,
    ``v̂ = v / (1-β2^t)``; a member with ``lr_g = 0`` does not move (even if its moments are
    not finite).
    """

    def __init__(self, params: Sequence[torch.nn.Parameter], betas=(0.9, 0.999), eps=1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.b1, self.b2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: torch.Tensor):
        """One update with per-member learning rates ``lr`` (shape ``(G,)``)."""
        self.t += 1
        c1 = 1.0 - self.b1**self.t
        c2 = 1.0 - self.b2**self.t
        active = lr > 0
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
            shape = (-1,) + (1,) * (p.ndim - 1)
            upd = (m / c1) / ((v / c2).sqrt() + self.eps) * lr.view(shape)
            p.sub_(torch.where(active.view(shape), upd, torch.zeros_like(upd)))

    def reset_members(self, mask: torch.Tensor):
        """Zero the moments of the members in ``mask`` (e.g. after restoring them)."""
        for m, v in zip(self.m, self.v):
            shape = (-1,) + (1,) * (m.ndim - 1)
            m.masked_fill_(mask.view(shape), 0.0)
            v.masked_fill_(mask.view(shape), 0.0)


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


class _Data:
    """Per-seed data streams (training and validation), expanded to the members."""

    def __init__(self, sampler: ScenarioSampler, seeds, C, cfg: TrainingConfig, m: int):
        self.sampler, self.C, self.cfg, self.m = sampler, C, cfg, m
        self.gens = [torch.Generator().manual_seed(stream_seed(s, _STREAM_TRAIN)) for s in seeds]
        K = cfg.mc_samples
        self.fixed = None
        if cfg.n_train is not None:
            ys, es = [], []
            for g in self.gens:
                ys.append(sampler.sample_y(cfg.n_train, g))
                es.append(sampler.normal((K, cfg.n_train, m), g))
            self.fixed = (torch.stack(ys), torch.stack(es))  # (S, N, n), (S, K, N, m)
        vy, ve = [], []
        for s in seeds:
            g = torch.Generator().manual_seed(stream_seed(s, _STREAM_VAL))
            vy.append(sampler.sample_y(cfg.n_val, g))
            ve.append(sampler.normal((1, cfg.n_val, m), g))
        self.val_y = torch.stack(vy)  # (S, N_val, n)
        self.val_eps = torch.stack(ve)  # (S, 1, N_val, m)
        self.val_moment = self.val_y.mT @ self.val_y / cfg.n_val  # (S, n, n): E[y y^T]

    def expand(self, t: torch.Tensor) -> torch.Tensor:
        return t.repeat_interleave(self.C, dim=0)

    def batch(self):
        cfg, K = self.cfg, self.cfg.mc_samples
        if self.fixed is not None:
            Y, E = self.fixed
            N = Y.shape[1]
            if cfg.batch_size is None or cfg.batch_size >= N:
                return self.expand(Y), self.expand(E)
            idx = torch.stack([torch.randint(N, (cfg.batch_size,), generator=g) for g in self.gens])
            idx = idx.to(Y.device)
            y = torch.gather(Y, 1, idx[:, :, None].expand(-1, -1, Y.shape[2]))
            e = torch.gather(E, 2, idx[:, None, :, None].expand(-1, K, -1, E.shape[3]))
            return self.expand(y), self.expand(e)
        b = cfg.batch_size
        ys = [self.sampler.sample_y(b, g) for g in self.gens]
        es = [self.sampler.normal((K, b, self.m), g) for g in self.gens]
        return self.expand(torch.stack(ys)), self.expand(torch.stack(es))


def _validation_loss(model, data: _Data, cfg, Sigma_Y, g, lm) -> torch.Tensor:
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

    with deterministic(device), _threads(cfg.num_threads if device.type == "cpu" else None):
        net = build_model(mcfg, dtype=dtype)
        net.set_data_scale(scenario.Sigma_Y).set_floors(fw_np, fz_np)
        net.init_parameters([stream_seed(s, _STREAM_INIT) for s in member_seed])
        net = net.to(device)
        sampler = ScenarioSampler(scenario, device=device, dtype=cfg.dtype)
        data = _Data(sampler, seeds, C, cfg, scenario.m)
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
            bad = ~finite | ~_finite_grads(params, G)
            if bool(bad.any()):
                bad_np = bad.cpu().numpy() & (stop_step < 0)
                _restore(params, best, bad)
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
    _restore(params, best, torch.ones(G, dtype=torch.bool, device=device))
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


@contextlib.contextmanager
def _threads(n: int | None):
    if n is None:
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def _finite_grads(params, G) -> torch.Tensor:
    ok = None
    for p in params:
        if p.grad is None:
            continue
        f = torch.isfinite(p.grad).reshape(G, -1).all(dim=1)
        ok = f if ok is None else ok & f
    return ok


@torch.no_grad()
def _restore(params, best, mask: torch.Tensor):
    for p, bp in zip(params, best):
        shape = (-1,) + (1,) * (p.ndim - 1)
        p.copy_(torch.where(mask.view(shape), bp, p))
