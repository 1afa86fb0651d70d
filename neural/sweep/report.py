"""``lingauss sweep --report``: a sweep's tables beside the seed's, and its figures.

:func:`summarize` reduces a store's rows to one row per weight (mean, sd and count over seeds
of every metric; sd with ``ddof=1``, NaN for one seed). :func:`format_report` prints the seed's
Table 01 (β-VAE: Rec Error, KL) or Table 02 (FactorVAE: Rec Error, KL, TC, D(z_real),
D(z_perm)) layout with the published number beside the sweep's ``mean ± sd`` for each weight,
and MIG; other objectives and the linear bridge get the same layout over the metrics the runs
produced (the bridge with the exact optimum's terms beside the learned ones). The header says
the data, preset and steps ("reduced steps" for the cpu preset), seeds, and how many runs of
the sweep are in the store. :func:`write_figures` writes the Rec Error–KL trade-off, MIG
against the weight and, where the image model provides them, latent traversals of a stored
checkpoint (PNG, atomically, through :func:`lingauss.plots.save_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .config import SweepConfig, data_kind
from .published import PUBLISHED_MIG, PUBLISHED_SOURCE, published_table
from .store import EXACT_COLUMNS, METRIC_COLUMNS

__all__ = [
    "summarize",
    "report_columns",
    "format_report",
    "report_dict",
    "tradeoff_figure",
    "mig_figure",
    "write_figures",
    "preset_note",
]

_LABELS = {
    "rec_error": "Rec Error",
    "kl": "KL",
    "tc_mss": "TC (MSS)",
    "tc_discriminator": "TC (disc.)",
    "active_latents": "active",
    "d_real": "D(z_real)",
    "d_perm": "D(z_perm)",
    "mig": "MIG",
    "sap": "SAP",
    "dci": "DCI",
    "factor_vae_score": "FVAE score",
    "loss": "loss",
    "mi": "MI",
    "tc": "TC",
    "dimkl": "dimKL",
    "exact_loss": "exact loss",
    "exact_nll": "exact NLL",
    "exact_kl": "exact KL",
    "exact_mi": "exact MI",
    "exact_tc": "exact TC",
    "exact_dimkl": "exact dimKL",
    "exact_mig": "exact MIG",
}
_SYMBOL = {"beta": "β", "gamma": "γ", "lambda_od": "λ_od", "alpha": "α", "lam": "λ"}


def summarize(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per weight: ``n`` and ``<metric>_mean`` / ``<metric>_sd`` over seeds.

    Every run enters the means of the metrics it has (a diverged run has none: NaN is
    skipped); ``flags`` names the degenerate runs per weight (their ``status``: ``collapsed``,
    ``diverged``, ...), e.g. ``"2 collapsed"``, so that a mean over collapsed runs is visible.
    """
    df = pd.DataFrame(list(rows))
    metrics = [*METRIC_COLUMNS, *EXACT_COLUMNS]
    if df.empty:
        return pd.DataFrame(columns=["weight", "n", "flags"])
    for c in metrics:  # rows from a store have every column; other row lists may not
        if c not in df:
            df[c] = np.nan
    out = pd.DataFrame({"weight": sorted(df["weight"].unique())}).set_index("weight")
    out["n"] = df.groupby("weight").size().reindex(out.index).astype(int)
    bad = df[df["status"] != "ok"]
    out["flags"] = [
        ", ".join(
            f"{k} {v}"
            for v, k in sorted(
                bad[bad["weight"] == w]["status"].value_counts().items(), key=lambda t: t[0]
            )
        )
        for w in out.index
    ]
    if "exact_regime" in df and df["exact_regime"].notna().any():
        regimes = df.dropna(subset=["exact_regime"]).groupby("weight")["exact_regime"]
        out["exact_regime"] = regimes.agg(lambda r: "/".join(sorted(set(r)))).reindex(out.index)
    g = df.groupby("weight")[metrics]
    mean, sd = g.mean(), g.std(ddof=1)
    for c in metrics:
        out[f"{c}_mean"] = mean[c].reindex(out.index)
        out[f"{c}_sd"] = sd[c].reindex(out.index)
    return out.reset_index()


def _all_weights(config: SweepConfig, summary: pd.DataFrame) -> pd.DataFrame:
    """Every weight of the sweep, those without a finished run with ``n = 0``."""
    if summary.empty:
        return summary
    full = summary.set_index("weight").reindex(sorted(set(config.weights) | set(summary["weight"])))
    full["n"] = full["n"].fillna(0).astype(int)
    full["flags"] = full["flags"].fillna("")
    if "exact_regime" in full:
        full["exact_regime"] = full["exact_regime"].fillna("—")
    return full.rename_axis("weight").reset_index()


