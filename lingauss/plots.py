"""Figures of the headline results (matplotlib only; every function returns a ``Figure``).

The figures are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: no global state, no GUI backend, safe in scripts, tests and notebooks (a notebook
shows a returned figure as the cell's value). :func:`save_figure` writes a PNG atomically and
deterministically (no software-version metadata).

* :func:`success_heatmaps` — success rate over the (γ, λ) grid, one panel per scenario and
  metric, from the protocol's tidy table (one row per config, scenario, γ, λ, seed);
* :func:`success_distributions` — the table success rate's distribution across seeds, with
  the published numbers beside it;
* :func:`ba_convergence` — loss and I(X;Y) against half-steps of Blahut–Arimoto runs,
  coloured by regime (collapse, interior optimum, the γ > 1 drift);
* :func:`rate_distortion_plane` — BA solutions at (I(X;Y), E‖Y − AX‖²) above the Gaussian
  rate–distortion bound (reverse water-filling on Σ_Y) and its rank-m version;
* :func:`analytic_vs_learned` — scatter of analytic against learned values, one panel per
  quantity, with the identity line;
* :func:`write_reproduce_plots` — the PNGs of ``lingauss reproduce --plots DIR``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .blahut_arimoto import BatchSolution, Solution
from .rate_distortion import distortion_rate, gaussian_rate_distortion, solution_operating_point

__all__ = [
    "success_heatmaps",
    "success_distributions",
    "ba_convergence",
    "rate_distortion_plane",
    "analytic_vs_learned",
    "hypothesis_differences",
    "write_reproduce_plots",
    "save_figure",
    "success_long",
    "per_seed_rates",
    "REGIME_COLORS",
]

#: Colour of each BA regime in every figure.
REGIME_COLORS = {"collapsed": "#1f77b4", "interior": "#2ca02c", "divergent": "#d62728"}
_OTHER_COLOR = "#7f7f7f"
_METRIC_LABELS = {"im": "$I_m$", "sap": "SAP", "mig": "MIG", "dci": "DCI", "matched_mi": "MMI"}
_GAMMA_COLS = ("gamma", "γ")
_LAM_COLS = ("lam", "lambda", "λ")


# ---------------------------------------------------------------------------------- helpers
def save_figure(fig: Figure, path, *, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (temp file, then rename).

    The PNG carries no ``Software`` entry, so the same figure gives the same bytes with the
    same matplotlib and fonts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi, metadata={"Software": None})
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _column(df: pd.DataFrame, candidates: Sequence[str], what: str) -> str:
    for c in candidates:
        if c in df.columns:
            return c
    raise ValueError(f"df: no {what} column (expected one of {list(candidates)})")


def _metric_label(metric: str, m=None) -> str:
    if metric == "im" and m is not None:
        return f"$I_{{{int(m)}}}$"
    return _METRIC_LABELS.get(metric, metric)


def _norm_metric(name) -> str:
    """``"I_m"``, ``"im"``, ``"IM"`` -> ``"im"``; ``"SAP"`` -> ``"sap"``."""
    return str(name).lower().replace("_", "")


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
    out["metric"] = out["metric"].map(_norm_metric)
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


def _configs(df: pd.DataFrame, config, protocol=None):
    df, protocol = _select(df, "protocol", protocol, "protocol")
    df, config = _select(df, "config", config, "config")
    return df, config, protocol


def _rate(success: pd.Series, counted: pd.Series) -> float:
    """Successes among counted cells (NaN when none counts), as in ``protocol.summarize``."""
    nc = int(counted.sum())
    return float((success.astype(bool) & counted).sum()) / nc if nc else np.nan


def _config_m(df: pd.DataFrame, config):
    if "m" in df.columns and df["m"].nunique() == 1:
        return int(df["m"].iloc[0])
    if isinstance(config, str) and config.count("-") == 2:
        try:
            return int(config.split("-")[2])
        except ValueError:
            return None
    return None


def _as_solutions(solutions) -> list[Solution]:
    if isinstance(solutions, Solution):
        return [solutions]
    if isinstance(solutions, BatchSolution):
        return [solutions[i] for i in range(len(solutions))]
    try:
        out = list(solutions)
    except TypeError:
        raise ValueError(
            f"solutions: expected a Solution, BatchSolution or a sequence of Solutions, got "
            f"{type(solutions).__name__}"
        ) from None
    flat: list[Solution] = []
    for s in out:
        if isinstance(s, BatchSolution):
            flat.extend(s[i] for i in range(len(s)))
        elif isinstance(s, Solution):
            flat.append(s)
        else:
            raise ValueError(f"solutions: expected Solution objects, got {type(s).__name__}")
    if not flat:
        raise ValueError("solutions: empty")
    return flat


def _default_label(sol: Solution) -> str:
    return f"γ={sol.gamma:g}, λ={sol.lam:g} ({sol.regime})"


def _labels(labels, sols):
    if labels is None:
        return [_default_label(s) for s in sols]
    labels = list(labels)
    if len(labels) != len(sols):
        raise ValueError(f"labels: expected {len(sols)} labels, got {len(labels)}")
    return [str(x) for x in labels]


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
    long, config, protocol = _configs(long, config, protocol)
    gcol = _column(long, _GAMMA_COLS, "gamma")
    lcol = _column(long, _LAM_COLS, "lambda")
    scol = _column(long, ("scenario", "number"), "scenario")
    metrics = _pick_metrics(long, metrics)
    scenarios = sorted(pd.unique(long[scol]))
    gammas = np.sort(pd.unique(long[gcol]).astype(float))
    lams = np.sort(pd.unique(long[lcol]).astype(float))
    m = _config_m(long, config)

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
            ax.set_title(f"{_metric_label(metric, m)}, scenario {sc}: {rate_txt}", fontsize=9)
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


def _pick_metrics(long: pd.DataFrame, metrics) -> list[str]:
    have = list(pd.unique(long["metric"]))
    if metrics is None:
        return have
    want = [_norm_metric(x) for x in metrics]
    missing = [x for x in want if x not in have]
    if missing:
        raise ValueError(f"metrics: {missing} not in the table (have {have})")
    return want


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
        return 100.0 * _rate(cell["success"], cell["counted"])
    per_seed = [_rate(g["success"], g["counted"]) for _, g in cell.groupby("seed")]
    vals = np.asarray(per_seed, dtype=float)
    vals = vals[np.isfinite(vals)]
    return 100.0 * float(vals.mean()) if vals.size else np.nan


# ------------------------------------------------------------------ success distributions
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
            rate=100.0 * _rate(g["success"], g["counted"]),
            n_counted=nc,
            n_cells=len(g),
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _published_long(published) -> pd.DataFrame | None:
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
    rate_col = _column(pub, ("rate", "published", "success_rate", "value"), "published rate")
    for c in ("metric", "scenario"):
        if c not in pub.columns:
            raise ValueError(f"published: needs a {c!r} column")
    pub = pub.rename(columns={rate_col: "rate"})
    pub["rate"] = pub["rate"].astype(float)
    pub["metric"] = pub["metric"].map(_norm_metric)
    if "source" not in pub.columns:
        pub["source"] = "published"
    # the authors' five repeated runs are one source of several draws
    pub["source"] = pub["source"].astype(str).str.replace(r"^repeat-\d+$", "repeats", regex=True)
    return pub


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

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric; x: scenario; y: success rate (%).
    """
    long = success_long(df)
    long, config, protocol = _configs(long, config, protocol)
    if "seed" not in long.columns:
        raise ValueError("df: needs a 'seed' column for a distribution across seeds")
    scol = _column(long, ("scenario", "number"), "scenario")
    metrics = _pick_metrics(long, metrics)
    pub = _published_long(published)
    if pub is not None and config is not None and "config" in pub.columns:
        pub = pub[pub["config"] == config]
    m = _config_m(long, config)
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
        ax.set_title(_metric_label(metric, m))
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


