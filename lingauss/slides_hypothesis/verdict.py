"""The slides' hypothesis (reference §8): I_m beats SAP when ``G < m``, SAP wins when
``G >= m``; both success rates paired seed by seed and the difference's interval compared
with the prediction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..protocol import get_protocol, per_seed_rates, success_table
from .configs import resolve_scenarios

__all__ = ["t_interval", "paired_verdict", "hypothesis_test", "hypothesis_from_table"]


def t_interval(d, level: float) -> tuple[float, float, float, float]:
    """Mean, sd (ddof 1) and Student-t interval at ``level`` of the mean of the finite
    entries of ``d``: ``mean ± t_{(1+level)/2, N-1} sd / √N``. NaN where undefined (no entry;
    sd and interval with one entry).

    Examples
    --------
    >>> [round(float(x), 3) for x in t_interval([80.0, 88.0, float("nan")], 0.95)]
    [84.0, 5.657, 33.175, 134.825]
    """
    d = np.asarray(d, dtype=float).ravel()
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan, np.nan, np.nan, np.nan
    mean = float(d.mean())
    if d.size == 1:
        return mean, np.nan, np.nan, np.nan
    sd = float(d.std(ddof=1))
    half = stats.t.ppf(0.5 + level / 2, d.size - 1) * sd / np.sqrt(d.size)
    return mean, sd, mean - half, mean + half


def paired_verdict(differences, predicted: str, level: float = 0.95) -> dict:
    """Decide which metric wins from per-seed differences ``I_m rate - SAP rate``.

    NaN differences (seeds where a rate is undefined) are dropped. With two or more seeds the
    winner is the metric favoured by the whole Student-t interval of the mean difference
    (``"neither"`` when it straddles 0); with one seed, the sign. ``verdict`` compares the
    winner with ``predicted``.

    Returns
    -------
    dict with ``difference``, ``sd``, ``low``, ``high``, ``n_seeds``, ``observed``, ``verdict``.

    Examples
    --------
    >>> paired_verdict([20.0, 25.0, 30.0], "I_m")["verdict"]
    'supports'
    """
    if predicted not in ("I_m", "SAP"):
        raise ValueError(f"predicted: expected 'I_m' or 'SAP', got {predicted!r}")
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    d = np.asarray(differences, dtype=float).ravel()
    d = d[np.isfinite(d)]
    mean, sd, low, high = t_interval(d, level)
    observed = "neither"
    if d.size == 1:
        observed = "I_m" if mean > 0 else "SAP" if mean < 0 else "neither"
    elif d.size > 1:
        observed = "I_m" if low > 0 else "SAP" if high < 0 else "neither"
    if observed == "neither":
        verdict = "inconclusive"
    else:
        verdict = "supports" if observed == predicted else "contradicts"
    return {
        "difference": mean,
        "sd": sd,
        "low": low,
        "high": high,
        "n_seeds": int(d.size),
        "observed": observed,
        "verdict": verdict,
    }


def hypothesis_test(
    config="4-5-4",
    protocol="notebook",
    seeds=5,
    *,
    level: float = 0.95,
    progress: Callable[[int], None] | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Does I_m beat SAP when ``G < m``, and SAP win when ``G >= m``?

    Parameters
    ----------
    config : str, Scenario or sequence
        A published configuration, a name in :data:`NEW_CONFIGS`, ``"all"``, user scenarios,
        or a list mixing names and scenarios.
    protocol : {"notebook", "exact"} or Protocol
    seeds : int or sequence of int
    level : float
        Confidence level of the interval on the mean paired difference.
    progress, **kwargs :
        Passed to :func:`lingauss.protocol.success_table` (e.g. ``gammas``, ``lambdas``).

    Returns
    -------
    pandas.DataFrame
        One row per (config, scenario): ``G``, ``m``, ``gap`` (= m - G), ``predicted``
        ("I_m" if G < m else "SAP"), mean success rates ``im_rate`` and ``sap_rate`` (%),
        ``difference`` (mean over seeds of I_m - SAP, percentage points), ``sd``, ``low``
        and ``high`` (Student-t interval of the mean paired difference; NaN with fewer than
        two usable seeds), ``n_seeds``, ``observed`` ("I_m" if the interval lies above 0,
        "SAP" if below, "neither" otherwise; with one seed, the sign) and ``verdict``
        ("supports", "contradicts" or "inconclusive").

    Examples
    --------
    >>> df = hypothesis_test("4-5-4", seeds=1)  # doctest: +SKIP
    >>> df[["scenario", "G", "m", "predicted", "difference", "verdict"]]  # doctest: +SKIP
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    prot = get_protocol(protocol)
    items = resolve_scenarios(config, prot.preset)
    table = success_table(items, prot, seeds, progress=progress, **kwargs)
    return hypothesis_from_table(table, level=level)


def hypothesis_from_table(table: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """:func:`hypothesis_test` on an existing :func:`lingauss.protocol.success_table` table.

    Returns the same columns; the per-seed rates follow the table's counting rule.
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    ps = per_seed_rates(table)
    wide = ps.pivot(
        index=["config", "scenario", "seed", "G", "m"], columns="metric", values="rate"
    ).reset_index()
    rows = []
    for (cfg, num), g in wide.groupby(["config", "scenario"], sort=False):
        G, m = int(g.G.iloc[0]), int(g.m.iloc[0])
        row = {
            "config": cfg,
            "scenario": int(num),
            "G": G,
            "m": m,
            "gap": m - G,
            "predicted": "I_m" if G < m else "SAP",
            "im_rate": float(g["I_m"].mean()),
            "sap_rate": float(g["SAP"].mean()),
        }
        row.update(paired_verdict((g["I_m"] - g["SAP"]).to_numpy(float), row["predicted"], level))
        rows.append(row)
    return pd.DataFrame(rows)
