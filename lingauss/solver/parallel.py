"""Worker processes for a batched run (``n_jobs``): how many, and the pool.

Members of a batch never interact, so a stack dealt out to processes gives the same result,
bit for bit, as one process (:func:`lingauss.solver.batch.run_batch`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["resolve_jobs", "process_pool"]


def resolve_jobs(n_jobs, P: int, max_half_steps: int) -> int:
    """Worker processes for ``P`` problems of ``max_half_steps`` half-steps each.

    ``n_jobs``: a positive integer, ``None`` or ``-1`` (one per usable core) or ``"auto"``
    (one per usable core when the work repays starting them, about a million problem
    half-steps or more, and processes can be forked; else 1). Never more than ``P``.
    """
    import multiprocessing as mp
    import os

    if isinstance(n_jobs, str) and n_jobs == "auto":
        # a fork costs some 10-30 ms; each process then spares the others its members' share
        # of the per-member work (a few microseconds per problem and half-step, against the
        # per-operation overhead every process pays in full)
        if (
            P * max_half_steps < 1_000_000
            or "fork" not in mp.get_all_start_methods()
            or mp.current_process().daemon
        ):
            return 1
        n_jobs = None
    if n_jobs is None or n_jobs == -1:
        try:
            n_jobs = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            n_jobs = os.cpu_count() or 1
    if not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise ValueError(f"n_jobs: must be a positive integer, -1, None or 'auto', got {n_jobs!r}")
    return int(max(1, min(n_jobs, P)))


def process_pool(n_jobs: int):
    """A ``ProcessPoolExecutor`` of ``n_jobs`` processes, forked where the platform allows."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx)
