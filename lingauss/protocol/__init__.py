"""Reproduce the published success-rate tables (reference §5-§7) under two protocols.

For each configuration, scenario and cell ``(γ, λ)`` of the 5 × 5 grid, Blahut-Arimoto runs
from several random encoders; one run is kept; the I_m and SAP metrics are computed on the joint
covariance of ``(X, V)``; each metric succeeds when its induced grouping of the factors matches
the true grouping (:func:`lingauss.metrics.grouping_success`). A *success rate* is the share of
cells in which a metric succeeds.

``metrics="all"`` adds, per cell, the KL decomposition (index-code MI, total correlation,
dimension-wise and marginal KL), the matched MI, MIG and DCI (:func:`metrics_for_scenario`).
These always use the true joint covariance of ``(X, V)``: the notebook protocol's identity X
block is a convention of the published I_m/SAP only (MIG and DCI need a positive-definite
matrix). MIG and DCI get success flags and rates like I_m and SAP.

Two protocols (:data:`PROTOCOLS`):

``notebook``
    The authors' protocol convention for convention (reference §6): the rounded Σ_V, 6 runs
    per cell for s3 and 2 for s5 from their non-exchangeable initialiser, their stopping rule
    (so most runs use all 10 000 half-steps), the run with the smallest reconstruction error
    kept, ``I_m`` in the X block of the joint covariance, SAP with the nominal σ_v and
    ``Var x = 1``, I_m rounded to 8 decimals with their enumeration-order tie rule, SAP ties to
    the lowest latent, and every cell counted: rate = successes / 25.

``exact``
    The formulas as written: analytic Σ_V, an exchangeable initialiser, the exact stopping
    rule, the run with the smallest loss kept, the true ``Σ_X`` and ``Var v_j``, and exact
    ties. A cell *counts* only when its run is at an interior optimum and the metric's
    decision is resolvable: cells whose encoder collapsed (no information, every grouping
    ties), diverged (γ > 1: the loss has no minimum, the run stops where float64 runs out),
    or whose metric decision is a tie (e.g. a factor the encoder does not represent at all,
    which can join any group at no cost) are counted separately. Interior runs that reach
    the half-step budget without meeting the exact rule (the slow approach at the γ = 1
    boundary) are counted, and their number is reported (``n_unconverged``). The rate is then
    successes / counted cells; the face-value rate over all 25 cells is reported too.

Overrides (``success_table(..., init=, preset=)``) change one convention at a time: e.g.
``init="exchangeable"`` (:func:`init_effect`), or ``preset="resampled"``, which redraws Σ_V for
every seed as the authors' notebooks did on every run (a rounded sample covariance of 10⁷
draws; the s5 matrices have entries on rounding midpoints, so they differ between runs).

Seeds: each cell's initial encoders come from ``numpy.random.default_rng([seed, key])`` with
``key`` a CRC-32 of (configuration, scenario, γ, λ), so a table, a single cell
(:func:`solve_cell`) and a subset of seeds all draw the same runs.

Layout (one idea a module):

* :mod:`~lingauss.protocol.published` — the published numbers and their lookup;
* :mod:`~lingauss.protocol.conventions` — :class:`Protocol`, the notebook and exact protocols
  side by side, the (γ, λ) grid, configurations resolved into scenarios;
* :mod:`~lingauss.protocol.seeding` — seeds, per-cell generators, initial encoders, Σ_V
  redrawn per seed;
* :mod:`~lingauss.protocol.runs` — the batched, breakdown-robust BA runs and the kept run;
* :mod:`~lingauss.protocol.scoring` — the metric columns of a cell (published and extra);
* :mod:`~lingauss.protocol.tables` — the success table and its counting rule;
* :mod:`~lingauss.protocol.summaries` — per-seed rates, summaries, the published comparison;
* :mod:`~lingauss.protocol.cell` — one cell, solved as the table solves it.
"""

from .cell import CellResult, solve_cell
from .conventions import (
    GAMMAS,
    LAMBDAS,
    PROTOCOLS,
    Protocol,
    config_scenarios,
    get_protocol,
)
from .published import PUBLISHED, PUBLISHED_SOURCES, published_rate, published_table
from .scoring import (
    ALL_METRICS,
    DECOMPOSITION_COLUMNS,
    EXTRA_METRICS,
    METRIC_PREFIX,
    METRICS,
    metric_names,
    metrics_for_scenario,
)
from .seeding import cell_key, normalize_seeds, resample_sigma_v
from .summaries import compare_published, init_effect, per_seed_rates, summarize, table_metrics
from .tables import add_counted, success_table

__all__ = [  # functions and classes, then constants
    "success_table",
    "summarize",
    "compare_published",
    "solve_cell",
    "CellResult",
    "init_effect",
    "metrics_for_scenario",
    "metric_names",
    "add_counted",
    "table_metrics",
    "per_seed_rates",
    "published_table",
    "published_rate",
    "Protocol",
    "get_protocol",
    "config_scenarios",
    "resample_sigma_v",
    "normalize_seeds",
    "cell_key",
    "PROTOCOLS",
    "GAMMAS",
    "LAMBDAS",
    "PUBLISHED",
    "PUBLISHED_SOURCES",
    "METRICS",
    "EXTRA_METRICS",
    "ALL_METRICS",
    "DECOMPOSITION_COLUMNS",
    "METRIC_PREFIX",
]

#: Former private alias of :func:`metrics_for_scenario`, kept for existing callers.
_metrics_for_scenario = metrics_for_scenario
