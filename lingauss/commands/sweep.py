"""``lingauss sweep``: resumable (objective, weight, seed) sweeps in an SQLite store, and reports.

``lingauss sweep --data dsprites --objective beta-vae --weights 1,2,4,8,16,32,64 --seeds 3
--store runs.sqlite`` trains one model per (weight, seed) that the store does not hold yet;
``lingauss sweep --report runs.sqlite`` prints the seed's tables beside the sweep's and writes
its figures. Loads :mod:`neural` (and torch) only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from .arguments import parse_named_values


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="resumable weight x seed sweeps of an objective (dSprites or the linear bridge)",
        description=(
            "Train one model per (weight, seed) of an objective and store one row per run in an "
            "SQLite store. Killed at any moment and started again, the same command runs only "
            "the missing runs. Runs execute in local processes (default) or on a "
            "dask.distributed cluster. --data dsprites trains the conv VAE on procedural "
            "dSprites (or on the original npz given as a path); --data scenario:CONFIG:N trains "
            "the linear VAE on a published scenario and stores the exact optimum's terms beside "
            "the learned ones. --report STORE prints the seed's Table 01/02 layout beside the "
            "sweep's mean +- sd and writes figures."
        ),
    )
    p.add_argument("--data", help="dsprites | scenario:CONFIG:N | PATH/dsprites_ndarray_*.npz")
    p.add_argument("--objective", help="beta-vae, beta-tcvae, factor-vae, dip-vae-i, ...")
    p.add_argument("--weights", help="comma-separated values of the swept weight, e.g. 1,2,4")
    p.add_argument(
        "--weight-name",
        default="",
        help="the swept weight (default: beta for beta-vae/beta-tcvae, gamma for factor-vae, "
        "lambda_od for dip-vae-*)",
    )
    p.add_argument(
        "--fixed",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another weight of the objective, held fixed (repeatable)",
    )
    p.add_argument("--seeds", type=int, default=1, help="number of seeds (0..K-1; default 1)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: preset's)")
    p.add_argument("--preset", choices=["cpu", "paper"], default="cpu")
    p.add_argument("--store", help="the SQLite store (created if absent)")
    p.add_argument("--executor", choices=["local", "dask"], default="local")
    p.add_argument("--scheduler", default=None, help="dask scheduler address (default: local)")
    p.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
    p.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N")
    p.add_argument("--report", metavar="STORE", help="report on STORE instead of sweeping")
    p.add_argument("--out", default=None, help="folder of the report's figures")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.report:
        return _report(args)
    for name in ("data", "objective", "weights", "store"):
        if getattr(args, name) is None:
            raise ValueError(f"--{name} is required (or give --report STORE)")
    from neural.sweep import (  # torch is imported here, for this command only
        SweepConfig,
        SweepInterrupted,
        SweepStore,
        check_data,
        check_executor,
        default_steps,
        make_executor,
        parse_data,
        parse_weights,
        run_sweep,
    )

    if args.seeds < 1:
        raise ValueError(f"seeds: expected a positive number of seeds, got {args.seeds}")
    data, digest = parse_data(args.data)
    steps = args.steps if args.steps is not None else default_steps(data, args.preset)
    config = SweepConfig(
        data=data,
        objective=args.objective,
        weights=parse_weights(args.weights),
        seeds=tuple(range(args.seeds)),
        steps=steps,
        preset=args.preset,
        weight_name=args.weight_name,
        fixed=tuple(parse_named_values(args.fixed, "--fixed").items()),
        data_digest=digest,
    )
    check_executor(args.executor, args.workers, args.scheduler)
    check_data(config)  # a data file of the wrong shape is refused before the store is touched
    with SweepStore(args.store, config) as store:  # refuses another sweep's or a corrupt store
        executor, close = make_executor(
            args.executor, workers=args.workers, scheduler=args.scheduler
        )
        interrupted = False
        try:
            outcome = run_sweep(
                config, store, executor=executor, progress=not args.no_progress, device=args.device
            )
        except SweepInterrupted as exc:
            interrupted = True
            print(f"lingauss sweep: {exc}", file=sys.stderr)
            return 130
        finally:
            close(cancel=interrupted)
    doc = {
        "store": str(args.store),
        "config": config.to_dict(),
        "total": outcome.total,
        "ran": len(outcome.ran),
        "skipped": outcome.skipped,
        "failed": {f"{o}:{w:g}:{s}": msg for (o, w, s), msg in outcome.failed.items()},
        "complete": outcome.complete,
    }
    if args.json:
        print(json.dumps(doc, sort_keys=True))
    else:
        print(
            f"sweep {config.objective} on {args.data}: {len(outcome.ran)} runs now, "
            f"{outcome.skipped} already stored, {len(outcome.failed)} failed, "
            f"of {outcome.total}; store {args.store}"
        )
        for key, msg in doc["failed"].items():
            print(f"  failed {key}: {msg}", file=sys.stderr)
    return 0 if outcome.complete else 1


def _report(args: argparse.Namespace) -> int:
    from neural.sweep import SweepStore, format_report, report_dict, write_figures

    config, rows = SweepStore.open_readonly(args.report)
    figures = []
    if args.out is not None:
        figures = [str(p) for p in write_figures(config, rows, args.report, args.out)]
    if args.json:
        doc = report_dict(config, rows)
        doc["figures"] = figures
        print(json.dumps(doc, sort_keys=True, allow_nan=False))
    else:
        print(format_report(config, rows))
        for f in figures:
            print(f"wrote {f}")
    return 0
