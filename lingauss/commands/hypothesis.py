"""``lingauss hypothesis``: test the slides' claim (I_m beats SAP iff G < m) on a configuration;
with ``--metrics``, rank every grouping metric (I_m, SAP, MIG, DCI) by how often its grouping
matches the truth (:func:`lingauss.slides_hypothesis.metric_agreement`)."""

from __future__ import annotations

import argparse
import json
import math

from .arguments import (
    add_command,
    add_grid_arguments,
    add_output_arguments,
    add_protocol_argument,
    add_seeds_argument,
    at_least,
    grid_options,
    json_value,
    metric_list,
    progress_bar,
    show_progress,
)


def register(subparsers) -> None:
    from ..slides_hypothesis import HYPOTHESIS_CONFIGS

    p = add_command(
        subparsers,
        "hypothesis",
        run,
        help="test the slides' hypothesis (I_m beats SAP when G < m) on a configuration",
        description="""Measure the I_m and SAP success rates per scenario over seeds, pair them
        seed by seed, and compare the sign of the difference with the slides' prediction. With
        --metrics all, rank I_m, SAP, MIG and DCI per scenario by how often their grouping
        matches the true one (on a common set of cells).""",
    )
    p.add_argument("--config", choices=[*HYPOTHESIS_CONFIGS, "all"], default="4-5-4")
    add_protocol_argument(p)
    add_seeds_argument(p, 3)
    p.add_argument(
        "--metrics",
        type=metric_list,
        default=None,
        metavar="LIST",
        help="rank these metrics (comma-separated among I_m, SAP, MIG, DCI, or 'all') "
        "instead of the I_m-versus-SAP test",
    )
    add_grid_arguments(p)
    add_output_arguments(p, "print one JSON object")


def run(args: argparse.Namespace) -> int:
    from ..slides_hypothesis import hypothesis_test

    at_least(args.seeds, "--seeds")
    grid = grid_options(args)
    if args.metrics is not None:
        return _run_agreement(args, grid)
    bar = progress_bar(None, disable=not show_progress(args))
    try:
        df = hypothesis_test(args.config, args.protocol, args.seeds, progress=bar.update, **grid)
    finally:
        bar.close()
    if args.json:
        rows = [{k: json_value(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
        print(json.dumps({"protocol": args.protocol, "seeds": args.seeds, "rows": rows}))
        return 0
    print(
        f"slides' hypothesis, {args.protocol} protocol, {args.seeds} seed(s): "
        "predicted winner I_m if G < m, else SAP"
    )
    print(
        f"{'config':<8}{'scen':>5}{'G':>3}{'m':>3}{'I_m %':>8}{'SAP %':>8}{'diff':>8}"
        f"{'95% interval':>18}  {'predicted':<10}{'observed':<9}verdict"
    )
    for r in df.itertuples(index=False):
        ci = "-" if math.isnan(r.low) else f"[{r.low:.1f}, {r.high:.1f}]"
        print(
            f"{r.config:<8}{r.scenario:>5}{r.G:>3}{r.m:>3}{r.im_rate:>8.1f}{r.sap_rate:>8.1f}"
            f"{r.difference:>8.1f}{ci:>18}  {r.predicted:<10}{r.observed:<9}{r.verdict}"
        )
    return 0


def _run_agreement(args, grid) -> int:
    from ..slides_hypothesis import (
        agreement_by_relation,
        agreement_ranking,
        format_agreement_markdown,
        metric_agreement,
    )

    bar = progress_bar(None, disable=not show_progress(args))
    try:
        df = metric_agreement(
            args.config,
            args.protocol,
            args.seeds,
            metrics=args.metrics,
            progress=bar.update,
            **grid,
        )
    finally:
        bar.close()
    ranking = agreement_ranking(df)
    if args.json:
        payload = {
            "protocol": args.protocol,
            "seeds": args.seeds,
            "metrics": list(args.metrics),
            "rows": [
                {k: json_value(v) for k, v in r.items()} for r in df.to_dict(orient="records")
            ],
            "ranking": [
                {k: json_value(v) for k, v in r.items()} for r in ranking.to_dict(orient="records")
            ],
        }
        print(json.dumps(payload))
        return 0
    print(
        f"which metric tracks the true grouping best, {args.protocol} protocol, "
        f"{args.seeds} seed(s): agreement rate (%) = cells where the metric's grouping equals "
        "the truth"
        + (" and is decided, among interior cells" if args.protocol == "exact" else ", all cells")
        + "; mean ± sd over seeds; bold = best (the leader, or not distinguishable from it by a "
        "paired 95% t interval)"
    )
    print(format_agreement_markdown(df))
    print(f"{'config':<8}{'scen':>5}{'G':>3}{'m':>3}  {'ranking':<44}slides' pick among best")
    for r in ranking.itertuples(index=False):
        print(
            f"{r.config:<8}{r.scenario:>5}{r.G:>3}{r.m:>3}  {r.order:<44}"
            f"{r.slides} {'yes' if r.slides_best else 'no'}"
        )
    print()
    print("pooled by G versus m (scenarios where the metric is among the best / has the top rate):")
    for r in agreement_by_relation(df).itertuples(index=False):
        print(
            f"  {r.relation}  {r.metric:<4} best in {r.n_best}/{r.n_scenarios}, top rate in "
            f"{r.n_top}, mean rate {r.mean_rate:.1f}"
        )
    return 0
