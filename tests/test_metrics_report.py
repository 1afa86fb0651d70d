"""The one-row metrics report (lingauss.metrics.report) and the success helper."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest

import lingauss
from lingauss import scenario
from lingauss.decomposition import kl_decomposition
from lingauss.metrics import (
    dci_score,
    encoder_report,
    grouping_success,
    im_score,
    matched_mi_score,
    metric_success,
    mig_score,
    report,
    sap_score,
)


def joint(B, Sigma_V, Sigma_W):
    sx = B @ Sigma_V @ B.T + Sigma_W
    return np.block([[sx, B @ Sigma_V], [Sigma_V @ B.T, Sigma_V]])


def test_row_equals_the_individual_metrics():
    rng = np.random.default_rng(0)
    sc = scenario("5-5-4", 2)
    B = rng.standard_normal((4, 5)) * 10
    W = np.diag(rng.uniform(0.1, 1.0, 4))
    cov = sc.joint_cov_xv(B, W)
    row = report(cov, 4, Sigma_Y=sc.Sigma_Y, B=B, Sigma_W=W, true_groups=sc.groups).iloc[0]
    im, sap = im_score(cov, 4), sap_score(cov, 4)
    mig, dci = mig_score(cov, 4), dci_score(cov, 4)
    dec = kl_decomposition(B, W, sc.Sigma_Y)
    assert row["im"] == im.value and row["im_grouping"] == im.grouping
    assert row["sap"] == sap.score and row["sap_grouping"] == sap.grouping
    assert row["matched_mi"] == matched_mi_score(cov, 4).score
    assert row["mig"] == mig.score and row["mig_grouping"] == mig.grouping
    assert row["dci_d"] == dci.disentanglement and row["dci_c"] == dci.completeness
    assert row["dci_i"] == dci.informativeness and row["dci_grouping"] == dci.grouping
    for name in ("kl", "index_code_mi", "total_correlation", "dimensionwise_kl", "marginal_kl"):
        assert row[name] == getattr(dec, name)
    for metric in ("im", "sap", "mig", "dci"):
        expected = grouping_success(row[f"{metric}_grouping"], sc.groups, 4)
        assert row[f"{metric}_success"] == expected


def test_stack_gives_one_row_per_matrix():
    rng = np.random.default_rng(1)
    sc = scenario("3-4-3", 2)
    Bs = rng.standard_normal((3, 3, 4)) * 10
    W = 0.2 * np.eye(3)
    covs = sc.joint_cov_xv(Bs, np.broadcast_to(W, (3, 3, 3)))
    df = report(covs, 3, Sigma_Y=sc.Sigma_Y, B=Bs, Sigma_W=W, extra={"config": "3-4-3"})
    assert len(df) == 3 and (df["config"] == "3-4-3").all()
    for i in range(3):
        one = report(covs[i], 3, Sigma_Y=sc.Sigma_Y, B=Bs[i], Sigma_W=W).iloc[0]
        for col in ("im", "sap", "mig", "dci_d", "kl", "total_correlation"):
            assert df.loc[i, col] == pytest.approx(one[col], rel=1e-12)
        assert df.loc[i, "im_grouping"] == one["im_grouping"]


def test_encoder_report_on_a_blahut_arimoto_solution():
    """The decomposition's kl is the KL term of the solver's own loss evaluation."""
    sc = scenario("3-4-3", 2)
    sol = lingauss.blahut_arimoto(
        sc.Sigma_Y, 3, 0.98, 0.0, seed=0, init="exchangeable", max_half_steps=400
    )
    row = encoder_report(sc, sol.B, sol.Sigma_W).iloc[0]
    # both are 1/2 [tr Σ_X - m - log|Σ_W|] evaluated by different code: ~1e-15 relative
    assert row["kl"] == pytest.approx(sol.loss.kl, rel=1e-10)
    assert row["index_code_mi"] == pytest.approx(sol.mutual_information_xy, rel=1e-9)
    assert "im_success" in row and row["mig_normalization"] == "code"
    data = encoder_report(sc, sol.B, sol.Sigma_W, mig_normalizer="data").iloc[0]
    assert data["mig_normalization"] == "data"


def test_axis_aligned_collapsed_and_single_latent_rows():
    good = report(joint(np.eye(2), np.eye(2), 0.5 * np.eye(2)), 2, true_groups=[[0], [1]])
    assert good.loc[0, ["im_success", "sap_success", "mig_success", "dci_success"]].all()
    bad = report(joint(np.zeros((2, 2)), np.eye(2), np.eye(2)), 2).iloc[0]
    assert np.isnan(bad["mig"]) and bad["mig_degenerate"] == "collapsed"
    assert np.isnan(bad["dci_d"]) and bad["dci_degenerate"] == "collapsed"
    single = report(joint(np.ones((1, 2)), np.eye(2), np.eye(1)), 1).iloc[0]
    assert np.isnan(single["sap"]) and np.isnan(single["mig"])
    assert single["mig_degenerate"] == "single_latent" and single["sap_tied"]
    assert single["im_grouping"] == ((0, 1),)


def test_metric_success_is_tidy_and_marks_undecided_rows():
    rot = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2)
    df = report(joint(rot, np.eye(2), 0.3 * np.eye(2)), 2)
    out = metric_success(df, [[0], [1]])
    assert list(out.columns) == ["row", "metric", "grouping", "true_grouping", "success", "decided"]
    assert out["metric"].tolist() == ["im", "sap", "mig", "dci"]
    by = out.set_index("metric")
    assert not by.loc["mig", "decided"] and not by.loc["dci", "decided"]
    # a single row (Series) works too
    assert len(metric_success(df.iloc[0], [[0], [1]])) == 4


def test_bad_inputs():
    cov = joint(np.eye(2), np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="^Sigma_Y, B, Sigma_W: give all three"):
        report(cov, 2, B=np.eye(2))
    with pytest.raises(ValueError, match="^B: expected 2 rows"):
        report(cov, 2, B=np.eye(3), Sigma_W=np.eye(3), Sigma_Y=np.eye(3))
    with pytest.raises(ValueError, match="^B, Sigma_W: the encoder batch"):
        report(cov, 2, B=np.ones((3, 2, 2)), Sigma_W=np.eye(2), Sigma_Y=np.eye(2))
    with pytest.raises(ValueError, match="^cov_xv: must be positive definite"):
        report(-cov, 2)
    with pytest.raises(ValueError, match="^m: must satisfy"):
        report(cov, 5)
    with pytest.raises(ValueError, match="^rows: no column"):
        metric_success(pd.DataFrame([{"m": 2}]), [[0], [1]])


@pytest.mark.parametrize(
    "module",
    [
        "lingauss.decomposition",
        "lingauss.metrics.mig",
        "lingauss.metrics.dci",
        "lingauss.metrics.report",
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ I_m from given tables
def _tables_by_hand(C, m):
    """w[i, S] = I(x_i; v_S) and h[S] = log|C_SS| straight from the definitions, with
    lingauss.gaussian (a code path independent of lingauss.metrics.im's tables)."""
    from itertools import combinations

    from lingauss.gaussian import logdet, mutual_information

    s = C.shape[0] - m
    w = np.zeros((m, 1 << s))
    h = np.zeros(1 << s)
    for k in range(1, s + 1):
        for S in combinations(range(s), k):
            mask = sum(1 << j for j in S)
            idx = [m + j for j in S]
            h[mask] = logdet(C[np.ix_(idx, idx)])
            for i in range(m):
                sub = C[np.ix_([i] + idx, [i] + idx)]
                w[i, mask] = mutual_information(sub, [0], list(range(1, k + 1)))
    return w, h


def _random_joint(rng, m, s):
    a = rng.standard_normal((m + s, 2 * (m + s)))
    return a @ a.T / (2 * (m + s)) + 0.05 * np.eye(m + s)


@pytest.mark.parametrize("m, s, method", [(2, 3, "labelled"), (3, 3, "setpartition"),
                                          (3, 4, "auto")])  # fmt: skip
def test_im_score_from_tables_matches_im_score(m, s, method):
    from lingauss.metrics import im_score_from_tables

    rng = np.random.default_rng(m * 10 + s)
    covs = np.stack([_random_joint(rng, m, s) for _ in range(3)])
    ws, hs = zip(*(_tables_by_hand(c, m) for c in covs))
    got = im_score_from_tables(np.stack(ws), np.stack(hs), method=method)
    ref = im_score(covs, m, method=method)
    # both sides sum <= ~20 information terms of a few nats, each to ~1e-14 relative, by
    # different code (Cholesky vs canonical correlations): 1e-9 nats is a wide margin
    np.testing.assert_allclose(got.value, ref.value, rtol=0, atol=1e-9)
    assert list(got.grouping) == list(ref.grouping)
    np.testing.assert_array_equal(got.n_tied, ref.n_tied)
    one = im_score_from_tables(ws[0], hs[0], method=method)
    assert one.grouping == ref.grouping[0] and abs(one.value - ref.value[0]) < 1e-9


def test_im_score_from_tables_shared_h_authors_rule_and_invalid_rows():
    from lingauss.metrics import im_score_from_tables

    rng = np.random.default_rng(7)
    m, s = 2, 3
    C = _random_joint(rng, m, s)
    w, h = _tables_by_hand(C, m)
    w2 = np.stack([w, w[::-1], np.full_like(w, np.nan)])
    w2[2, :, 0] = 0.0
    res = im_score_from_tables(w2, h)  # one h shared by the stack
    assert res.valid.tolist() == [True, True, False]
    assert np.isnan(res.value[2]) and res.grouping[2] == ()
    # swapping the latents' rows swaps the slots but not the grouping nor the value
    assert res.grouping[0] == res.grouping[1] and res.value[0] == res.value[1]
    auth = im_score_from_tables(w, h, tie_rule="authors")
    assert auth.value == np.round(im_score(C, m, tie_rule="authors").value, 8)
    assert auth.grouping == im_score(C, m, tie_rule="authors").grouping


@pytest.mark.parametrize(
    "w, h, msg",
    [
        (np.zeros(4), np.zeros(4), "^w: expected shape"),
        (np.zeros((2, 6)), np.zeros(6), "^w: expected shape"),
        (np.zeros((2, 4)), np.zeros(8), "^h: expected shape"),
        (np.zeros((2, 4)), np.array([1.0, 0, 0, 0]), "^h: the empty-set entry"),
        (np.ones((2, 4)), np.zeros(4), "^w: the empty-set column"),
        (np.zeros((2, 4)), np.array([0, np.nan, 0, 0]), "^h: contains NaN"),
        (np.zeros((3, 2, 4)), np.zeros((2, 4)), "^h: batch shape"),
    ],
)
def test_im_score_from_tables_errors(w, h, msg):
    from lingauss.metrics import im_score_from_tables

    with pytest.raises(ValueError, match=msg):
        im_score_from_tables(w, h)


def test_im_docstring_examples():
    result = doctest.testmod(importlib.import_module("lingauss.metrics.im"))
    assert result.attempted > 0 and result.failed == 0
