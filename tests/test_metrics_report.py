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