# ---------------------------------------------------------------------- BA convergence
def _history(sol: Solution):
    """(half-steps, loss, I(X;Y)) of a run's recorded history (record j: (j+1)·every)."""
    loss = np.asarray(sol.loss_history, dtype=float)
    mi = np.asarray(sol.mi_history, dtype=float)
    steps = sol.history_every * (1 + np.arange(loss.size))
    return steps, loss, mi


def ba_convergence(
    solutions,
    labels: Sequence[str] | None = None,
    *,
    mi_floor: float = 1e-12,
    title: str | None = None,
) -> Figure:
    """Loss and I(X;Y) against half-steps for Blahut–Arimoto runs.

    Left: the loss's fall since the first record, ``L(h₀) − L(h)`` (log scale; a run that
    converges flattens out, the γ > 1 drift keeps falling without bound). Right: ``I(X;Y)``
    in nats (log scale): collapse goes to 0, an interior optimum flattens, the drift grows
    without bound. Colours: :data:`REGIME_COLORS`.

    Parameters
    ----------
    solutions : Solution, BatchSolution or sequence of Solution
        Runs with their history (``history_every`` sets the spacing).
    labels : sequence of str, optional
        Legend entries (default ``γ, λ (regime)``).
    mi_floor : float
        I(X;Y) values below this are drawn at it (log axis; 0 is collapse).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from lingauss import blahut_arimoto
    >>> runs = [blahut_arimoto(np.diag([1.0, 0.5]), 1, g, 0.0, seed=0, max_half_steps=200)
    ...         for g in (0.9, 1.1)]
    >>> fig = ba_convergence(runs)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['loss fall  L(h₀) − L(h)', 'I(X;Y) (nats)']
    """
    sols = _as_solutions(solutions)
    labels = _labels(labels, sols)
    mi_floor = float(mi_floor)
    if not mi_floor > 0:
        raise ValueError(f"mi_floor: must be > 0, got {mi_floor!r}")
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_l, ax_i = fig.subplots(1, 2)
    styles = ["-", "--", ":", "-."]
    count: dict[str, int] = {}
    for sol, lab in zip(sols, labels, strict=True):
        steps, loss, mi = _history(sol)
        if steps.size == 0:
            continue
        color = REGIME_COLORS.get(sol.regime, _OTHER_COLOR)
        k = count.get(sol.regime, 0)
        count[sol.regime] = k + 1
        ls = styles[k % len(styles)]
        fall = loss[0] - loss
        ok = fall > 0
        ax_l.plot(steps[ok], fall[ok], ls, color=color, label=lab, lw=1.4)
        ax_i.plot(steps, np.maximum(mi, mi_floor), ls, color=color, label=lab, lw=1.4)
        if sol.stop_reason != "max_half_steps":
            ax_i.plot(steps[-1], max(mi[-1], mi_floor), "o", color=color, ms=4)
    ax_l.set_yscale("log")
    ax_i.set_yscale("log")
    ax_l.set_xlabel("half-steps")
    ax_i.set_xlabel("half-steps")
    ax_l.set_ylabel("loss fall  L(h₀) − L(h)")
    ax_i.set_ylabel("I(X;Y) (nats)")
    ax_i.axhline(mi_floor, color="black", lw=0.5, alpha=0.4)
    ax_i.text(0.01, 0.02, "collapse (I = 0)", transform=ax_i.transAxes, fontsize=7, alpha=0.7)
    ax_l.grid(alpha=0.3)
    ax_i.grid(alpha=0.3)
    ax_i.legend(fontsize=7, loc="best")
    fig.suptitle(title or "Blahut–Arimoto dynamics (dot: run stopped by its rule)", fontsize=11)
    return fig


