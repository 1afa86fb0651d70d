"""Latent traversals of a sweep's stored conv-VAE checkpoints, for ``--report --out``.

For each weight, the stored run with the smallest seed that has a checkpoint is loaded
(:func:`neural.conv.load_conv_vae`) and :func:`neural.image_training.latent_traversal` decodes
each latent swept over ``[-2.5, 2.5]`` around the posterior mean of one fixed image (a heart
of middle scale at the centre, grid classes ``(2, 3, 0, 16, 16)``). One row per latent, in
index order, labelled with the latent's posterior standard deviation on that image, so that
collapsed latents (σ ≈ 1, decoded images that do not change) are visible as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .config import SweepConfig

__all__ = ["traversal_figures", "traversal_figure", "TRAVERSAL_CLASSES"]

#: dSprites classes (shape, scale, orientation, x, y) of the image the traversals start from.
TRAVERSAL_CLASSES = (2, 3, 0, 16, 16)


def traversal_figure(model, *, steps: int = 8, title: str = "") -> Figure:
    """One image per (latent, value): rows latents, columns values in [-2.5, 2.5]."""
    import numpy as np
    import torch

    from neural.datasets import dsprites_batch
    from neural.image_training import latent_traversal

    image, _, _ = dsprites_batch(torch.tensor([TRAVERSAL_CLASSES]), device="cpu")
    grid = latent_traversal(model, image[0], steps=steps)  # (m, steps, 64, 64)
    with torch.no_grad():
        _, logvar = model.encode(image.to(next(model.parameters()).device))
    sd = np.exp(0.5 * logvar[0].double().cpu().numpy())
    m = grid.shape[0]
    fig = Figure(figsize=(steps * 0.8 + 0.8, m * 0.8 + 0.6))
    axes = fig.subplots(m, steps, squeeze=False)
    for j in range(m):
        for k in range(steps):
            ax = axes[j, k]
            ax.imshow(grid[j, k], cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[j, 0].set_ylabel(f"z{j}\nσ={sd[j]:.2f}", fontsize=6)
    fig.suptitle(title, fontsize=8)
    return fig


def traversal_figures(
    config: SweepConfig, rows: Sequence[dict[str, Any]], store_path
) -> Iterator[tuple[str, Figure]]:
    """``(name, figure)`` per weight, from the stored checkpoints (weights without one skipped)."""
    from neural.conv import load_conv_vae

    base = Path(store_path).parent
    by_weight: dict[float, dict] = {}
    for r in sorted(rows, key=lambda r: (r["weight"], r["seed"])):
        if r.get("checkpoint") and (base / r["checkpoint"] / "vae").is_dir():
            by_weight.setdefault(r["weight"], r)
    for w, r in sorted(by_weight.items()):
        model = load_conv_vae(base / r["checkpoint"] / "vae")
        title = f"{config.objective}, {config.weight_name}={w:g}, seed {r['seed']}"
        yield f"{config.weight_name}{w:g}_s{r['seed']}", traversal_figure(model, title=title)
