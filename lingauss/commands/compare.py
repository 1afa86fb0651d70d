"""``lingauss compare``: the Blahut–Arimoto optimum of one cell beside a learned encoder.

Loads :mod:`neural` (and torch) only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from .arguments import add_cell_arguments, add_command, add_output_arguments


def register(subparsers) -> None:
    from ..scenarios import CONFIGS

    p = add_command(
        subparsers,
        "compare",
        run,
        help="analytic optimum vs a learned (torch) encoder for one (gamma, lambda) cell",
        description="""Solve one cell of a published scenario by Blahut-Arimoto and train the
        linear-Gaussian VAE (or the MLP variant) on samples of the same scenario; print the
        closed-form loss of the learned parameters beside the analytic optimum,
        rotation-invariant quantities, principal angles between the encoders' row spaces,
        Procrustes-aligned differences and the I_m / SAP groupings. Ill-posed cells (gamma > 1,
        or a divergent run at gamma = 1) are solved under the same variance floor on both paths
        and reported as constrained.""",
    )
    add_cell_arguments(p, CONFIGS, weights_required=False)
    p.add_argument("--seed", type=int, default=0, help="seed of BA's start and of training")
    p.add_argument("--preset", choices=["analytic", "rounded"], default="analytic")
    p.add_argument("--model", choices=["linear", "mlp"], default="linear")
    p.add_argument(
        "--objective",
        default="mc",
        help="mc: the gamma-lambda Monte Carlo loss (default); closed_form: its exact loss "
        "(linear model only); or a seed objective (beta-vae, beta-tcvae, factor-vae, "
        "dip-vae-i, dip-vae-ii, gamma-lambda): its exact optimum beside the linear VAE trained "
        "with it (weights from --weight)",
    )
    p.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="K=V",
        help="a weight of --objective NAME (repeatable), e.g. --weight beta=6",
    )
    p.add_argument(
        "--estimator", choices=["mss", "mws"], default="mss", help="beta-tcvae's estimator"
    )
    p.add_argument("--steps", type=int, default=None, help="maximum training steps")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--ksg", action="store_true", help="also score the learned encoder with KSG")
    add_output_arguments(p, "print one JSON object")
    p.set_defaults(_parser=p)


def run(args: argparse.Namespace) -> int:
    if args.objective not in ("mc", "closed_form"):
        from .objective_compare import run_objective  # the seed objectives (issue 12)

        return run_objective(args)
    missing = [f"--{k}" for k in ("gamma", "lam") if getattr(args, k) is None]
    if missing:
        args._parser.error(f"the following arguments are required: {', '.join(missing)}")
    if args.weight:
        raise ValueError("weight: --weight needs --objective NAME (a seed objective)")
    from neural.compare import compare  # torch is imported here, for this command only
    from neural.config import TrainingConfig

    changes = dict(objective=args.objective, device=args.device, progress=not args.no_progress)
    if args.steps is not None:
        changes["max_steps"] = args.steps
    training = TrainingConfig(**changes)
    result = compare(
        args.config,
        args.gamma,
        args.lam,
        number=args.scenario,
        preset=args.preset,
        seed=args.seed,
        model=args.model,
        training=training,
        ksg=args.ksg,
    )
    if args.json:
        print(result.to_json())
        return 0
    s = result.summary
    out = sys.stdout
    print(
        f"{s['config']} scenario {s['scenario']} ({s['preset']}), gamma={s['gamma']}, "
        f"lam={s['lam']}, seed={s['seed']}, model={s['model']}, device={s['device']}",
        file=out,
    )
    print(
        f"regime: {s['regime']}; constrained: {s['constrained']}"
        + (
            f" (floors Sigma_W >= {s['floor_w']:.3g} I, Sigma_Z >= {s['floor_z']:.3g})"
            if s["constrained"]
            else ""
        ),
        file=out,
    )
    angle = s["max_principal_angle_deg"]
    print(
        f"analytic loss {s['analytic_loss']:.8f}  learned loss {s['learned_loss']:.8f}  "
        f"gap {s['loss_gap']:.3g}  max principal angle "
        + (
            f"{angle:.3g} deg"
            if angle is not None
            else "n/a (collapsed)"
            if not s.get("informative_dim")
            else "n/a (non-linear model)"
        ),
        file=out,
    )
    print(
        f"training: {s['train_steps']} steps, stopped by {s['train_stop_reason']}, "
        f"{s['train_wall_time_s']:.1f} s",
        file=out,
    )
    wide = result.wide()
    with _pandas_display():
        print(wide.to_string(index=False, float_format=lambda v: f"{v:.6g}"), file=out)
    groupings = {k: v for k, v in s.items() if "_grouping_" in k}
    print(json.dumps(groupings, indent=1, sort_keys=True), file=out)
    return 0


def _pandas_display():
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_columns", 20)
