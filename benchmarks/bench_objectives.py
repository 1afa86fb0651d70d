"""The seeds' objectives, exact: optimiser against a reference, and the factor-recovery table.

Part 1, per objective on one scenario: :func:`lingauss.objectives.optimize_objective` (decoder
profiled out, analytic gradient, L-BFGS + Newton polish) against the independent reference
:func:`lingauss.objectives.reference_optimum` (BFGS with finite-difference gradients on all of
``(A, Σ_Z, B, Σ_W)``, losses from ``objective_loss``) in the same run: CPU time (process time:
the machine is shared), best loss,
and ``exact − reference`` (≤ 0 up to rounding means the exact optimiser is never worse).

Part 2: :func:`lingauss.objectives.objective_success_table` on the chosen configurations with
the default weight grid, beside the project's exact-protocol γλ results
(:func:`lingauss.objectives.gamma_lambda_protocol_rows`), summarised per objective
(:func:`lingauss.objectives.summarize_objective_success`). ``--out`` writes the tidy table.

Run::

    .venv/bin/python benchmarks/bench_objectives.py                     # 3-4-3, ~1 min
    .venv/bin/python benchmarks/bench_objectives.py --configs all --out objectives.csv
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pandas as pd

from lingauss.objectives import (
    gamma_lambda_protocol_rows,
    objective_success_table,
    optimize_objective,
    reference_optimum,
    summarize_objective_success,
)
from lingauss.scenarios import CONFIGS, scenario

PART1 = (
    ("beta-vae", {"beta": 1.02}),
    ("beta-tcvae", {"alpha": 1.02, "beta": 6.0}),
    ("factor-vae", {"gamma": 10.0}),
    ("dip-vae-ii", {"lambda_od": 10.0, "lambda_d": 10.0}),
    ("gamma-lambda", {"gamma": 0.99, "lam": 0.01}),
)


def _markdown(df: pd.DataFrame) -> str:
    """A Markdown table (no tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def part1(config: str, number: int, restarts: int, ref_restarts: int) -> pd.DataFrame:
    sc = scenario(config, number)
    rows = []
    for name, w in PART1:
        t0 = time.process_time()
        sol = optimize_objective(name, w, sc.Sigma_Y, sc.m, seed=0, restarts=restarts)
        t1 = time.process_time()
        ref, _ = reference_optimum(name, w, sc.Sigma_Y, sc.m, seed=1, restarts=ref_restarts)
        t2 = time.process_time()
        rows.append(
            {
                "objective": name,
                "weights": ",".join(f"{k}={v:g}" for k, v in sol.weights.items()),
                "regime": sol.regime,
                "exact_cpu_s": round(t1 - t0, 2),
                "reference_cpu_s": round(t2 - t1, 2),
                "exact_loss": f"{sol.loss:.12f}",
                "reference_loss": f"{ref:.12f}",
                "exact_minus_ref": f"{sol.loss - ref:.2e}",
                "grad_norm": f"{sol.gradient_norm:.1e}",
                "certified": sol.certificate.passed,
            }
        )
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="3-4-3", help="comma-separated, or 'all'")
    ap.add_argument(
        "--scenario", type=int, default=2, help="part 1's scenario (of the first config)"
    )
    ap.add_argument("--restarts", type=int, default=6)
    ap.add_argument("--ref-restarts", type=int, default=3)
    ap.add_argument("--skip-part1", action="store_true")
    ap.add_argument("--out", default=None, help="write the tidy table (CSV) here")
    args = ap.parse_args(argv)
    configs = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    if not args.skip_part1:
        print(f"## Exact optimiser vs reference ({configs[0]} scenario {args.scenario})\n")
        print(_markdown(part1(configs[0], args.scenario, args.restarts, args.ref_restarts)))
        print()
    t0 = time.process_time()
    exact = objective_success_table(configs=configs, restarts=args.restarts)
    t1 = time.process_time()
    ba = gamma_lambda_protocol_rows(configs)
    t2 = time.process_time()
    table = pd.concat([exact, ba], ignore_index=True)
    print(
        f"## Factor recovery, {', '.join(configs)} (exact optima {t1 - t0:.1f} s CPU, "
        f"BA exact protocol {t2 - t1:.1f} s CPU)\n"
    )
    summary = summarize_objective_success(table)
    summary["success_share"] = summary["success_share"].round(1)
    summary["success_best"] = summary["success_best"].round(1)
    print(_markdown(summary))
    if args.out:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.out)) or ".")
        os.close(fd)
        try:
            table.to_csv(tmp, index=False)
            os.replace(tmp, args.out)
        except BaseException:
            os.unlink(tmp)
            raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
