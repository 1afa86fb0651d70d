"""Tests of the reproduction protocols, the summaries and the slides' hypothesis test."""

import numpy as np
import pandas as pd
import pytest

from lingauss.blahut_arimoto import blahut_arimoto_batch, random_encoder
from lingauss.loss import reconstruction_error
from lingauss.metrics import (
    authors_partition_order,
    format_grouping,
    grouping_success,
    im_partition_value,
    is_coarsening,
    parse_grouping,
)
from lingauss.protocol import (
    GAMMAS,
    LAMBDAS,
    PROTOCOLS,
    PUBLISHED,
    Protocol,
    cell_key,
    compare_published,
    init_effect,
    normalize_seeds,
    published_table,
    solve_cell,
    success_table,
    summarize,
)
from lingauss.scenarios import scenario
from lingauss.slides_hypothesis import (
    NEW_CONFIGS,
    hypothesis_test,
    new_config_scenarios,
    paired_verdict,
)

SMALL = dict(gammas=[0.98, 1.0], lambdas=[0.0, 0.01])
#: The notebook protocol with a 1000 half-step budget: same conventions, a tenth of the time
#: (most notebook runs use the whole budget, so the budget sets the cost of a test).
FAST = PROTOCOLS["notebook"].replace(max_half_steps=1000)


@pytest.fixture(scope="module")
def notebook_small():
    return success_table("3-4-3", FAST, seeds=1, **SMALL)


@pytest.fixture(scope="module")
def exact_small():
    return success_table("3-4-3", "exact", seeds=1, gammas=[0.98, 1.02], lambdas=[0.0])


# ------------------------------------------------------------------------------ protocols
def test_protocol_definitions():
    nb, ex = PROTOCOLS["notebook"], PROTOCOLS["exact"]
    assert (nb.preset, nb.init, nb.stop_rule, nb.select) == (
        "rounded",
        "authors",
        "notebook",
        "recon",
    )
    assert (nb.x_block, nb.sap_var, nb.tie_rule, nb.count) == (
        "identity",
        "nominal",
        "authors",
        "all",
    )
    assert nb.max_half_steps == 10_000
    assert nb.runs_per_cell(scenario("3-4-3", 1)) == 6
    assert nb.runs_per_cell(scenario("5-5-3", 1)) == 2
    assert (ex.preset, ex.init, ex.stop_rule, ex.x_block, ex.sap_var, ex.tie_rule) == (
        "analytic",
        "exchangeable",
        "exact",
        "true",
        "true",
        "exact",
    )
    assert nb.replace(init="exchangeable").init == "exchangeable"
    with pytest.raises(ValueError, match="^init:"):
        nb.replace(init="random")
    with pytest.raises(ValueError, match="^restarts:"):
        Protocol("p", "rounded", (("s3", 6),), "authors", "notebook", "recon", "identity",
                 "nominal", "authors", "all")  # fmt: skip


# ---------------------------------------------------------------------------- the tables
def test_notebook_table_shape_and_counting(notebook_small):
    t = notebook_small
    assert len(t) == 3 * 2 * 2
    assert set(t.scenario) == {1, 2, 3} and set(t.gamma) == {0.98, 1.0}
    assert (t.protocol == "notebook").all() and (t.runs == 6).all()
    assert (t.half_steps <= 1000).all()
    assert t.im_counted.all() and t.sap_counted.all()  # every cell counts
    assert set(t.regime) <= {"collapsed", "interior", "divergent", "nonfinite"}
    assert list(t.truth[t.scenario == 2].unique()) == ["{1,2}{3}"]
    # success means the grouping equals the truth (G <= m here)
    np.testing.assert_array_equal(t.im_success, t.im_grouping == t.truth)
    np.testing.assert_array_equal(t.sap_success, t.sap_grouping == t.truth)
    # deterministic given the seed
    again = success_table("3-4-3", FAST, seeds=[0], gammas=[1.0], lambdas=[0.0])
    row = t[(t.gamma == 1.0) & (t.lam == 0.0)].reset_index(drop=True)
    pd.testing.assert_frame_equal(row[again.columns], again, check_dtype=False)


