"""The analytic optimum beside a learned encoder, for one (scenario, γ, λ) cell.

:func:`compare` solves the cell by Blahut–Arimoto (:func:`neural.analytic_cell.analytic_optimum`:
floored where the cell is ill-posed), trains the network on samples of the scenario
(:func:`neural.train_grid`, under the same floor) and returns one tidy table
(:class:`Comparison`): the closed-form loss of the learned parameters against the analytic
optimum, rotation-invariant quantities (singular values of B, I(X;Y), I(X;V), the authors'
reconstruction error), the principal angles between the informative row spaces of the two
encoders, the Procrustes-aligned differences, and the I_m / SAP scores and groupings of both
(exact, from the joint covariance; :mod:`neural.encoder_comparison`), plus the learned
encoder's metrics estimated from samples (plug-in, optionally KSG).

:class:`AnalyticCell`, :func:`analytic_optimum`, :func:`informative_row_space`,
:func:`is_ill_posed`, :data:`INFO_TOL` and :func:`compare_parameters` are re-exported here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lingauss import Scenario
from lingauss import scenario as make_published
from lingauss.blahut_arimoto import encoder_mutual_information
from lingauss.loss import gamma_lambda_loss, reconstruction_error
from lingauss.metrics import format_grouping

from .analytic_cell import (  # noqa: F401  (CONSTRAINED_HALF_STEPS: the old import path)
    CONSTRAINED_HALF_STEPS,
    INFO_TOL,
    AnalyticCell,
    analytic_optimum,
    informative_row_space,
    is_ill_posed,
)
from .data import ScenarioSampler, make_generator
from .device import resolve_device
from .encoder_comparison import compare_parameters, comparison_row, metric_block_rows
from .estimators import empirical_metrics
from .model_config import LinearVAEConfig, MLPVAEConfig, VarianceFloor
from .models import LinearGaussianVAE
from .objective import mc_loss
from .training import TrainResult, train_grid
from .training_config import TrainingConfig

__all__ = [
    "AnalyticCell",
    "Comparison",
    "analytic_optimum",
    "compare",
    "compare_parameters",
    "informative_row_space",
    "is_ill_posed",
    "INFO_TOL",
]


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy: ``quantity, component, path, value, text`` with ``path`` one of ``analytic``,
        ``learned``, ``learned_plugin``, ``learned_ksg`` (metrics estimated from samples of the
        learned encoder) and ``comparison`` (quantities about the pair: loss gap, principal
        angles, Procrustes-aligned differences). ``text`` holds groupings (``"{1,2}{3}"``,
        1-based factors) and tie flags.
    summary : dict
        JSON-ready headline numbers (see :func:`compare`).
    analytic : AnalyticCell
    training : TrainResult
    """

    table: pd.DataFrame
    summary: dict
    analytic: AnalyticCell = field(repr=False)
    training: TrainResult = field(repr=False)

    def wide(self) -> pd.DataFrame:
        """The table with one column per path (analytic, learned, ..., comparison)."""
        return self.table.pivot_table(
            index=["quantity", "component"], columns="path", values="value", aggfunc="first"
        ).reset_index()

    def to_json(self) -> str:
        return json.dumps(self.summary, indent=2, sort_keys=True, default=_json_default)


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple | list):
        return list(x)
    raise TypeError(type(x).__name__)


