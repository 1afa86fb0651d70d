"""The full notebook-protocol table for one configuration and one seed: batched vs a loop.

The batched side is :func:`lingauss.protocol.success_table` itself (3 scenarios × 25 cells ×
6 runs of up to 10 000 half-steps for s3, × 2 runs for s5, advancing together in
``blahut_arimoto_batch``; metrics vectorised over the cells), timed end to end in one process
and in ``--jobs`` processes (its default ``n_jobs="auto"`` picks one per core for these
tables on a multi-core machine), and the BA part alone (the same stacked runs in one
``blahut_arimoto_batch`` call, keeping the regime records only, as the table does). The
baseline is a plain Python loop over :func:`lingauss.blahut_arimoto`, one run at a time with
the same initial encoders and options; it is timed on ``--loop-runs`` runs spread evenly over the
table's runs and extrapolated to all of them (mean per-run time × number of runs). The last
column checks that the loop reproduces the batch's final encoders on the runs it did (same
arithmetic: rounding-level differences only).

Run::

    .venv/bin/python benchmarks/bench_protocol.py                  # 3-4-3, well under a minute
    .venv/bin/python benchmarks/bench_protocol.py --config all --loop-runs 24 --repeat 3
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from lingauss.blahut_arimoto import (
    blahut_arimoto,
    blahut_arimoto_batch,
    random_encoder,
)
from lingauss.protocol import (
    GAMMAS,
    LAMBDAS,
    PROTOCOLS,
    cell_key,
    config_scenarios,
    success_table,
)
from lingauss.protocol.seeding import scenario_number
from lingauss.scenarios import CONFIGS
from lingauss.solver.parallel import resolve_jobs

PROT = PROTOCOLS["notebook"]
BA_OPTS = dict(
    max_half_steps=PROT.max_half_steps, stop_rule=PROT.stop_rule, history_every=PROT.history_every
)


def table_runs(config: str, seed: int):
    """Every BA run of the table, in table order: stacked Sigma_Y, gamma, lam, B0, Sw0."""
    ((_, scs),) = config_scenarios(config, PROT.preset)
    Sy, g, lm, B0, Sw0 = [], [], [], [], []
    for k, sc in enumerate(scs):
        R = PROT.runs_per_cell(sc)
        for gamma in GAMMAS:
            for lam in LAMBDAS:
                key = cell_key(config, scenario_number(sc, k), gamma, lam)
                b, w = random_encoder(
                    sc.m, sc.n, np.random.default_rng([seed, key]), size=R, method=PROT.init
                )
                Sy += [sc.Sigma_Y] * R
                g += [gamma] * R
                lm += [lam] * R
                B0.append(b)
                Sw0.append(w)
    return (
        scs[0].m,
        np.stack(Sy),
        np.array(g),
        np.array(lm),
        np.concatenate(B0),
        np.concatenate(Sw0),
    )


def _best(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench(config: str, seed: int, loop_runs: int, repeat: int, jobs: int) -> dict:
    m, Sy, g, lm, B0, Sw0 = table_runs(config, seed)
    P = len(g)
    t_table, table = _best(lambda: success_table(config, PROT, [seed], n_jobs=1), repeat)
    t_par, table_par = _best(lambda: success_table(config, PROT, [seed], n_jobs=jobs), repeat)
    same = table.equals(table_par)
    t_ba, batch = _best(
        lambda: blahut_arimoto_batch(Sy, m, g, lm, B0, Sw0, history="regime", **BA_OPTS), repeat
    )
    pick = np.unique(np.linspace(0, P - 1, max(1, min(loop_runs, P))).round().astype(int))
    t0 = time.perf_counter()
    loop_B = [
        blahut_arimoto(Sy[i], m, g[i], lm[i], init=(B0[i], Sw0[i]), **BA_OPTS).B for i in pick
    ]
    t_loop = time.perf_counter() - t0
    diff = max(float(np.max(np.abs(b - batch.B[i]))) for b, i in zip(loop_B, pick))
    scale = float(np.max(np.abs(batch.B[pick])))
    per_run = t_loop / len(pick)
    return {
        "config": config,
        "runs": P,
        "auto_jobs": resolve_jobs("auto", P, PROT.max_half_steps),
        "cells": len(table),
        "half_steps": int(batch.half_steps.sum()),
        "table_s": t_table,
        "table_par_s": t_par,
        "same": same,
        "ba_s": t_ba,
        "loop_runs": len(pick),
        "loop_s": t_loop,
        "loop_total_s": per_run * P,
        "speedup": per_run * P / t_table,
        "max_dB_rel": diff / scale,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="3-4-3", choices=[*CONFIGS, "all"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loop-runs", type=int, default=12, help="runs timed in the plain loop")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many (batched side)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the parallel run")
    args = ap.parse_args(argv)
    configs = list(CONFIGS) if args.config == "all" else [args.config]
    # warm-up: imports, caches of the metric enumerations
    success_table(configs[0], PROT.replace(max_half_steps=10), [0], gammas=[1.0], lambdas=[0.0])
    rows = [bench(c, args.seed, args.loop_runs, args.repeat, args.jobs) for c in configs]
    print(f"# notebook protocol, one seed ({platform.processor() or platform.machine()})\n")
    print(
        "| config | BA runs | half-steps done | table, batched, 1 process (s) | "
        f"table, {args.jobs} processes (s) | same table | of which BA, 1 process (s) | "
        "loop: runs timed | loop: time (s) | loop: all runs, extrapolated (s) | speed-up | "
        "max rel. ΔB loop vs batch |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['config']} | {r['runs']} | {r['half_steps']} | {r['table_s']:.2f} | "
            f"{r['table_par_s']:.2f} | {r['same']} | {r['ba_s']:.2f} | {r['loop_runs']} | "
            f"{r['loop_s']:.2f} | "
            f"{r['loop_total_s']:.1f} | {r['speedup']:.0f}x | {r['max_dB_rel']:.1e} |"
        )
    auto = sorted({r["auto_jobs"] for r in rows})
    print(
        "\nThe loop is timed on runs spread evenly over the table and extrapolated "
        "(mean per-run time × runs); the speed-up is against the 1-process table. "
        f"success_table's default n_jobs='auto' runs these tables in {auto} process(es) here. "
        "Target: the table under 2 s on 2 cores."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