def test_cell_follows_notebook_conventions():
    """Recompute one cell's metrics from its encoder with the notebook's conventions written
    out: identity X block, I_m rounded to 8 decimals with the first maximiser in the authors'
    order, SAP with nominal σ_v and Var x = 1, ties to the lowest latent."""
    res = solve_cell("3-4-3", 2, 1.0, 0.0, "notebook", seed=0)
    sc = scenario("3-4-3", 2, "rounded")
    B = res.solution.B
    C = sc.joint_cov_xv(B, x_block="identity")
    order = authors_partition_order(3, 3)
    vals = np.round([im_partition_value(C, 3, lab) for lab in order], 8)
    best = order[int(np.argmax(vals))]
    groups = {}
    for j, lab in enumerate(best):
        groups.setdefault(int(lab), []).append(j)
    assert res.row["im_grouping"] == format_grouping(groups.values())
    assert res.row["im_value"] == vals.max()
    cross = B @ sc.Gamma @ sc.Sigma_V
    S = cross**2 / np.array([0.01, 0.02, 0.03]) ** 2
    groups = {}
    for j in range(3):
        groups.setdefault(int(np.argmax(S[:, j])), []).append(j)
    assert res.row["sap_grouping"] == format_grouping(groups.values())


def test_restarts_seeding_and_selection():
    """The kept run is the one with the smallest reconstruction error among the cell's runs,
    each started from the documented per-cell generator."""
    g, lam, seed = 0.99, -0.01, 3
    res = solve_cell("3-4-3", 1, g, lam, "notebook", seed=seed)
    sc = scenario("3-4-3", 1, "rounded")
    rng = np.random.default_rng([seed, cell_key("3-4-3", 1, g, lam)])
    B0, Sw0 = random_encoder(3, 4, rng, size=6, method="authors")
    runs = blahut_arimoto_batch(
        sc.Sigma_Y, 3, g, lam, B0, Sw0, stop_rule="notebook", history_every=50
    )
    rec = reconstruction_error(runs.A, runs.Sigma_Z, sc.Sigma_Y)
    k = int(np.argmin(rec))
    np.testing.assert_array_equal(res.solution.B, runs.B[k])
    assert res.row["recon_error"] == pytest.approx(rec[k], rel=1e-12)


def test_solve_cell_matches_table_row(notebook_small):
    t = notebook_small
    r = solve_cell("3-4-3", 3, 0.98, 0.01, FAST, seed=0).row
    row = t[(t.scenario == 3) & (t.gamma == 0.98) & (t.lam == 0.01)].iloc[0]
    for col in ("im_value", "im_grouping", "sap_score", "sap_grouping", "recon_error", "regime"):
        assert r[col] == row[col]


def test_table_does_not_depend_on_the_kept_history(monkeypatch, notebook_small):
    """The table asks the solver for the regime records only; with every record kept (as
    solve_cell does) it is the same table, to the bit."""
    import lingauss.protocol.runs as runs

    real = runs.blahut_arimoto_batch
    seen = []

    def full_history(*args, **kw):
        seen.append(kw["history"])
        return real(*args, **{**kw, "history": "full", "n_jobs": 1})

    monkeypatch.setattr(runs, "blahut_arimoto_batch", full_history)
    full = success_table("3-4-3", FAST, seeds=1, **SMALL)
    assert seen and set(seen) == {"regime"}
    pd.testing.assert_frame_equal(full, notebook_small)


