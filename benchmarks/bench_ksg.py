"""KSG mutual-information error against the exact Gaussian value, and its cost, vs sample size.

For jointly Gaussian ``(a, b)`` with ``a`` scalar and ``b`` of dimension ``d_b`` (one canonical
correlation ``ρ``), the exact ``I(a; b) = -½ log(1 - ρ²)``. Over ``--reps`` independent samples
per size the script reports, for the KSG estimator (``k = 3``, max-norm, standardised) and for
the Gaussian plug-in baseline (sample covariance): the bias (mean error), the standard
deviation, the RMSE and the mean time per estimate, in the same run.

    .venv/bin/python benchmarks/bench_ksg.py
    .venv/bin/python benchmarks/bench_ksg.py --sizes 250,1000,4000,16000 --reps 30 --rho 0.3,0.9
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neural.estimators import ksg_mutual_information, plugin_mutual_information


def _ints(text):
    return [int(x) for x in text.split(",") if x.strip()]


def _floats(text):
    return [float(x) for x in text.split(",") if x.strip()]


def draw(rng, n, rho, db):
    """a ~ N(0,1); b_0 = ρ a + sqrt(1-ρ²) ε, the other d_b - 1 coordinates correlated with
    b_0 only through a shared mixing (a random rotation keeps one canonical correlation ρ)."""
    a = rng.standard_normal(n)
    z = rng.standard_normal((n, db))
    z[:, 0] = rho * a + np.sqrt(1 - rho**2) * z[:, 0]
    q, _ = np.linalg.qr(rng.standard_normal((db, db)))
    return a, z @ q.T


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=_ints, default=[250, 500, 1000, 2000, 4000])
    p.add_argument("--rho", type=_floats, default=[0.3, 0.6, 0.9])
    p.add_argument("--db", type=_ints, default=[1, 3], help="dimensions of b")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(
        "| d_b | ρ | exact I | N | KSG bias | KSG sd | KSG rmse | KSG ms | plug-in bias | "
        "plug-in sd | plug-in ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for db in args.db:
        for rho in args.rho:
            exact = -0.5 * np.log1p(-(rho**2))
            for n in args.sizes:
                rng = np.random.default_rng([args.seed, db, int(rho * 1000), n])
                ks, ps, tk, tp = [], [], 0.0, 0.0
                for _ in range(args.reps):
                    a, b = draw(rng, n, rho, db)
                    t0 = time.perf_counter()
                    ks.append(ksg_mutual_information(a, b, k=args.k))
                    t1 = time.perf_counter()
                    ps.append(plugin_mutual_information(a, b))
                    tp += time.perf_counter() - t1
                    tk += t1 - t0
                ks, ps = np.array(ks) - exact, np.array(ps) - exact
                print(
                    f"| {db} | {rho} | {exact:.4f} | {n} | {ks.mean():+.4f} | {ks.std(ddof=1):.4f} "
                    f"| {np.sqrt(np.mean(ks**2)):.4f} | {1e3 * tk / args.reps:.1f} | "
                    f"{ps.mean():+.4f} | {ps.std(ddof=1):.4f} | {1e3 * tp / args.reps:.2f} |"
                )


if __name__ == "__main__":
    main()
