"""``lingauss hypothesis``: test the slides' claim (I_m beats SAP iff G < m) on a configuration."""

from __future__ import annotations

import argparse
import json
import math
import sys


def register(subparsers) -> None:
    from ..slides_hypothesis import HYPOTHESIS_CONFIGS

    p = subparsers.add_parser(
        "hypothesis",
        help="test the slides' hypothesis (I_m beats SAP when G < m) on a configuration",
        description=(
            "Measure the I_m and SAP success rates per scenario over seeds, pair them seed by "
            "seed, and compare the sign of the difference with the slides' prediction."
        ),
    )
    p.add_argument("--config", choices=[*HYPOTHESIS_CONFIGS, "all"], default="4-5-4")
    p.add_argument("--protocol", choices=["notebook", "exact"], default="notebook")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..slides_hypothesis import hypothesis_test
    from .reproduce import _progress

    if args.seeds < 1:
        raise ValueError(f"--seeds: need at least 1, got {args.seeds}")
    bar = _progress(None, disable=args.json or args.no_progress or not sys.stderr.isatty())
    try:
        df = hypothesis_test(args.config, args.protocol, args.seeds, progress=bar.update)
    finally:
        bar.close()
    if args.json:
        rows = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict(orient="records")
        ]
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
