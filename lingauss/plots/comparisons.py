"""Comparison figures: analytic against learned values, and the slides' paired I_m − SAP
differences against the gap m − G."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["analytic_vs_learned", "hypothesis_differences"]


# --------------------------------------------------------------- analytic vs learned
def analytic_vs_learned(
    df: pd.DataFrame,
    *,
    x: str = "analytic",
    y: str = "learned",
    by: str | None = None,
    hue: str | None = None,
    quantities: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter of analytic against learned values, one panel per quantity, with ``y = x``.

    Parameters
    ----------
    df : pandas.DataFrame
        The comparison table. Either wide — one row per compared value with numeric columns
        ``x`` and ``y`` — or the tidy form of ``neural.compare.compare(...).table`` (columns
        ``quantity, component, path, value``, possibly concatenated over cells with extra
        columns such as ``scenario``, ``gamma``, ``lam``), which is pivoted so that the
        ``path`` values ``x`` and ``y`` become columns. Optional ``by`` column names the
        quantity (one panel each) and ``hue`` column gives colours.
    x, y : str
        Column names (or ``path`` values) of the analytic and learned values.
    by : str, optional
        Panel column; default ``"quantity"`` or ``"metric"`` when present.
    hue : str, optional
        Colour column; default ``"scenario"`` when present.
    quantities : sequence of str, optional
        Only these values of the ``by`` column, in this order.
    title : str, optional
        Default ``"<x> vs <y>"``.

    Returns
    -------
    matplotlib.figure.Figure
        Up to four panels a row; each title gives the median ``|y - x|`` of its points.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"quantity": ["kl", "kl", "mse"], "analytic": [1.0, 2.0, 0.1],
    ...                    "learned": [1.1, 1.9, 0.12]})
    >>> len(analytic_vs_learned(df).axes)
    2
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    if (x not in df.columns or y not in df.columns) and {"path", "value"} <= set(df.columns):
        ids = [c for c in df.columns if c not in ("path", "value", "text")]
        df = (
            df[df["path"].isin([x, y])]
            .pivot_table(index=ids, columns="path", values="value", aggfunc="first")
            .reset_index()
        )
        df.columns.name = None
    for c in (x, y):
        if c not in df.columns:
            raise ValueError(f"df: no column {c!r} (columns: {list(df.columns)})")
    if by is None:
        by = next((c for c in ("quantity", "metric", "term") if c in df.columns), None)
    elif by not in df.columns:
        raise ValueError(f"by: no column {by!r}")
    if hue is None:
        hue = "scenario" if "scenario" in df.columns else None
    elif hue not in df.columns:
        raise ValueError(f"hue: no column {hue!r}")
    data = df.copy()
    data[x] = pd.to_numeric(data[x], errors="coerce")
    data[y] = pd.to_numeric(data[y], errors="coerce")
    data = data[np.isfinite(data[x]) & np.isfinite(data[y])]
    if data.empty:
        raise ValueError(f"df: no rows with finite {x!r} and {y!r}")
    if quantities is not None:
        if by is None:
            raise ValueError("quantities: needs a panel column (by)")
        quantities = list(quantities)
        missing = [q for q in quantities if q not in set(data[by])]
        if missing:
            raise ValueError(f"quantities: {missing} not in column {by!r}")
        groups = [(q, data[data[by] == q]) for q in quantities]
    else:
        groups = [(None, data)] if by is None else list(data.groupby(by, sort=False))
    ncol = min(len(groups), 4)
    nrow = int(np.ceil(len(groups) / ncol))
    fig = Figure(figsize=(3.3 * ncol, 3.2 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    hues = [] if hue is None else list(pd.unique(data[hue]))
    cmap = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    for ax, (name, g) in zip(axes, groups, strict=False):
        if hue is None:
            ax.scatter(g[x], g[y], s=14, alpha=0.7)
        else:
            for k, h in enumerate(hues):
                gh = g[g[hue] == h]
                if not gh.empty:
                    ax.scatter(gh[x], gh[y], s=14, alpha=0.7, color=cmap[k % 7], label=f"{h}")
        lo = float(min(g[x].min(), g[y].min()))
        hi = float(max(g[x].max(), g[y].max()))
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=0.8, ls="--")
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        err = np.abs(g[y] - g[x])
        ax.set_title(
            f"{name if name is not None else ''}  (median |Δ| = {np.median(err):.2g})",
            fontsize=9,
        )
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    if hues:
        axes[0].legend(fontsize=7, title=hue, title_fontsize=7)
    fig.suptitle(title or f"{x} vs {y}", fontsize=11)
    return fig


# ------------------------------------------------------------------ slides' hypothesis
def hypothesis_differences(df: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Paired I_m − SAP success-rate differences against the gap ``m − G``.

    The slides predict I_m wins (difference > 0) when ``G < m`` and SAP wins (< 0) when
    ``G >= m``; the shaded half-planes are the predicted signs. Each scenario is a point at
    its mean paired difference with its interval (``low``, ``high``) as an error bar, one
    colour per configuration, hollow when the verdict is not "supports".

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`lingauss.slides_hypothesis.hypothesis_test` (columns ``config``,
        ``scenario``, ``G``, ``m``, ``difference``, optional ``low``, ``high``, ``verdict``).
    title : str, optional
        Default: the hypothesis, with the shading explained.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: x the gap ``m − G`` (configurations offset apart), y the difference.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(dict(config=["a", "a"], scenario=[1, 2], G=[3, 1], m=[2, 2],
    ...                        difference=[-10.0, 20.0], low=[-15.0, 5.0], high=[-5.0, 35.0],
    ...                        verdict=["supports", "supports"]))
    >>> hypothesis_differences(df).axes[0].get_xlabel()
    'gap m − G'
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    for c in ("G", "m", "difference"):
        if c not in df.columns:
            raise ValueError(f"df: no column {c!r} (expected hypothesis_test output)")
    gap = (df["m"] - df["G"]).to_numpy(dtype=float)
    diff = df["difference"].to_numpy(dtype=float)
    low = df["low"].to_numpy(dtype=float) if "low" in df.columns else np.full_like(diff, np.nan)
    high = df["high"].to_numpy(dtype=float) if "high" in df.columns else np.full_like(diff, np.nan)
    verdict = df["verdict"].astype(str).to_numpy() if "verdict" in df.columns else None
    configs = df["config"].astype(str).to_numpy() if "config" in df.columns else None
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    lo_gap = min(float(np.nanmin(gap)), 0.0) - 0.6
    hi_gap = max(float(np.nanmax(gap)), 1.0) + 0.6
    ax.axhline(0.0, color="black", lw=0.8)
    ax.axvline(0.5, color="0.5", lw=0.8, ls=":")
    ax.axvspan(0.5, hi_gap, ymin=0.5, ymax=1.0, color="#2ca02c", alpha=0.08)
    ax.axvspan(lo_gap, 0.5, ymin=0.0, ymax=0.5, color="#2ca02c", alpha=0.08)
    labels = [None] if configs is None else list(pd.unique(configs))
    palette = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    offsets = np.linspace(-0.15, 0.15, len(labels)) if len(labels) > 1 else [0.0]
    for k, cfg in enumerate(labels):
        sel = np.ones(diff.size, bool) if cfg is None else configs == cfg
        color = palette[k % len(palette)]
        x = gap[sel] + offsets[k]
        y = diff[sel]
        err = np.vstack([y - low[sel], high[sel] - y])
        err = np.where(np.isfinite(err), err, 0.0)
        ax.errorbar(x, y, yerr=err, fmt="none", ecolor=color, elinewidth=1, capsize=3)
        ok = np.ones(x.size, bool) if verdict is None else verdict[sel] == "supports"
        ax.scatter(x[ok], y[ok], color=color, s=30, zorder=3, label=cfg)
        ax.scatter(
            x[~ok],
            y[~ok],
            facecolor="white",
            edgecolor=color,
            s=30,
            zorder=3,
            label=None if ok.all() else (f"{cfg} (not supported)" if cfg else "not supported"),
        )
    span = np.nanmax(np.abs(np.concatenate([diff, low, high]))) if diff.size else 1.0
    span = 1.1 * (span if np.isfinite(span) and span > 0 else 1.0)
    ax.set_ylim(-span, span)
    ax.set_xlim(lo_gap, hi_gap)
    ax.set_xlabel("gap m − G")
    ax.set_ylabel("I_m − SAP success rate (points)")
    ax.text(hi_gap - 0.05, 0.92 * span, "predicted: I_m wins", ha="right", fontsize=7)
    ax.text(lo_gap + 0.05, -0.95 * span, "predicted: SAP wins", ha="left", fontsize=7)
    ax.grid(alpha=0.3)
    if configs is not None:
        ax.legend(fontsize=7, loc="upper left")
    ax.set_title(title or "The slides' hypothesis: paired differences (shaded: predicted sign)")
    return fig
