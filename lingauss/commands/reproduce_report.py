"""The printed output of ``lingauss reproduce``: the text tables beside the published numbers,
the per-scenario score medians and the ``--json`` object."""

from __future__ import annotations

import math

__all__ = ["json_payload", "format_report", "format_scores"]


def _num(x):
    """JSON-safe number: NaN -> None."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def json_payload(protocol: str, seeds: int, summary, cells: int = 25) -> dict:
    """The ``--json`` object: protocol, seeds and one row per (config, scenario, metric).

    Rates are percentages; ``published`` is the authors' notebook output (``null`` where
    none), ``published_sources`` every published number, ``inside`` whether the notebook
    number lies in the per-seed [min, max].
    """
    from ..protocol import PUBLISHED, PUBLISHED_SOURCES

    rows = []
    for r in summary.itertuples(index=False):
        sources = {
            src: float(PUBLISHED[(r.config, r.metric, src)][r.scenario - 1])
            for src in PUBLISHED_SOURCES
            if (r.config, r.metric, src) in PUBLISHED and 1 <= r.scenario <= 3
        }
        rows.append(
            {
                "config": r.config,
                "scenario": int(r.scenario),
                "metric": r.metric,
                "mean": _num(r.mean),
                "sd": _num(r.sd),
                "min": _num(r.min),
                "max": _num(r.max),
                "low": _num(r.low),
                "high": _num(r.high),
                "published": _num(r.published),
                "published_sources": sources,
                "inside": bool(r.inside),
                "n_counted": _num(r.n_counted),
                "n_tied": _num(r.n_tied),
                "n_collapsed": _num(r.n_collapsed),
                "n_divergent": _num(r.n_divergent),
                "n_unconverged": _num(r.n_unconverged),
            }
        )
    out = {"protocol": protocol, "seeds": int(seeds), "rows": rows}
    if cells != 25:
        out["cells"] = int(cells)
    return out


def _fmt(x, nd=1):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _pub(config, metric, scenario):
    """Published numbers of one table entry: display strings and (label, value) pairs."""
    from ..protocol import PUBLISHED

    def get(src):
        v = PUBLISHED.get((config, metric, src))
        return None if v is None else v[scenario - 1]

    slides, nb = get("slides"), get("notebook")
    reps = [(f"r{k}", get(f"repeat-{k}")) for k in range(1, 6)]
    reps = [(k, r) for k, r in reps if r is not None]
    parts = [
        "-" if slides is None else str(slides),
        "-" if nb is None else str(nb),
        " ".join(str(r) for _, r in reps) if reps else "-",
    ]
    labelled = [("slides", slides), ("nb", nb), *reps]
    return parts, [(k, v) for k, v in labelled if v is not None]


def format_report(summary, protocol: str, seeds: int, cells: int = 25) -> str:
    """The text tables printed by ``lingauss reproduce``."""
    from ..scenarios import CONFIGS

    lines = []
    for config, g in summary.groupby("config", sort=False):
        s, n, m = CONFIGS[config][:3] if config in CONFIGS else ("?", "?", int(g.m.iloc[0]))
        lines.append(f"== {config}  (s={s}, n={n}, m={m})  {protocol} protocol, {seeds} seed(s) ==")
        if protocol.startswith("exact"):
            lines.append(
                "rate = successes among counted cells (interior, resolvable decision); "
                f"'all' = successes / {cells}"
            )
        head = (
            f"{'scen':<5}{'metric':<7}{'mean ± sd':>14}  {'[min, max]':<13}{'95% interval':<15}"
            f"{'slides':>7}{'notebook':>9}  {'repeats':<16}{'published in [min,max]':<17}"
        )
        if protocol.startswith("exact"):
            head += f"{'all':>6}{'counted':>8}"
        lines.append(head)
        for r in g.itertuples(index=False):
            (slides, nb, reps), values = _pub(config, r.metric, r.scenario)
            outside = [k for k, v in values if not r.min <= v <= r.max]
            if not values or math.isnan(r.min):
                inside = "-"
            else:
                inside = "all" if not outside else "NOT " + ",".join(outside)
            ms = f"{_fmt(r.mean)} ± {_fmt(r.sd)}"
            line = (
                f"{r.scenario:<5}{r.metric:<7}{ms:>14}  "
                f"{'[' + _fmt(r.min, 0) + ', ' + _fmt(r.max, 0) + ']':<13}"
                f"{'[' + _fmt(r.low) + ', ' + _fmt(r.high) + ']':<15}"
                f"{slides:>7}{nb:>9}  {reps:<16}{inside:<17}"
            )
            if protocol.startswith("exact"):
                line += f"{_fmt(r.rate_all_mean):>6}{_fmt(r.n_counted):>8}"
            lines.append(line)
        lines.append(f"degenerate cells per seed (mean, of {cells} per scenario):")
        for num, h in g.groupby("scenario", sort=True):
            first = h.iloc[0]
            ties = ", ".join(f"{r.metric} ties {_fmt(r.n_tied)}" for r in h.itertuples(index=False))
            lines.append(
                f"  scenario {num}: collapsed {_fmt(first.n_collapsed)}, divergent "
                f"{_fmt(first.n_divergent)}, unconverged {_fmt(first.n_unconverged)}, {ties}"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


#: Per-cell scores summarised by :func:`format_scores` (column, label).
_SCORES = (
    ("kl", "KL"),
    ("index_code_mi", "I(X;Y)"),
    ("total_correlation", "TC"),
    ("dimensionwise_kl", "dim-KL"),
    ("matched_mi", "matched"),
    ("mig_score", "MIG"),
    ("dci_d", "DCI-D"),
    ("dci_c", "DCI-C"),
    ("dci_i", "DCI-I"),
)


def format_scores(table) -> str:
    """Per scenario, the median over interior cells (all seeds) of the KL decomposition
    (nats: ``KL = I(X;Y) + TC + dim-KL``), the matched MI (nats), MIG and DCI's D, C, I.

    Divergent cells are left out: their KL grows without bound with the run length.
    """
    lines = [
        "scores: median over interior cells (KL = I(X;Y) + TC + dim-KL, nats; matched MI, "
        "nats; MIG, DCI in [0, 1])"
    ]
    head = f"{'config':<8}{'scen':>5}{'cells':>7}" + "".join(f"{lab:>9}" for _, lab in _SCORES)
    lines.append(head)
    for (config, num), g in table.groupby(["config", "scenario"], sort=False):
        inner = g[g.regime == "interior"]
        vals = "".join(
            f"{_fmt(float(inner[col].median()) if len(inner) else None, 3):>9}"
            for col, _ in _SCORES
        )
        lines.append(f"{config:<8}{num:>5}{len(inner):>7}{vals}")
    return "\n".join(lines) + "\n"