def report_columns(config: SweepConfig, summary: pd.DataFrame) -> list[str]:
    """The metric columns the report shows: the seed's layout first, then what the runs have."""
    if config.objective == "factor-vae":
        first = ["rec_error", "kl", "tc_discriminator", "d_real", "d_perm", "mig", "tc_mss"]
    else:
        first = ["rec_error", "kl", "mig"]
    if data_kind(config.data) == "scenario":
        first = ["loss", "exact_loss", "rec_error", "exact_nll", "kl", "exact_kl"]
        first += ["mi", "exact_mi", "tc", "exact_tc", "dimkl", "exact_dimkl", "mig", "exact_mig"]
    rest = [c for c in (*METRIC_COLUMNS, *EXACT_COLUMNS) if c not in first]
    have = [
        c for c in first + rest if f"{c}_mean" in summary and summary[f"{c}_mean"].notna().any()
    ]
    return have


def preset_note(config: SweepConfig) -> str:
    """``"preset cpu (reduced steps: N per run)"``, ``"preset paper (N steps per run)"``, or
    ``"preset paper, reduced steps: N of M per run"`` when ``--steps`` cut the paper budget."""
    if config.preset == "cpu":
        return f"preset cpu (reduced steps: {config.steps} per run)"
    from .runners import default_steps

    full = default_steps(config.data, "paper")
    if config.steps < full:
        return f"preset paper, reduced steps: {config.steps} of {full} per run"
    return f"preset paper ({config.steps} steps per run)"


def _pm(mean: float, sd: float, n: int, *, exact: bool = False) -> str:
    if n == 0 or not math.isfinite(mean):
        return "—"
    if exact or n == 1 or not math.isfinite(sd):  # the exact optimum does not vary by seed
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {sd:.3f}"


def _short(revision: str) -> str:
    sha, plus, rest = revision.partition("+")
    return sha[:12] + plus + rest


def _header(config: SweepConfig, rows: Sequence[dict]) -> list[str]:
    total = len(config.keys())
    revs = sorted({r["git_revision"] for r in rows})
    data = config.data if not config.data.startswith("npz:") else f"file {config.data[4:]}"
    lines = [
        f"sweep: {config.objective} on {data}, {preset_note(config)}, "
        f"{len(config.seeds)} seed(s) {list(config.seeds)}; mean ± sd over seeds",
        f"runs in store: {len(rows)} of {total}"
        + ("" if len(rows) == total else " (incomplete: rerun the sweep to finish)")
        + (f"; git {', '.join(_short(r) for r in revs)}" if revs else ""),
    ]
    if config.fixed:
        lines.append("fixed weights: " + ", ".join(f"{k}={v:g}" for k, v in config.fixed))
    return lines


