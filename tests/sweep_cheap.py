"""Cheap deterministic run functions for the sweep tests (importable by spawned workers).

``cheap_run`` stands in for a training run: its numbers are a fixed function of the task's
(weight, seed) drawn from a seeded numpy generator, so two executions of the same task give
identical rows; it sleeps ``SWEEP_TEST_SLEEP`` seconds (default 0) so that a test can kill a
sweep while runs are in flight, and writes a small checkpoint file like a real run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def cheap_run(task):
    delay = float(os.environ.get("SWEEP_TEST_SLEEP", "0"))
    if delay:
        time.sleep(delay)
    fail = os.environ.get("SWEEP_TEST_FAIL_WEIGHT")
    if fail is not None and float(fail) == task.weight:
        raise RuntimeError(f"deliberate failure at weight {task.weight}")
    rng = np.random.default_rng([task.seed, int(task.weight * 1000)])
    noise = rng.standard_normal(3)
    if task.checkpoint_dir is not None:
        d = Path(task.checkpoint_dir)
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / "state.npy", noise)
    return {
        "rec_error": 20.0 + 3.0 * task.weight + noise[0],
        "kl": 30.0 / (1.0 + task.weight) + 0.1 * noise[1],
        "mig": 0.1 + 0.01 * noise[2],
        "d_real": float("nan"),
        "note": f"seed {task.seed}",
        "steps": task.steps,
    }
