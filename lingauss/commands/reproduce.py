"""``lingauss reproduce``: the published success-rate tables, over seeds, beside the published
numbers (see :mod:`lingauss.protocol`).

``--metrics all`` adds the success rates of MIG and DCI (and per-scenario medians of the KL
decomposition, matched MI, MIG and DCI scores); ``--plots DIR`` writes PNG figures;
``--neural`` trains learned encoders on the same grid and prints their rates beside BA's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

from .arguments import float_list, metric_list, progress_bar

#: Seeds used when ``--seeds`` is not given: enough to show a spread, quick enough to run
#: all four configurations in well under a minute.
DEFAULT_SEEDS = 2


def register(subparsers) -> None:
    from ..scenarios import CONFIGS

    p = subparsers.add_parser(
        "reproduce",
        help="reproduce the published I_m / SAP success-rate tables",
        description=(
            "Run the 5x5 (gamma, lambda) grid for each scenario of the chosen configurations "
            "over several seeds, and print the success rates of I_m and SAP (mean, sd, "
            "[min, max], 95%% interval across seeds) beside the published numbers, with counts "
            "of degenerate cells (collapsed, divergent, unconverged, ties). --metrics all adds "
            "MIG and DCI (computed on the true joint covariance of (X, V))."
        ),
    )
    p.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    p.add_argument("--protocol", choices=["notebook", "exact"], default="notebook")
    p.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"number of seeds (default {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=-1,
        help="worker processes for the solver (default -1: one per usable core; results "
        "do not depend on it)",
    )
    p.add_argument("--out", type=Path, help="write cells.csv, summary.csv, published.csv here")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument(
        "--init",
        choices=["authors", "exchangeable"],
        default=None,
        help="override the protocol's initial-encoder law",
    )
    p.add_argument(
        "--preset",
        choices=["rounded", "analytic", "resampled"],
        default=None,
        help="override the protocol's Sigma_V ('resampled': redrawn per seed as the authors' "
        "runs did, a rounded sample covariance of 1e7 draws)",
    )
    p.add_argument(
        "--gammas",
        type=float_list,
        default=None,
        help="comma-separated gamma grid for a quick look (default: the published 5 values)",
    )
    p.add_argument(
        "--lambdas",
        type=float_list,
        default=None,
        help="comma-separated lambda grid (default: the published 5 values)",
    )
    p.add_argument(
        "--metrics",
        type=metric_list,
        default=("I_m", "SAP"),
        metavar="LIST",
        help="comma-separated metrics to report among I_m, SAP, MIG, DCI, or 'all' "
        "(default: I_m,SAP); --out's cells.csv always has every metric's columns",
    )
    p.add_argument("--plots", type=Path, metavar="DIR", help="write PNG figures here")
    p.add_argument(
        "--neural",
        action="store_true",
        help="also train learned encoders (needs torch) and print their I_m / SAP rates "
        "beside the analytic ones",
    )
    p.add_argument(
        "--model",
        choices=["linear", "mlp"],
        default="linear",
        help="learned model for --neural (default linear)",
    )
    p.add_argument(
        "--train-steps",
        type=int,
        default=None,
        metavar="N",
        help="at most N training steps per model for --neural (default: TrainingConfig's)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..protocol import (
        GAMMAS,
        LAMBDAS,
        PROTOCOLS,
        compare_published,
        config_scenarios,
        get_protocol,
        success_table,
        summarize,
    )

    if args.seeds < 1:
        raise ValueError(f"--seeds: need at least 1, got {args.seeds}")
    if args.train_steps is not None and args.train_steps < 1:
        raise ValueError(f"--train-steps: need at least 1, got {args.train_steps}")
    prot = get_protocol(args.protocol)
    if args.init is not None:
        prot = prot.replace(init=args.init)
    if args.preset is not None:
        prot = prot.replace(preset=args.preset)
    metrics = tuple(args.metrics)
    gammas = GAMMAS if args.gammas is None else args.gammas
    lambdas = LAMBDAS if args.lambdas is None else args.lambdas
    cells = len(gammas) * len(lambdas)
    if args.neural:
        return _run_neural(args, prot, gammas, lambdas, cells)
    groups = config_scenarios(args.config, prot.preset)
    total = sum(args.seeds * len(scs) * cells * prot.runs_per_cell(scs[0]) for _, scs in groups)
    bar = progress_bar(total, disable=args.json or args.no_progress or not sys.stderr.isatty())
    try:
        # the extra metrics cost well under a second for the whole default table
        table = success_table(
            args.config,
            prot,
            args.seeds,
            gammas=gammas,
            lambdas=lambdas,
            progress=bar.update,
            metrics="all",
            n_jobs=args.jobs,
        )
    finally:
        bar.close()
    summary = summarize(table)
    shown = summary[summary.metric.isin(metrics)].reset_index(drop=True)
    if args.out is not None:
        _write_outputs(args.out, table, shown, compare_published(shown))
    if args.plots is not None:
        from ..plots import write_reproduce_plots

        for path in write_reproduce_plots(_only_metrics(table, metrics), args.plots):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        payload = json_payload(prot.name, args.seeds, shown, cells)
        payload.update(preset=prot.preset, init=prot.init, metrics=list(metrics))
        print(json.dumps(payload))
    else:
        label = prot.name
        base = PROTOCOLS[prot.name]
        changed = [
            f"{k}={getattr(prot, k)}"
            for k in ("preset", "init")
            if getattr(prot, k) != getattr(base, k)
        ]
        if changed:
            label += " (" + ", ".join(changed) + ")"
        print(format_report(shown, label, args.seeds, cells))
        if any(mt in metrics for mt in ("MIG", "DCI")):
            print(format_scores(table))
        if args.out is not None:
            print(f"wrote {args.out}/cells.csv, summary.csv, published.csv")
    return 0


def _only_metrics(table, metrics):
    """The table without the success columns of metrics not asked for (for the plots)."""
    from ..protocol import ALL_METRICS, METRIC_PREFIX

    drop = [
        f"{METRIC_PREFIX[mt]}_{suffix}"
        for mt in ALL_METRICS
        if mt not in metrics
        for suffix in ("success", "counted")
    ]
    return table.drop(columns=[c for c in drop if c in table.columns])


def _run_neural(args, prot, gammas, lambdas, cells) -> int:
    """``--neural``: learned encoders beside BA (:func:`neural.tables.reproduce_neural`)."""
    from neural.config import TrainingConfig
    from neural.tables import format_side_by_side, reproduce_neural

    show = not (args.json or args.no_progress or not sys.stderr.isatty())
    training = TrainingConfig(progress=show)
    if args.train_steps is not None:
        training = training.replace(max_steps=args.train_steps)
    analytic, neural_cells, summary = reproduce_neural(
        args.config,
        prot,
        args.seeds,
        model=args.model,
        training=training,
        gammas=gammas,
        lambdas=lambdas,
    )
    if args.out is not None:
        from ..protocol import compare_published, summarize

        a_sum = summarize(analytic.drop(columns=["path"]))
        _write_outputs(args.out, analytic, a_sum, compare_published(a_sum))
        _write_csv(args.out, "neural_cells.csv", neural_cells)
        _write_csv(args.out, "side_by_side.csv", summary)
    if args.plots is not None:
        from ..plots import write_reproduce_plots

        for path in write_reproduce_plots(analytic.drop(columns=["path"]), args.plots):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        rows = [
            {k: _json_value(v) for k, v in r.items()} for r in summary.to_dict(orient="records")
        ]
        payload = {
            "protocol": prot.name,
            "seeds": int(args.seeds),
            "neural": True,
            "model": args.model,
            "rows": rows,
        }
        if cells != 25:
            payload["cells"] = int(cells)
        print(json.dumps(payload))
    else:
        print(
            f"analytic (Blahut-Arimoto) and neural ({args.model}) success rates (%), "
            f"{prot.name} protocol, {args.seeds} seed(s), {cells} cells per scenario"
        )
        print(format_side_by_side(summary))
        if args.out is not None:
            print(f"wrote {args.out}/cells.csv, summary.csv, published.csv, neural_cells.csv, "
                  "side_by_side.csv")  # fmt: skip
    return 0


def _json_value(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


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


def _write_outputs(out: Path, table, summary, published) -> None:
    for name, df in (("cells.csv", table), ("summary.csv", summary), ("published.csv", published)):
        _write_csv(out, name, df)


def _write_csv(out: Path, name: str, df) -> None:
    """Write ``df`` to ``out/name`` through a temporary file (never half-written)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            df.to_csv(fh, index=False)
        os.replace(tmp, out / name)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
