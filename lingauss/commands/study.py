"""``lingauss study lambda-beta``: the follow-up λβ study, our numbers beside the published ones.

Prints the three heatmaps (recon, SAP, matched MI; rows λ, columns β) as ``mean±sd [published]``
with ``*`` where the published mean lies outside our spread, and the regime of every cell.
``--method adamw|best`` trains the learned model (torch, imported only then) and adds the
Procrustes explanation of the gaps against fixed-point solutions of the same cells.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .arguments import add_command, add_output_arguments, atomic_write

#: Initialisations per cell when ``--inits`` is not given: the fixed point then runs in about
#: a minute for n = 100 on one core (the protocol's 50 take a few minutes).
DEFAULT_INITS = {"fixed-point": 5, "best": 5, "adamw": 1}


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "study",
        run,
        help="the follow-up lambda-beta study: fixed point / AdamW vs the published heatmaps",
        description="""Reproduce the lambda-beta VAE linear study (n = 50 or 100, m = 10, s =
        5): every (beta, lambda) cell from the same random initialisations, batched; per-cell
        mean and spread of recon (NLL, nats), SAP and matched MI beside the published means.""",
    )
    p.add_argument("which", choices=["lambda-beta"], help="the study to run")
    p.add_argument("--n", type=int, choices=[50, 100], default=50, help="data dimension")
    p.add_argument(
        "--inits",
        type=int,
        default=None,
        help="initialisations per cell (default 5; 1 for adamw; the study used 50)",
    )
    p.add_argument("--method", choices=["fixed-point", "adamw", "best"], default="fixed-point")
    p.add_argument(
        "--stop-rule",
        choices=["exact", "authors"],
        default="exact",
        help="fixed point: exact convergence/regime detection (default) or the study's rule",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the initialisations")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="adamw/best: override the recipe's steps (not the study's protocol)",
    )
    p.add_argument(
        "--max-half-steps",
        type=int,
        default=None,
        help="fixed point: override the half-step budget (default the study's 50000/100000)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="fixed point, exact rule: worker processes (-1: one per core; default 1)",
    )
    p.add_argument(
        "--device",
        default="auto",
        help="adamw/best: torch device (auto = cuda when available, else cpu; cpu, cuda, cuda:N)",
    )
    p.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="adamw/best: torch dtype of the training (default float64)",
    )
    add_output_arguments(p, "print one JSON object", progress=False)
    p.add_argument("--out", type=Path, help="write runs.csv and summary.csv here")
    p.add_argument("--plots", type=Path, help="write the heatmap figure (PNG) here")


def _cell_entry(r, metrics) -> dict:
    def num(x):
        x = float(x)
        return x if x == x else None  # NaN -> null

    out = {"beta": float(r["beta"]), "lam": float(r["lam"]), "inits": int(r["inits"])}
    for m in metrics:
        out[f"{m}_mean"] = num(r[f"{m}_mean"])
        out[f"{m}_sd"] = num(r[f"{m}_sd"])
    out["loss_mean"] = num(r["loss_mean"])
    out["regime"] = str(r.get("regime", ""))
    out["expected_regime"] = str(r["expected_regime"])
    out["has_minimum"] = bool(r["has_minimum"])
    if "stop_reason" in r:
        out["stop_reason"] = str(r["stop_reason"])
    out["published"] = {m: num(r[f"{m}_published"]) for m in metrics}
    out["within_spread"] = {m: bool(r[f"{m}_within"]) for m in metrics}
    out["z"] = {m: num(r[f"{m}_z"]) for m in metrics}
    return out


def _fmt_table(summary, metric, digits=3) -> str:
    from ..study import study_heatmap

    mean = study_heatmap(summary, f"{metric}_mean")
    sd = study_heatmap(summary, f"{metric}_sd")
    pub = study_heatmap(summary, f"{metric}_published")
    within = study_heatmap(summary, f"{metric}_within")
    spread = int(summary["inits"].min()) > 1
    cells = {}
    for lam in mean.index:
        for beta in mean.columns:
            s = sd.loc[lam, beta]
            s = 0.0 if s != s else s
            flag = "" if within.loc[lam, beta] or not spread else "*"
            cells[lam, beta] = (
                f"{mean.loc[lam, beta]:.{digits}f}±{s:.{digits}f} "
                f"[{pub.loc[lam, beta]:.{digits}f}]{flag}"
            )
    width = max(len(v) for v in cells.values())
    head = "lam\\beta".ljust(9) + "".join(f"{b:g}".rjust(width + 2) for b in mean.columns)
    lines = [head]
    for lam in mean.index:
        lines.append(
            f"{lam:g}".ljust(9) + "".join(cells[lam, b].rjust(width + 2) for b in mean.columns)
        )
    return "\n".join(lines)


def _fmt_regimes(summary) -> str:
    from ..study import study_heatmap

    reg = study_heatmap(summary, "regime")
    exp = study_heatmap(summary, "expected_regime")
    lines = ["lam\\beta".ljust(9) + "".join(f"{b:g}".rjust(24) for b in reg.columns)]
    for lam in reg.index:
        lines.append(
            f"{lam:g}".ljust(9)
            + "".join(f"{reg.loc[lam, b]} ({exp.loc[lam, b]})".rjust(24) for b in reg.columns)
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..study import STUDY_METRICS, fixed_point_study, summarize_study

    inits = DEFAULT_INITS[args.method] if args.inits is None else args.inits
    if inits < 1:
        raise ValueError(f"--inits: must be >= 1, got {inits}")
    if args.steps is not None and args.method == "fixed-point":
        raise ValueError("--steps: only for --method adamw or best")
    if args.max_half_steps is not None and args.max_half_steps < 1:
        raise ValueError(f"--max-half-steps: must be >= 1, got {args.max_half_steps}")
    budget = dict(
        stop_rule=args.stop_rule,
        seed=args.seed,
        max_half_steps=args.max_half_steps,
        n_jobs=None if args.jobs == -1 else args.jobs,
    )
    t0 = time.perf_counter()
    explanation = None
    train = None
    if args.method == "fixed-point":
        df = fixed_point_study(args.n, inits, **budget)
    else:
        from neural.lambda_beta import (  # torch only here
            explain_gap,
            learned_frame,
            learned_study,
            summarize_explanation,
        )

        from ..study import solve_fixed_point_grid

        learned = learned_study(
            args.n,
            inits,
            method=args.method,
            seed=args.seed,
            steps=args.steps,
            device=args.device,
            dtype=args.dtype,
        )
        train = {
            "device": learned.device,
            "dtype": learned.dtype,
            "train_seconds": learned.seconds,
        }
        df = learned_frame(learned)
        grid = solve_fixed_point_grid(args.n, inits, **budget)
        explanation = summarize_explanation(explain_gap(learned, grid))
    seconds = time.perf_counter() - t0
    summary = summarize_study(df)
    metrics = STUDY_METRICS
    if args.out is not None:
        atomic_write(args.out / "runs.csv", lambda p: df.to_csv(p, index=False))
        atomic_write(args.out / "summary.csv", lambda p: summary.to_csv(p, index=False))
        if explanation is not None:
            atomic_write(args.out / "explanation.csv", lambda p: explanation.to_csv(p, index=False))
            from neural.lambda_beta import save_history

            save_history(learned, args.out / "history.npz")
    if args.plots is not None:
        from ..study import study_figure

        fig = study_figure(summary)
        name = f"lambda_beta_n{args.n}_{args.method}.png"
        atomic_write(args.plots / name, lambda p: fig.savefig(p, format="png", dpi=110))
    stop_rule = args.stop_rule if args.method == "fixed-point" else "steps"
    if args.json:
        obj = {
            "study": "lambda-beta",
            "n": args.n,
            "method": args.method,
            "stop_rule": stop_rule,
            "inits": inits,
            "seed": args.seed,
            "h_y": float(df.h_y.iloc[0]),
            "seconds": seconds,
            **({"training": train} if train is not None else {}),
            "cells": [_cell_entry(r, metrics) for _, r in summary.iterrows()],
        }
        if explanation is not None:
            obj["explanation"] = json.loads(explanation.to_json(orient="records"))
        json.dump(obj, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    published = "fixed-point" if args.method in ("fixed-point", "best") else "adamw"
    print(
        f"lambda-beta study, n = {args.n}, method = {args.method}"
        + (f" ({stop_rule} stop rule)" if args.method == "fixed-point" else "")
        + f", {inits} initialisation(s) per cell, seed {args.seed}: {seconds:.1f} s"
    )
    if train is not None:
        print(f"training: {train['train_seconds']:.1f} s on {train['device']} ({train['dtype']})")
    print(
        f"h(Y) = {df.h_y.iloc[0]:.4f} nats; cells: mean±sd [published {published} mean]; "
        "* = published mean outside our spread"
    )
    names = {"recon": "Recon (NLL, nats)", "sap": "SAP", "matched_mi": "matched MI (nats)"}
    for metric in metrics:
        print(f"\n{names[metric]}")
        print(_fmt_table(summary, metric))
    print("\nregime of the runs (expected from the analysis)")
    print(_fmt_regimes(summary))
    print("\nbeta = 1, lambda > 0 has no minimum: those numbers are where the stopping rule fired.")
    if explanation is not None:
        print("\nProcrustes explanation (learned vs fixed point, per-cell means)")
        cols = [
            "beta",
            "lam",
            "loss_gap",
            "sap_gap",
            "sap_rotation",
            "sap_solution",
            "matched_mi_gap",
            "matched_mi_rotation",
            "matched_mi_solution",
            "same_loss",
            "verdict",
        ]
        print(explanation[cols].to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    return 0
