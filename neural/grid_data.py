"""Seeded data streams of a batched training run.

For seed ``r`` three CPU streams are derived from ``r`` (:func:`stream_seed`): the member's
initial parameters, its training data (and encoder noise), and its validation set. A member
therefore depends only on its seed and cell, not on the grid it is trained with.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import ScenarioSampler
from .training_config import TrainingConfig

__all__ = ["GridData", "stream_seed", "STREAM_INIT", "STREAM_TRAIN", "STREAM_VAL"]

#: The random streams of a seed: initial parameters, training data, validation data.
STREAM_INIT = 0
"""Seed stream of a member's initial parameters (see :func:`stream_seed`)."""
STREAM_TRAIN = 1
"""Seed stream of a member's training minibatches."""
STREAM_VAL = 2
"""Seed stream of a member's validation samples."""


def stream_seed(seed: int, stream: int) -> int:
    """Seed of random stream ``stream`` (0 init, 1 training data, 2 validation) of ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(stream)]).generate_state(1)[0])


class GridData:
    """Per-seed data streams (training and validation), expanded to the members.

    Seed ``r``'s training stream draws ``Y`` and the encoder noise (fresh each step, or a fixed
    training set of ``n_train`` points sampled with replacement); its validation stream draws
    ``n_val`` points and one noise draw each, fixed for the run. Members are seed-major: the
    ``C`` cells of a seed share its data.
    """

    def __init__(self, sampler: ScenarioSampler, seeds, C, cfg: TrainingConfig, m: int):
        self.sampler, self.C, self.cfg, self.m = sampler, C, cfg, m
        self.gens = [torch.Generator().manual_seed(stream_seed(s, STREAM_TRAIN)) for s in seeds]
        K = cfg.mc_samples
        self.fixed = None
        if cfg.n_train is not None:
            ys, es = [], []
            for g in self.gens:
                ys.append(sampler.sample_y(cfg.n_train, g))
                es.append(sampler.normal((K, cfg.n_train, m), g))
            self.fixed = (torch.stack(ys), torch.stack(es))  # (S, N, n), (S, K, N, m)
        vy, ve = [], []
        for s in seeds:
            g = torch.Generator().manual_seed(stream_seed(s, STREAM_VAL))
            vy.append(sampler.sample_y(cfg.n_val, g))
            ve.append(sampler.normal((1, cfg.n_val, m), g))
        self.val_y = torch.stack(vy)  # (S, N_val, n)
        self.val_eps = torch.stack(ve)  # (S, 1, N_val, m)
        self.val_moment = self.val_y.mT @ self.val_y / cfg.n_val  # (S, n, n): E[y y^T]

    def expand(self, t: torch.Tensor) -> torch.Tensor:
        return t.repeat_interleave(self.C, dim=0)

    def batch(self):
        cfg, K = self.cfg, self.cfg.mc_samples
        if self.fixed is not None:
            Y, E = self.fixed
            N = Y.shape[1]
            if cfg.batch_size is None or cfg.batch_size >= N:
                return self.expand(Y), self.expand(E)
            idx = torch.stack([torch.randint(N, (cfg.batch_size,), generator=g) for g in self.gens])
            idx = idx.to(Y.device)
            y = torch.gather(Y, 1, idx[:, :, None].expand(-1, -1, Y.shape[2]))
            e = torch.gather(E, 2, idx[:, None, :, None].expand(-1, K, -1, E.shape[3]))
            return self.expand(y), self.expand(e)
        b = cfg.batch_size
        ys = [self.sampler.sample_y(b, g) for g in self.gens]
        es = [self.sampler.normal((K, b, self.m), g) for g in self.gens]
        return self.expand(torch.stack(ys)), self.expand(torch.stack(es))
