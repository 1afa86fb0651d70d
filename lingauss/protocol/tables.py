"""The success table: per-cell results of a protocol, one row per (config, scenario, γ, λ,
seed), with the counting rule that decides which cells enter a success rate."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..metrics.grouping import format_grouping
from ..scenarios import Scenario
from .conventions import (
    GAMMAS,
    LAMBDAS,
    Protocol,
    config_scenarios,
    get_protocol,
    grid_values,
    resolve_protocol,
)
from .runs import solve_group
from .scoring import (
    ALL_METRICS,
    DECOMPOSITION_COLUMNS,
    METRIC_PREFIX,
    metric_selection,
    metrics_for_scenario,
)
from .seeding import normalize_seeds, scenario_number, scenarios_by_seed

__all__ = ["success_table", "table_rows", "add_counted"]


def success_table(
    config="3-4-3",
    protocol: str | Protocol = "notebook",
    seeds=1,
    *,
    init: str | None = None,
    preset: str | None = None,
    gammas: Sequence[float] = GAMMAS,
    lambdas: Sequence[float] = LAMBDAS,
    progress: Callable[[int], None] | None = None,
    metrics="published",
    n_jobs: int | str | None = "auto",
) -> pd.DataFrame:
    """Per-cell results of a protocol: one row per (config, scenario, γ, λ, seed).

    Parameters
    ----------
    config : str, list of str, or sequence of Scenario
        A published configuration ("3-4-3", "3-4-2", "5-5-4", "5-5-3"), ``"all"``, a list of
        them, or user scenarios (e.g. from :func:`lingauss.factor_group_scenario`).
    protocol : {"notebook", "exact"} or Protocol
    seeds : int or sequence of int
        ``N`` means seeds ``0..N-1``.
    init : {"authors", "exchangeable"}, optional
        Override the protocol's initialiser (to measure its effect, see :func:`init_effect`).
    preset : {"rounded", "analytic", "resampled"}, optional
        Override the protocol's Σ_V (``"resampled"``: redrawn per seed, as the authors' runs
        did; see :func:`resample_sigma_v`).
    gammas, lambdas : sequences of float
        The grid (default the published 5 × 5).
    progress : callable, optional
        Called with the number of BA runs just finished (e.g. ``tqdm.update``).
    n_jobs : int, "auto" or None, optional
        Worker processes for the batched solver (default ``"auto"``: one per usable core
        when the table is large enough to gain from them; ``None``/``-1``: one per usable
        core); the results do not depend on it (see :func:`lingauss.blahut_arimoto_batch`).
    metrics : "published", "all" or a selection of names
        ``"published"`` (default): I_m and SAP. ``"all"`` (or any selection naming MIG or
        DCI) adds, per cell, the KL decomposition, the matched MI, MIG and DCI, computed on
        the **true** joint covariance whatever the protocol's X block (see
        :func:`metrics_for_scenario`); the cost is small (vectorised over the cells).

    Returns
    -------
    pandas.DataFrame
        Columns: protocol, config, scenario, G, m, gamma, lam, seed, regime (collapsed /
        interior / divergent / nonfinite), stop_reason, converged, half_steps, status, runs,
        recon_error, loss, mi_xy and mi_xv (nats, from the true joint covariance),
        im_value, im_grouping ("{1,2}{3}": 1-based factors), im_tied, im_n_tied, im_gap,
        im_valid, im_success, im_counted, sap_score, sap_grouping, sap_tied, sap_success,
        sap_counted; with the extra metrics kl, index_code_mi (= mi_xy), total_correlation,
        dimensionwise_kl, marginal_kl, matched_mi, mig_score, mig_grouping, mig_degenerate,
        mig_tied, mig_success, mig_counted, dci_d, dci_c, dci_i, dci_grouping,
        dci_degenerate, dci_tied, dci_success, dci_counted; then truth. ``*_counted`` says
        whether the cell enters the metric's rate (:func:`add_counted`).

    Examples
    --------
    >>> t = success_table("3-4-3", "notebook", seeds=1, gammas=[1.0], lambdas=[0.0])
    >>> len(t), sorted(t.scenario.unique().tolist())
    (3, [1, 2, 3])
    """
    prot = resolve_protocol(protocol, init, preset)
    metrics = metric_selection(metrics)
    seeds = normalize_seeds(seeds)
    gammas = grid_values(gammas, "gammas")
    lambdas = grid_values(lambdas, "lambdas")
    if np.any(gammas <= 0):
        raise ValueError("gammas: must be > 0")
    groups = config_scenarios(config, prot.preset)
    frames = []
    for label, scs in groups:
        by_seed = scenarios_by_seed(label, scs, prot, seeds)
        chosen, _, R = solve_group(
            label, by_seed, prot, seeds, gammas, lambdas, progress, n_jobs=n_jobs
        )
        frames.append(table_rows(label, by_seed, prot, seeds, gammas, lambdas, chosen, R, metrics))
    return pd.concat(frames, ignore_index=True)


def table_rows(
    label, scs_by_seed, prot, seeds, gammas, lambdas, chosen, R, metrics="published"
) -> pd.DataFrame:
    """The table rows of one group of scenarios from its kept runs (:func:`solve_group`):
    one row per (seed, scenario, γ, λ), with the metric columns of
    :func:`metrics_for_scenario` and the counting flags of :func:`add_counted`."""
    scs = scs_by_seed[0]
    nS, nK, nG, nL = len(seeds), len(scs), len(gammas), len(lambdas)
    shape = (nS, nK, nG, nL)
    idx = np.indices(shape).reshape(4, -1)
    finite = chosen["n_finite"] > 0
    regime = np.where(finite, chosen["regime"].astype(object), "nonfinite")
    cols = {
        "protocol": prot.name,
        "config": label,
        "scenario": np.array([scenario_number(scs[k], k) for k in idx[1]]),
        "G": np.array([scs[k].n_groups for k in idx[1]]),
        "m": scs[0].m,
        "gamma": gammas[idx[2]],
        "lam": lambdas[idx[3]],
        "seed": np.asarray(seeds)[idx[0]],
        "regime": regime,
        "stop_reason": chosen["reason"],
        "converged": chosen["converged"],
        "half_steps": chosen["half_steps"],
        "runs": R,
        "recon_error": chosen["recon"],
        "loss": chosen["loss"],
        "mi_xy": chosen["mi_xy"],
        "truth": np.array([format_grouping(scs[k].groups) for k in idx[1]], dtype=object),
    }
    metric_cols: dict[str, np.ndarray] = {}
    # one vectorised metric call per distinct scenario object (per seed if Σ_V is resampled)
    owner: dict[int, tuple[Scenario, list[int]]] = {}
    for r, (a, k) in enumerate(zip(idx[0], idx[1])):
        sc = scs_by_seed[a][k]
        owner.setdefault(id(sc), (sc, []))[1].append(r)
    for sc, rows in owner.values():
        sel = np.asarray(rows)
        res = metrics_for_scenario(
            sc, prot, chosen["B"][sel], chosen["Sigma_W"][sel], finite[sel], metrics=metrics
        )
        for name, vals in res.items():
            if name not in metric_cols:
                metric_cols[name] = np.empty(idx.shape[1], dtype=vals.dtype)
            metric_cols[name][sel] = vals
    df = add_counted(pd.DataFrame({**cols, **metric_cols}), prot)
    order = [
        "protocol", "config", "scenario", "G", "m", "gamma", "lam", "seed", "regime",
        "stop_reason", "converged", "half_steps", "status", "runs", "recon_error", "loss",
        "mi_xy", "mi_xv", "im_value", "im_grouping", "im_tied", "im_n_tied", "im_gap",
        "im_valid", "im_success", "im_counted", "sap_score", "sap_grouping", "sap_tied",
        "sap_success", "sap_counted",
    ]  # fmt: skip
    if "mig_success" in df.columns:
        order += [
            *DECOMPOSITION_COLUMNS, "matched_mi", "mig_score", "mig_grouping",
            "mig_degenerate", "mig_tied", "mig_success", "mig_counted", "dci_d", "dci_c",
            "dci_i", "dci_grouping", "dci_degenerate", "dci_tied", "dci_success",
            "dci_counted",
        ]  # fmt: skip
    return df[order + ["truth"]]


def add_counted(df: pd.DataFrame, protocol: str | Protocol) -> pd.DataFrame:
    """Add ``status`` and the ``<metric>_counted`` flags to table rows (in place; returned).

    ``status`` is the regime, or ``"unconverged"`` for an interior run that did not meet its
    stopping rule. Under ``count="all"`` (notebook) every cell counts (SAP and MIG need
    ``m >= 2``); under ``count="decided"`` (exact) a cell counts for a metric when its run is
    interior (converged or not) and the metric's decision is resolvable: not tied, I_m valid,
    MIG/DCI not degenerate. Only metrics whose ``<metric>_success`` column is present get a
    flag.
    """
    prot = get_protocol(protocol)
    df["status"] = np.where((df.regime == "interior") & ~df.converged, "unconverged", df.regime)
    clean = df.regime == "interior"
    for metric in ALL_METRICS:
        p = METRIC_PREFIX[metric]
        if f"{p}_success" not in df.columns:
            continue
        needs_two = metric in ("SAP", "MIG")
        usable = (df.m >= 2) if needs_two else pd.Series(True, index=df.index)
        if prot.count == "all":
            df[f"{p}_counted"] = usable
        else:
            decided = ~df[f"{p}_tied"].astype(bool)
            if metric == "I_m":
                decided &= df.im_valid.astype(bool)
            df[f"{p}_counted"] = clean & decided & usable
    return df
