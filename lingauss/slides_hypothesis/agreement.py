"""Which metric's grouping tracks the true grouping best (I_m, SAP, MIG, DCI), per scenario,
on a common set of cells, ranked and pooled by ``G`` versus ``m``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..protocol import (
    ALL_METRICS,
    METRIC_PREFIX,
    PROTOCOLS,
    get_protocol,
    metric_names,
    per_seed_rates,
    success_table,
)
from .configs import resolve_scenarios
from .verdict import t_interval

__all__ = [
    "metric_agreement",
    "agreement_from_table",
    "agreement_ranking",
    "agreement_by_relation",
    "format_agreement_markdown",
]


def _relation(G: int, m: int) -> str:
    return "G<m" if G < m else ("G=m" if G == m else "G>m")


def _scenario_columns(prot, cfg, num, G: int, m: int) -> dict:
    """The leading columns of a per-scenario row: protocol, config, scenario, G, m, relation."""
    return {
        "protocol": prot,
        "config": cfg,
        "scenario": int(num),
        "G": G,
        "m": m,
        "relation": _relation(G, m),
    }


def metric_agreement(
    config="all",
    protocol="exact",
    seeds=5,
    *,
    metrics="all",
    level: float = 0.95,
    progress: Callable[[int], None] | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Which metric's grouping tracks the true grouping best, per scenario?

    Runs :func:`lingauss.protocol.success_table` (``metrics="all"``) on the scenarios and
    scores every metric by its *agreement rate* (see :func:`agreement_from_table`): the share
    of a common set of cells in which the metric's induced grouping matches the truth
    (:func:`lingauss.metrics.grouping_success`).

    Parameters
    ----------
    config : str, Scenario or sequence
        As in :func:`hypothesis_test` (default ``"all"``: the four published configurations
        and :data:`NEW_CONFIGS`).
    protocol : {"exact", "notebook"} or Protocol
    seeds : int or sequence of int
    metrics : "all" or a selection among I_m, SAP, MIG, DCI
    level : float
        Confidence level of the paired intervals.
    progress, **kwargs :
        Passed to :func:`lingauss.protocol.success_table` (e.g. ``gammas``, ``lambdas``).

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, config, scenario, metric); columns of
        :func:`agreement_from_table`.

    Examples
    --------
    >>> df = metric_agreement("3-4-3", "exact", seeds=3)  # doctest: +SKIP
    >>> agreement_ranking(df)[["scenario", "G", "m", "best", "order"]]  # doctest: +SKIP
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    chosen = metric_names(metrics)
    prot = get_protocol(protocol)
    items = resolve_scenarios(config, prot.preset)
    table = success_table(items, prot, seeds, progress=progress, metrics="all", **kwargs)
    return agreement_from_table(table, count=prot.count, metrics=chosen, level=level)


def agreement_from_table(
    table: pd.DataFrame,
    *,
    count: str | None = None,
    metrics="all",
    level: float = 0.95,
) -> pd.DataFrame:
    """Agreement rates of the metrics with the true grouping, ranked per scenario.

    **Common basis.** Each metric's own success rate (:func:`lingauss.protocol.summarize`)
    leaves out the cells where *that* metric ties, so different metrics are scored on
    different cells. Here every metric is scored on the same cells of a (scenario, seed):

    * ``count="all"`` (notebook protocol): all cells; a metric agrees where its grouping (with
      the protocol's tie conventions) matches the truth;
    * ``count="decided"`` (exact protocol): the cells whose run is interior (converged or
      not; collapsed and divergent runs carry no resolvable grouping); a metric agrees where
      it is decided (not tied or degenerate) and its grouping matches the truth, so an
      undecided metric counts as *not* tracking the truth.

    ``rate = 100 × agreeing cells / common cells`` per seed. Per scenario the metric with the
    highest mean rate is the leader; every metric is compared with it seed by seed (paired
    differences, Student-t interval at ``level``). A metric *tracks best* (``best``) when it
    is the leader or its interval contains 0 (not distinguishable from the leader); with a
    single seed only an equal rate does.

    Parameters
    ----------
    table : DataFrame
        From :func:`lingauss.protocol.success_table` with ``metrics="all"`` (or at least the
        chosen metrics' columns).
    count : {"all", "decided"}, optional
        The counting rule; default: that of the protocol named in the table's ``protocol``
        column (one of :data:`lingauss.protocol.PROTOCOLS`).
    metrics : "all" or a selection among I_m, SAP, MIG, DCI
    level : float

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, config, scenario, metric): ``G``, ``m``, ``relation``
        ("G<m", "G=m", "G>m"), ``metric``, ``mean``, ``sd``, ``low``, ``high`` (Student-t
        interval of the mean rate over seeds, %), ``n_seeds``, ``n_cells`` (common cells per
        seed, mean), ``own_rate`` (the metric's own success rate, mean over seeds, as in
        ``summarize``), ``rank`` (1 = highest mean; equal means share a rank), ``leader``,
        ``diff_to_leader`` (mean paired difference, points), ``diff_low``, ``diff_high`` and
        ``best``.
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    chosen = metric_names(metrics)
    need = {"protocol", "config", "scenario", "seed", "G", "m", "regime"}
    for mt in chosen:
        need |= {f"{METRIC_PREFIX[mt]}_success", f"{METRIC_PREFIX[mt]}_counted"}
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns):
        missing = sorted(need - set(getattr(table, "columns", [])))
        raise ValueError(
            f"table: expected a success_table(..., metrics='all') DataFrame; missing {missing}"
        )
    if count is None:
        names = set(table.protocol.unique())
        if not names <= set(PROTOCOLS):
            raise ValueError(f"count: give 'all' or 'decided' for protocols {sorted(names)}")
        rules = {PROTOCOLS[n].count for n in names}
        if len(rules) != 1:
            raise ValueError("count: the table mixes counting rules; pass count explicitly")
        count = rules.pop()
    if count not in ("all", "decided"):
        raise ValueError(f"count: expected 'all' or 'decided', got {count!r}")

    base = (
        np.ones(len(table), dtype=bool)
        if count == "all"
        else (table.regime == "interior").to_numpy()
    )
    keys = ["protocol", "config", "scenario", "seed"]
    work = table[keys + ["G", "m"]].copy()
    work["base"] = base
    for mt in chosen:
        p = METRIC_PREFIX[mt]
        agree = table[f"{p}_success"].to_numpy(bool) & table[f"{p}_counted"].to_numpy(bool)
        work[f"hit_{mt}"] = agree & base
    per_seed = work.groupby(keys, sort=False).agg(
        G=("G", "first"),
        m=("m", "first"),
        n_cells=("base", "sum"),
        **{f"hit_{mt}": (f"hit_{mt}", "sum") for mt in chosen},
    )
    own = per_seed_rates(table).set_index(keys + ["metric"])["rate"]
    rows = []
    for (prot, cfg, num), g in per_seed.groupby(level=[0, 1, 2], sort=False):
        n = g.n_cells.to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = {mt: np.where(n > 0, 100.0 * g[f"hit_{mt}"].to_numpy(float) / n, np.nan)
                     for mt in chosen}  # fmt: skip
        means = {mt: float(np.nanmean(r)) if np.isfinite(r).any() else np.nan
                 for mt, r in rates.items()}  # fmt: skip
        finite = [mt for mt in chosen if np.isfinite(means[mt])]
        leader = max(finite, key=lambda mt: means[mt]) if finite else None
        G, m = int(g.G.iloc[0]), int(g.m.iloc[0])
        for mt in chosen:
            mean, sd, low, high = t_interval(rates[mt], level)
            own_rates = [
                own.get((prot, cfg, num, seed, mt), np.nan) for seed in g.index.get_level_values(3)
            ]
            own_rates = np.asarray(own_rates, dtype=float)
            row = {
                **_scenario_columns(prot, cfg, num, G, m),
                "metric": mt,
                "mean": mean,
                "sd": sd,
                "low": low,
                "high": high,
                "n_seeds": int(np.isfinite(rates[mt]).sum()),
                "n_cells": float(n.mean()),
                "own_rate": float(np.nanmean(own_rates))
                if np.isfinite(own_rates).any()
                else np.nan,
                "leader": leader,
            }
            if leader is None:
                row.update(diff_to_leader=np.nan, diff_low=np.nan, diff_high=np.nan, best=False)
            else:
                d = rates[mt] - rates[leader]
                dm, _, dl, dh = t_interval(d, level)
                if mt == leader:
                    best = True
                elif np.isfinite(dl):
                    best = bool(dl <= 0.0 <= dh)
                else:
                    best = bool(np.isfinite(dm) and dm == 0.0)
                row.update(diff_to_leader=dm, diff_low=dl, diff_high=dh, best=best)
            rows.append(row)
    out = pd.DataFrame(rows)
    # equal means (to float rounding of rates that are ratios of small integers) share a rank
    key = out["mean"].round(9)
    out["rank"] = (
        key.groupby([out.protocol, out.config, out.scenario])
        .rank(method="min", ascending=False)
        .astype("Int64")
    )
    cols = [
        "protocol", "config", "scenario", "G", "m", "relation", "metric", "mean", "sd", "low",
        "high", "n_seeds", "n_cells", "own_rate", "rank", "leader", "diff_to_leader",
        "diff_low", "diff_high", "best",
    ]  # fmt: skip
    return out[cols]