def test_exact_protocol_counts_only_decided_cells(exact_small):
    t = exact_small
    assert (t.protocol == "exact").all()
    # γ = 1.02 > 1: the loss has no minimum; the run drifts and is not counted
    hi = t[t.gamma == 1.02]
    assert (hi.regime == "divergent").all() and not hi.im_counted.any()
    # scenario 1 (independent factors, diagonal Σ_Y) at γ < 1: posterior collapse
    lo1 = t[(t.gamma == 0.98) & (t.scenario == 1)]
    assert (lo1.regime == "collapsed").all() and not lo1.im_counted.any()
    # counted cells are interior with a resolvable decision
    c = t[t.im_counted]
    assert (c.regime == "interior").all() and not c.im_tied.any() and c.im_valid.all()
    s = summarize(t)
    for r in s.itertuples():
        cells = t[t.scenario == r.scenario]
        p = "im" if r.metric == "I_m" else "sap"
        n = cells[f"{p}_counted"].sum()
        expect = 100 * (cells[f"{p}_success"] & cells[f"{p}_counted"]).sum() / n if n else np.nan
        assert r.mean == pytest.approx(expect, nan_ok=True)
        assert r.n_collapsed == (cells.status == "collapsed").sum()


def test_normalize_seeds_is_the_table_rule():
    """The seed rule of success_table, public for other table builders (neural.tables)."""
    assert normalize_seeds(3) == [0, 1, 2] and normalize_seeds(np.int64(2)) == [0, 1]
    assert normalize_seeds([5, 2]) == [5, 2]
    for bad in (True, 0, [], [1, 1], [-1], ["a"], None):
        with pytest.raises(ValueError, match="^seeds:"):
            normalize_seeds(bad)


# ---------------------------------------------------------------------------- summaries
def synthetic_table(successes, counted=None, config="3-4-3", scenario_=1):
    """25 cells per seed; seed k has successes[k] I_m successes (the first cells)."""
    rows = []
    for seed, k in enumerate(successes):
        for c in range(25):
            rows.append(
                dict(
                    protocol="notebook",
                    config=config,
                    scenario=scenario_,
                    G=3,
                    m=3,
                    seed=seed,
                    status="interior",
                    im_success=c < k,
                    im_counted=True if counted is None else c < counted[seed],
                    im_tied=False,
                    sap_success=False,
                    sap_counted=True,
                    sap_tied=c == 0,
                )
            )
    return pd.DataFrame(rows)


def test_summarize_statistics_and_published():
    s = summarize(synthetic_table([4, 6]))  # rates 16 % and 24 %
    im = s[s.metric == "I_m"].iloc[0]
    assert im["mean"] == pytest.approx(20.0)
    assert im["sd"] == pytest.approx(np.sqrt(32.0))  # ((16-20)^2 + (24-20)^2) / (2-1)
    assert (im["min"], im["max"]) == (16.0, 24.0)
    # linear-interpolated 2.5 / 97.5 percentiles of {16, 24}
    assert im["low"] == pytest.approx(16.2) and im["high"] == pytest.approx(23.8)
    assert im["published"] == 16.0 and im["published_slides"] == 16.0
    assert im["inside"] and not im["inside_interval"]
    sap = s[s.metric == "SAP"].iloc[0]
    assert sap["mean"] == 0.0 and sap["published"] == 40.0 and not sap["inside"]
    assert sap["n_tied"] == 1.0


def test_summarize_decided_rate():
    # seed 0: 10 counted cells, 4 successes among them -> 40 %; seed 1: none counted
    s = summarize(synthetic_table([4, 4], counted=[10, 0]))
    im = s[s.metric == "I_m"].iloc[0]
    assert im["mean"] == pytest.approx(40.0)
    assert im["n_counted"] == pytest.approx(5.0)
    assert im["rate_all_mean"] == pytest.approx(16.0)
    with pytest.raises(ValueError, match="^table:"):
        summarize(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="^source:"):
        summarize(synthetic_table([1]), source="paper")


