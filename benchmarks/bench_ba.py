"""Blahut–Arimoto throughput: batched ``blahut_arimoto_batch`` vs a per-run loop.

For each data/latent size (n, m) and batch size P, the same P problems (one Σ_Y, a grid of
γ, λ, independent random encoders) run a fixed budget of half-steps (``stop_rule="none"``,
so both sides do exactly the same work), once as one stacked batch and once as a Python loop
over :func:`lingauss.blahut_arimoto`. Reported: half-steps per second (P × budget / wall time,
best of ``--repeat``), the speed-up, and the largest difference between the two final
encoders (they run the same arithmetic, so it should be at rounding level).

Run::

    .venv/bin/python benchmarks/bench_ba.py                 # small defaults, ~30 s on 2 cores
    .venv/bin/python benchmarks/bench_ba.py --sizes 1,10,100,1000 --dims 4x3,5x4,10x5 \\
        --half-steps 500 --repeat 3
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from lingauss.blahut_arimoto import blahut_arimoto, blahut_arimoto_batch, random_encoder


def _problem(n: int, m: int, P: int, seed: int):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Sigma_Y = (q * np.exp(rng.uniform(-1, 1, n))) @ q.T
    Sigma_Y = 0.5 * (Sigma_Y + Sigma_Y.T)
    # γ < 1 with λ >= 0 keeps every run finite for the whole budget (no drift)
    gamma = rng.uniform(0.95, 0.999, P)
    lam = rng.uniform(0.0, 0.02, P)
    B0, Sw0 = random_encoder(m, n, rng, size=P, method="exchangeable")
    return Sigma_Y, gamma, lam, B0, Sw0


def _time(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(sizes, dims, half_steps: int, repeat: int, seed: int = 0) -> list[dict]:
    rows = []
    # warm-up: first calls pay for imports and allocator growth
    Sy, g, lam, B0, Sw0 = _problem(4, 3, 4, seed)
    blahut_arimoto_batch(Sy, 3, g, lam, B0, Sw0, max_half_steps=20, stop_rule="none")
    for n, m in dims:
        for P in sizes:
            Sy, g, lam, B0, Sw0 = _problem(n, m, P, seed)
            opts = dict(max_half_steps=half_steps, stop_rule="none", history_every=half_steps)

            def batched(Sy=Sy, g=g, lam=lam, B0=B0, Sw0=Sw0, m=m, opts=opts):
                return blahut_arimoto_batch(Sy, m, g, lam, B0, Sw0, **opts)

            def loop(Sy=Sy, g=g, lam=lam, B0=B0, Sw0=Sw0, m=m, P=P, opts=opts):
                return [
                    blahut_arimoto(Sy, m, g[p], lam[p], init=(B0[p], Sw0[p]), **opts)
                    for p in range(P)
                ]

            tb, rb = _time(batched, repeat)
            tl, rl = _time(loop, repeat)
            diff = max(float(np.max(np.abs(rb.B[p] - rl[p].B))) for p in range(P))
            work = P * half_steps
            rows.append(
                dict(
                    n=n,
                    m=m,
                    P=P,
                    half_steps=half_steps,
                    batched_hs_per_s=work / tb,
                    loop_hs_per_s=work / tl,
                    speedup=tl / tb,
                    max_abs_diff_B=diff,
                )
            )
    return rows


def _table(rows: list[dict]) -> str:
    head = (
        "| n | m | P (batch) | half-steps/run | batched half-steps/s | loop half-steps/s "
        "| speed-up | max abs diff B |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['m']} | {r['P']} | {r['half_steps']} | "
            f"{r['batched_hs_per_s']:,.0f} | {r['loop_hs_per_s']:,.0f} | "
            f"{r['speedup']:.1f}x | {r['max_abs_diff_B']:.1e} |"
        )
    return "\n".join(lines)


def _pairs(text: str) -> list[tuple[int, int]]:
    out = []
    for tok in text.split(","):
        n, m = tok.lower().split("x")
        out.append((int(n), int(m)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,16,128", help="batch sizes P (comma separated)")
    ap.add_argument("--dims", default="4x3,5x4,10x5", help="n x m pairs (comma separated)")
    ap.add_argument("--half-steps", type=int, default=200, help="half-steps per run")
    ap.add_argument("--repeat", type=int, default=2, help="timing repeats (best is kept)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = run(sizes, _pairs(args.dims), args.half_steps, args.repeat, args.seed)
    print("## BA throughput: batched vs per-run loop\n")
    print(
        f"numpy {np.__version__}, Python {platform.python_version()}; stop_rule='none', "
        f"best of {args.repeat}; command: python benchmarks/bench_ba.py --sizes {args.sizes} "
        f"--dims {args.dims} --half-steps {args.half_steps} --repeat {args.repeat}\n"
    )
    print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
