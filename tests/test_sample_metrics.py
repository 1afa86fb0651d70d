"""Sample counterpart of the metrics report (neural.sample_metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from lingauss import scenario
from lingauss.decomposition import kl_decomposition
from lingauss.metrics import encoder_report
from neural.sample_metrics import compare_with_exact, sample_cov_xv, sample_report

SC = scenario("3-4-3", 2)
B = np.array([[30.0, 5.0, 0.0, 1.0], [0.0, 20.0, 10.0, 0.0], [2.0, 0.0, 25.0, 3.0]])
W = np.diag([0.3, 0.5, 0.4])


def draw(rng, n):
    V, Y = SC.sample(n, rng)
    means = Y @ B.T
    X = means + rng.standard_normal((n, 3)) @ np.sqrt(W)
    return V, Y, means, X


def test_plugin_metrics_and_decomposition_converge_to_exact():
    """Replicate means within 4 standard errors of the exact values; the plug-in estimators
    are smooth functions of the sample covariance, so their bias is O(1/N), allowed as 2/N."""
    exact = encoder_report(SC, B, W).iloc[0]
    rng = np.random.default_rng(0)
    K, N = 10, 20000
    cols = ["im", "sap", "matched_mi", "mig", "dci_d", "dci_c", "dci_i", "kl", "index_code_mi"]
    vals = []
    for k in range(K):
        V, _, means, X = draw(rng, N)
        row = sample_report(X, V, means=means, Sigma_W=W, seed=k).iloc[0]
        vals.append([row[c] for c in cols])
        assert row["im_grouping"] == exact["im_grouping"]
    vals = np.array(vals)
    se = vals.std(axis=0, ddof=1) / np.sqrt(K)
    target = np.array([exact[c] for c in cols])
    err = np.abs(vals.mean(axis=0) - target)
    assert np.all(err <= 4 * se + 2.0 / N), dict(zip(cols, err / np.maximum(se, 1e-300)))


def test_exact_decomposition_when_encoder_is_given():
    rng = np.random.default_rng(1)
    V, _, _, X = draw(rng, 500)
    row = sample_report(X, V, B=B, Sigma_W=W, Sigma_Y=SC.Sigma_Y).iloc[0]
    dec = kl_decomposition(B, W, SC.Sigma_Y)
    assert row["kl"] == dec.kl and row["total_correlation"] == dec.total_correlation
    assert row["source"] == "sample" and row["n_samples"] == 500


def test_torch_tensors_equal_numpy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    V, _, means, X = draw(rng, 800)
    a = sample_report(X, V, means=means, Sigma_W=W, true_groups=SC.groups)
    b = sample_report(
        torch.from_numpy(X),
        torch.from_numpy(V),
        means=torch.from_numpy(means),
        Sigma_W=torch.from_numpy(W),
        true_groups=SC.groups,
    )
    assert a.drop(columns=[]).equals(b)
    assert "mig_binned_success" in a.columns and "dci_fitted_success" in a.columns


def test_compare_with_exact_lines_up_quantities():
    rng = np.random.default_rng(3)
    V, _, means, X = draw(rng, 2000)
    exact = encoder_report(SC, B, W)
    table = compare_with_exact(sample_report(X, V, means=means, Sigma_W=W), exact)
    q = table.set_index("quantity")
    assert {"im", "sap", "mig", "dci_d", "kl", "mig (binned)", "dci_i (fitted)"} <= set(q.index)
    assert q.loc["kl", "exact"] == exact.loc[0, "kl"]
    assert np.allclose(q["difference"], q["sample"] - q["exact"])


def test_sample_cov_is_the_unbiased_covariance():
    rng = np.random.default_rng(4)
    X, V = rng.standard_normal((50, 2)), rng.standard_normal((50, 3))
    assert np.allclose(sample_cov_xv(X, V), np.cov(np.c_[X, V], rowvar=False), rtol=1e-15)


def test_bad_inputs():
    rng = np.random.default_rng(5)
    X, V = rng.standard_normal((100, 3)), rng.standard_normal((100, 3))
    with pytest.raises(ValueError, match="^V: expected 100 rows"):
        sample_report(X, V[:50])
    with pytest.raises(ValueError, match="^X: contains NaN"):
        sample_report(np.full((100, 3), np.nan), V)
    with pytest.raises(ValueError, match="^X: need more than m \\+ s"):
        sample_report(X[:5], V[:5])
    with pytest.raises(ValueError, match="^B, Sigma_Y, Sigma_W: give all three"):
        sample_report(X, V, B=B)
    with pytest.raises(ValueError, match="^Sigma_W: required with means"):
        sample_report(X, V, means=X)
    with pytest.raises(ValueError, match="^means: expected shape"):
        sample_report(X, V, means=X[:, :2], Sigma_W=np.eye(3))
    with pytest.raises(ValueError, match="^X, V: the sample covariance is singular"):
        sample_report(np.c_[X[:, :2], X[:, 0]], V)
    with pytest.raises(ValueError, match="^X, V: columns \\[1\\] are constant"):
        sample_report(np.c_[X[:, 0], np.ones(100), X[:, 2]], V)
    with pytest.raises(ValueError, match="^V: expected a 2-d array"):
        sample_report(X, V[:, 0])


def test_docstring_examples():
    import doctest

    import neural.sample_metrics as mod

    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0