def _table(config: SweepConfig, summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    pub = published_table(config.objective) if data_kind(config.data) != "scenario" else None
    sym = _SYMBOL.get(config.weight_name, config.weight_name)
    out = pd.DataFrame({sym: [f"{w:g}" for w in summary["weight"]]})
    out["n"] = summary["n"].to_numpy()
    if (summary["flags"] != "").any():
        out["flags"] = summary["flags"].to_numpy()
    if "exact_regime" in summary:
        out["exact regime"] = summary["exact_regime"].fillna("—").to_numpy()
    for c in columns:
        label = _LABELS.get(c, c)
        if pub is not None and c in pub:
            out[f"{label}: seed"] = [
                f"{pub.loc[w, c]:.2f}" if w in pub.index else "—" for w in summary["weight"]
            ]
        out[f"{label}: sweep" if pub is not None and c in pub else label] = [
            _pm(m, s, n, exact=c.startswith("exact_"))
            for m, s, n in zip(summary[f"{c}_mean"], summary[f"{c}_sd"], summary["n"])
        ]
    return out


def format_report(config: SweepConfig, rows: Sequence[dict[str, Any]]) -> str:
    """The report as text (see the module docstring)."""
    summary = _all_weights(config, summarize(rows))
    lines = _header(config, rows)
    if summary.empty:
        return "\n".join([*lines, "no finished runs yet"])
    columns = report_columns(config, summary)
    title = {
        "beta-vae": "Table 01 layout (β-VAE: validation Rec Error and KL per image, nats)",
        "factor-vae": "Table 02 layout (FactorVAE: validation loss and discriminator prediction)",
    }.get(config.objective, f"{config.objective}")
    if data_kind(config.data) == "scenario":
        title = (
            f"linear bridge ({config.data}): learned linear VAE beside the exact optimum "
            "(per data point, nats)"
        )
    lines.append(title)
    table = _table(config, summary, columns)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        lines.append(table.to_string(index=False))
    if published_table(config.objective) is not None and data_kind(config.data) != "scenario":
        lines.append(f"seed: {PUBLISHED_SOURCE} (its own, full training budget)")
        if config.objective == "factor-vae":
            lines.append(
                "TC (disc.): the discriminator's density-ratio estimate, as the seed's; "
                "TC (MSS): minibatch stratified sampling on the held-out split"
            )
    if config.objective in PUBLISHED_MIG and data_kind(config.data) != "scenario":
        best = summary["mig_mean"].max() if "mig_mean" in summary else float("nan")
        lines.append(
            f"MIG: seed up to {PUBLISHED_MIG[config.objective]:.2f}; sweep best mean "
            + (f"{best:.3f}" if math.isfinite(best) else "—")
        )
    return "\n".join(lines)


def report_dict(config: SweepConfig, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The report as JSON-ready data: config, header lines, per-weight summary, seed table."""
    summary = _all_weights(config, summarize(rows))
    pub = published_table(config.objective)
    if data_kind(config.data) == "scenario":
        pub = None

    def clean(v):
        if isinstance(v, (float, np.floating)):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v

    return {
        "config": config.to_dict(),
        "header": _header(config, rows),
        "runs": len(rows),
        "total": len(config.keys()),
        "summary": [{k: clean(v) for k, v in r.items()} for r in summary.to_dict("records")],
        "published": None
        if pub is None
        else [{k: clean(v) for k, v in r.items()} for r in pub.reset_index().to_dict("records")],
        "published_mig": PUBLISHED_MIG.get(config.objective),
        "columns": report_columns(config, summary) if not summary.empty else [],
    }


# ------------------------------------------------------------------------------ figures
def tradeoff_figure(config: SweepConfig, summary: pd.DataFrame) -> Figure:
    """Rec Error against KL, one point per weight (mean ± sd over seeds), seed beside."""
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    s = summary[summary["n"] > 0]
    ax.errorbar(
        s["kl_mean"],
        s["rec_error_mean"],
        xerr=s["kl_sd"].fillna(0),
        yerr=s["rec_error_sd"].fillna(0),
        fmt="o-",
        color="C0",
        label="sweep (mean ± sd)",
    )
    sym = _SYMBOL.get(config.weight_name, config.weight_name)
    for _, r in s.iterrows():
        ax.annotate(
            f"{sym}={r['weight']:g}",
            (r["kl_mean"], r["rec_error_mean"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    pub = published_table(config.objective)
    if pub is not None and data_kind(config.data) != "scenario":
        ax.plot(pub["kl"], pub["rec_error"], "s--", color="0.5", label="seed (published)")
    if data_kind(config.data) == "scenario" and s["exact_kl_mean"].notna().any():
        ax.plot(s["exact_kl_mean"], s["exact_nll_mean"], "x--", color="C3", label="exact optimum")
    ax.set_xlabel("KL (nats)")
    ax.set_ylabel("Rec Error (nats)" if data_kind(config.data) != "scenario" else "NLL (nats)")
    ax.set_title(
        f"{config.objective}: reconstruction–KL trade-off ({preset_note(config)})", fontsize=8
    )
    ax.legend(fontsize=7)
    return fig


def mig_figure(config: SweepConfig, summary: pd.DataFrame) -> Figure:
    """MIG against the swept weight (log₂ axis), mean ± sd over seeds."""
    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.add_subplot()
    s = summary[(summary["n"] > 0) & summary["mig_mean"].notna()]
    ax.errorbar(s["weight"], s["mig_mean"], yerr=s["mig_sd"].fillna(0), fmt="o-", label="sweep")
    if "exact_mig_mean" in s and s["exact_mig_mean"].notna().any():
        ax.plot(s["weight"], s["exact_mig_mean"], "x--", color="C3", label="exact optimum")
    if config.objective in PUBLISHED_MIG and data_kind(config.data) != "scenario":
        ax.axhline(PUBLISHED_MIG[config.objective], color="0.5", ls=":", label="seed: best MIG")
    if (s["weight"] > 0).all() and len(s):
        ax.set_xscale("log", base=2)
    ax.set_xlabel(_SYMBOL.get(config.weight_name, config.weight_name))
    ax.set_ylabel("MIG")
    ax.set_title(f"{config.objective}: MIG ({preset_note(config)})", fontsize=8)
    ax.legend(fontsize=7)
    return fig


def write_figures(config: SweepConfig, rows, store_path, outdir) -> list[Path]:
    """Write ``tradeoff.png``, ``mig.png`` and ``traversal_<run>.png`` files into ``outdir``."""
    from lingauss.plots import save_figure

    outdir = Path(outdir)
    summary = summarize(rows)
    written = []
    if summary.empty or not (summary["n"] > 0).any():
        return written
    if summary["kl_mean"].notna().any() and summary["rec_error_mean"].notna().any():
        written.append(save_figure(tradeoff_figure(config, summary), outdir / "tradeoff.png"))
    if summary["mig_mean"].notna().any():
        written.append(save_figure(mig_figure(config, summary), outdir / "mig.png"))
    if data_kind(config.data) == "dsprites":
        from .traversals import traversal_figures

        for name, fig in traversal_figures(config, rows, store_path):
            written.append(save_figure(fig, outdir / f"traversal_{name}.png"))
    return written