def agreement_ranking(agreement: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, config, scenario): the ranking of the metrics.

    Returns
    -------
    pandas.DataFrame
        ``protocol, config, scenario, G, m, relation``, ``best`` (the metrics that track the
        truth best, see :func:`agreement_from_table`, comma-separated), ``order`` (e.g.
        ``"DCI 84 > MIG 80 = SAP 80 > I_m 60"``: mean agreement rates, %), ``slides``
        (the slides' predicted winner between I_m and SAP: I_m if G < m, else SAP) and
        ``slides_best`` (whether that metric is among ``best``).
    """
    rows = []
    for (prot, cfg, num), g in agreement.groupby(["protocol", "config", "scenario"], sort=False):
        g = g.assign(_k=g.metric.map({mt: k for k, mt in enumerate(ALL_METRICS)}))
        g = g.sort_values(["rank", "_k"], kind="stable")
        parts = []
        prev = None
        for r in g.itertuples(index=False):
            txt = f"{r.metric} {r.mean:.0f}" if np.isfinite(r.mean) else f"{r.metric} -"
            if prev is not None:
                txt = ("= " if r.rank == prev else "> ") + txt
            parts.append(txt)
            prev = r.rank
        G, m = int(g.G.iloc[0]), int(g.m.iloc[0])
        best = [mt for mt in ALL_METRICS if mt in set(g.metric[g.best])]
        slides = "I_m" if G < m else "SAP"
        rows.append(
            {
                **_scenario_columns(prot, cfg, num, G, m),
                "best": ", ".join(best),
                "order": " ".join(parts),
                "slides": slides,
                "slides_best": slides in best,
            }
        )
    return pd.DataFrame(rows)


def agreement_by_relation(agreement: pd.DataFrame) -> pd.DataFrame:
    """Pool the scenarios by the relation of ``G`` to ``m``.

    Returns one row per (protocol, relation, metric): ``n_scenarios``, ``n_best`` (scenarios
    where the metric tracks the truth best), ``n_top`` (where its mean rate is the highest,
    ties included) and ``mean_rate`` (mean of the scenario means, %).
    """
    out = (
        agreement.assign(top=agreement["rank"] == 1)
        .groupby(["protocol", "relation", "metric"], sort=False)
        .agg(
            n_scenarios=("mean", "size"),
            n_best=("best", "sum"),
            n_top=("top", "sum"),
            mean_rate=("mean", "mean"),
        )
        .reset_index()
    )
    order = {"G<m": 0, "G=m": 1, "G>m": 2}
    met = {mt: k for k, mt in enumerate(ALL_METRICS)}
    return (
        out.assign(_r=out.relation.map(order), _m=out.metric.map(met))
        .sort_values(["protocol", "_r", "_m"], kind="stable")
        .drop(columns=["_r", "_m"])
        .reset_index(drop=True)
    )


def format_agreement_markdown(agreement: pd.DataFrame) -> str:
    """A markdown table: per scenario, each metric's mean agreement rate ± sd (%), the best
    metrics in bold (those that track the truth best, see :func:`agreement_from_table`)."""
    metrics = [mt for mt in ALL_METRICS if mt in set(agreement.metric)]
    head = "| protocol | config | scen. | G | m | cells/seed | " + " | ".join(metrics) + " |"
    lines = [head, "|" + "---|" * (6 + len(metrics))]
    for (prot, cfg, num), g in agreement.groupby(["protocol", "config", "scenario"], sort=False):
        by = g.set_index("metric")
        cells = []
        for mt in metrics:
            r = by.loc[mt]
            if not np.isfinite(r["mean"]):
                cells.append("–")
                continue
            txt = f"{r['mean']:.0f}" + (f" ± {r['sd']:.0f}" if np.isfinite(r["sd"]) else "")
            cells.append(f"**{txt}**" if r["best"] else txt)
        first = g.iloc[0]
        lines.append(
            f"| {prot} | {cfg} | {int(num)} | {int(first.G)} | {int(first.m)} | "
            f"{first.n_cells:.1f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"
