"""Which objective recovers the factors, exactly: I_m and SAP success of every exact optimum.

For each objective, weight setting, published configuration and scenario,
:func:`objective_success_table` solves the exact optimum (:func:`optimize_objective`) and scores
*every restart that reached the minimum* with the project's exact-protocol metrics
(:func:`lingauss.metrics_for_scenario` with ``protocol="exact"``: true Σ_X, exact ties, the
success decision of :func:`lingauss.metrics.grouping_success`). A rotation-invariant objective
(β-VAE, γλ) or a degenerate minimum (a continuum of optima, see :mod:`.optimum`) has many
optimal encoders that the metrics score differently, so the table reports, beside the best
restart's decision, the share of optimal restarts that succeed and whether they all agree
(``determined``).

:func:`gamma_lambda_protocol_rows` puts the project's exact-protocol γλ results
(:func:`lingauss.success_table`, Blahut–Arimoto) in the same tidy shape, so one table holds both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..protocol import metrics_for_scenario, success_table
from ..scenarios import CONFIGS, scenario
from .optimum import optimize_objective
from .spec import check_objective

__all__ = [
    "DEFAULT_WEIGHT_GRID",
    "objective_success_table",
    "gamma_lambda_protocol_rows",
    "summarize_objective_success",
]

#: A small default grid (about a minute or two for the four configurations on one core).
#: β-VAE at β = 1 and just above (β = 1/γ: the published γ grid 0.98–1.02 is β ≈ 0.98–1.02;
#: β < 1 is unbounded); β-TCVAE with α slightly above 1 (at α = 1 it is FactorVAE-like:
#: degenerate); FactorVAE's γ;
#: DIP-VAE-I with λ_d = 10 λ_od and DIP-VAE-II with λ_d = λ_od (the DIP-VAE paper's choices);
#: γλ at interior published cells.
DEFAULT_WEIGHT_GRID: dict[str, tuple[dict, ...]] = {
    "beta-vae": ({"beta": 1.0}, {"beta": 1.02}),
    "beta-tcvae": ({"alpha": 1.02, "beta": 6.0},),
    "factor-vae": ({"gamma": 10.0},),
    "dip-vae-i": ({"lambda_od": 1.0, "lambda_d": 10.0},),
    "dip-vae-ii": ({"lambda_od": 10.0, "lambda_d": 10.0},),
    "gamma-lambda": ({"gamma": 0.99, "lam": 0.0}, {"gamma": 1.0, "lam": 0.01}),
}

_METRIC_COLS = {"I_m": "im", "SAP": "sap"}


def _weights_label(weights: Mapping[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in weights.items())


def objective_success_table(
    grid: Mapping[str, Sequence[Mapping[str, float]]] | None = None,
    configs: Sequence[str] = tuple(CONFIGS),
    scenarios: Sequence[int] = (1, 2, 3),
    *,
    seed: int = 0,
    restarts: int = 6,
    maxiter: int = 400,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """I_m and SAP success of each objective's exact optimum, one row per metric.

    Parameters
    ----------
    grid : mapping objective name -> sequence of weight dicts, optional
        Default :data:`DEFAULT_WEIGHT_GRID`. Unbounded weights raise (``optimize_objective``).
    configs : sequence of str
        Published configurations (default all four).
    scenarios : sequence of int
    seed, restarts, maxiter : passed to :func:`optimize_objective` (``certify=False``).
    progress : callable, optional
        Called with a label after every optimum.

    Returns
    -------
    pandas.DataFrame
        One row per objective × weights × config × scenario × metric: ``source``
        ("exact-optimum"), ``objective``, ``weights`` ("beta=6,..." all weights), ``config``,
        ``scenario``, ``G``, ``m``, ``metric`` ("I_m"/"SAP"), ``regime``, ``loss``, ``mi_xy``,
        ``tc``, ``n_optimal`` (restarts that reached the minimum), ``grouping`` (best restart),
        ``tied`` (its metric decision is a tie), ``success`` (best restart's decision),
        ``success_share`` (share of optimal restarts that succeed), ``determined`` (all optimal
        restarts decide alike, none tied), ``truth``.

    Examples
    --------
    >>> t = objective_success_table({"beta-vae": [{"beta": 4.0}]}, ["3-4-3"], [3], restarts=1)
    >>> t[["objective", "metric", "regime"]].values.tolist()
    [['beta-vae', 'I_m', 'collapsed'], ['beta-vae', 'SAP', 'collapsed']]
    """
    grid = DEFAULT_WEIGHT_GRID if grid is None else grid
    rows = []
    for name, settings in grid.items():
        for raw in settings:
            name, w = check_objective(name, raw)
            for config in configs:
                for number in scenarios:
                    sc = scenario(config, number)
                    sol = optimize_objective(
                        name,
                        w,
                        sc.Sigma_Y,
                        sc.m,
                        seed=seed,
                        restarts=restarts,
                        maxiter=maxiter,
                        certify=False,
                    )
                    Bs = np.stack([b for b, _ in sol.tied])
                    Sws = np.stack([s for _, s in sol.tied])
                    cols = metrics_for_scenario(sc, "exact", Bs, Sws)
                    truth = "".join("{" + ",".join(str(i + 1) for i in g) + "}" for g in sc.groups)
                    for metric, p in _METRIC_COLS.items():
                        succ = np.asarray(cols[f"{p}_success"], dtype=bool)
                        tied = np.asarray(cols[f"{p}_tied"], dtype=bool)
                        rows.append(
                            {
                                "source": "exact-optimum",
                                "objective": name,
                                "weights": _weights_label(w),
                                "config": config,
                                "scenario": int(number),
                                "G": sc.n_groups,
                                "m": sc.m,
                                "metric": metric,
                                "regime": sol.regime,
                                "loss": sol.loss,
                                "mi_xy": float(sol.terms.mi),
                                "tc": float(sol.terms.tc),
                                "n_optimal": len(sol.tied),
                                "grouping": str(cols[f"{p}_grouping"][0]),
                                "tied": bool(tied[0]),
                                "success": bool(succ[0]) and not bool(tied[0]),
                                "success_share": float(np.mean(succ & ~tied)),
                                "determined": bool(np.all(succ == succ[0]) and not np.any(tied)),
                                "truth": truth,
                            }
                        )
                    if progress is not None:
                        progress(f"{name} {_weights_label(w)} {config} s{number}")
    return pd.DataFrame(rows)


def gamma_lambda_protocol_rows(
    configs: Sequence[str] = tuple(CONFIGS),
    *,
    gammas: Sequence[float] = (0.99, 1.0),
    lambdas: Sequence[float] = (0.0, 0.01),
    seed: int = 0,
) -> pd.DataFrame:
    """The project's exact-protocol γλ results (Blahut–Arimoto) in the shape of
    :func:`objective_success_table` (``source`` "ba-exact-protocol", one BA solution per cell:
    ``n_optimal`` 1, ``success_share`` the cell's 0/1, ``determined`` the cell's ``counted``)."""
    t = success_table(list(configs), "exact", seeds=[seed], gammas=gammas, lambdas=lambdas)
    rows = []
    for _, r in t.iterrows():
        for metric, p in _METRIC_COLS.items():
            succ = bool(r[f"{p}_success"]) and not bool(r[f"{p}_tied"])
            rows.append(
                {
                    "source": "ba-exact-protocol",
                    "objective": "gamma-lambda",
                    "weights": f"gamma={r['gamma']:g},lam={r['lam']:g}",
                    "config": r["config"],
                    "scenario": int(r["scenario"]),
                    "G": int(r["G"]),
                    "m": int(r["m"]),
                    "metric": metric,
                    "regime": r["regime"],
                    "loss": float(r["loss"]),
                    "mi_xy": float(r["mi_xy"]),
                    "tc": np.nan,
                    "n_optimal": 1,
                    "grouping": str(r[f"{p}_grouping"]),
                    "tied": bool(r[f"{p}_tied"]),
                    "success": succ,
                    "success_share": float(succ),
                    "determined": bool(r[f"{p}_counted"]),
                    "truth": str(r["truth"]),
                }
            )
    return pd.DataFrame(rows)


def summarize_objective_success(table: pd.DataFrame) -> pd.DataFrame:
    """Per source × objective × weights × metric: mean ``success_share`` over the
    configurations and scenarios (%), the number of cells, determined cells, and regimes."""
    g = table.groupby(["source", "objective", "weights", "metric"], sort=False)
    out = g.agg(
        cells=("success", "size"),
        success_share=("success_share", "mean"),
        success_best=("success", "mean"),
        determined=("determined", "sum"),
        regimes=("regime", lambda s: ",".join(f"{k}:{v}" for k, v in s.value_counts().items())),
    ).reset_index()
    out["success_share"] *= 100.0
    out["success_best"] *= 100.0
    return out
