"""Summaries of the λβ study beside the published means: per-cell statistics, heatmap
tables and the comparison figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .published import PUBLISHED_ROUNDING, STUDY_METRICS, expected_regime, published_lookup

__all__ = ["summarize_study", "study_heatmap", "study_figure"]

#: Standard deviation of the published values' rounding error (uniform on ±5e-4).
_ROUNDING_SD = PUBLISHED_ROUNDING / np.sqrt(3.0)


def _mode(x: pd.Series) -> str:
    counts = x.value_counts()
    return str(counts.index[0]) if len(counts) else ""


def summarize_study(df: pd.DataFrame) -> pd.DataFrame:
    """Per-cell mean and spread of recon, SAP and matched MI beside the published means.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`fixed_point_study` (or of the learned study in
        :mod:`neural.lambda_beta`): needs ``method, n, beta, lam`` and the metric columns.

    Returns
    -------
    pandas.DataFrame
        One row per ``(method, n, beta, lam)``: ``inits``; for each metric ``M`` in
        ``recon, sap, matched_mi``: ``M_mean``, ``M_sd`` (sample standard deviation over
        initialisations, ``ddof = 1``), ``M_published`` (the published mean: fixed-point table
        for methods ``"fixed-point"`` and ``"best"``, AdamW table for ``"adamw"``; NaN off the
        published grid), ``M_within`` (``|M_mean - M_published| <= M_sd + 5e-4``, with
        ``M_sd = 0`` for a single initialisation: inside the spread across
        initialisations, allowing for the 3-decimal rounding of the published
        value) and ``M_z`` (``(M_mean - M_published) / sqrt(M_sd² (1/K + 1/50) + 5e-4²/3)``:
        the difference in units of its standard error, both means being averages of
        independent initialisations and the published value rounded to 3 decimals; NaN with
        a single initialisation, whose spread is unknown);
        ``loss_mean``, ``loss_sd``;
        ``regime`` (most common run regime), ``regime_counts``, ``expected_regime``,
        ``has_minimum`` (the loss attains its infimum: all cells except ``"divergent"``),
        ``stop_reason`` (most common), ``half_steps_mean``.
    """
    need = {"method", "n", "beta", "lam", *STUDY_METRICS}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"df: missing columns {sorted(missing)}")
    if df.empty:
        raise ValueError("df: no rows")
    keys = ["method", "n", "beta", "lam"]
    g = df.groupby(keys, sort=True)
    out = g.size().rename("inits").to_frame()
    for metric in (*STUDY_METRICS, "loss"):
        if metric not in df.columns:
            continue
        out[f"{metric}_mean"] = g[metric].mean()
        out[f"{metric}_sd"] = g[metric].std(ddof=1)
    out = out.reset_index()
    for metric in STUDY_METRICS:
        pub = np.array(
            [
                published_lookup(int(r.n), r.method, float(r.beta), float(r.lam), metric)
                for r in out.itertuples()
            ]
        )
        mean = out[f"{metric}_mean"].to_numpy()
        sd = np.nan_to_num(out[f"{metric}_sd"].to_numpy(), nan=0.0)
        diff = mean - pub
        out[f"{metric}_published"] = pub
        out[f"{metric}_within"] = np.where(
            np.isfinite(pub), np.abs(diff) <= sd + PUBLISHED_ROUNDING, False
        )
        K = out["inits"].to_numpy()
        se = np.sqrt(sd**2 * (1.0 / K + 1.0 / 50.0) + _ROUNDING_SD**2)
        out[f"{metric}_z"] = np.where(K >= 2, diff / se, np.nan)
    if "regime" in df.columns:
        out["regime"] = g["regime"].agg(_mode).to_numpy()
        out["regime_counts"] = g["regime"].agg(lambda x: dict(x.value_counts())).to_numpy()
    out["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(out.beta, out.lam)]
    out["has_minimum"] = out["expected_regime"].isin(["collapsed", "flat", "minimum"])
    if "stop_reason" in df.columns:
        out["stop_reason"] = g["stop_reason"].agg(_mode).to_numpy()
    if "half_steps" in df.columns:
        out["half_steps_mean"] = g["half_steps"].mean().to_numpy()
    return out


def study_heatmap(summary: pd.DataFrame, column: str, *, n=None, method=None) -> pd.DataFrame:
    """One column of :func:`summarize_study` as a heatmap table: rows ``λ``, columns ``β``."""
    if column not in summary.columns:
        raise ValueError(f"column: {column!r} not in the summary")
    sel = summary
    if n is not None:
        sel = sel[sel.n == n]
    if method is not None:
        sel = sel[sel.method == method]
    if sel[["beta", "lam"]].duplicated().any():
        raise ValueError("n, method: the selection holds several tables; give n and method")
    return sel.pivot(index="lam", columns="beta", values=column)


def study_figure(summary: pd.DataFrame, *, title: str | None = None):
    """The three heatmaps of one ``(n, method)`` summary beside the published ones.

    Rows: recon, SAP, matched MI; columns: our mean over initialisations, the published
    mean. Each cell is annotated with its value (ours: ``*`` where the published mean is
    outside our spread; no marks with a single initialisation). Returns a
    :class:`matplotlib.figure.Figure` (matplotlib is imported here only).
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    keys = summary[["n", "method"]].drop_duplicates()
    if len(keys) != 1:
        raise ValueError("summary: expected one (n, method), got several; select one first")
    n, method = keys.iloc[0]
    fig = Figure(figsize=(10, 10), layout="constrained")
    axes = fig.subplots(3, 2)
    names = {"recon": "Recon (NLL, nats)", "sap": "SAP", "matched_mi": "matched MI (nats)"}
    pub_name = "AdamW" if method == "adamw" else "fixed point"
    spread = int(summary["inits"].min()) > 1
    for row, metric in enumerate(STUDY_METRICS):
        ours = study_heatmap(summary, f"{metric}_mean")
        pub = study_heatmap(summary, f"{metric}_published")
        within = study_heatmap(summary, f"{metric}_within")
        vals = np.concatenate([ours.to_numpy().ravel(), pub.to_numpy().ravel()])
        vals = vals[np.isfinite(vals)]
        lo, hi = (vals.min(), vals.max()) if vals.size else (0.0, 1.0)
        cmap = "Reds" if metric == "recon" else "Blues"
        for col, (tab, label) in enumerate(
            ((ours, f"ours ({method})"), (pub, f"published ({pub_name})"))
        ):
            ax = axes[row, col]
            im = ax.imshow(tab.to_numpy(), cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
            for i in range(tab.shape[0]):
                for j in range(tab.shape[1]):
                    v = tab.iat[i, j]
                    flag = "*" if col == 0 and spread and not bool(within.iat[i, j]) else ""
                    ax.text(j, i, f"{v:.3f}{flag}", ha="center", va="center", fontsize=8)
            ax.set_xticks(range(tab.shape[1]), [f"{b:g}" for b in tab.columns])
            ax.set_yticks(range(tab.shape[0]), [f"{lm:g}" for lm in tab.index])
            ax.set_xlabel("β")
            ax.set_ylabel("λ")
            ax.set_title(f"{names[metric]}: {label}", fontsize=10)
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title or f"λβ study, n = {n}: means over initialisations")
    return fig
