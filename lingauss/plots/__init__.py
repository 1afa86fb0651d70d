"""Figures of the headline results (matplotlib only; every function returns a ``Figure``).

The figures are built on :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: no global state, no GUI backend, safe in scripts, tests and notebooks (a notebook
shows a returned figure as the cell's value). :func:`save_figure` writes a PNG atomically and
deterministically (no software-version metadata).

* :func:`success_heatmaps` — success rate over the (γ, λ) grid, one panel per scenario and
  metric, from the protocol's tidy table (one row per config, scenario, γ, λ, seed);
* :func:`success_distributions` — the table success rate's distribution across seeds, with
  the published numbers beside it;
* :func:`ba_convergence` — loss and I(X;Y) against half-steps of Blahut–Arimoto runs,
  coloured by regime (collapse, interior optimum, the γ > 1 drift);
* :func:`rate_distortion_plane` — BA solutions at (I(X;Y), E‖Y − AX‖²) above the Gaussian
  rate–distortion bound (reverse water-filling on Σ_Y) and its rank-m version;
* :func:`analytic_vs_learned` — scatter of analytic against learned values, one panel per
  quantity, with the identity line;
* :func:`write_reproduce_plots` — the PNGs of ``lingauss reproduce --plots DIR``.

Modules, by figure family: :mod:`~lingauss.plots.common` (saving, colours, labels),
:mod:`~lingauss.plots.success_tables` (the protocol table in long form, per-seed rates),
:mod:`~lingauss.plots.success` (heatmaps, distributions), :mod:`~lingauss.plots.dynamics`
(BA convergence, rate–distortion plane), :mod:`~lingauss.plots.comparisons` (analytic vs
learned, the slides' hypothesis), :mod:`~lingauss.plots.reproduce` (``reproduce --plots``).
``import lingauss`` does not import this package (matplotlib stays optional).
"""

from __future__ import annotations

from .common import REGIME_COLORS, save_figure
from .comparisons import analytic_vs_learned, hypothesis_differences
from .dynamics import ba_convergence, rate_distortion_plane
from .reproduce import write_reproduce_plots
from .success import success_distributions, success_heatmaps
from .success_tables import per_seed_rates, success_long

__all__ = [
    "success_heatmaps",
    "success_distributions",
    "ba_convergence",
    "rate_distortion_plane",
    "analytic_vs_learned",
    "hypothesis_differences",
    "write_reproduce_plots",
    "save_figure",
    "success_long",
    "per_seed_rates",
    "REGIME_COLORS",
]
