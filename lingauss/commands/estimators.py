"""``lingauss estimators``: minibatch TC estimators (MWS, MSS, discriminator) against the truth.

Loads :mod:`neural` (and torch) only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def _int_list(text: str) -> list[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not out or min(out) < 2:
        raise argparse.ArgumentTypeError(f"expected integers >= 2, got {text!r}")
    return out


def register(subparsers) -> None:
    from ..scenarios import CONFIGS

    p = subparsers.add_parser(
        "estimators",
        help="MWS / MSS / discriminator estimates of TC for a fixed encoder vs the exact values",
        description=(
            "For a fixed linear encoder on a published scenario, estimate E log q(z), "
            "E log prod_j q(z_j) and the total correlation by minibatch weighted sampling (MWS) "
            "and minibatch stratified sampling (MSS) over batch sizes M and data-set sizes N, "
            "and by FactorVAE's discriminator; print mean and sd over repeated minibatches "
            "beside the exact values (q(z) = N(0, C)) and the Bayes-optimal discriminator."
        ),
    )
    p.add_argument("--config", choices=list(CONFIGS), required=True)
    p.add_argument("--scenario", type=int, choices=[1, 2, 3], required=True)
    p.add_argument("--preset", choices=["analytic", "rounded"], default="analytic")
    p.add_argument("--seed", type=int, default=0, help="seeds the encoder, data and batches")
    p.add_argument(
        "--encoder",
        choices=["standardized", "ba"],
        default="standardized",
        help="standardized: a seeded mixing encoder with diag C = 1 and Sigma_W = noise*I "
        "(TC > 0; default); ba: the Blahut-Arimoto optimum of --gamma/--lam (C = I there)",
    )
    p.add_argument("--noise", type=float, default=0.1, help="standardized encoder's Sigma_W")
    p.add_argument("--gamma", type=float, default=1.0, help="BA cell (--encoder ba)")
    p.add_argument("--lam", type=float, default=0.0, help="BA cell (--encoder ba)")
    p.add_argument("--batch-sizes", type=_int_list, default=[64, 256, 1024, 4096])
    p.add_argument("--dataset-sizes", type=_int_list, default=[1000, 100000])
    p.add_argument("--repeats", type=int, default=5, help="minibatches per (N, M)")
    p.add_argument("--disc-steps", type=int, default=1000, help="discriminator Adam steps")
    p.add_argument("--no-discriminator", action="store_true", help="skip FactorVAE's D")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import lingauss as lg
    from neural.objective_estimators import estimator_table, standardized_encoder

    if args.repeats < 2:
        raise ValueError(f"repeats: expected an integer >= 2, got {args.repeats}")
    if args.disc_steps < 1:
        raise ValueError(f"disc-steps: expected a positive integer, got {args.disc_steps}")
    sc = lg.scenario(args.config, args.scenario, args.preset)
    if args.encoder == "standardized":
        B, Sigma_W = standardized_encoder(sc.Sigma_Y, sc.m, noise=args.noise, seed=args.seed)
        enc = {"encoder": "standardized", "noise": args.noise}
    else:
        sol = lg.blahut_arimoto(
            sc.Sigma_Y, sc.m, args.gamma, args.lam, seed=args.seed, init="exchangeable"
        )
        B, Sigma_W = sol.B, sol.Sigma_W
        enc = {"encoder": "ba", "gamma": args.gamma, "lam": args.lam, "regime": sol.regime}
    table = estimator_table(
        sc.Sigma_Y,
        B,
        Sigma_W,
        batch_sizes=args.batch_sizes,
        dataset_sizes=args.dataset_sizes,
        repeats=args.repeats,
        seed=args.seed,
        discriminator=not args.no_discriminator,
        disc_steps=args.disc_steps,
    )
    out = {
        "config": args.config,
        "scenario": args.scenario,
        "preset": args.preset,
        "seed": args.seed,
        **enc,
        **table.to_json_dict(),
    }
    if args.json:
        print(json.dumps(out, indent=1, default=_jsonable, allow_nan=False))
        return 0
    print(
        f"{args.config} scenario {args.scenario}, encoder {args.encoder}, seed {args.seed}: "
        f"exact TC = {table.exact['tc']:.6g} nats, E log q(z) = {table.exact['log_qz']:.6g}, "
        f"optimal D: E D*(z_real) = {table.optimal['d_real']:.4f}, "
        f"E D*(z_perm) = {table.optimal['d_perm']:.4f}",
        file=sys.stdout,
    )
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(
            table.rows.drop(columns=["se"]).to_string(
                index=False, float_format=lambda v: f"{v:.5g}"
            )
        )
    return 0


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item"):
        return x.item()
    raise TypeError(type(x).__name__)
