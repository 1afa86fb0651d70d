"""Neural path: time to train one full success table, and the learned-vs-analytic loss gap.

For a configuration, every scenario's 5 × 5 (γ, λ) grid × seeds is trained as one batched
model (:func:`neural.neural_success_table`, which also solves the reference BA optimum of each
cell, constrained where the cell is ill-posed). Reported:

* the device (CUDA when available unless ``--device`` says otherwise; the script states when no
  GPU is present rather than inventing a number), training wall time per scenario and for the
  table, steps run, and milliseconds per step;
* the baseline in the same run: the first ``--baseline-cells`` cells trained one at a time in a
  Python loop (same seeds, same configuration), per-cell time batched vs looped;
* per cell, the gap between the closed-form loss of the learned parameters and the analytic
  optimum (nats), with ``*`` marking constrained (ill-posed) cells, and the success rates of
  I_m and SAP on both paths.

    .venv/bin/python benchmarks/bench_neural.py                      # small defaults
    .venv/bin/python benchmarks/bench_neural.py --config 5-5-4 --seeds 3 --max-steps 6000
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

import lingauss as lg
from lingauss.protocol import GAMMAS, LAMBDAS, success_table
from neural.config import TrainingConfig
from neural.device import resolve_device
from neural.tables import format_side_by_side, neural_success_table, side_by_side
from neural.training import train_grid


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", default="3-4-3", choices=list(lg.CONFIGS))
    p.add_argument("--protocol", default="exact", choices=["exact", "notebook"])
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=1500)
    p.add_argument("--model", default="linear", choices=["linear", "mlp"])
    p.add_argument("--device", default="auto")
    p.add_argument("--baseline-cells", type=int, default=2)
    p.add_argument("--no-analytic-table", action="store_true", help="skip the BA success table")
    args = p.parse_args(argv)

    device = resolve_device(args.device)
    cfg = TrainingConfig(max_steps=args.max_steps, device=str(device), progress=False)
    print(f"torch {torch.__version__}, python {platform.python_version()}, {platform.machine()}")
    print(f"device requested: {device}")
    if not torch.cuda.is_available():
        print("CUDA: not available on this machine -- no GPU timing measured")
    print(
        f"config {args.config}, seeds {args.seeds}, model {args.model}, "
        f"max_steps {cfg.max_steps}, batch {cfg.batch_size}, lr {cfg.lr}\n"
    )

    t0 = time.perf_counter()
    neural = neural_success_table(
        args.config, args.protocol, args.seeds, model=args.model, training=cfg
    )
    total = time.perf_counter() - t0
    print(f"training device: {neural.device.iloc[0]}\n")
    per_sc = neural.groupby("scenario").agg(
        train_s=("train_wall_time_s", "first"), steps=("half_steps", "max")
    )
    G = len(GAMMAS) * len(LAMBDAS) * args.seeds
    print("| scenario | members G | training wall time (s) | steps | ms / step |")
    print("|---|---|---|---|---|")
    for k, r in per_sc.iterrows():
        print(f"| {k} | {G} | {r.train_s:.1f} | {r.steps} | {1e3 * r.train_s / r.steps:.1f} |")
    print(
        f"\nfull table (3 scenarios, incl. reference BA and metrics): {total:.1f} s; "
        f"training only: {per_sc.train_s.sum():.1f} s\n"
    )

    # baseline: the same cells one at a time
    sc = lg.scenario(args.config, 1)
    cells = [(g, lm) for g in GAMMAS for lm in LAMBDAS][: args.baseline_cells]
    t1 = time.perf_counter()
    looped_steps = 0
    for g, lm in cells:
        r = train_grid(sc, [g], [lm], seeds=list(range(args.seeds)), model=args.model, training=cfg)
        looped_steps += r.steps_run
    loop_s = time.perf_counter() - t1
    batched_ms = 1e3 * per_sc.train_s.iloc[0] / (per_sc.steps.iloc[0] * G)
    looped_ms = 1e3 * loop_s / (looped_steps * args.seeds)
    print(
        f"baseline (scenario 1, {len(cells)} cells trained one at a time, {looped_steps} steps "
        f"in all): {looped_ms:.3f} ms per member-step looped vs {batched_ms:.3f} ms batched "
        f"({looped_ms / batched_ms:.1f}x)\n"
    )

    print("loss gap (learned - analytic, nats; * = constrained cell), median over seeds:")
    for k, g in neural.groupby("scenario"):
        print(f"\nscenario {k}\n")
        print("| γ \\ λ | " + " | ".join(f"{lm:+.2f}" for lm in LAMBDAS) + " |")
        print("|---" * (len(LAMBDAS) + 1) + "|")
        for gam in GAMMAS:
            cells_txt = []
            for lm in LAMBDAS:
                sel = g[(g.gamma == gam) & (g.lam == lm)]
                star = "*" if sel.constrained.any() else ""
                cells_txt.append(f"{np.median(sel.loss_gap):.2e}{star}")
            print(f"| {gam:.2f} | " + " | ".join(cells_txt) + " |")
    unc = neural[~neural.constrained]
    con = neural[neural.constrained]
    print(
        f"\nwell-posed cells: median gap {unc.loss_gap.median():.2e}, max {unc.loss_gap.max():.2e}"
        f" ({len(unc)} members); constrained cells: median {con.loss_gap.median():.2e}, "
        f"max {con.loss_gap.max():.2e} ({len(con)} members)"
    )
    stops = neural.train_stop_reason.value_counts().to_dict()
    print(f"training stop reasons: {stops}\n")

    if not args.no_analytic_table:
        analytic = success_table(args.config, args.protocol, args.seeds)
        print(format_side_by_side(side_by_side(analytic, neural)))


if __name__ == "__main__":
    main()
