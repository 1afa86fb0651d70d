"""The λβ study's AdamW recipe at the protocol's size (25 cells × 50 initialisations = 1250
members per batch): milliseconds per batched step on a torch device against the CPU in the same
run, and the full study's training time extrapolated from the measured rate.

The loop is :func:`neural.lambda_beta.train_adamw` itself (analytic gradient, AdamW, per-member
clipping, best-iterate tracking); it has no host-device synchronisation per step, so on a GPU the
host queues kernels ahead of the device. Timing: a warm-up run of ``--warmup`` steps, then
``--steps`` steps timed with ``torch.cuda.synchronize()`` around them.

Run::

    python benchmarks/bench_study_cuda.py                      # device auto (cuda when present)
    python benchmarks/bench_study_cuda.py --device cpu --steps 5 --inits 2

Measured results are recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from lingauss.study import STUDY_BETAS, STUDY_LAMS, study_scenario
from neural.device import device_description, resolve_device
from neural.lambda_beta import STUDY_ADAMW, adamw_initial_parameters, train_adamw


def _time(sc, beta, lam, p0, recipe, steps, device, dtype, threads) -> float:
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    train_adamw(
        sc,
        beta,
        lam,
        p0,
        replace(recipe, steps=steps),
        device=device,
        dtype=dtype,
        threads=threads,
        record_every=steps,
    )
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return (time.perf_counter() - t0) / steps


def bench(n: int, inits: int, steps: int, warmup: int, device: str, cpu_steps: int, dtype: str):
    sc = study_scenario(n)
    p0 = adamw_initial_parameters(n, sc.m, inits, np.random.default_rng(0))
    cells = len(STUDY_BETAS) * len(STUDY_LAMS)
    p0 = tuple(np.tile(x, (cells, 1, 1)) for x in p0)
    bb, ll = (x.ravel() for x in np.meshgrid(STUDY_BETAS, STUDY_LAMS, indexing="ij"))
    beta, lam = np.repeat(bb, inits), np.repeat(ll, inits)
    rec = STUDY_ADAMW[n]
    rows = []
    for where, k, threads in ((device, steps, None), ("cpu", cpu_steps, None)):
        if k <= 0 or (where == "cpu" and device == "cpu" and rows):
            continue
        _time(
            sc, beta, lam, p0, rec, max(1, warmup if where != "cpu" else 1), where, dtype, threads
        )
        sec = _time(sc, beta, lam, p0, rec, k, where, dtype, threads)
        rows.append(
            {
                "n": n,
                "members": beta.size,
                "device": device_description(torch.device(where)),
                "dtype": dtype,
                "timed steps": k,
                "ms / batched step": 1e3 * sec,
                "study steps": rec.steps,
                "full training (s)": sec * rec.steps,
            }
        )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--inits", type=int, default=50)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--cpu-steps", type=int, default=3, help="CPU baseline steps (0: skip)")
    ap.add_argument("--n", type=int, nargs="+", default=[50, 100])
    args = ap.parse_args(argv)
    device = str(resolve_device(args.device))
    rows = []
    for n in args.n:
        rows += bench(n, args.inits, args.steps, args.warmup, device, args.cpu_steps, args.dtype)
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print(
            "| "
            + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values())
            + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