# ------------------------------------------------------------------- rate–distortion plane
def rate_distortion_plane(
    Sigma_Y,
    solutions=None,
    *,
    m: int | None = None,
    labels: Sequence[str] | None = None,
    max_rate: float | None = None,
    relative: bool = True,
    title: str | None = None,
) -> Figure:
    """BA solutions in the (rate I(X;Y), distortion E‖Y − AX‖²) plane, above the bound.

    The curve is the Gaussian distortion–rate function ``D(R)`` of ``Σ_Y`` by reverse
    water-filling (:func:`lingauss.rate_distortion.distortion_rate`); with ``m < n`` latents
    the rank-``m`` bound (reconstructions in an ``m``-dimensional subspace) is drawn dashed.
    Points beyond ``max_rate`` (the γ > 1 drift) are drawn at the right edge as ``▶`` with
    their rate written beside them.

    Parameters
    ----------
    Sigma_Y : array_like, shape (n, n)
    solutions : Solution, BatchSolution or sequence of Solution, optional
    m : int, optional
        Latent dimension for the rank bound (default: from the solutions).
    labels : sequence of str, optional
        Per-solution labels (default: γ and λ on hover-less plots are crowded, so none; the
        colours give the regime).
    max_rate : float, optional
        Right end of the rate axis (default: covers the non-divergent points and the bound
        down to 2 % of ``tr Σ_Y``).
    relative : bool
        Plot ``D / tr Σ_Y`` (default) or ``D`` itself.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = rate_distortion_plane(np.diag([4.0, 1.0, 0.5]), m=2)
    >>> fig.axes[0].get_xlabel()
    'rate I(X;Y) (nats)'
    """
    Sigma_Y = np.asarray(Sigma_Y, dtype=float)
    if Sigma_Y.ndim != 2:
        raise ValueError(f"Sigma_Y: expected one (n, n) matrix, got shape {Sigma_Y.shape}")
    n = Sigma_Y.shape[0]
    tr = float(np.trace(Sigma_Y))
    scale = 1.0 / tr if relative else 1.0
    sols = [] if solutions is None else _as_solutions(solutions)
    if labels is not None:
        labels = _labels(labels, sols)
    pts = None
    if sols:
        ms = {s.B.shape[0] for s in sols}
        if m is None and len(ms) == 1:
            m = ms.pop()
        pts = [solution_operating_point(s, Sigma_Y) for s in sols]
    rate_full = float(gaussian_rate_distortion(Sigma_Y, 0.02 * tr))
    if max_rate is None:
        finite = [p.rate for p, s in zip(pts or [], sols, strict=False) if s.regime != "divergent"]
        max_rate = max([rate_full] + [1.1 * r for r in finite])
    r = np.linspace(0.0, max_rate, 300)
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(r, scale * distortion_rate(Sigma_Y, r), color="black", lw=1.6, label="D(R) bound")
    if m is not None and m < n:
        ax.plot(
            r,
            scale * distortion_rate(Sigma_Y, r, rank=m),
            color="black",
            ls="--",
            lw=1.2,
            label=f"rank-{m} bound",
        )
    ax.fill_between(r, 0, scale * distortion_rate(Sigma_Y, r), color="0.85", label="unachievable")
    beyond: list[float] = []
    if pts:
        seen = set()
        for k, (p, s) in enumerate(zip(pts, sols, strict=True)):
            color = REGIME_COLORS.get(s.regime, _OTHER_COLOR)
            lab = s.regime if s.regime not in seen else None
            seen.add(s.regime)
            x, y = float(p.rate), scale * float(p.distortion)
            if x > max_rate:
                ax.plot(max_rate, y, ">", color=color, ms=7, label=lab, clip_on=False)
                beyond.append(x)
            else:
                ax.plot(x, y, "o", color=color, ms=5, alpha=0.8, label=lab)
            if labels is not None:
                ax.annotate(
                    labels[k],
                    (min(x, max_rate), y),
                    xytext=(4, -8),
                    textcoords="offset points",
                    fontsize=6,
                )
    if beyond:
        ax.text(
            0.98,
            0.02,
            f"▶ {len(beyond)} run(s) off scale, rate {min(beyond):.3g}–{max(beyond):.3g} nats",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
        )
    ax.set_xlim(0, max_rate * 1.02)
    ax.set_ylim(0, 1.05 * scale * tr)
    ax.set_xlabel("rate I(X;Y) (nats)")
    ax.set_ylabel("distortion E‖Y − AX‖² / tr Σ_Y" if relative else "distortion E‖Y − AX‖²")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title or "Rate–distortion plane: BA solutions above the Gaussian bound")
    return fig


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

    Returns
    -------
    matplotlib.figure.Figure

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

    Returns
    -------
    matplotlib.figure.Figure

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


