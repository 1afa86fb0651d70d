"""Which metric tracks the true grouping best (issue 6, item 5): agreement rates on a common
set of cells, paired rankings, and the small real runs behind them."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lingauss.protocol import PROTOCOLS, summarize
from lingauss.slides_hypothesis import (
    agreement_by_relation,
    agreement_from_table,
    agreement_ranking,
    format_agreement_markdown,
    metric_agreement,
)

FAST = PROTOCOLS["notebook"].replace(max_half_steps=1000)
T975 = {1: stats.t.ppf(0.975, 1), 2: stats.t.ppf(0.975, 2)}

# Per seed, 4 cells: regimes, then per metric (success, counted) by cell.
REGIMES = ["interior", "interior", "interior", "collapsed"]
CELLS = {
    0: {
        "im": ([1, 1, 0, 1], [1, 1, 1, 0]),
        "sap": ([1, 0, 0, 1], [1, 1, 1, 0]),
        "mig": ([1, 1, 1, 0], [1, 0, 1, 0]),
        "dci": ([0, 0, 0, 0], [1, 1, 1, 0]),
    },
    1: {
        "im": ([1, 1, 1, 0], [1, 1, 1, 0]),
        "sap": ([0, 0, 1, 0], [1, 1, 1, 0]),
        "mig": ([0, 1, 0, 0], [1, 1, 1, 0]),
        "dci": ([0, 0, 0, 0], [1, 1, 1, 0]),
    },
    2: {
        "im": ([1, 1, 1, 0], [1, 1, 1, 0]),
        "sap": ([1, 0, 0, 0], [1, 1, 1, 0]),
        "mig": ([1, 1, 1, 0], [1, 1, 1, 0]),
        "dci": ([0, 0, 0, 0], [1, 1, 1, 0]),
    },
}
# agreement = success & counted among the 3 interior cells -> rates per seed (%)
EXPECT = {
    "I_m": [200 / 3, 100.0, 100.0],
    "SAP": [100 / 3, 100 / 3, 100 / 3],
    "MIG": [200 / 3, 100 / 3, 100.0],
    "DCI": [0.0, 0.0, 0.0],
}


def synthetic(protocol="exact", G=2, m=3, scenario=1):
    rows = []
    for seed, metrics in CELLS.items():
        for c in range(4):
            row = dict(
                protocol=protocol, config="x", scenario=scenario, seed=seed, G=G, m=m,
                regime=REGIMES[c], converged=True, status=REGIMES[c],
            )  # fmt: skip
            for p, (succ, counted) in metrics.items():
                row[f"{p}_success"] = bool(succ[c])
                row[f"{p}_counted"] = bool(counted[c])
                row[f"{p}_tied"] = False
            rows.append(row)
    return pd.DataFrame(rows)


def test_agreement_rates_on_the_common_basis():
    a = agreement_from_table(synthetic()).set_index("metric")
    for metric, rates in EXPECT.items():
        assert a.loc[metric, "mean"] == pytest.approx(np.mean(rates))
        assert a.loc[metric, "sd"] == pytest.approx(np.std(rates, ddof=1), nan_ok=True)
        assert a.loc[metric, "n_cells"] == 3.0 and a.loc[metric, "n_seeds"] == 3
    assert (a.leader == "I_m").all()
    # paired differences to the leader, Student-t with 2 degrees of freedom
    for metric in ("SAP", "MIG", "DCI"):
        d = np.subtract(EXPECT[metric], EXPECT["I_m"])
        half = T975[2] * d.std(ddof=1) / np.sqrt(3)
        assert a.loc[metric, "diff_to_leader"] == pytest.approx(d.mean())
        assert a.loc[metric, "diff_low"] == pytest.approx(d.mean() - half)
        assert a.loc[metric, "best"] == bool(d.mean() - half <= 0 <= d.mean() + half)
    # SAP: d = (-33.3, -66.7, -66.7): mean -55.6, half-width 47.8 -> excludes 0
    assert not a.loc["SAP", "best"] and a.loc["MIG", "best"] and a.loc["I_m", "best"]
    # DCI never agrees: constant difference -88.9 with zero spread -> not best
    assert not a.loc["DCI", "best"]
    assert a["rank"].tolist() == [1, 3, 2, 4]
    # the metric's own rate (its own counted cells, as summarize) is reported beside it
    own = summarize(synthetic()).set_index("metric")["mean"]
    for metric in EXPECT:
        assert a.loc[metric, "own_rate"] == pytest.approx(own[metric])


def test_notebook_counting_uses_every_cell():
    t = synthetic("notebook")
    a = agreement_from_table(t).set_index("metric")  # count inferred: "all"
    assert a.loc["I_m", "n_cells"] == 4.0
    # seed 0: I_m agrees in cells 0, 1 (cell 3 succeeds but is not counted) -> 2/4
    assert a.loc["I_m", "mean"] == pytest.approx(100 * np.mean([2, 3, 3]) / 4)
    same = agreement_from_table(t.assign(protocol="mine"), count="all")
    np.testing.assert_allclose(same["mean"], a["mean"].to_numpy())


def test_equal_means_share_a_rank_and_one_seed_needs_equality():
    t = synthetic()
    t = t[t.seed == 2]
    a = agreement_from_table(t).set_index("metric")
    assert a.loc["I_m", "rank"] == a.loc["MIG", "rank"] == 1
    assert a.loc["I_m", "best"] and a.loc["MIG", "best"] and not a.loc["SAP", "best"]
    assert np.isnan(a.loc["SAP", "diff_low"])  # no interval from one seed


def test_ranking_relation_and_markdown():
    t = pd.concat([synthetic(G=2, m=3, scenario=1), synthetic(G=3, m=3, scenario=2)])
    a = agreement_from_table(t)
    r = agreement_ranking(a)
    assert r.relation.tolist() == ["G<m", "G=m"]
    assert r.slides.tolist() == ["I_m", "SAP"]
    assert r.best.tolist() == ["I_m, MIG"] * 2
    assert r.slides_best.tolist() == [True, False]
    assert r.order[0] == "I_m 89 > MIG 67 > SAP 33 > DCI 0"
    rel = agreement_by_relation(a).set_index(["relation", "metric"])
    assert rel.loc[("G<m", "I_m"), "n_best"] == 1 and rel.loc[("G=m", "SAP"), "n_best"] == 0
    assert rel.loc[("G<m", "I_m"), "n_top"] == 1 and rel.loc[("G<m", "MIG"), "n_top"] == 0
    md = format_agreement_markdown(a)
    lines = md.strip().splitlines()
    assert lines[0].startswith("| protocol | config |") and len(lines) == 4
    assert "**89 ± 19**" in lines[2] and "| 33 ± 0 |" in lines[2]


def test_agreement_errors():
    t = synthetic()
    with pytest.raises(ValueError, match="^table:"):
        agreement_from_table(t.drop(columns=["dci_counted"]))
    with pytest.raises(ValueError, match="^count:"):
        agreement_from_table(t.assign(protocol="mine"))
    with pytest.raises(ValueError, match="^count:"):
        agreement_from_table(t, count="some")
    with pytest.raises(ValueError, match="^level:"):
        agreement_from_table(t, level=1.0)
    with pytest.raises(ValueError, match="^metrics:"):
        agreement_from_table(t, metrics=["beta"])
    only = agreement_from_table(t.drop(columns=["dci_counted"]), metrics=["I_m", "SAP"])
    assert only.metric.tolist() == ["I_m", "SAP"]


def test_metric_agreement_real_runs_match_their_table():
    """On real BA runs: hits on the common basis equal the table's agreeing cells, and under
    the notebook protocol (every cell counts) the agreement rate is the metric's own rate."""
    grid = dict(gammas=[0.99, 1.0], lambdas=[0.0, 0.01])
    nb = metric_agreement("3-4-2", FAST, seeds=2, **grid)
    np.testing.assert_allclose(nb["mean"], nb["own_rate"])
    assert (nb.n_cells == 4).all() and set(nb.relation) == {"G>m", "G=m", "G<m"}
    ex = metric_agreement("3-4-3", "exact", seeds=[0, 1], **grid)
    from lingauss.protocol import success_table

    t = success_table("3-4-3", "exact", [0, 1], metrics="all", **grid)
    for r in ex.itertuples():
        p = {"I_m": "im", "SAP": "sap", "MIG": "mig", "DCI": "dci"}[r.metric]
        rates = []
        for _, g in t[t.scenario == r.scenario].groupby("seed"):
            base = g.regime == "interior"
            hits = (g[f"{p}_success"] & g[f"{p}_counted"] & base).sum()
            rates.append(100 * hits / base.sum() if base.sum() else np.nan)
        assert r.mean == pytest.approx(np.nanmean(rates), nan_ok=True)


def test_docstring_examples():
    import pkgutil

    pkg = importlib.import_module("lingauss.slides_hypothesis")
    attempted = 0
    for info in pkgutil.iter_modules(pkg.__path__):
        result = doctest.testmod(importlib.import_module(f"{pkg.__name__}.{info.name}"))
        assert result.failed == 0, info.name
        attempted += result.attempted
    assert attempted > 0
