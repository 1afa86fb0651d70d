"""``lingauss reproduce``: the published success-rate tables, over seeds, beside the published
numbers (see :mod:`lingauss.protocol`).

``--metrics all`` adds the success rates of MIG and DCI (and per-scenario medians of the KL
decomposition, matched MI, MIG and DCI scores); ``--plots DIR`` writes PNG figures;
``--neural`` trains learned encoders on the same grid and prints their rates beside BA's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .arguments import (
    add_command,
    add_grid_arguments,
    add_protocol_argument,
    add_seeds_argument,
    at_least,
    atomic_write,
    json_value,
    metric_list,
    progress_bar,
    show_progress,
)
from .reproduce_report import format_report, format_scores, json_payload

#: Seeds used when ``--seeds`` is not given: enough to show a spread, quick enough to run
#: all four configurations in well under a minute.
DEFAULT_SEEDS = 2


def register(subparsers) -> None:
    from ..scenarios import CONFIGS

    p = add_command(
        subparsers,
        "reproduce",
        run,
        help="reproduce the published I_m / SAP success-rate tables",
        description="""Run the 5x5 (gamma, lambda) grid for each scenario of the chosen
        configurations over several seeds, and print the success rates of I_m and SAP (mean, sd,
        [min, max], 95% interval across seeds) beside the published numbers, with counts of
        degenerate cells (collapsed, divergent, unconverged, ties). --metrics all adds MIG and
        DCI (computed on the true joint covariance of (X, V)).""",
    )
    p.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    add_protocol_argument(p)
    add_seeds_argument(p, DEFAULT_SEEDS)
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
    add_grid_arguments(
        p,
        "comma-separated gamma grid for a quick look (default: the published 5 values)",
        "comma-separated lambda grid (default: the published 5 values)",
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

    at_least(args.seeds, "--seeds")
    if args.train_steps is not None:
        at_least(args.train_steps, "--train-steps")
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
    bar = progress_bar(total, disable=not show_progress(args))
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

    training = TrainingConfig(progress=show_progress(args))
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
        rows = [{k: json_value(v) for k, v in r.items()} for r in summary.to_dict(orient="records")]
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


def _write_outputs(out: Path, table, summary, published) -> None:
    for name, df in (("cells.csv", table), ("summary.csv", summary), ("published.csv", published)):
        _write_csv(out, name, df)


def _write_csv(out: Path, name: str, df) -> None:
    """Write ``df`` to ``out/name`` through a temporary file (never half-written)."""
    atomic_write(Path(out) / name, lambda path: df.to_csv(path, index=False))
