"""Seeded minibatches of dSprites with a fixed held-out split.

The held-out split is a fixed set of ``n_heldout`` grid indices, ``randperm(737280)[:n_heldout]``
of a CPU generator seeded with ``heldout_seed`` (default 0, *not* the run's seed, so every run
of a sweep is evaluated on the same images). Training batches are drawn uniformly with
replacement from the complement with a CPU ``torch.Generator`` seeded with the run's ``seed``:
the same seed gives the same index stream, hence the same images, on every device. Images are
rendered on the fly (:func:`neural.datasets.dsprites.render`) or, when the original file is
given, indexed from its arrays.
"""

from __future__ import annotations

import numpy as np
import torch

from ..device import resolve_device
from .dsprites import N_IMAGES, DSpritesArrays, factor_values, indices_to_classes, render

__all__ = ["DSprites"]


def _check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < lo
        or (hi is not None and value > hi)
    ):
        bound = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name}: must be an integer {bound}, got {value!r}")
    return int(value)


class DSprites:
    """Seeded dSprites sampler with a fixed held-out split.

    Parameters
    ----------
    seed : int
        Seed of the training index stream.
    device : str or torch.device
        Where images are produced (``"auto"``: CUDA if present).
    n_heldout : int, default 10000
        Size of the held-out split (grid indices never drawn for training).
    heldout_seed : int, default 0
        Seed of the held-out split (shared by all runs).
    arrays : DSpritesArrays, optional
        The original data (:func:`neural.datasets.load_dsprites_npz` with the full grid):
        images are indexed from it instead of rendered.

    Examples
    --------
    >>> ds = DSprites(seed=0, device="cpu", n_heldout=100)
    >>> x, classes, values = ds.sample(8)
    >>> tuple(x.shape), tuple(classes.shape)
    ((8, 1, 64, 64), (8, 5))
    """

    def __init__(
        self,
        seed: int = 0,
        device="auto",
        *,
        n_heldout: int = 10000,
        heldout_seed: int = 0,
        arrays: DSpritesArrays | None = None,
    ):
        self.seed = _check_int(seed, "seed", 0)
        self.device = resolve_device(device)
        self.n_heldout = _check_int(n_heldout, "n_heldout", 1, N_IMAGES - 1)
        self.heldout_seed = _check_int(heldout_seed, "heldout_seed", 0)
        if arrays is not None:
            if not isinstance(arrays, DSpritesArrays) or len(arrays) != N_IMAGES:
                raise ValueError(
                    "arrays: expected the full DSpritesArrays grid "
                    "(load_dsprites_npz with require_full=True)"
                )
        self.arrays = arrays
        g = torch.Generator().manual_seed(self.heldout_seed)
        perm = torch.randperm(N_IMAGES, generator=g)
        self.heldout_indices = torch.sort(perm[: self.n_heldout]).values
        self.train_indices = torch.sort(perm[self.n_heldout :]).values
        self.generator = torch.Generator().manual_seed(self.seed)

    def images(self, indices: torch.Tensor, dtype=torch.float32):
        """Images ``(N, 1, 64, 64)``, class indices ``(N, 5)`` and values ``(N, 5)`` of grid
        indices, on the sampler's device."""
        indices = torch.as_tensor(indices, dtype=torch.int64)
        classes = indices_to_classes(indices)
        if self.arrays is None:
            x = render(classes, self.device, dtype)
            classes = classes.to(self.device)
            return x, classes, factor_values(classes)
        idx = indices.numpy()
        x = torch.from_numpy(self.arrays.imgs[idx]).to(self.device, dtype).unsqueeze(1)
        values = torch.from_numpy(self.arrays.values[idx]).to(self.device)
        return x, classes.to(self.device), values

    def sample_indices(self, batch_size: int) -> torch.Tensor:
        """``batch_size`` training grid indices (uniform, with replacement) from the stream."""
        batch_size = _check_int(batch_size, "batch_size", 1)
        pos = torch.randint(len(self.train_indices), (batch_size,), generator=self.generator)
        return self.train_indices[pos]

    def sample(self, batch_size: int, dtype=torch.float32):
        """A training minibatch: ``(images, classes, values)``."""
        return self.images(self.sample_indices(batch_size), dtype)

    def heldout_batches(self, batch_size: int = 1024, dtype=torch.float32):
        """Iterate over the held-out split in order, ``(images, classes, values)`` per batch."""
        batch_size = _check_int(batch_size, "batch_size", 1)
        for lo in range(0, self.n_heldout, batch_size):
            yield self.images(self.heldout_indices[lo : lo + batch_size], dtype)
