"""Test the slides' hypothesis (reference §8) on any configuration.

With ``G`` the number of independent factor groups and ``m`` the number of latents, the slides
predict: if ``G < m``, I_m beats SAP (more so as ``m - G`` grows); if ``G >= m``, SAP wins.
:func:`hypothesis_test` measures both success rates per scenario over several seeds, pairs
them seed by seed, and says whether the measured difference supports the prediction.

Besides the published configurations, :data:`NEW_CONFIGS` defines configurations the slides did
not study (four factors, five observed coordinates, ``m = 4`` or ``m = 2``), built with
:func:`lingauss.factor_group_scenario`.

:func:`metric_agreement` extends the test to every metric that induces a grouping (I_m, SAP,
MIG, DCI): per scenario, how often each metric's grouping equals the true one, on a common set
of cells so that the metrics are compared on the same encoders, and which metric tracks the
truth best (paired over seeds). :func:`agreement_ranking` gives one row per scenario,
:func:`agreement_by_relation` pools the scenarios by ``G`` versus ``m`` and
:func:`format_agreement_markdown` prints the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from .protocol import (
    ALL_METRICS,
    METRIC_PREFIX,
    PROTOCOLS,
    _per_seed,
    get_protocol,
    metric_names,
    success_table,
)
from .scenarios import CONFIGS, Scenario, factor_group_scenario, scenario

__all__ = [
    "NEW_CONFIGS",
    "new_config_scenarios",
    "hypothesis_test",
    "paired_verdict",
    "hypothesis_from_table",
    "HYPOTHESIS_CONFIGS",
    "metric_agreement",
    "agreement_from_table",
    "agreement_ranking",
    "agreement_by_relation",
    "format_agreement_markdown",
]

# Four factors observed in five coordinates (the fifth is noise only), scales like the s5
# family: leaders' σ, loadings and noise σ as in reference §5 (s5), one group structure per
# scenario, from four independent factors (G = 4) down to one group (G = 1).
_NEW_SIGMA = (0.05, 0.02, 0.04, 0.03)
_NEW_LOAD = {1: 0.3, 2: 0.4, 3: 0.2}
_NEW_SZ = {1: 0.02, 2: 0.03, 3: 0.02}
_NEW_STRUCTURES = (
    ((0,), (1,), (2,), (3,)),
    ((0, 1), (2,), (3,)),
    ((0, 1), (2, 3)),
    ((0, 1, 2, 3),),
)

#: New configurations: name -> (s, n, m).
NEW_CONFIGS: dict[str, tuple[int, int, int]] = {"4-5-4": (4, 5, 4), "4-5-2": (4, 5, 2)}
HYPOTHESIS_CONFIGS = tuple(CONFIGS) + tuple(NEW_CONFIGS)


def new_config_scenarios(name: str) -> list[Scenario]:
    """The scenarios of a configuration in :data:`NEW_CONFIGS` (G = 4, 3, 2, 1).

    In each group the first factor leads (σ = 0.05, 0.02, 0.04, 0.03 for factors 1-4 when
    they lead); a follower ``k`` is ``v_k = a_k v_lead + z_k`` with ``a = 0.3, 0.4, 0.2`` and
    ``σ_z = 0.02, 0.03, 0.02`` for factors 2-4; observation noise σ = 0.01; ``n = 5``.

    Examples
    --------
    >>> [sc.n_groups for sc in new_config_scenarios("4-5-4")]
    [4, 3, 2, 1]
    """
    if name not in NEW_CONFIGS:
        raise ValueError(f"name: expected one of {sorted(NEW_CONFIGS)}, got {name!r}")
    s, n, m = NEW_CONFIGS[name]
    out = []
    for k, groups in enumerate(_NEW_STRUCTURES, start=1):
        leads = [_NEW_SIGMA[g[0]] for g in groups]
        followers = [j for g in groups for j in g[1:]]
        sc = factor_group_scenario(
            groups,
            leads,
            {j: _NEW_LOAD[j] for j in followers},
            {j: _NEW_SZ[j] for j in followers},
            noise_sd=0.01,
            m=m,
            n=n,
        )
        out.append(dataclasses.replace(sc, name=f"{name} scenario {k}", config=name, number=k))
    return out


def _resolve(config, preset: str) -> list[Scenario]:
    if isinstance(config, str):
        if config == "all":
            return [sc for c in HYPOTHESIS_CONFIGS for sc in _resolve(c, preset)]
        if config in NEW_CONFIGS:
            return new_config_scenarios(config)
        if config in CONFIGS:
            return [scenario(config, k, preset) for k in (1, 2, 3)]
        raise ValueError(
            f"config: expected one of {list(HYPOTHESIS_CONFIGS) + ['all']}, got {config!r}"
        )
    if isinstance(config, Scenario):
        return [config]
    try:
        items = list(config)
    except TypeError:
        raise ValueError(f"config: expected a name, a Scenario or a list, got {config!r}") from None
    if not items:
        raise ValueError("config: empty")
    return [sc for c in items for sc in _resolve(c, preset)]


def paired_verdict(differences, predicted: str, level: float = 0.95) -> dict:
    """Decide which metric wins from per-seed differences ``I_m rate - SAP rate``.

    NaN differences (seeds where a rate is undefined) are dropped. With two or more seeds the
    winner is the metric favoured by the whole Student-t interval of the mean difference
    (``"neither"`` when it straddles 0); with one seed, the sign. ``verdict`` compares the
    winner with ``predicted``.

    Returns
    -------
    dict with ``difference``, ``sd``, ``low``, ``high``, ``n_seeds``, ``observed``, ``verdict``.

    Examples
    --------
    >>> paired_verdict([20.0, 25.0, 30.0], "I_m")["verdict"]
    'supports'
    """
    if predicted not in ("I_m", "SAP"):
        raise ValueError(f"predicted: expected 'I_m' or 'SAP', got {predicted!r}")
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    d = np.asarray(differences, dtype=float).ravel()
    d = d[np.isfinite(d)]
    mean = sd = low = high = np.nan
    observed = "neither"
    if d.size:
        mean = float(d.mean())
        if d.size == 1:
            observed = "I_m" if mean > 0 else "SAP" if mean < 0 else "neither"
        else:
            sd = float(d.std(ddof=1))
            half = stats.t.ppf(0.5 + level / 2, d.size - 1) * sd / np.sqrt(d.size)
            low, high = mean - half, mean + half
            observed = "I_m" if low > 0 else "SAP" if high < 0 else "neither"
    if observed == "neither":
        verdict = "inconclusive"
    else:
        verdict = "supports" if observed == predicted else "contradicts"
    return {
        "difference": mean,
        "sd": sd,
        "low": low,
        "high": high,
        "n_seeds": int(d.size),
        "observed": observed,
        "verdict": verdict,
    }


def hypothesis_test(
    config="4-5-4",
    protocol="notebook",
    seeds=5,
    *,
    level: float = 0.95,
    progress: Callable[[int], None] | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Does I_m beat SAP when ``G < m``, and SAP win when ``G >= m``?

    Parameters
    ----------
    config : str, Scenario or sequence
        A published configuration, a name in :data:`NEW_CONFIGS`, ``"all"``, user scenarios,
        or a list mixing names and scenarios.
    protocol : {"notebook", "exact"} or Protocol
    seeds : int or sequence of int
    level : float
        Confidence level of the interval on the mean paired difference.
    progress, **kwargs :
        Passed to :func:`lingauss.protocol.success_table` (e.g. ``gammas``, ``lambdas``).

    Returns
    -------
    pandas.DataFrame
        One row per (config, scenario): ``G``, ``m``, ``gap`` (= m - G), ``predicted``
        ("I_m" if G < m else "SAP"), mean success rates ``im_rate`` and ``sap_rate`` (%),
        ``difference`` (mean over seeds of I_m - SAP, percentage points), ``sd``, ``low``
        and ``high`` (Student-t interval of the mean paired difference; NaN with fewer than
        two usable seeds), ``n_seeds``, ``observed`` ("I_m" if the interval lies above 0,
        "SAP" if below, "neither" otherwise; with one seed, the sign) and ``verdict``
        ("supports", "contradicts" or "inconclusive").

    Examples
    --------
    >>> df = hypothesis_test("4-5-4", seeds=1)  # doctest: +SKIP
    >>> df[["scenario", "G", "m", "predicted", "difference", "verdict"]]  # doctest: +SKIP
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    prot = get_protocol(protocol)
    items = _resolve(config, prot.preset)
    table = success_table(items, prot, seeds, progress=progress, **kwargs)
    return hypothesis_from_table(table, level=level)


def hypothesis_from_table(table: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """:func:`hypothesis_test` on an existing :func:`lingauss.protocol.success_table` table.

    Returns the same columns; the per-seed rates follow the table's counting rule.
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    ps = _per_seed(table)
    wide = ps.pivot(
        index=["config", "scenario", "seed", "G", "m"], columns="metric", values="rate"
    ).reset_index()
    rows = []
    for (cfg, num), g in wide.groupby(["config", "scenario"], sort=False):
        G, m = int(g.G.iloc[0]), int(g.m.iloc[0])
        row = {
            "config": cfg,
            "scenario": int(num),
            "G": G,
            "m": m,
            "gap": m - G,
            "predicted": "I_m" if G < m else "SAP",
            "im_rate": float(g["I_m"].mean()),
            "sap_rate": float(g["SAP"].mean()),
        }
        row.update(paired_verdict((g["I_m"] - g["SAP"]).to_numpy(float), row["predicted"], level))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------- which metric is right when?
def _relation(G: int, m: int) -> str:
    return "G<m" if G < m else ("G=m" if G == m else "G>m")


def _t_interval(d: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """Mean, sd and Student-t interval of the mean of the finite entries of ``d``."""
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan, np.nan, np.nan, np.nan
    mean = float(d.mean())
    if d.size == 1:
        return mean, np.nan, np.nan, np.nan
    sd = float(d.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, d.size - 1) * sd / np.sqrt(d.size)
    return mean, sd, mean - half, mean + half


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
    items = _resolve(config, prot.preset)
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
    own = _per_seed(table).set_index(keys + ["metric"])["rate"]
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
            mean, sd, low, high = _t_interval(rates[mt], level)
            own_rates = [
                own.get((prot, cfg, num, seed, mt), np.nan) for seed in g.index.get_level_values(3)
            ]
            own_rates = np.asarray(own_rates, dtype=float)
            row = {
                "protocol": prot,
                "config": cfg,
                "scenario": int(num),
                "G": G,
                "m": m,
                "relation": _relation(G, m),
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
                dm, _, dl, dh = _t_interval(d, level)
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
                "protocol": prot,
                "config": cfg,
                "scenario": int(num),
                "G": G,
                "m": m,
                "relation": _relation(G, m),
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
