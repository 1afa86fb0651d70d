"""The λβ follow-up study: fixed-point and AdamW cost, each against a baseline in the same run.

Three tables (Markdown):

1. **Fixed point, per half-step.** The same ``25 × inits`` problems (all cells, the study's
   initial encoders) for ``--half-steps`` half-steps with ``stop_rule="none"``: the study's
   exact reduction to ``d = s + m = 15`` dimensions (:mod:`lingauss.study`) vs the lead's
   solver on the full ``n × n`` problem. Both run identical arithmetic up to the change of
   basis; the largest difference of the final encoders is reported.
2. **Whole fixed-point study.** Wall time of :func:`lingauss.study.fixed_point_study` for both
   ``n`` and both stop rules with ``--inits`` initialisations per cell (all 25 cells, the
   study's budgets of 50 000 / 100 000 half-steps), and the time extrapolated to the
   protocol's 50 initialisations (linear in the batch; ``--full`` measures it instead).
3. **AdamW.** Steps per second of the batched AdamW recipe (:mod:`neural.lambda_beta`, analytic
   gradient) vs the same step with an autograd gradient (:func:`neural.objective.closed_form_loss`)
   on the same batch, for ``n = 50`` and ``100``; and the full study's cost extrapolated from
   the measured rate (1250 members × 30 000 / 50 000 steps). Also the best recipe's wall time.

Run::

    .venv/bin/python benchmarks/bench_study.py              # defaults: ~5 min on 2 busy cores
    .venv/bin/python benchmarks/bench_study.py --inits 2 --adamw-steps 10 --skip-whole
    .venv/bin/python benchmarks/bench_study.py --full         # measures 50 inits (~10+ min)

Timings are wall-clock on whatever else the machine is doing; compare within a table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lingauss.blahut_arimoto import blahut_arimoto_batch, random_encoder
from lingauss.study import (
    STUDY_BETAS,
    STUDY_LAMS,
    fixed_point_study,
    solve_fixed_point_grid,
    study_scenario,
)


def bench_half_steps(n: int, inits: int, half_steps: int) -> dict:
    sc = study_scenario(n)
    opts = dict(seed=0, max_half_steps=half_steps, tol=1e-300, stop_rule="exact", betas=STUDY_BETAS)
    t0 = time.perf_counter()
    grid = solve_fixed_point_grid(n, inits, lams=STUDY_LAMS, **opts)
    t_red = time.perf_counter() - t0
    B0, Sw0 = random_encoder(sc.m, sc.n, np.random.default_rng(0), size=inits)
    cells = len(grid) // inits
    t0 = time.perf_counter()
    full = blahut_arimoto_batch(
        sc.Sigma_Y,
        sc.m,
        1.0 / grid.beta,
        grid.lam / grid.beta,
        np.tile(B0, (cells, 1, 1)),
        np.tile(Sw0, (cells, 1, 1)),
        max_half_steps=half_steps,
        diagonal=False,
        stop_rule="none",
        history_every=half_steps,
    )
    t_full = time.perf_counter() - t0
    _, B, _, _ = grid.full_parameters()
    diff = float(np.max(np.abs(B - full.B)))
    P = len(grid)
    return {
        "n": n,
        "P": P,
        "half-steps": half_steps,
        "reduced (s)": t_red,
        "full n x n (s)": t_full,
        "reduced half-steps/s": P * half_steps / t_red,
        "full half-steps/s": P * half_steps / t_full,
        "speed-up": t_full / t_red,
        "max |dB|": diff,
    }


def bench_whole(n: int, inits: int, rule: str) -> dict:
    t0 = time.perf_counter()
    df = fixed_point_study(n, inits, stop_rule=rule, seed=0)
    sec = time.perf_counter() - t0
    return {
        "n": n,
        "stop rule": rule,
        "inits": inits,
        "problems": len(df),
        "half-steps (sum)": int(df.half_steps.sum()),
        "wall (s)": sec,
        "50 inits (s, extrapolated)": sec * 50 / inits,
    }


def bench_adamw(n: int, inits: int, steps: int) -> list[dict]:
    import torch

    from neural.lambda_beta import (
        STUDY_ADAMW,
        _consts,
        adamw_initial_parameters,
        adamw_loss_and_grad,
    )
    from neural.objective import closed_form_loss

    torch.set_num_threads(1)
    sc = study_scenario(n)
    dt = torch.float64
    P = 25 * inits
    p0 = adamw_initial_parameters(n, sc.m, inits, np.random.default_rng(0))
    A, B, LZ, LW = (torch.tensor(np.tile(x, (25, 1, 1)), dtype=dt) for x in p0)
    bb, ll = (x.ravel() for x in np.meshgrid(STUDY_BETAS, STUDY_LAMS, indexing="ij"))
    beta = torch.tensor(np.repeat(bb, inits), dtype=dt)
    lam = torch.tensor(np.repeat(ll, inits), dtype=dt)
    c = _consts(sc, dt, "cpu")
    rec = STUDY_ADAMW[n]
    Sy = torch.tensor(sc.Sigma_Y, dtype=dt)
    eye_n, eye_m = torch.eye(n, dtype=dt), torch.eye(sc.m, dtype=dt)

    def analytic():
        return adamw_loss_and_grad(A, B, LZ, LW, c, beta, lam, rec.jitter)[3]

    params = [x.clone().requires_grad_(True) for x in (A, B, LZ, LW)]

    def autograd():
        a, b, lz, lw = params
        Sz = lz @ lz.mT + rec.jitter * eye_n
        Sw = lw @ lw.mT + rec.jitter * eye_m
        t = closed_form_loss(a, b, Sz, Sw, Sy, 1.0, 0.0)
        return torch.autograd.grad((t.nll + beta * t.kl + lam * t.mse).sum(), params)

    rows = []
    for name, fn in (("analytic gradient", analytic), ("autograd (baseline)", autograd)):
        fn()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        sec = (time.perf_counter() - t0) / steps
        full_steps = rec.steps
        rows.append(
            {
                "n": n,
                "P": P,
                "gradient": name,
                "ms / batched step": 1e3 * sec,
                "member-steps/s": P / sec,
                "full study, 50 inits (h)": 1250 * full_steps / (P / sec) / 3600,
                f"{inits} inits (h)": sec * full_steps / 3600,
            }
        )
    # the whole training loop (optimizer, clipping, best-iterate tracking) with the analytic
    # gradient, for the record
    from dataclasses import replace

    from neural.lambda_beta import train_adamw

    out = train_adamw(
        sc,
        beta.numpy(),
        lam.numpy(),
        tuple(np.tile(x, (25, 1, 1)) for x in p0),
        replace(rec, steps=steps),
    )
    sec = out["seconds"] / (steps + 1)
    rows.append(
        {
            "n": n,
            "P": P,
            "gradient": "train_adamw loop (analytic)",
            "ms / batched step": 1e3 * sec,
            "member-steps/s": P / sec,
            "full study, 50 inits (h)": 1250 * rec.steps / (P / sec) / 3600,
            f"{inits} inits (h)": sec * rec.steps / 3600,
        }
    )
    return rows


def bench_best(n: int, inits: int) -> dict:
    from neural.lambda_beta import learned_study

    t0 = time.perf_counter()
    run = learned_study(n, inits, method="best", seed=0)
    return {
        "n": n,
        "inits": inits,
        "members": len(run),
        "steps": run.steps,
        "wall (s)": time.perf_counter() - t0,
    }


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inits", type=int, default=5, help="initialisations per cell (default 5)")
    ap.add_argument("--half-steps", type=int, default=200, help="table 1 budget (default 200)")
    ap.add_argument("--adamw-steps", type=int, default=20, help="AdamW steps timed (default 20)")
    ap.add_argument("--adamw-inits", type=int, default=2, help="AdamW inits per cell (default 2)")
    ap.add_argument("--skip-whole", action="store_true", help="skip table 2 (whole study)")
    ap.add_argument("--skip-adamw", action="store_true", help="skip table 3 (torch)")
    ap.add_argument("--full", action="store_true", help="table 2 with the protocol's 50 inits")
    args = ap.parse_args(argv)
    print("## Fixed point per half-step: exact reduction vs full n x n solver\n")
    print(_table([bench_half_steps(n, args.inits, args.half_steps) for n in (50, 100)]))
    if not args.skip_whole:
        inits = 50 if args.full else args.inits
        print(f"\n## Whole fixed-point study (25 cells x {inits} inits, study budgets)\n")
        rows = [bench_whole(n, inits, r) for n in (50, 100) for r in ("exact", "authors")]
        print(_table(rows))
        total = sum(r["wall (s)"] for r in rows)
        print(f"\nboth n, both rules: {total:.0f} s measured")
    if not args.skip_adamw:
        print(f"\n## AdamW steps ({args.adamw_inits} inits per cell, float64, 1 thread)\n")
        rows = []
        for n in (50, 100):
            rows += bench_adamw(n, args.adamw_inits, args.adamw_steps)
        print(_table(rows))
        print("\n## Best recipe (whitened profile Adam, 3000 steps, all 25 cells)\n")
        print(_table([bench_best(n, args.adamw_inits) for n in (50, 100)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