def _nan_to_none(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _resolve_scenario(scenario_or_config, number, preset) -> Scenario:
    if isinstance(scenario_or_config, Scenario):
        return scenario_or_config
    return make_published(scenario_or_config, number, preset)


def compare(
    scenario: Scenario | str,
    gamma: float,
    lam: float,
    *,
    number: int | None = None,
    preset: str = "analytic",
    seed: int = 0,
    model: str | LinearVAEConfig | MLPVAEConfig = "linear",
    training: TrainingConfig | None = None,
    floor: VarianceFloor | None = None,
    n_samples: int = 20_000,
    ksg: bool = False,
    ksg_samples: int = 2000,
) -> Comparison:
    """Analytic optimum vs learned encoder for one cell.

    Parameters
    ----------
    scenario : lingauss.Scenario or str
        A scenario, or a published configuration name (then give ``number`` and ``preset``).
    gamma, lam : float
    number : int, optional
    preset : {"analytic", "rounded"}
    seed : int
        Seeds the BA initial encoder and the training run.
    model : {"linear", "mlp"} or a model configuration
    training : TrainingConfig, optional
    floor : VarianceFloor, optional
        Used in ill-posed cells (default :meth:`VarianceFloor.default`).
    n_samples : int
        Samples of ``(V, Y)`` for the learned encoder's plug-in metrics (and, for the MLP,
        the Monte Carlo loss).
    ksg : bool
        Also estimate the learned encoder's I_m and SAP with KSG (``ksg_samples`` samples).

    Returns
    -------
    Comparison
        ``summary`` holds ``config, scenario, gamma, lam, seed, model, device, regime``
        (of the unconstrained problem), ``constrained``, ``floor_w``, ``floor_z``,
        ``analytic_loss``, ``learned_loss`` (closed form at the learned parameters; Monte Carlo
        for the MLP, with ``learned_loss_se``), ``loss_gap``, ``max_principal_angle_deg``
        (``None`` when the analytic encoder is collapsed), ``informative_dim``, ``mi_xy_*``,
        the groupings and successes of I_m and SAP on both sides, and the training's stopping
        information.

    Examples
    --------
    >>> from neural.config import TrainingConfig
    >>> cfg = TrainingConfig(objective="closed_form", max_steps=500, device="cpu", progress=False)
    >>> c = compare("3-4-3", 0.98, 0.0, number=3, training=cfg, n_samples=2000)
    >>> c.summary["regime"], c.summary["constrained"], c.summary["loss_gap"] < 1e-3
    ('interior', False, True)
    """
    sc = _resolve_scenario(scenario, number, preset)
    cfg = TrainingConfig() if training is None else training
    if not isinstance(cfg, TrainingConfig):
        raise ValueError(f"training: expected a TrainingConfig, got {type(cfg).__name__}")
    resolve_device(cfg.device)  # fail before the (slower) analytic solve
    cell = analytic_optimum(sc, gamma, lam, seed=seed, floor=floor)
    fl = cell.floor
    res = train_grid(
        sc,
        [gamma],
        [lam],
        seeds=[seed],
        model=model,
        training=cfg,
        floor_w=0.0 if fl is None else fl.sigma_w,
        floor_z=0.0 if fl is None else fl.sigma_z,
    )
    net = res.model
    sol = cell.solution
    analytic = {"A": sol.A, "B": sol.B, "Sigma_Z": sol.Sigma_Z, "Sigma_W": sol.Sigma_W}
    summary = {
        "config": sc.config,
        "scenario": sc.number if sc.number is not None else sc.name,
        "preset": sc.preset,
        "gamma": float(gamma),
        "lam": float(lam),
        "seed": int(seed),
        "model": net.config.kind,
        "device": res.device,
        "regime": cell.regime,
        "constrained": bool(cell.constrained),
        "floor_w": None if fl is None else fl.sigma_w,
        "floor_z": None if fl is None else fl.sigma_z,
        "analytic_stop_reason": sol.stop_reason,
        "analytic_floor_active": bool(getattr(sol, "floor_active", False)),
        "analytic_loss": float(sol.loss.total),
        "mi_xy_analytic": float(sol.mutual_information_xy),
        "train_steps": int(res.steps_run),
        "train_stop_reason": str(res.stop_reason[0]),
        "train_wall_time_s": float(res.wall_time_s),
    }
    sampler = ScenarioSampler(sc, device=net.device, dtype=net.dtype)
    gen = make_generator(seed + 7919)
    V, Y = sampler.sample(n_samples, gen)
    with_torch_no_grad = _no_grad()
    with with_torch_no_grad:
        X = net.encode(Y, generator=gen)[0]
    if isinstance(net, LinearGaussianVAE):
        learned = {k: v[0] for k, v in net.matrices().items()}
        rows, extra = compare_parameters(sc, gamma, lam, analytic, learned)
        lrow = gamma_lambda_loss(
            learned["A"],
            learned["B"],
            learned["Sigma_Z"],
            learned["Sigma_W"],
            sc.Sigma_Y,
            gamma,
            lam,
        )
        summary.update(
            learned_loss=float(lrow.total),
            learned_loss_method="closed_form",
            learned_loss_se=0.0,
            mi_xy_learned=float(
                encoder_mutual_information(learned["B"], learned["Sigma_W"], sc.Sigma_Y)
            ),
            **extra,
        )
    else:
        rows, est, se = _mlp_rows(sc, gamma, lam, analytic, net, sampler, gen, n_samples)
        summary.update(
            learned_loss=est,
            learned_loss_method="monte_carlo",
            learned_loss_se=se,
            mi_xy_learned=math.nan,
            max_principal_angle_deg=math.nan,
            informative_dim=len(informative_row_space(sol.B, sol.Sigma_W, sc.Sigma_Y)[0]),
        )
    summary["loss_gap"] = summary["learned_loss"] - summary["analytic_loss"]
    emp = [("learned_plugin", empirical_metrics(X, V, method="plugin", true_groups=sc.groups))]
    if ksg:
        emp.append(
            (
                "learned_ksg",
                empirical_metrics(
                    X[:ksg_samples], V[:ksg_samples], method="ksg", true_groups=sc.groups
                ),
            )
        )
    for path, e in emp:
        rows.append(comparison_row("im", path, e["im"], format_grouping(e["im_grouping"])))
        rows.append(
            comparison_row(
                "im_success", path, float(e["im_success"]), "tied" if e["im_tied"] else ""
            )
        )
        if sc.m >= 2:
            rows.append(comparison_row("sap", path, e["sap"], format_grouping(e["sap_grouping"])))
            rows.append(
                comparison_row(
                    "sap_success", path, float(e["sap_success"]), "tied" if e["sap_tied"] else ""
                )
            )
    table = pd.DataFrame(rows, columns=["quantity", "component", "path", "value", "text"])
    for path in ("analytic", "learned", "learned_plugin", "learned_ksg"):
        for metric in ("im", "sap"):
            sel = table[(table.quantity == metric) & (table.path == path)]
            ok = table[(table.quantity == f"{metric}_success") & (table.path == path)]
            if len(sel):
                summary[f"{metric}_grouping_{path}"] = sel.text.iloc[0]
                summary[f"{metric}_success_{path}"] = bool(ok.value.iloc[0])
    summary["truth"] = format_grouping(sc.groups)
    return Comparison(table=table, summary=_nan_to_none(summary), analytic=cell, training=res)


def _no_grad():
    import torch

    return torch.no_grad()


def _mlp_rows(sc, gamma, lam, analytic, net, sampler, gen, n_samples):
    """Rows for a non-linear model: analytic quantities and a Monte Carlo learned loss."""
    import torch

    rows = []
    t = gamma_lambda_loss(
        analytic["A"],
        analytic["B"],
        analytic["Sigma_Z"],
        analytic["Sigma_W"],
        sc.Sigma_Y,
        gamma,
        lam,
    )
    for term in ("total", "kl", "nll", "mse"):
        rows.append(comparison_row(f"loss_{term}", "analytic", float(getattr(t, term))))
    Sy = sc.Sigma_Y
    rows.append(
        comparison_row(
            "mi_xy",
            "analytic",
            float(encoder_mutual_information(analytic["B"], analytic["Sigma_W"], Sy)),
        )
    )
    rows.append(
        comparison_row(
            "recon_error",
            "analytic",
            float(reconstruction_error(analytic["A"], analytic["Sigma_Z"], Sy)),
        )
    )
    rows.extend(metric_block_rows(sc, analytic["B"], analytic["Sigma_W"], "analytic"))
    with torch.no_grad():
        y = sampler.sample_y(n_samples, gen)
        eps = sampler.normal((1, n_samples, net.m), gen)
        per = mc_loss(net, y, eps, gamma, lam, per_sample=True)
    for term in ("total", "kl", "nll", "mse"):
        vals = getattr(per, term)[0].double().cpu().numpy()
        rows.append(comparison_row(f"loss_{term}", "learned", float(vals.mean())))
    tot = per.total[0].double().cpu().numpy()
    est, se = float(tot.mean()), float(tot.std(ddof=1) / math.sqrt(tot.size))
    rows.append(comparison_row("loss_total_se", "learned", se))
    rows.append(comparison_row("loss_gap", "comparison", est - float(t.total)))
    return rows, est, se
