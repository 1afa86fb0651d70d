"""The λβ study's published results and set-up: the grid, the published means, the scenarios,
and what the analysis expects in each cell.

The published means (reference ``lambda-beta-linear-study.md``, printed to 3 decimals) are
read from ``published.csv`` beside this module: one row per ``(n, method, metric, λ)``, the
columns ``β = 1, 4, 8, 16, 32``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..scenarios import Scenario
from ..scenarios import scenario as named_scenario
from ..validation import check_positive_scalar

__all__ = [
    "STUDY_BETAS",
    "STUDY_LAMS",
    "STUDY_NS",
    "AUTHORS_FIXED_POINT",
    "PUBLISHED_STUDY",
    "STUDY_METRICS",
    "published_table",
    "published_frame",
    "study_scenario",
    "expected_regime",
]

STUDY_BETAS: tuple[float, ...] = (1.0, 4.0, 8.0, 16.0, 32.0)
STUDY_LAMS: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 8.0)
STUDY_NS: tuple[int, ...] = (50, 100)
#: The authors' fixed-point protocol per ``n``: (maximum half-steps, block tolerance).
AUTHORS_FIXED_POINT: dict[int, tuple[int, float]] = {50: (50_000, 1e-6), 100: (100_000, 1e-5)}
#: The three heatmap metrics: NLL in nats, SAP (squared correlations, true variances), matched MI.
STUDY_METRICS: tuple[str, ...] = ("recon", "sap", "matched_mi")
#: Published values are printed to 3 decimals: half a unit of the last digit.
PUBLISHED_ROUNDING = 5e-4


def _read_published() -> dict[tuple[int, str, str], tuple[tuple[float, ...], ...]]:
    path = Path(__file__).with_name("published.csv")
    rows: dict[tuple[int, str, str], list[tuple[float, ...]]] = {}
    with path.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            key = (int(rec["n"]), rec["method"], rec["metric"])
            rows.setdefault(key, []).append(tuple(float(rec[f"beta={b:g}"]) for b in STUDY_BETAS))
    for key, table in rows.items():
        if len(table) != len(STUDY_LAMS):
            raise RuntimeError(f"published.csv: {key} has {len(table)} rows, not {len(STUDY_LAMS)}")
    return {key: tuple(table) for key, table in rows.items()}


#: Published means over 50 initialisations (reference ``lambda-beta-linear-study.md``), keyed by
#: ``(n, method, metric)``; rows ``λ = 0, 2, 4, 6, 8``, columns ``β = 1, 4, 8, 16, 32``.
PUBLISHED_STUDY: dict[tuple[int, str, str], tuple[tuple[float, ...], ...]] = _read_published()

_PUBLISHED_METHOD = {"fixed-point": "fixed-point", "adamw": "adamw", "best": "fixed-point"}


def _check_published_key(n, method, metric):
    if n not in STUDY_NS:
        raise ValueError(f"n: expected one of {STUDY_NS}, got {n!r}")
    if method not in ("fixed-point", "adamw"):
        raise ValueError(f"method: expected 'fixed-point' or 'adamw', got {method!r}")
    if metric not in STUDY_METRICS:
        raise ValueError(f"metric: expected one of {STUDY_METRICS}, got {metric!r}")


def published_table(n: int, method: str, metric: str) -> pd.DataFrame:
    """One published heatmap as a table: rows ``λ``, columns ``β``.

    Examples
    --------
    >>> float(published_table(50, "fixed-point", "recon").loc[0.0, 4.0])
    11.553
    """
    _check_published_key(n, method, metric)
    values = np.array(PUBLISHED_STUDY[(n, method, metric)])
    out = pd.DataFrame(values, index=pd.Index(STUDY_LAMS, name="lam"), columns=STUDY_BETAS)
    out.columns.name = "beta"
    return out


def published_frame() -> pd.DataFrame:
    """All published means, tidy: columns ``n, method, beta, lam, metric, value``."""
    rows = [
        (n, method, beta, lam, metric, PUBLISHED_STUDY[(n, method, metric)][i][j])
        for (n, method, metric) in PUBLISHED_STUDY
        for i, lam in enumerate(STUDY_LAMS)
        for j, beta in enumerate(STUDY_BETAS)
    ]
    return pd.DataFrame(rows, columns=["n", "method", "beta", "lam", "metric", "value"])


def published_lookup(n, method, beta, lam, metric) -> float:
    """The published mean of one cell (method ``"best"``: the fixed-point table); NaN off the
    published grid."""
    key = (n, _PUBLISHED_METHOD.get(method, method), metric)
    if key not in PUBLISHED_STUDY or beta not in STUDY_BETAS or lam not in STUDY_LAMS:
        return np.nan
    return PUBLISHED_STUDY[key][STUDY_LAMS.index(lam)][STUDY_BETAS.index(beta)]


def study_scenario(n: int) -> Scenario:
    """The study's shipped covariances, ``scenario(f"lambda-beta-n{n}")`` (``n ∈ {50, 100}``)."""
    if n not in STUDY_NS:
        raise ValueError(f"n: expected one of {STUDY_NS}, got {n!r}")
    return named_scenario(f"lambda-beta-n{n}")


def expected_regime(beta: float, lam: float) -> str:
    """What the analysis says about the λβ loss with full ``Σ_Z`` in cell ``(β, λ)``.

    At the decoder's optimum ``L = h(Y) + (β - 1) I(X;Y) + β KL(q(x) || N(0, I)) + λ tr Σ_{Y|X}``:

    * ``β > 1, λ = 0``: ``"collapsed"``: the unique minimum is ``I(X;Y) = 0`` and the
      reconstruction term is exactly ``h(Y)``;
    * ``β = 1, λ = 0``: ``"flat"``: every encoder with ``Σ_X = I`` is a minimiser (value
      ``h(Y)``), a non-compact set; where a run ends depends on its initialisation;
    * ``β = 1, λ > 0`` or ``β < 1``: ``"divergent"``: the loss has no minimum; it keeps
      falling as ``Σ_W → 0`` (``I(X;Y) → ∞``), so any finite answer is where the stopping
      rule fired;
    * ``β > 1, λ > 0``: ``"minimum"``: the loss grows like ``(β - 1) I(X;Y)``, a minimum
      exists (interior, or collapsed when ``λ`` is small; the run's regime says which);
    * ``λ < 0``: ``"unknown"`` (no claim).
    """
    beta = check_positive_scalar(beta, "beta")
    lam = float(lam)
    if lam < 0:
        return "unknown"
    if beta < 1 or (beta == 1 and lam > 0):
        return "divergent"
    if beta == 1:
        return "flat"
    return "collapsed" if lam == 0 else "minimum"
