"""Summaries of success tables: per-seed rates, rates across seeds beside the published
numbers, and the effect of the initialiser."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .conventions import Protocol
from .published import PUBLISHED_SOURCES, published_rate, published_table
from .scoring import ALL_METRICS, METRIC_PREFIX
from .tables import success_table

__all__ = ["table_metrics", "per_seed_rates", "summarize", "compare_published", "init_effect"]


def table_metrics(table: pd.DataFrame) -> tuple[str, ...]:
    """The metrics of :data:`ALL_METRICS` a table holds (``<p>_success`` and ``<p>_counted``)."""
    return tuple(
        mt
        for mt in ALL_METRICS
        if {f"{METRIC_PREFIX[mt]}_success", f"{METRIC_PREFIX[mt]}_counted"} <= set(table.columns)
    )


def per_seed_rates(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, config, scenario, seed, metric): the success rate and counts.

    Returns
    -------
    pandas.DataFrame
        ``protocol, config, scenario, seed, G, m, n_cells, n_collapsed, n_divergent,
        n_unconverged, n_nonfinite, metric``, ``rate`` (% of the counted cells, NaN if none),
        ``rate_all`` (% of all cells), ``n_counted`` and ``n_tied``, for every metric of
        :func:`table_metrics`.
    """
    rows = []
    present = table_metrics(table)
    keys = ["protocol", "config", "scenario", "seed"]
    for key, g in table.groupby(keys, sort=True):
        status = g.status.to_numpy()
        base = dict(zip(keys, key))
        base.update(
            G=int(g.G.iloc[0]),
            m=int(g.m.iloc[0]),
            n_cells=len(g),
            n_collapsed=int(np.sum(status == "collapsed")),
            n_divergent=int(np.sum(status == "divergent")),
            n_unconverged=int(np.sum(status == "unconverged")),
            n_nonfinite=int(np.sum(status == "nonfinite")),
        )
        for metric in present:
            p = METRIC_PREFIX[metric]
            succ = g[f"{p}_success"].to_numpy(bool)
            counted = g[f"{p}_counted"].to_numpy(bool)
            nc = int(counted.sum())
            rows.append(
                {
                    **base,
                    "metric": metric,
                    "rate": 100.0 * np.sum(succ & counted) / nc if nc else np.nan,
                    "rate_all": 100.0 * np.sum(succ) / len(g),
                    "n_counted": nc,
                    "n_tied": int(g[f"{p}_tied"].sum()) if f"{p}_tied" in g else 0,
                }
            )
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, *, source: str = "notebook") -> pd.DataFrame:
    """Success rates across seeds, next to the published numbers.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`success_table`.
    source : str
        Which published number fills ``published`` (default the authors' notebook output;
        see :data:`PUBLISHED_SOURCES`; the slides' numbers are in ``published_slides``).

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, config, scenario, metric), for every metric of
        :data:`ALL_METRICS` the table holds (MIG and DCI with ``metrics="all"``; their
        ``published`` is NaN): ``mean``, ``sd`` (ddof 1), ``min``,
        ``max`` of the per-seed rate (%), ``low``/``high`` (2.5 and 97.5 percentiles of the
        per-seed rates: the interval a single draw, such as a published number, falls in 95 %
        of the time), ``n_seeds``, ``published`` and ``published_slides`` (NaN if none),
        ``inside`` (published within [min, max]), ``inside_interval`` (within [low, high]),
        ``rate_all_mean`` (successes over all cells), and per-seed means of the cell counts
        (``n_counted``, ``n_tied``, ``n_collapsed``, ``n_divergent``, ``n_unconverged``,
        ``n_nonfinite``). The rate counts the cells whose ``*_counted`` flag is set (all
        cells under the notebook protocol).
    """
    if source not in PUBLISHED_SOURCES:
        raise ValueError(f"source: expected one of {PUBLISHED_SOURCES}, got {source!r}")
    need = {"protocol", "config", "scenario", "seed", "status", "im_success", "im_counted"}
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns):
        raise ValueError("table: expected a DataFrame from success_table")
    ps = per_seed_rates(table)
    rows = []
    for key, g in ps.groupby(["protocol", "config", "scenario", "metric"], sort=False):
        r = g.rate.to_numpy(float)
        fin = r[np.isfinite(r)]
        row = dict(zip(["protocol", "config", "scenario", "metric"], key))
        row.update(G=int(g.G.iloc[0]), m=int(g.m.iloc[0]), n_seeds=len(g))
        if fin.size:
            row.update(
                mean=float(fin.mean()),
                sd=float(fin.std(ddof=1)) if fin.size > 1 else np.nan,
                min=float(fin.min()),
                max=float(fin.max()),
                low=float(np.percentile(fin, 2.5)),
                high=float(np.percentile(fin, 97.5)),
            )
        else:
            row.update(mean=np.nan, sd=np.nan, min=np.nan, max=np.nan, low=np.nan, high=np.nan)
        row["rate_all_mean"] = float(g.rate_all.mean())
        for c in ("n_counted", "n_tied", "n_collapsed", "n_divergent", "n_unconverged",
                  "n_nonfinite"):  # fmt: skip
            row[c] = float(g[c].mean())
        pub = published_rate(row["config"], row["metric"], source, row["scenario"])
        row["published"] = pub
        row["published_slides"] = published_rate(
            row["config"], row["metric"], "slides", row["scenario"]
        )
        row["inside"] = bool(np.isfinite(pub) and row["min"] <= pub <= row["max"])
        row["inside_interval"] = bool(np.isfinite(pub) and row["low"] <= pub <= row["high"])
        rows.append(row)
    return pd.DataFrame(rows)


def compare_published(summary: pd.DataFrame) -> pd.DataFrame:
    """Every published number beside the per-seed distribution it should fall in.

    Returns one row per (protocol, config, scenario, metric, source) with ``published``,
    ``mean``, ``min``, ``max``, ``low``, ``high``, ``inside`` ([min, max]) and
    ``inside_interval`` ([low, high]).
    """
    pub = published_table()
    cols = ["protocol", "config", "scenario", "metric", "mean", "min", "max", "low", "high"]
    out = summary[cols].merge(pub, on=["config", "scenario", "metric"], how="inner")
    out["inside"] = (out["min"] <= out.published) & (out.published <= out["max"])
    out["inside_interval"] = (out["low"] <= out.published) & (out.published <= out["high"])
    order = ["protocol", "config", "scenario", "metric", "source", "published"] + cols[4:]
    return out[order + ["inside", "inside_interval"]]


def init_effect(
    config="all", protocol: str | Protocol = "notebook", seeds=5, **kwargs
) -> pd.DataFrame:
    """How much the success rates move between the authors' and an exchangeable initialiser.

    Runs the protocol twice (``init="authors"`` and ``init="exchangeable"``, all else equal)
    and returns one row per (config, scenario, metric) with the mean rates ``authors``,
    ``exchangeable`` and ``difference`` (exchangeable - authors, percentage points).
    Extra keyword arguments go to :func:`success_table` (e.g. ``gammas``, ``progress``).
    """
    out = []
    for init in ("authors", "exchangeable"):
        s = summarize(success_table(config, protocol, seeds, init=init, **kwargs))
        out.append(s.set_index(["config", "scenario", "metric"])["mean"].rename(init))
    df = pd.concat(out, axis=1).reset_index()
    df["difference"] = df["exchangeable"] - df["authors"]
    return df