# ------------------------------------------------------------------ reproduce --plots
def write_reproduce_plots(df: pd.DataFrame, outdir, *, published="default") -> list[Path]:
    """Write the PNGs of ``lingauss reproduce --plots DIR``.

    For every (protocol, configuration) in the table: ``heatmap_<protocol>_<config>.png``
    (:func:`success_heatmaps`) and, when the table has several seeds,
    ``distribution_<protocol>_<config>.png`` (:func:`success_distributions`, with the
    published numbers). Each file is written atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The protocol table (:func:`lingauss.protocol.success_table`).
    outdir : str or Path
        Created if missing.
    published : "default", None, DataFrame or mapping
        Published rates for the distributions: ``"default"`` uses
        :func:`lingauss.protocol.published_table`; ``None`` draws none.

    Returns
    -------
    list of Path
        The files written, in order.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> rows = [dict(config="3-4-3", scenario=k, gamma=1.0, lam=0.0, seed=s, im_success=True)
    ...         for k in (1, 2, 3) for s in (0, 1)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in write_reproduce_plots(pd.DataFrame(rows), d)]
    ['heatmap_3-4-3.png', 'distribution_3-4-3.png']
    """
    long = success_long(df)
    if isinstance(published, str):
        if published != "default":
            raise ValueError(f"published: expected 'default', None or a table, got {published!r}")
        from .protocol import published_table

        published = published_table()
    outdir = Path(outdir)
    protocols = list(pd.unique(long["protocol"])) if "protocol" in long.columns else [None]
    configs = list(pd.unique(long["config"])) if "config" in long.columns else [None]
    written = []
    for prot in protocols:
        for config in configs:
            sub = long
            if prot is not None:
                sub = sub[sub["protocol"] == prot]
            if config is not None:
                sub = sub[sub["config"] == config]
            if sub.empty:
                continue
            tag = "_".join(str(x) for x in (prot, config) if x is not None) or "table"
            tag = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in tag)
            fig = success_heatmaps(sub)
            written.append(save_figure(fig, outdir / f"heatmap_{tag}.png"))
            if "seed" in sub.columns and sub["seed"].nunique() > 1:
                fig = success_distributions(sub, published=published)
                written.append(save_figure(fig, outdir / f"distribution_{tag}.png"))
    return written
