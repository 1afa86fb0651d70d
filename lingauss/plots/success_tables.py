"""The protocol table as the success figures read it: long form, per-seed rates, selection.

A protocol table (:func:`lingauss.protocol.success_table`) has one row per (config, scenario,
γ, λ, seed) and ``<metric>_success`` / ``<metric>_counted`` columns; the figures work on its
long form (one row per cell and metric) and on the table success rate of every seed
(successes over counted cells, as in :func:`lingauss.protocol.summarize`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .common import column, norm_metric

__all__ = [
    "success_long",
    "per_seed_rates",
    "select_configs",
    "counted_rate",
    "config_latent_dim",
    "pick_metrics",
    "published_long",
]


def success_long(df: pd.DataFrame) -> pd.DataFrame:
    """The protocol table in long form: one row per (…, seed, metric).

    Accepts the wide form of :func:`lingauss.protocol.success_table` (``<metric>_success``
    and optionally ``<metric>_counted`` columns) or a long form (``metric`` and ``success``,
    optionally ``counted``). The result has every non-metric column of the input plus
    ``metric`` (normalised: ``"im"``, ``"sap"``, …), ``success`` (0/1 float) and
    ``counted`` (bool; True where the input has no such column): whether the cell enters the
    metric's success rate (the exact protocol leaves out collapsed, divergent and tied cells).

    Raises
    ------
    ValueError
        If there is no success information, or success values are not 0/1.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    if "metric" in df.columns and "success" in df.columns:
        out = df.copy()
        if "counted" not in out.columns:
            out["counted"] = True
    else:
        prefixes = [
            c.removesuffix("_success")
            for c in df.columns
            if isinstance(c, str) and c.endswith("_success")
        ]
        if not prefixes:
            raise ValueError(
                "df: no success information (need 'metric' and 'success' columns or "
                "'<metric>_success' columns)"
            )
        per_metric = [
            c
            for c in df.columns
            if isinstance(c, str) and any(c.startswith(p + "_") for p in prefixes)
        ]
        keep = [c for c in df.columns if c not in per_metric]
        parts = []
        for p in prefixes:
            part = df[keep].copy()
            part["metric"] = p
            part["success"] = df[f"{p}_success"].to_numpy()
            counted = f"{p}_counted"
            part["counted"] = df[counted].to_numpy() if counted in df.columns else True
            parts.append(part)
        out = pd.concat(parts, ignore_index=True)
    out["metric"] = out["metric"].map(norm_metric)
    vals = pd.to_numeric(out["success"], errors="coerce").astype(float)
    if vals.isna().any() or not vals.isin([0.0, 1.0]).all():
        raise ValueError("df: 'success' must hold booleans or 0/1")
    out["success"] = vals
    out["counted"] = out["counted"].astype(bool)
    return out


def _select(df: pd.DataFrame, column: str, value, what: str):
    """Rows with ``df[column] == value``; ``value=None`` requires a single value."""
    if column not in df.columns:
        return df, None
    if value is None:
        values = list(pd.unique(df[column]))
        if len(values) != 1:
            raise ValueError(f"{what}: the table holds several {values}; choose one")
        value = values[0]
    sub = df[df[column] == value]
    if sub.empty:
        raise ValueError(f"{what}: {value!r} not in the table")
    return sub, value


def select_configs(df: pd.DataFrame, config, protocol=None):
    """Rows of one protocol and configuration: ``(rows, config, protocol)``.

    ``None`` picks the table's only value (``ValueError`` when it holds several); a table
    without such a column passes through with ``None``.
    """
    df, protocol = _select(df, "protocol", protocol, "protocol")
    df, config = _select(df, "config", config, "config")
    return df, config, protocol


def counted_rate(success: pd.Series, counted: pd.Series) -> float:
    """Successes among counted cells (NaN when none counts), as in ``protocol.summarize``."""
    nc = int(counted.sum())
    return float((success.astype(bool) & counted).sum()) / nc if nc else np.nan


def config_latent_dim(df: pd.DataFrame, config):
    """The latent dimension ``m`` of the table (its ``m`` column, or the config name
    ``"n-s-m"``); ``None`` when neither says."""
    if "m" in df.columns and df["m"].nunique() == 1:
        return int(df["m"].iloc[0])
    if isinstance(config, str) and config.count("-") == 2:
        try:
            return int(config.split("-")[2])
        except ValueError:
            return None
    return None


def pick_metrics(long: pd.DataFrame, metrics) -> list[str]:
    """The metrics to draw, normalised, in order (default: all those in the long table)."""
    have = list(pd.unique(long["metric"]))
    if metrics is None:
        return have
    want = [norm_metric(x) for x in metrics]
    missing = [x for x in want if x not in have]
    if missing:
        raise ValueError(f"metrics: {missing} not in the table (have {have})")
    return want


def per_seed_rates(df: pd.DataFrame) -> pd.DataFrame:
    """The table success rate of every seed: one row per (…, scenario, metric, seed).

    ``rate`` (%) is successes over counted cells (NaN when no cell counts), ``n_counted`` the
    number of counted cells, ``n_cells`` all cells; grouped by every identifying column the
    table has among ``protocol, config, scenario, metric, seed``.
    """
    long = success_long(df)
    keys = [c for c in ("protocol", "config", "scenario", "metric", "seed") if c in long]
    rows = []
    for key, g in long.groupby(keys, sort=True):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        nc = int(g["counted"].sum())
        row.update(
            rate=100.0 * counted_rate(g["success"], g["counted"]),
            n_counted=nc,
            n_cells=len(g),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def published_long(published) -> pd.DataFrame | None:
    """Published rates as a table ``config, metric, scenario, source, rate`` (or ``None``).

    Accepts a table or a mapping, as ``published`` of
    :func:`lingauss.plots.success_distributions`.
    """
    if published is None:
        return None
    if isinstance(published, pd.DataFrame):
        pub = published.copy()
    elif isinstance(published, Mapping):
        rows = []
        for key, vals in published.items():
            if not isinstance(key, tuple) or len(key) not in (3, 4):
                raise ValueError(
                    "published: mapping keys must be (config, metric, scenario) or "
                    "(config, metric, source) -> 3 rates"
                )
            if len(key) == 3 and isinstance(key[2], str):
                for k, v in enumerate(np.atleast_1d(vals)):
                    rows.append(
                        dict(config=key[0], metric=key[1], source=key[2], scenario=k + 1, rate=v)
                    )
            else:
                for v in np.atleast_1d(vals):
                    rows.append(dict(config=key[0], metric=key[1], scenario=key[2], rate=v))
        pub = pd.DataFrame(rows)
    else:
        raise ValueError(f"published: expected a DataFrame or mapping, got {type(published)}")
    rate_col = column(pub, ("rate", "published", "success_rate", "value"), "published rate")
    for c in ("metric", "scenario"):
        if c not in pub.columns:
            raise ValueError(f"published: needs a {c!r} column")
    pub = pub.rename(columns={rate_col: "rate"})
    pub["rate"] = pub["rate"].astype(float)
    pub["metric"] = pub["metric"].map(norm_metric)
    if "source" not in pub.columns:
        pub["source"] = "published"
    # the authors' five repeated runs are one source of several draws
    pub["source"] = pub["source"].astype(str).str.replace(r"^repeat-\d+$", "repeats", regex=True)
    return pub
