"""Success-rate figures: the (γ, λ) heatmaps and the distribution of the table rate across
seeds, both drawn from a protocol table (:mod:`lingauss.plots.success_tables`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .common import GAMMA_COLS, LAM_COLS, column, metric_label
from .success_tables import (
    config_latent_dim,
    counted_rate,
    per_seed_rates,
    pick_metrics,
    published_long,
    select_configs,
    success_long,
)

__all__ = ["success_heatmaps", "success_distributions"]


# ----------------------------------------------------------------------- success heatmaps
def success_heatmaps(
    df: pd.DataFrame,
    *,
    config: str | None = None,
    protocol: str | None = None,
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    annotate: bool = True,
) -> Figure:
    """Success rate in every (γ, λ) cell across seeds, one panel per metric × scenario.

    A cell's value is the share of seeds whose run succeeds, among the seeds where the cell
    *counts* (``<metric>_counted``; every seed under the notebook protocol); a cell that
    counts for no seed is drawn grey with "–". Cell letters give the most frequent regime
    (``c`` collapsed, ``d`` divergent; none for interior).

    Parameters
    ----------
    df : pandas.DataFrame
        The protocol's tidy table (:func:`lingauss.protocol.success_table`): one row per
        (config, scenario, γ, λ, seed) with ``scenario``, ``gamma``, ``lam`` and
        ``<metric>_success`` (optionally ``<metric>_counted``, ``regime``) columns, or the
        long form of :func:`success_long`.
    config, protocol : str, optional
        Which configuration / protocol to draw (required when the table holds several).
    metrics : sequence of str, optional
        Metrics (rows of panels) in order, e.g. ``["im", "sap"]``; default all.
    title : str, optional
        Default: the configuration, protocol and number of seeds.
    annotate : bool
        Write the percentage (and regime letter) in each cell.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: metrics; columns: scenarios. Each panel's title carries the table's success
        rate: per seed, successes over counted cells, then the mean over seeds (as in
        :func:`lingauss.protocol.summarize`).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [dict(config="3-4-3", scenario=k, gamma=g, lam=l, seed=s, im_success=g <= 1)
    ...         for k in (1, 2) for g in (0.99, 1.01) for l in (0.0, 0.01) for s in (0, 1)]
    >>> fig = success_heatmaps(pd.DataFrame(rows))
    >>> len(fig.axes)    # 2 panels + colour bar
    3
    """
    long = success_long(df)
    long, config, protocol = select_configs(long, config, protocol)
    gcol = column(long, GAMMA_COLS, "gamma")
    lcol = column(long, LAM_COLS, "lambda")
    scol = column(long, ("scenario", "number"), "scenario")
    metrics = pick_metrics(long, metrics)
    scenarios = sorted(pd.unique(long[scol]))
    gammas = np.sort(pd.unique(long[gcol]).astype(float))
    lams = np.sort(pd.unique(long[lcol]).astype(float))
    m = config_latent_dim(long, config)

    ncol, nrow = len(scenarios), len(metrics)
    fig = Figure(figsize=(2.6 * ncol + 1.0, 2.4 * nrow + 0.6), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    regimes = None
    if "regime" in long.columns:
        first = long[long["metric"] == metrics[0]]
        regimes = (
            first.groupby([scol, gcol, lcol])["regime"]
            .agg(lambda x: x.value_counts().index[0])
            .to_dict()
        )
    cmap = _viridis_with_grey()
    image = None
    for i, metric in enumerate(metrics):
        sub = long[long["metric"] == metric]
        for j, sc in enumerate(scenarios):
            ax = axes[i, j]
            cell = sub[sub[scol] == sc]
            grid = _cell_grid(cell, gcol, lcol, gammas, lams)
            image = ax.imshow(grid, origin="lower", cmap=cmap, vmin=0, vmax=100, aspect="auto")
            if annotate:
                for (r, c), v in np.ndenumerate(grid):
                    tag = ""
                    if regimes is not None:
                        reg = regimes.get((sc, gammas[c], lams[r]), "")
                        tag = {"collapsed": " c", "divergent": " d"}.get(reg, "")
                    text = "–" if np.isnan(v) else f"{v:.0f}"
                    ax.text(
                        c,
                        r,
                        text + tag,
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if (np.isnan(v) or v < 60) else "black",
                    )
            rate = _table_rate(cell)
            rate_txt = "–" if np.isnan(rate) else f"{rate:.0f}%"
            ax.set_title(f"{metric_label(metric, m)}, scenario {sc}: {rate_txt}", fontsize=9)
            ax.set_xticks(range(gammas.size), [f"{g:g}" for g in gammas], fontsize=7)
            ax.set_yticks(range(lams.size), [f"{x:g}" for x in lams], fontsize=7)
            if i == nrow - 1:
                ax.set_xlabel("γ")
            if j == 0:
                ax.set_ylabel("λ")
    fig.colorbar(image, ax=axes, shrink=0.8, label="success (% of counted seeds)")
    if title is None:
        bits = [f"config {config}"] if config is not None else []
        if protocol is not None:
            bits.append(f"{protocol} protocol")
        n_seeds = long["seed"].nunique() if "seed" in long.columns else 1
        bits.append(f"{n_seeds} seed{'s' if n_seeds != 1 else ''}")
        title = "Success over the (γ, λ) grid: " + ", ".join(bits)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _viridis_with_grey():
    from matplotlib import colormaps

    return colormaps["viridis"].with_extremes(bad="0.6")


def _cell_grid(cell: pd.DataFrame, gcol, lcol, gammas, lams) -> np.ndarray:
    """100 × successes / counted seeds per (λ row, γ column); NaN where nothing counts."""
    ok = cell.assign(hit=cell["success"].astype(bool) & cell["counted"])
    agg = ok.groupby([lcol, gcol]).agg(hits=("hit", "sum"), n=("counted", "sum"))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = 100.0 * agg["hits"] / agg["n"].where(agg["n"] > 0)
    return frac.unstack(gcol).reindex(index=lams, columns=gammas).to_numpy(dtype=float)


def _table_rate(cell: pd.DataFrame) -> float:
    """Mean over seeds of the per-seed rate (successes / counted cells), in %."""
    if "seed" not in cell.columns:
        return 100.0 * counted_rate(cell["success"], cell["counted"])
    per_seed = [counted_rate(g["success"], g["counted"]) for _, g in cell.groupby("seed")]
    vals = np.asarray(per_seed, dtype=float)
    vals = vals[np.isfinite(vals)]
    return 100.0 * float(vals.mean()) if vals.size else np.nan


# ------------------------------------------------------------------ success distributions
def success_distributions(
    df: pd.DataFrame,
    *,
    config: str | None = None,
    protocol: str | None = None,
    metrics: Sequence[str] | None = None,
    published=None,
    title: str | None = None,
) -> Figure:
    """Distribution across seeds of the table success rate, per scenario and metric.

    For each seed the table's success rate is successes over counted cells (all 25 cells
    under the notebook protocol, the authors' successes / 25); the figure shows every seed's
    rate as a dot, a box of the quartiles with the mean (white circle), and the published
    numbers as red markers.

    Parameters
    ----------
    df : pandas.DataFrame
        Protocol table, as for :func:`success_heatmaps`; needs a ``seed`` column.
    config, protocol : str, optional
    metrics : sequence of str, optional
    published : DataFrame or mapping, optional
        Published success rates in %: a table with ``metric``, ``scenario``, a rate column
        (``published`` or ``rate``) and optionally ``config`` and ``source`` (as
        :func:`lingauss.protocol.published_table`), or a mapping
        ``(config, metric, scenario) -> rate(s)`` or ``(config, metric, source) -> 3 rates``
        (as :data:`lingauss.protocol.PUBLISHED`).
    title : str, optional
        Default: the number of seeds, the configuration and the protocol.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric; x: scenario; y: success rate (%).
    """
    long = success_long(df)
    long, config, protocol = select_configs(long, config, protocol)
    if "seed" not in long.columns:
        raise ValueError("df: needs a 'seed' column for a distribution across seeds")
    scol = column(long, ("scenario", "number"), "scenario")
    metrics = pick_metrics(long, metrics)
    pub = published_long(published)
    if pub is not None and config is not None and "config" in pub.columns:
        pub = pub[pub["config"] == config]
    m = config_latent_dim(long, config)
    rates = per_seed_rates(long.rename(columns={scol: "scenario"}))
    scenarios = sorted(pd.unique(long[scol]))

    fig = Figure(figsize=(3.2 * len(metrics) + 0.5, 3.4), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    rng = np.random.default_rng(0)  # jitter only; fixed so the figure is reproducible
    sources = [] if pub is None else list(pd.unique(pub["source"]))
    pub_markers = dict(zip(sources, ["x", "+", "1", "*", "D"], strict=False))
    for ax, metric in zip(axes, metrics, strict=True):
        data = []
        for sc in scenarios:
            r = rates[(rates["metric"] == metric) & (rates["scenario"] == sc)]["rate"]
            r = r.to_numpy(dtype=float)
            data.append(r[np.isfinite(r)])
        pos = np.arange(len(scenarios))
        keep = [k for k, d in enumerate(data) if d.size]
        if keep:
            ax.boxplot(
                [data[k] for k in keep],
                positions=pos[keep],
                widths=0.5,
                showmeans=True,
                meanprops=dict(marker="o", markerfacecolor="white", markeredgecolor="black"),
                medianprops=dict(color="black"),
                flierprops=dict(marker=""),
            )
        for p, d in zip(pos, data, strict=True):
            ax.scatter(
                p + rng.uniform(-0.15, 0.15, d.size), d, s=10, alpha=0.5, color="#1f77b4", zorder=3
            )
        if pub is not None:
            pm = pub[pub["metric"] == metric]
            for k, src in enumerate(sources):
                ps = pm[(pm["source"] == src) & pm["scenario"].isin(scenarios)]
                if ps.empty:
                    continue
                xs = np.array([scenarios.index(x) for x in ps["scenario"]], dtype=float)
                ax.scatter(
                    xs + 0.3 + 0.06 * k,
                    ps["rate"],
                    marker=pub_markers.get(src, "x"),
                    color="#d62728",
                    s=30,
                    zorder=4,
                    label=src if ax is axes[0] or metric == metrics[0] else None,
                )
        ax.set_xticks(pos, [f"scenario {x}" for x in scenarios], fontsize=8)
        ax.set_xlim(-0.6, len(scenarios) - 0.2)
        ax.set_ylim(-3, 103)
        ax.set_ylabel("success rate (%)")
        ax.set_title(metric_label(metric, m))
        ax.grid(axis="y", alpha=0.3)
    if sources and axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=7, loc="best", title="published", title_fontsize=7)
    n_seeds = long["seed"].nunique()
    if title is None:
        bits = [f"config {config}"] if config is not None else []
        if protocol is not None:
            bits.append(f"{protocol} protocol")
        title = f"Table success rate across {n_seeds} seeds" + (
            ": " + ", ".join(bits) if bits else ""
        )
    fig.suptitle(title, fontsize=11)
    return fig
