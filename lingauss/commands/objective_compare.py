"""``lingauss compare --objective NAME``: a seed objective's exact optimum beside the learned one.

Called by :mod:`lingauss.commands.compare` when ``--objective`` names one of the seeds'
objectives (issue 12); loads :mod:`neural` (and torch) only here.
"""

from __future__ import annotations

import argparse
import json
import sys

from .arguments import parse_named_values


def run_objective(args: argparse.Namespace) -> int:
    from ..objectives import check_objective

    if args.gamma is not None or args.lam is not None:
        raise ValueError(
            "gamma, lam: with --objective NAME give the weights as --weight K=V "
            "(e.g. --objective gamma-lambda --weight gamma=0.99 --weight lam=0.01)"
        )
    name, weights = check_objective(args.objective, parse_named_values(args.weight, "--weight"))
    if args.model != "linear":
        raise ValueError(f"model: --objective {name} trains the linear model only")
    if args.device not in ("auto", "cpu"):
        raise ValueError(f"device: --objective {name} trains on the CPU (got {args.device!r})")
    if args.ksg:
        raise ValueError("ksg: not available with --objective NAME")
    from neural.objective_compare import compare_objective  # torch is imported here

    training = {} if args.steps is None else {"steps": args.steps}
    result = compare_objective(
        args.config,
        name,
        weights,
        number=args.scenario,
        preset=args.preset,
        seed=args.seed,
        estimator=args.estimator,
        **training,
    )
    if args.json:
        print(result.to_json())
        return 0
    s = result.summary
    out = sys.stdout
    print(
        f"{s['config']} scenario {s['scenario']} ({s['preset']}), objective {name} "
        f"{json.dumps(weights)}, estimator {s['estimator']}, seed {s['seed']}",
        file=out,
    )
    share = s["gap_share"]
    print(
        f"regime: {s['regime']}; exact loss {s['exact_loss']:.8f}  learned loss "
        f"{s['learned_loss']:.8f}  collapse loss {s['collapse_loss']:.8f}  gap share "
        + ("n/a (collapsed optimum)" if share is None else f"{share:.3%}"),
        file=out,
    )
    print(
        f"alignment (no rotation removed; rotation fixed by the objective: "
        f"{s['rotation_fixed']}): angles {s['alignment_angles_deg']} deg; informative "
        f"subspace max angle {s['subspace_max_angle_deg']} deg",
        file=out,
    )
    print(f"training: {s['train_steps']} steps, {s['train_wall_time_s']:.1f} s", file=out)
    import pandas as pd

    wide = result.table.pivot_table(
        index=["quantity", "component"], columns="path", values="value", aggfunc="first"
    ).reset_index()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(wide.to_string(index=False, float_format=lambda v: f"{v:.6g}"), file=out)
    return 0
