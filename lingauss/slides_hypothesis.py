"""Test the slides' hypothesis (reference §8) on any configuration.

With ``G`` the number of independent factor groups and ``m`` the number of latents, the slides
predict: if ``G < m``, I_m beats SAP (more so as ``m - G`` grows); if ``G >= m``, SAP wins.
:func:`hypothesis_test` measures both success rates per scenario over several seeds, pairs
them seed by seed, and says whether the measured difference supports the prediction.

Besides the published configurations, :data:`NEW_CONFIGS` defines configurations the slides did
not study (four factors, five observed coordinates, ``m = 4`` or ``m = 2``), built with
:func:`lingauss.factor_group_scenario`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from .protocol import _per_seed, get_protocol, success_table
from .scenarios import CONFIGS, Scenario, factor_group_scenario, scenario

__all__ = [
    "NEW_CONFIGS",
    "new_config_scenarios",
    "hypothesis_test",
    "paired_verdict",
    "hypothesis_from_table",
    "HYPOTHESIS_CONFIGS",
]

# Four factors observed in five coordinates (the fifth is noise only), scales like the s5
# family: leaders' σ, loadings and noise σ as in reference §5 (s5), one group structure per
# scenario, from four independent factors (G = 4) down to one group (G = 1).
_NEW_SIGMA = (0.05, 0.02, 0.04, 0.03)
_NEW_LOAD = {1: 0.3, 2: 0.4, 3: 0.2}
_NEW_SZ = {1: 0.02, 2: 0.03, 3: 0.02}
_NEW_STRUCTURES = (
    ((0,), (1,), (2,), (3,)),
    ((0, 1), (2,), (3,)),
    ((0, 1), (2, 3)),
    ((0, 1, 2, 3),),
)

#: New configurations: name -> (s, n, m).
NEW_CONFIGS: dict[str, tuple[int, int, int]] = {"4-5-4": (4, 5, 4), "4-5-2": (4, 5, 2)}
HYPOTHESIS_CONFIGS = tuple(CONFIGS) + tuple(NEW_CONFIGS)


def new_config_scenarios(name: str) -> list[Scenario]:
    """The scenarios of a configuration in :data:`NEW_CONFIGS` (G = 4, 3, 2, 1).

    In each group the first factor leads (σ = 0.05, 0.02, 0.04, 0.03 for factors 1-4 when
    they lead); a follower ``k`` is ``v_k = a_k v_lead + z_k`` with ``a = 0.3, 0.4, 0.2`` and
    ``σ_z = 0.02, 0.03, 0.02`` for factors 2-4; observation noise σ = 0.01; ``n = 5``.

    Examples
    --------
    >>> [sc.n_groups for sc in new_config_scenarios("4-5-4")]
    [4, 3, 2, 1]
    """
    if name not in NEW_CONFIGS:
        raise ValueError(f"name: expected one of {sorted(NEW_CONFIGS)}, got {name!r}")
    s, n, m = NEW_CONFIGS[name]
    out = []
    for k, groups in enumerate(_NEW_STRUCTURES, start=1):
        leads = [_NEW_SIGMA[g[0]] for g in groups]
        followers = [j for g in groups for j in g[1:]]
        sc = factor_group_scenario(
            groups,
            leads,
            {j: _NEW_LOAD[j] for j in followers},
            {j: _NEW_SZ[j] for j in followers},
            noise_sd=0.01,
            m=m,
            n=n,
        )
        out.append(dataclasses.replace(sc, name=f"{name} scenario {k}", config=name, number=k))
    return out


def _resolve(config, preset: str) -> list[Scenario]:
    if isinstance(config, str):
        if config == "all":
            return [sc for c in HYPOTHESIS_CONFIGS for sc in _resolve(c, preset)]
        if config in NEW_CONFIGS:
            return new_config_scenarios(config)
        if config in CONFIGS:
            return [scenario(config, k, preset) for k in (1, 2, 3)]
        raise ValueError(
            f"config: expected one of {list(HYPOTHESIS_CONFIGS) + ['all']}, got {config!r}"
        )
    if isinstance(config, Scenario):
        return [config]
    try:
        items = list(config)
    except TypeError:
        raise ValueError(f"config: expected a name, a Scenario or a list, got {config!r}") from None
    if not items:
        raise ValueError("config: empty")
    return [sc for c in items for sc in _resolve(c, preset)]


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
    mean = sd = low = high = np.nan
    observed = "neither"
    if d.size:
        mean = float(d.mean())
        if d.size == 1:
            observed = "I_m" if mean > 0 else "SAP" if mean < 0 else "neither"
        else:
            sd = float(d.std(ddof=1))
            half = stats.t.ppf(0.5 + level / 2, d.size - 1) * sd / np.sqrt(d.size)
            low, high = mean - half, mean + half
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
    items = _resolve(config, prot.preset)
    table = success_table(items, prot, seeds, progress=progress, **kwargs)
    return hypothesis_from_table(table, level=level)


def hypothesis_from_table(table: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """:func:`hypothesis_test` on an existing :func:`lingauss.protocol.success_table` table.

    Returns the same columns; the per-seed rates follow the table's counting rule.
    """
    if not 0 < float(level) < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    ps = _per_seed(table)
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
