"""Neural success-rate tables: the published protocol with learned encoders, beside BA's.

:func:`neural_success_table` trains, for every scenario of a configuration, the whole 5 × 5
(γ, λ) grid × seeds as one batched model (:func:`neural.train_grid`), scores each learned
encoder with the metric conventions of a :class:`lingauss.protocol.Protocol` (the same code
path as the analytic tables: ``lingauss.protocol``'s per-scenario metric step on the joint
covariance of ``(X, V)``), and returns rows in the format of
:func:`lingauss.protocol.success_table` (plus ``path="neural"``, ``constrained``,
``analytic_loss``, ``loss_gap``), so :func:`lingauss.protocol.summarize` applies unchanged.

Per cell and seed a reference BA run (exchangeable start, exact rule) gives the regime and the
analytic loss; ill-posed cells (γ > 1, or a divergent run) are trained and solved under the
same variance floor (:class:`neural.config.VarianceFloor`), flagged ``constrained``. A row's
``regime`` is that of the reference run, so a cell is counted (``exact`` protocol: interior
and resolvable) on the same grounds on both paths; ``converged`` means training stopped on a
plateau rather than at ``max_steps``.

For the MLP model the metrics use the Gaussian plug-in of the learned code: for any encoder
that sees only ``Y``, ``Cov(X, V) = Cov(X, Y) Σ_Y^{-1} Γ Σ_V``, so the joint covariance of
``(X, V)`` is that of the linear encoder ``B_eff = Cov(X, Y) Σ_Y^{-1}`` with
``Σ_W,eff = Cov(X) - B_eff Σ_Y B_eff^T``, estimated from samples.

:func:`side_by_side` summarises both tables and puts the rates next to each other;
:func:`format_side_by_side` prints them; :func:`reproduce_neural` is the hook for
``lingauss reproduce --neural``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from lingauss.blahut_arimoto import blahut_arimoto_batch, random_encoder
from lingauss.loss import gamma_lambda_loss, reconstruction_error
from lingauss.metrics.grouping import format_grouping
from lingauss.protocol import (
    GAMMAS,
    LAMBDAS,
    config_scenarios,
    get_protocol,
    normalize_seeds,
    success_table,
    summarize,
)

from .analytic_cell import CONSTRAINED_HALF_STEPS, is_ill_posed
from .data import ScenarioSampler, make_generator
from .model_config import LinearVAEConfig, MLPVAEConfig, VarianceFloor
from .models import LinearGaussianVAE
from .training import train_grid
from .training_config import TrainingConfig

__all__ = [
    "reference_optima",
    "neural_success_table",
    "side_by_side",
    "format_side_by_side",
    "reproduce_neural",
]


def reference_optima(sc, gammas, lams, seeds, *, floor: VarianceFloor | None = None) -> dict:
    """Reference BA optimum of every (cell, seed): unconstrained, then floored where ill-posed.

    Returns a dict of arrays over members ordered like :func:`neural.train_grid` (seed-major):
    ``regime`` (of the unconstrained run), ``constrained`` (per cell: γ > 1 or any seed
    divergent), ``loss`` (the optimum used: constrained where ``constrained``), ``mi_xy``,
    ``stop_reason``, and ``floor`` (the :class:`VarianceFloor`).
    """
    floor = VarianceFloor.default(sc.Sigma_Y) if floor is None else floor
    C, S = len(gammas), len(seeds)
    B0 = np.empty((S, C, sc.m, sc.n))
    Sw0 = np.empty((S, C, sc.m, sc.m))
    for a, seed in enumerate(seeds):
        for c in range(C):
            key = zlib.crc32(f"{sc.name}|{gammas[c]!r}|{lams[c]!r}".encode())
            B0[a, c], Sw0[a, c] = random_encoder(
                sc.m, sc.n, np.random.default_rng([seed, key]), method="exchangeable"
            )
    g = np.tile(gammas, S)
    lm = np.tile(lams, S)
    B0, Sw0 = B0.reshape(-1, sc.m, sc.n), Sw0.reshape(-1, sc.m, sc.m)
    free = blahut_arimoto_batch(sc.Sigma_Y, sc.m, g, lm, B0, Sw0, stop_rule="exact")
    regime = np.asarray(free.regime, dtype=object)
    ill = np.array([is_ill_posed(gi, r) for gi, r in zip(g, regime)]).reshape(S, C).any(axis=0)
    constrained = np.tile(ill, S)
    loss = np.asarray(free.loss.total, dtype=float).copy()
    mi = np.asarray(free.mutual_information_xy, dtype=float).copy()
    reason = np.asarray(free.stop_reason, dtype=object).copy()
    if constrained.any():
        idx = np.flatnonzero(constrained)
        con = blahut_arimoto_batch(
            sc.Sigma_Y,
            sc.m,
            g[idx],
            lm[idx],
            B0[idx],
            Sw0[idx],
            stop_rule="exact",
            max_half_steps=CONSTRAINED_HALF_STEPS,
            variance_floor=(floor.sigma_w, floor.sigma_z),
        )
        loss[idx] = con.loss.total
        mi[idx] = con.mutual_information_xy
        reason[idx] = con.stop_reason
    return {
        "regime": regime,
        "constrained": constrained,
        "cell_constrained": ill,
        "loss": loss,
        "mi_xy": mi,
        "stop_reason": reason,
        "floor": floor,
    }


def _effective_encoder(net, sc, seeds, C, n_samples):
    """Plug-in linear equivalent ``(B_eff, Σ_W,eff)`` of each member of a non-linear model."""
    sampler = ScenarioSampler(sc, device=net.device, dtype=net.dtype)
    Bs, Sws = [], []
    Sy_inv = np.linalg.inv(sc.Sigma_Y)
    with torch.no_grad():
        per_seed = []
        for seed in seeds:
            gen = make_generator(int(seed) + 104729)
            _, y = sampler.sample(n_samples, gen)
            per_seed.append((y, gen))
        for g in range(net.batch):
            y, gen = per_seed[g // C]
            x = net.select([g]).encode(y, generator=gen)[0].double().cpu().numpy()
            yn = y.double().cpu().numpy()
            xc, yc = x - x.mean(0), yn - yn.mean(0)
            cxy = xc.T @ yc / (n_samples - 1)
            cxx = xc.T @ xc / (n_samples - 1)
            B = cxy @ Sy_inv
            Bs.append(B)
            Sws.append(cxx - B @ sc.Sigma_Y @ B.T)
    return np.stack(Bs), np.stack(Sws)


def neural_success_table(
    config="3-4-3",
    protocol="exact",
    seeds=1,
    *,
    model: str | LinearVAEConfig | MLPVAEConfig = "linear",
    training: TrainingConfig | None = None,
    gammas: Sequence[float] = GAMMAS,
    lambdas: Sequence[float] = LAMBDAS,
    floor: VarianceFloor | None = None,
    n_samples: int = 20_000,
) -> pd.DataFrame:
    """Success-table rows for learned encoders (see the module docstring).

    Parameters
    ----------
    config : str, list of str or sequence of Scenario
        As in :func:`lingauss.protocol.success_table`.
    protocol : {"exact", "notebook"} or Protocol
        Metric conventions and counting rule (its BA settings do not apply to training).
    seeds : int or sequence of int
        Training replicates (``N`` means ``0..N-1``).
    model : {"linear", "mlp"} or a model configuration
    training : TrainingConfig
    gammas, lambdas : sequences of float
        The grid (default the published 5 × 5).
    floor : VarianceFloor, optional
        For ill-posed cells (default :meth:`VarianceFloor.default` of each scenario).
    n_samples : int
        Samples for the plug-in metrics of a non-linear model.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`lingauss.protocol.success_table` (``half_steps`` holds training
        steps, ``runs`` is 1) plus ``path`` ("neural"), ``constrained``, ``analytic_loss``,
        ``loss_gap``, ``train_stop_reason``, ``train_wall_time_s`` and ``device``.

    Examples
    --------
    >>> from neural.config import TrainingConfig
    >>> cfg = TrainingConfig(max_steps=30, eval_every=10, device="cpu", progress=False)
    >>> t = neural_success_table("3-4-3", "exact", 1, training=cfg, gammas=[0.98], lambdas=[0.0])
    >>> len(t), t.path.unique().tolist()
    (3, ['neural'])
    """
    from lingauss import protocol as protocol_mod

    prot = get_protocol(protocol)
    if prot.preset == "resampled":
        raise ValueError("protocol: preset 'resampled' is not supported for neural tables")
    seeds = normalize_seeds(seeds)
    cfg = TrainingConfig() if training is None else training
    g_grid = np.asarray([float(g) for g in gammas])
    l_grid = np.asarray([float(x) for x in lambdas])
    if g_grid.size == 0 or l_grid.size == 0 or np.any(g_grid <= 0):
        raise ValueError("gammas, lambdas: need non-empty grids with gammas > 0")
    cell_g = np.repeat(g_grid, l_grid.size)
    cell_l = np.tile(l_grid, g_grid.size)
    C, S = cell_g.size, len(seeds)
    frames = []
    for label, scs in config_scenarios(config, prot.preset):
        for k, sc in enumerate(scs):
            number = int(sc.number) if sc.number is not None else k + 1
            ref = reference_optima(sc, cell_g, cell_l, seeds, floor=floor)
            fl = ref["floor"]
            fw = np.where(ref["cell_constrained"], fl.sigma_w, 0.0)
            fz = np.where(ref["cell_constrained"], fl.sigma_z, 0.0)
            res = train_grid(
                sc, cell_g, cell_l, seeds=seeds, model=model, training=cfg, floor_w=fw, floor_z=fz
            )
            net = res.model
            if isinstance(net, LinearGaussianVAE):
                mats = net.matrices()
                B, Sw = mats["B"], mats["Sigma_W"]
                terms = gamma_lambda_loss(mats["A"], B, mats["Sigma_Z"], Sw, sc.Sigma_Y, 1.0, 0.0)
                lt = terms.kl + res.gamma * terms.nll + res.lam * terms.mse
                recon = reconstruction_error(mats["A"], mats["Sigma_Z"], sc.Sigma_Y)
                from lingauss.blahut_arimoto import encoder_mutual_information

                mi_xy = encoder_mutual_information(B, Sw, sc.Sigma_Y)
            else:
                B, Sw = _effective_encoder(net, sc, seeds, C, n_samples)
                lt = np.full(net.batch, np.nan)  # closed form needs a linear decoder
                recon = np.full(net.batch, np.nan)
                mi_xy = np.full(net.batch, np.nan)
            finite = np.all(np.isfinite(B), axis=(1, 2)) & np.all(np.isfinite(Sw), axis=(1, 2))
            met = protocol_mod.metrics_for_scenario(sc, prot, B, Sw, finite)
            regime = np.where(finite, ref["regime"], "nonfinite")
            converged = res.stop_reason == "plateau"
            df = pd.DataFrame(
                {
                    "protocol": prot.name,
                    "config": label,
                    "scenario": number,
                    "G": sc.n_groups,
                    "m": sc.m,
                    "gamma": res.gamma,
                    "lam": res.lam,
                    "seed": res.seed,
                    "regime": regime,
                    "stop_reason": res.stop_reason,
                    "converged": converged,
                    "half_steps": res.stop_step,
                    "runs": 1,
                    "recon_error": recon,
                    "loss": lt,
                    "mi_xy": mi_xy,
                    **met,
                    "truth": format_grouping(sc.groups),
                }
            )
            df["status"] = np.where(
                (df.regime == "interior") & ~df.converged, "unconverged", df.regime
            )
            if prot.count == "all":
                df["im_counted"] = True
                df["sap_counted"] = df.m >= 2
            else:
                clean = df.regime == "interior"
                df["im_counted"] = clean & ~df.im_tied & df.im_valid
                df["sap_counted"] = clean & ~df.sap_tied & (df.m >= 2)
            df["path"] = "neural"
            df["constrained"] = ref["constrained"]
            df["analytic_loss"] = ref["loss"]
            df["loss_gap"] = df["loss"] - df["analytic_loss"]
            df["train_stop_reason"] = res.stop_reason
            df["train_wall_time_s"] = res.wall_time_s
            df["device"] = res.device
            frames.append(df)
    assert all(len(f) == C * S for f in frames)
    return pd.concat(frames, ignore_index=True)


def side_by_side(analytic: pd.DataFrame, neural: pd.DataFrame) -> pd.DataFrame:
    """Analytic and neural success rates per (protocol, config, scenario, metric).

    Both inputs are success tables (:func:`lingauss.protocol.success_table`,
    :func:`neural_success_table`). Returns columns ``protocol, config, scenario, metric, G, m,
    analytic_mean, analytic_sd, analytic_n_seeds, neural_mean, neural_sd, neural_n_seeds,
    difference`` (neural - analytic, points), ``published`` (the authors' notebook number),
    ``analytic_n_counted``, ``neural_n_counted`` and ``neural_loss_gap_median`` (nats).
    """
    keys = ["protocol", "config", "scenario", "metric"]
    a = summarize(analytic.drop(columns=["path"], errors="ignore"))
    n = summarize(neural)
    cols = ["mean", "sd", "n_seeds", "n_counted"]
    out = a[keys + ["G", "m"] + cols + ["published"]].rename(
        columns={c: f"analytic_{c}" for c in cols}
    )
    out = out.merge(
        n[keys + cols].rename(columns={c: f"neural_{c}" for c in cols}), on=keys, how="outer"
    )
    out["difference"] = out["neural_mean"] - out["analytic_mean"]
    gap = (
        neural.groupby(["protocol", "config", "scenario"])["loss_gap"]
        .median()
        .rename("neural_loss_gap_median")
        .reset_index()
    )
    out = out.merge(gap, on=["protocol", "config", "scenario"], how="left")
    order = keys + [
        "G", "m", "analytic_mean", "analytic_sd", "analytic_n_seeds", "neural_mean",
        "neural_sd", "neural_n_seeds", "difference", "published", "analytic_n_counted",
        "neural_n_counted", "neural_loss_gap_median",
    ]  # fmt: skip
    return out[order]


def format_side_by_side(table: pd.DataFrame) -> str:
    """A printable table: rates (%) as ``mean ± sd`` for each path, per scenario and metric."""

    def pm(mean, sd):
        if not np.isfinite(mean):
            return "n/a"
        return f"{mean:5.1f}" + (f" ± {sd:4.1f}" if np.isfinite(sd) else "")

    lines = []
    header = (
        f"{'protocol':9} {'config':7} {'sc':>2} {'metric':6} {'analytic (BA)':>15} "
        f"{'neural (learned)':>17} {'diff':>6} {'published':>9} {'gap (nats)':>10}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for _, r in table.iterrows():
        pub = "" if not np.isfinite(r["published"]) else f"{r['published']:.0f}"
        diff = "" if not np.isfinite(r["difference"]) else f"{r['difference']:+.0f}"
        gap = r["neural_loss_gap_median"]
        lines.append(
            f"{r['protocol']:9} {r['config']:7} {int(r['scenario']):>2} {r['metric']:6} "
            f"{pm(r['analytic_mean'], r['analytic_sd']):>15} "
            f"{pm(r['neural_mean'], r['neural_sd']):>17} {diff:>6} {pub:>9} "
            f"{gap:10.2e}"
        )
    return "\n".join(lines)


def reproduce_neural(
    config="3-4-3",
    protocol="exact",
    seeds=1,
    *,
    model="linear",
    training: TrainingConfig | None = None,
    gammas: Sequence[float] = GAMMAS,
    lambdas: Sequence[float] = LAMBDAS,
):
    """Analytic and neural tables of a configuration and their side-by-side summary.

    The hook for ``lingauss reproduce --neural``: returns ``(analytic_cells, neural_cells,
    summary)``; print ``format_side_by_side(summary)``.
    """
    analytic = success_table(config, protocol, seeds, gammas=gammas, lambdas=lambdas)
    analytic = analytic.assign(path="analytic")
    neural = neural_success_table(
        config, protocol, seeds, model=model, training=training, gammas=gammas, lambdas=lambdas
    )
    return analytic, neural, side_by_side(analytic, neural)
