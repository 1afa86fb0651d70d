"""``lingauss objective``: the exact optimum of one of the seeds' objectives on one scenario."""

from __future__ import annotations

import argparse
import json

from .arguments import parse_named_values


def register(subparsers) -> None:
    from ..scenarios import CONFIGS

    p = subparsers.add_parser(
        "objective",
        help="exact optimum of beta-vae, beta-tcvae, factor-vae, dip-vae-i/ii or gamma-lambda",
        description=(
            "Solve the exact optimum of an objective (decoder profiled out, encoder by "
            "L-BFGS + Newton polish from seeded restarts) on one published scenario, and "
            "print its loss, every exact term, the parameters, the gradient norm, the regime "
            "and the certificate."
        ),
    )
    p.add_argument("--config", choices=list(CONFIGS), required=True)
    p.add_argument("--scenario", type=int, choices=[1, 2, 3], required=True)
    p.add_argument(
        "--objective",
        required=True,
        help="beta-vae, beta-tcvae, factor-vae, dip-vae-i, dip-vae-ii or gamma-lambda",
    )
    p.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an objective weight, e.g. --weight beta=6 (repeatable; others take defaults)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--restarts", type=int, default=8)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..objectives import check_objective, optimize_objective
    from ..scenarios import scenario

    if args.seed < 0:
        raise ValueError(f"--seed: must be >= 0, got {args.seed}")
    if args.restarts < 1:
        raise ValueError(f"--restarts: must be >= 1, got {args.restarts}")
    name, weights = check_objective(args.objective, parse_named_values(args.weight, "--weight"))
    sc = scenario(args.config, args.scenario)
    sol = optimize_objective(
        name, weights, sc.Sigma_Y, sc.m, seed=args.seed, restarts=args.restarts
    )
    out = {"config": args.config, "scenario": args.scenario, "seed": args.seed, **sol.as_dict()}
    if args.json:
        print(json.dumps(out))
        return 0
    w = ", ".join(f"{k}={v:g}" for k, v in weights.items())
    print(f"{name} ({w}) on {args.config} scenario {args.scenario}, seed {args.seed}")
    print(f"  regime          {sol.regime}")
    print(f"  loss            {sol.loss:.12g} nats per data point")
    for k, v in sol.terms.as_dict().items():
        print(f"  {k:<15} {float(v):.12g}")
    g, gs = sol.gradient_norm, sol.gradient_norm_standardized
    print(f"  gradient norm   {g:.3g} (standardised coordinates {gs:.3g})")
    print(f"  restarts        {len(sol.restart_losses)}, {len(sol.tied)} reached the minimum")
    c = sol.certificate
    print(
        f"  certificate     {'passed' if c.passed else 'FAILED'}: min loss change "
        f"{c.min_random_change:.3g} over {c.n_directions} random directions, "
        f"{c.min_rotation_change:.3g} over latent rotations"
    )
    return 0