def test_published_data():
    pub = published_table()
    assert len(pub) == 3 * (4 + 8 + 20)
    assert set(pub.source) == {"slides", "notebook"} | {f"repeat-{k}" for k in range(1, 6)}
    for metric in ("I_m", "SAP"):
        assert PUBLISHED[("5-5-4", metric, "slides")] == PUBLISHED[("5-5-4", metric, "repeat-1")]
        assert PUBLISHED[("3-4-3", metric, "slides")] == PUBLISHED[("3-4-3", metric, "notebook")]
    assert PUBLISHED[("5-5-3", "SAP", "repeat-3")] == (84, 28, 28)
    cmp = compare_published(summarize(synthetic_table([4, 6])))
    assert set(cmp.source) == {"slides", "notebook"}
    assert cmp[cmp.metric == "I_m"].inside.all()


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(config="3-3-3"), "^config:"),
        (dict(config=[]), "^config: empty"),
        (dict(protocol="fast"), "^protocol:"),
        (dict(seeds=0), "^seeds:"),
        (dict(seeds=[1, -1]), "^seeds:"),
        (dict(seeds=[2, 2]), "^seeds:"),
        (dict(gammas=[0.0]), "^gammas:"),
        (dict(lambdas=[]), "^lambdas:"),
        (dict(init="random"), "^init:"),
    ],
)
def test_success_table_errors(kwargs, msg):
    args = dict(config="3-4-3", protocol="notebook", seeds=1, gammas=[1.0], lambdas=[0.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        success_table(**args)


def test_solve_cell_errors():
    with pytest.raises(ValueError, match="^config:"):
        solve_cell("1-2-3", 1, 1.0, 0.0)
    with pytest.raises(ValueError, match="^number:"):
        solve_cell("3-4-3", 5, 1.0, 0.0)
    with pytest.raises(ValueError, match="^gamma:"):
        solve_cell("3-4-3", 1, -1.0, 0.0)


def test_init_effect_small():
    df = init_effect("3-4-3", FAST, seeds=1, gammas=[1.0], lambdas=[0.0])
    assert set(df.columns) >= {"authors", "exchangeable", "difference"}
    np.testing.assert_allclose(df.difference, df.exchangeable - df.authors)


def test_grid_defaults():
    assert GAMMAS == (0.98, 0.99, 1.0, 1.01, 1.02)
    assert LAMBDAS == (-0.02, -0.01, 0.0, 0.01, 0.02)


# ------------------------------------------------------------------ the slides' hypothesis
def test_paired_verdict():
    # t interval: mean 25, sd 5, n 3 -> half width t_{0.975,2} * 5 / sqrt(3) = 12.4
    v = paired_verdict([20.0, 25.0, 30.0, np.nan], "I_m")
    assert v["n_seeds"] == 3 and v["difference"] == pytest.approx(25.0)
    assert v["high"] - v["difference"] == pytest.approx(4.302652729911275 * 5 / np.sqrt(3))
    assert v["observed"] == "I_m" and v["verdict"] == "supports"
    assert paired_verdict([20.0, 25.0, 30.0], "SAP")["verdict"] == "contradicts"
    # mean 20, sd 10: the interval [-4.8, 44.8] straddles 0
    v = paired_verdict([10.0, 20.0, 30.0], "I_m")
    assert v["observed"] == "neither" and v["verdict"] == "inconclusive"
    assert paired_verdict([-5.0], "SAP")["verdict"] == "supports"
    with pytest.raises(ValueError, match="^predicted:"):
        paired_verdict([1.0], "MIG")


def test_new_config_scenarios():
    for name, (s, n, m) in NEW_CONFIGS.items():
        scs = new_config_scenarios(name)
        assert [sc.n_groups for sc in scs] == [4, 3, 2, 1]
        assert all((sc.s, sc.n, sc.m) == (s, n, m) for sc in scs)
        assert [sc.number for sc in scs] == [1, 2, 3, 4] and scs[0].config == name
    with pytest.raises(ValueError, match="^name:"):
        new_config_scenarios("9-9-9")


@pytest.mark.slow
def test_hypothesis_on_new_configuration():
    """The slides' claim tested on a configuration they did not study (s=4, n=5, m=4)."""
    df = hypothesis_test("4-5-4", "notebook", seeds=2)
    assert list(df.scenario) == [1, 2, 3, 4] and list(df.G) == [4, 3, 2, 1]
    assert list(df.predicted) == ["SAP", "I_m", "I_m", "I_m"]
    assert ((df.im_rate >= 0) & (df.im_rate <= 100)).all()
    np.testing.assert_allclose(df.difference, df.im_rate - df.sap_rate, atol=1e-9)
    for r in df.itertuples():
        if r.observed == "neither":
            assert r.verdict == "inconclusive"
        else:
            assert (r.verdict == "supports") == (r.observed == r.predicted)


def test_hypothesis_small_grid_and_errors():
    df = hypothesis_test("4-5-2", FAST, seeds=1, gammas=[1.0], lambdas=[0.0])
    assert list(df.predicted) == ["SAP", "SAP", "SAP", "I_m"]  # G = 4, 3, 2, 1 vs m = 2
    with pytest.raises(ValueError, match="^config:"):
        hypothesis_test("4-4-4", seeds=1)
    with pytest.raises(ValueError, match="^level:"):
        hypothesis_test("4-5-2", seeds=1, level=1.5)


def test_a_run_whose_algebra_breaks_is_isolated(monkeypatch):
    """If the solver raises for a batch (a drifting run made Σ_W numerically indefinite),
    the batch is split until the failing run is alone; it is reported nonfinite and the other
    runs of its cell decide the cell."""
    import lingauss.protocol.runs as runs

    real = runs.blahut_arimoto_batch
    calls = []

    def flaky(Sy, m, gamma, lam, B0, Sw0, **kw):
        calls.append(len(gamma))
        if np.any(B0[:, 0, 0] == poison):
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        return real(Sy, m, gamma, lam, B0, Sw0, **kw)

    sc = scenario("3-4-3", 1, "rounded")
    rng = np.random.default_rng([0, cell_key("3-4-3", 1, 1.0, 0.0)])
    B0, _ = random_encoder(3, 4, rng, size=6, method="authors")
    poison = B0[2, 0, 0]  # the third run of the cell
    monkeypatch.setattr(runs, "blahut_arimoto_batch", flaky)
    res = solve_cell(sc, None, 1.0, 0.0, FAST, seed=0)
    assert res.row["regime"] != "nonfinite" and np.isfinite(res.row["recon_error"])
    assert calls[0] == 6 and 1 in calls  # split down to the failing run
    parts = runs.robust_batch(
        np.broadcast_to(sc.Sigma_Y, (6, 4, 4)), 3, np.ones(6), np.zeros(6), B0,
        random_encoder(3, 4, np.random.default_rng(1), size=6)[1], dict(max_half_steps=10)
    )  # fmt: skip
    stack = runs.RunStack.from_parts(parts, 6, 3, 4)
    reasons = stack.stop_reason
    assert list(reasons == "nonfinite") == [False, False, True, False, False, False]
    # the failed run is NaN throughout and has no Solution; the others keep theirs
    assert np.isnan(stack.B[2]).all() and np.isnan(stack.loss[2]) and stack.solution(2) is None
    assert not stack.converged[2] and stack.half_steps[2] == 0
    np.testing.assert_array_equal(stack.solution(3).B, stack.B[3])


# ------------------------------------------------------------------------ success criteria
def test_grouping_success_rules():
    truth3 = [[0], [1], [2]]
    # G <= m: equality of set partitions, whatever the order of blocks and factors
    assert grouping_success([[2], [1, 0]], [[0, 1], [2]], 3)
    assert not grouping_success([[0], [1, 2]], [[0, 1], [2]], 3)
    assert not grouping_success([[0, 1, 2]], truth3, 3)
    # G = 3 > m = 2: any coarsening of the truth into exactly 2 groups
    assert grouping_success([[0, 2], [1]], truth3, 2)
    assert not grouping_success([[0, 1, 2]], truth3, 2)
    # G = 3 > m = 2 with a real group: blocks must be unions of true groups
    truth = [[0, 1], [2], [3]]
    assert grouping_success([[0, 1, 3], [2]], truth, 2)
    assert not grouping_success([[0, 2], [1, 3]], truth, 2)
    assert not grouping_success((), truth, 2)  # no decision (invalid metric): failure
    assert is_coarsening([[0, 1], [2, 3]], truth) and not is_coarsening([[0], [1, 2, 3]], truth)
    with pytest.raises(ValueError, match="^m:"):
        grouping_success([[0]], [[0]], 0)
    with pytest.raises(ValueError, match="^grouping: a factor appears"):
        grouping_success([[0, 1], [1]], [[0, 1]], 2)
    with pytest.raises(ValueError, match="^coarse, fine:"):
        is_coarsening([[0, 1]], [[0], [2]])
    assert format_grouping([[2], [0, 1]]) == "{1,2}{3}"
    assert parse_grouping("{1,2}{3}") == ((0, 1), (2,)) and parse_grouping("") == ()
    with pytest.raises(ValueError, match="^text:"):
        parse_grouping("1,2|3")


def test_hypothesis_from_table_pairs_seeds():
    from lingauss.slides_hypothesis import hypothesis_from_table

    df = hypothesis_from_table(synthetic_table([20, 22]))  # I_m 80 %, 88 %; SAP 0 %
    r = df.iloc[0]
    assert (r.G, r.m, r.predicted) == (3, 3, "SAP")
    assert r.im_rate == pytest.approx(84.0) and r.sap_rate == 0.0
    assert r.difference == pytest.approx(84.0) and r.n_seeds == 2
    # t_{0.975, 1} = 12.706; sd of (80, 88) = 5.657
    assert r.low == pytest.approx(84.0 - 12.706204736 * np.sqrt(32.0) / np.sqrt(2), rel=1e-6)
    assert (r.observed, r.verdict) == ("I_m", "contradicts")


# ------------------------------------------------------- extra metrics in the tables (issue 6)
from lingauss.decomposition import kl_decomposition  # noqa: E402
from lingauss.metrics import dci_score, matched_mi_score, mig_score  # noqa: E402
from lingauss.protocol import (  # noqa: E402
    ALL_METRICS,
    _metrics_for_scenario,
    add_counted,
    metric_names,
    metrics_for_scenario,
)


@pytest.fixture(scope="module")
def exact_all():
    return success_table(
        "5-5-4", "exact", seeds=[0, 1], gammas=[0.98, 1.0, 1.02], lambdas=[0.0], metrics="all"
    )


def test_metric_names():
    assert metric_names("all") == ALL_METRICS == ("I_m", "SAP", "MIG", "DCI")
    assert metric_names(["dci", "I_M", "sap"]) == ("I_m", "SAP", "DCI")
    assert metric_names("MIG") == ("MIG",)
    for bad in (["FactorVAE"], [], 3):
        with pytest.raises(ValueError, match="^metrics:"):
            metric_names(bad)
    with pytest.raises(ValueError, match="^metrics:"):
        success_table("3-4-3", FAST, seeds=1, gammas=[1.0], lambdas=[0.0], metrics=["bogus"])


@pytest.mark.parametrize("protocol", ["exact", "notebook"])
def test_extra_columns_are_the_metrics_of_the_true_joint_covariance(protocol):
    """Every extra column of a cell equals the metric module's own function applied to the
    kept encoder's joint covariance with the *true* Σ_X (also under the notebook protocol,
    whose I_m/SAP use an identity X block)."""
    prot = FAST if protocol == "notebook" else protocol
    res = solve_cell("5-5-4", 2, 1.0, 0.0, prot, seed=1, metrics="all")
    row, sol = res.row, res.solution
    sc = scenario("5-5-4", 2, "rounded" if protocol == "notebook" else "analytic")
    C = sc.joint_cov_xv(sol.B, sol.Sigma_W, x_block="true")
    mig, dci = mig_score(C, 4), dci_score(C, 4)
    assert row["mig_score"] == pytest.approx(mig.score, rel=1e-12)
    assert row["mig_grouping"] == format_grouping(mig.grouping)
    assert row["mig_degenerate"] == mig.degenerate
    assert row["mig_success"] == grouping_success(mig.grouping, sc.groups, 4)
    assert (row["dci_d"], row["dci_c"]) == pytest.approx(
        (dci.disentanglement, dci.completeness), rel=1e-12
    )
    assert row["dci_i"] == pytest.approx(dci.informativeness, rel=1e-12)
    assert row["dci_grouping"] == format_grouping(dci.grouping)
    assert row["matched_mi"] == pytest.approx(matched_mi_score(C, 4).score, rel=1e-12)
    dec = kl_decomposition(sol.B, sol.Sigma_W, sc.Sigma_Y)
    for name in ("kl", "index_code_mi", "total_correlation", "dimensionwise_kl", "marginal_kl"):
        assert row[name] == pytest.approx(getattr(dec, name), rel=1e-12, abs=1e-15)
    # the index-code MI is I(X;Y), computed independently by the solver (singular values vs
    # its own log-determinants): agreement to ~1e-12 relative at values of order 1 nat
    assert row["index_code_mi"] == pytest.approx(row["mi_xy"], rel=1e-9)
    # and the KL term of the solver's loss is the decomposition's total
    assert row["kl"] == pytest.approx(sol.loss.kl, rel=1e-9)


def test_extra_columns_and_counting_in_a_table(exact_all):
    t = exact_all
    assert len(t) == 2 * 3 * 3
    # identity of the decomposition, cell by cell (float rounding of order-1 terms; the
    # divergent cells carry KL ~ 40 nats: 1e-9 relative is far above rounding)
    np.testing.assert_allclose(
        t.kl, t.index_code_mi + t.total_correlation + t.dimensionwise_kl, rtol=1e-9
    )
    np.testing.assert_allclose(t.kl, t.index_code_mi + t.marginal_kl, rtol=1e-9)
    for p in ("mig", "dci"):
        np.testing.assert_array_equal(t[f"{p}_tied"], t[f"{p}_degenerate"] != "")
        expect = (t.regime == "interior") & ~t[f"{p}_tied"]
        np.testing.assert_array_equal(t[f"{p}_counted"], expect)
        np.testing.assert_array_equal(
            t[f"{p}_success"],
            [
                grouping_success(parse_grouping(g), parse_grouping(tr), 4)
                for g, tr in zip(t[f"{p}_grouping"], t.truth)
            ],  # fmt: skip
        )
    # with the true variances, SAP's ρ² and MIG's -1/2 log(1 - ρ²) rank the latents of a
    # factor alike: wherever both decide, the groupings coincide
    both = ~t.sap_tied & ~t.mig_tied
    assert both.any()
    assert (t.sap_grouping[both] == t.mig_grouping[both]).all()
    s = summarize(t)
    assert set(s.metric) == set(ALL_METRICS)
    assert s[s.metric.isin(["MIG", "DCI"])].published.isna().all()
    for r in s[s.metric.isin(["MIG", "DCI"])].itertuples():
        p = r.metric.lower()
        rates = []
        for _, g in t[t.scenario == r.scenario].groupby("seed"):
            n = g[f"{p}_counted"].sum()
            rates.append(100 * (g[f"{p}_success"] & g[f"{p}_counted"]).sum() / n if n else np.nan)
        assert r.mean == pytest.approx(np.nanmean(rates), nan_ok=True)


def test_published_default_keeps_the_old_columns(notebook_small):
    assert "mig_success" not in notebook_small.columns and "kl" not in notebook_small.columns
    assert set(summarize(notebook_small).metric) == {"I_m", "SAP"}


def test_metrics_for_scenario_public_and_degenerate_rows():
    assert _metrics_for_scenario is metrics_for_scenario
    sc = scenario("3-4-3", 2)
    good = 30.0 * np.eye(3, 4)
    dup = np.vstack([good[:2], good[1]])  # two identical latents
    B = np.stack([good, np.full((3, 4), np.nan), dup])
    Sw = np.stack([0.1 * np.eye(3), np.eye(3), 1e-300 * np.eye(3)])
    cols = metrics_for_scenario(sc, "exact", B, Sw, metrics="all")
    assert cols["mig_degenerate"].tolist()[:2] == ["", "nonfinite"]
    # a numerically singular Σ_X (identical latents, no noise): named, not a number
    assert cols["mig_degenerate"][2] == "singular" and cols["dci_degenerate"][2] == "singular"
    assert np.isnan(cols["mig_score"][1:]).all() and not cols["dci_success"][1:].any()
    # MIG groups each factor with its top latent by ρ²_ij = Cov(x_i, v_j)² / (Var x_i Var v_j),
    # written out here from the model (x = B y + w, Cov(x, v) = B Γ Σ_V)
    cross = good @ sc.Gamma @ sc.Sigma_V
    var_x = np.diagonal(good @ sc.Sigma_Y @ good.T) + 0.1
    rho2 = cross**2 / (var_x[:, None] * np.diagonal(sc.Sigma_V)[None, :])
    top = np.argmax(rho2, axis=0)
    blocks = {}
    for j, i in enumerate(top):
        blocks.setdefault(int(i), []).append(j)
    assert cols["mig_grouping"][0] == format_grouping(blocks.values())
    assert set(metrics_for_scenario(sc, "exact", B[:1], Sw[:1])) == {
        "mi_xv", "im_value", "im_grouping", "im_tied", "im_n_tied", "im_gap", "im_valid",
        "im_success", "sap_score", "sap_grouping", "sap_tied", "sap_success",
    }  # fmt: skip
    with pytest.raises(ValueError, match="^B: expected shape"):
        metrics_for_scenario(sc, "exact", good, Sw[0])
    with pytest.raises(ValueError, match="^Sigma_W: expected shape"):
        metrics_for_scenario(sc, "exact", B, Sw[:2])


def test_add_counted_rules():
    df = pd.DataFrame(
        {
            "regime": ["interior", "interior", "collapsed", "interior"],
            "converged": [True, False, True, True],
            "m": 2,
            "im_success": True,
            "im_tied": [False, False, False, True],
            "im_valid": [True, True, True, True],
            "mig_success": True,
            "mig_tied": [False, True, False, False],
        }
    )
    ex = add_counted(df.copy(), "exact")
    assert ex.status.tolist() == ["interior", "unconverged", "collapsed", "interior"]
    assert ex.im_counted.tolist() == [True, True, False, False]
    assert ex.mig_counted.tolist() == [True, False, False, True]
    assert "sap_counted" not in ex.columns
    nb = add_counted(df.assign(m=1), "notebook")
    assert nb.im_counted.all() and not nb.mig_counted.any()  # MIG needs two latents


def test_protocol_docstring_examples():
    import doctest
    import importlib
    import pkgutil

    import lingauss.protocol

    names = [
        f"lingauss.protocol.{m.name}" for m in pkgutil.iter_modules(lingauss.protocol.__path__)
    ]
    for name in ["lingauss.protocol", *names]:
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0, name
    # the examples of success_table, metrics_for_scenario and metric_names run
    for name in ("tables", "scoring"):
        assert doctest.testmod(importlib.import_module(f"lingauss.protocol.{name}")).attempted > 0
