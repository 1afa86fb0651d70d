"""``lingauss solve``: one cell of a table — the kept BA solution, its regime, the KL
decomposition and every metric (I_m, SAP, matched MI, MIG, DCI)."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from .arguments import (
    add_cell_arguments,
    add_command,
    add_output_arguments,
    add_protocol_argument,
    json_value,
)


def register(subparsers) -> None:
    from ..scenarios import CONFIGS

    p = add_command(
        subparsers,
        "solve",
        run,
        help="solve one (config, scenario, gamma, lambda) cell and print its metrics",
        description="""Run the cell's Blahut-Arimoto restarts exactly as 'lingauss reproduce'
        does for the same seed, and print the kept solution, its regime, the KL decomposition
        and the I_m, SAP, matched MI, MIG and DCI results (I_m and SAP under the protocol's
        conventions, the others on the true joint covariance of (X, V)).""",
    )
    add_cell_arguments(p, CONFIGS)
    add_protocol_argument(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", choices=["authors", "exchangeable"], default=None)
    add_output_arguments(p, "print one JSON object", progress=False)


def run(args: argparse.Namespace) -> int:
    from ..protocol import solve_cell

    if not math.isfinite(args.gamma) or args.gamma <= 0:
        raise ValueError(f"--gamma: must be a finite number > 0, got {args.gamma}")
    if not math.isfinite(args.lam):
        raise ValueError(f"--lam: must be finite, got {args.lam}")
    if args.seed < 0:
        raise ValueError(f"--seed: must be >= 0, got {args.seed}")
    res = solve_cell(
        args.config,
        args.scenario,
        args.gamma,
        args.lam,
        args.protocol,
        args.seed,
        init=args.init,
        metrics="all",
    )
    row = {k: json_value(v) for k, v in res.row.items()}
    sol = res.solution
    if args.json:
        payload = dict(row)
        for name in ("A", "B", "Sigma_Z", "Sigma_W"):
            payload[name] = getattr(sol, name).tolist()
        print(json.dumps(payload))
        return 0
    np.set_printoptions(precision=5, suppress=False, linewidth=100)
    lines = [
        f"{args.config} scenario {args.scenario}, gamma={args.gamma}, lam={args.lam}, "
        f"{row['protocol']} protocol, seed {args.seed} ({row['runs']} runs, best kept)",
        f"true grouping   {row['truth']}",
        f"regime          {row['regime']}  (stop: {row['stop_reason']}, "
        f"{row['half_steps']} half-steps, converged={row['converged']})",
        f"recon error     {row['recon_error']:.4g}   loss {row['loss']:.6g}",
        f"I(X;Y)          {row['mi_xy']:.6g} nats   I(X;V) {_f(row['mi_xv'])} nats",
        f"I_m             {_f(row['im_value'])}  grouping {row['im_grouping'] or '-'}  "
        f"tied={row['im_tied']} ({row['im_n_tied']} groupings)  success={row['im_success']}  "
        f"counted={row['im_counted']}",
        f"SAP             {_f(row['sap_score'])}  grouping {row['sap_grouping'] or '-'}  "
        f"tied={row['sap_tied']}  success={row['sap_success']}  counted={row['sap_counted']}",
        f"MIG             {_f(row['mig_score'])}  grouping {row['mig_grouping'] or '-'}  "
        f"degenerate={row['mig_degenerate'] or 'no'}  success={row['mig_success']}  "
        f"counted={row['mig_counted']}",
        f"DCI             D {_f(row['dci_d'])}  C {_f(row['dci_c'])}  I {_f(row['dci_i'])}  "
        f"grouping {row['dci_grouping'] or '-'}  degenerate={row['dci_degenerate'] or 'no'}  "
        f"success={row['dci_success']}  counted={row['dci_counted']}",
        f"matched MI      {_f(row['matched_mi'])} nats",
        f"KL term         {_f(row['kl'])} nats = index-code MI I(X;Y) {_f(row['index_code_mi'])}"
        f" + total correlation {_f(row['total_correlation'])} + dimension-wise KL "
        f"{_f(row['dimensionwise_kl'])}  (marginal KL {_f(row['marginal_kl'])})",
        "(MIG, DCI, matched MI and the decomposition use the true joint covariance of (X, V))",
        "",
        f"B =\n{sol.B}",
        f"Sigma_W =\n{sol.Sigma_W}",
        f"A =\n{sol.A}",
        f"Sigma_Z (diagonal) = {np.diagonal(sol.Sigma_Z)}",
    ]
    print("\n".join(lines))
    return 0


def _f(x):
    return "-" if x is None else f"{x:.6g}"
