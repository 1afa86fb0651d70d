"""Exact I_m: the set-partition method vs naive enumeration of all m^s labelled partitions.

For each (s, m), a random joint covariance of (X, V) with a planted structure (independent
factor pairs, each read by one latent, plus noise: the regime where many partitions compete)
is scored by

* ``fast``: ``im_score(method="setpartition")`` — set partitions into <= m blocks (``sum_k
  S(s, k)`` of them), bounds, exact assignment only where a bound can beat the incumbent;
* ``naive``: ``im_score(method="labelled")`` — every one of the ``m^s`` labelled partitions,
  vectorised in numpy. Run only while ``m^s <= --naive-max``; beyond, its time is extrapolated
  from its measured cost per partition at the largest size it ran (marked "~").

Where both ran, the scores must agree (they are checked to 1e-9 nats).

Run::

    .venv/bin/python benchmarks/bench_im.py                   # up to s = 8, m = 4; seconds
    .venv/bin/python benchmarks/bench_im.py --full            # up to s = 12, m = 8 (~1 min)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lingauss.metrics.im import im_score
from lingauss.metrics.im_setpartition import set_partitions


def n_set_partitions(s: int, m: int) -> int:
    # Stirling numbers of the second kind, S(s, k) for k <= m
    S = [[0] * (s + 1) for _ in range(s + 1)]
    S[0][0] = 1
    for i in range(1, s + 1):
        for k in range(1, i + 1):
            S[i][k] = k * S[i - 1][k] + S[i - 1][k - 1]
    return sum(S[s][k] for k in range(1, min(s, m) + 1))


def planted_joint(s: int, m: int, rng) -> np.ndarray:
    Sv = np.eye(s)
    for a in range(0, s - 1, 2):
        Sv[a, a + 1] = Sv[a + 1, a] = 0.5
    cross = 0.02 * rng.standard_normal((m, s))
    for j in range(s):
        cross[(j // 2) % m, j] += 0.3
    # keep the identity X block valid: rescale rows whose explained variance nears 1
    q = np.einsum("is,st,it->i", cross, np.linalg.inv(Sv), cross)
    cross /= np.sqrt(np.maximum(1.0, q / 0.8))[:, None]
    return np.block([[np.eye(m), cross], [cross.T, Sv]])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="sizes up to s = 12, m = 8")
    ap.add_argument("--naive-max", type=int, default=2_000_000, help="largest m^s run naively")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sizes = [(4, 3), (5, 4), (6, 4), (8, 4)]
    if args.full:
        sizes += [(8, 6), (10, 6), (10, 8), (12, 6), (12, 8)]
    rng = np.random.default_rng(args.seed)
    im_score(planted_joint(3, 2, rng), 2, method="setpartition")  # warm-up
    print("| s | m | m^s labelled | set partitions | fast (s) | of which enumeration (s) | "
          "naive (s) | speed-up | scores agree |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    per_partition = None
    for s, m in sizes:
        C = planted_joint(s, m, rng)
        set_partitions.cache_clear()
        t0 = time.perf_counter()
        set_partitions(s, m)
        t_enum = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = im_score(C, m, method="setpartition")
        t_fast = time.perf_counter() - t0 + t_enum
        n_lab = m**s
        agree = "-"
        if n_lab <= args.naive_max:
            t0 = time.perf_counter()
            naive = im_score(C, m, method="labelled")
            t_naive = time.perf_counter() - t0
            per_partition = t_naive / n_lab
            agree = "yes" if abs(naive.value - fast.value) <= 1e-9 else "NO"
            naive_txt = f"{t_naive:.3g}"
        else:
            t_naive = per_partition * n_lab
            naive_txt = f"~{t_naive:.3g}"
        print(
            f"| {s} | {m} | {n_lab:.3g} | {n_set_partitions(s, m)} | {t_fast:.3g} | "
            f"{t_enum:.3g} | {naive_txt} | {t_naive / t_fast:.3g}x | {agree} |"
        )
    print(
        "\n'~': extrapolated from the naive method's measured time per labelled partition at "
        "the largest size it ran. The fast method's time includes enumerating the set "
        "partitions (cached across calls in practice)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
