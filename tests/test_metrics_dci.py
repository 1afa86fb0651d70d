"""DCI: population (dci_score) and fitted (fitted_dci) versions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

from lingauss.metrics.dci import (
    coefficient_importance,
    dci_from_importance,
    dci_grouping,
    dci_score,
    fitted_dci,
    regression_r2,
    shapley_r2,
)


def joint(B, Sigma_V, Sigma_W):
    """Cov of (X, V) for X = B V + W."""
    sx = B @ Sigma_V @ B.T + Sigma_W
    return np.block([[sx, B @ Sigma_V], [Sigma_V @ B.T, Sigma_V]])


def rot(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def random_joint(rng, m, s):
    a = rng.standard_normal((m + s, m + s))
    return a @ a.T + 0.3 * np.eye(m + s)


def r2_direct(cov, m, S):
    """R² of each factor on the code subset S by solving the normal equations."""
    s = cov.shape[0] - m
    if not S:
        return np.zeros(s)
    S = list(S)
    c = cov[np.ix_(S, range(m, m + s))]
    w = np.linalg.lstsq(cov[np.ix_(S, S)], c, rcond=None)[0]
    return np.sum(c * w, axis=0) / np.diag(cov)[m:]


# Values from the same covariance through different but well-conditioned linear algebra
# (condition numbers <= ~1e3 here) agree to ~1e3 * eps; 1e-10 is a safe bound.
TOL = 1e-10


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_shapley_equals_permutation_definition(m, s, seed):
    """φ_j = average over all m! orders of the R² increase when x_j joins."""
    cov = random_joint(np.random.default_rng(seed), m, s)
    phi = shapley_r2(cov, m)
    ref = np.zeros((m, s))
    for order in itertools.permutations(range(m)):
        for i, j in enumerate(order):
            ref[j] += r2_direct(cov, m, order[: i + 1]) - r2_direct(cov, m, order[:i])
    ref /= math.factorial(m)
    assert np.allclose(phi, ref, rtol=TOL, atol=TOL)
    assert np.allclose(phi.sum(axis=0), r2_direct(cov, m, range(m)), rtol=TOL)
    assert np.allclose(regression_r2(cov, m), r2_direct(cov, m, range(m)), rtol=TOL)
    assert np.all(phi >= 0)


def test_shapley_is_squared_correlation_for_uncorrelated_codes():
    rng = np.random.default_rng(3)
    B = rng.standard_normal((3, 2))
    # make the codes uncorrelated: X = Q V' with Q orthogonal columns and whitened noise
    cov = joint(B, np.eye(2), np.eye(3))
    sx = cov[:3, :3]
    L = np.linalg.cholesky(sx)
    T = np.linalg.inv(L)  # whitened codes T X are uncorrelated
    M = np.eye(5)
    M[:3, :3] = T
    white = M @ cov @ M.T
    rho2 = white[:3, 3:] ** 2 / np.outer(np.diag(white)[:3], np.diag(white)[3:])
    assert np.allclose(shapley_r2(white, 3), rho2, rtol=TOL)


def test_axis_aligned_code_is_disentangled_and_complete():
    B = np.diag([2.0, 0.5, 1.0])
    Sigma_V = np.diag([1.0, 4.0, 0.25])
    cov = joint(B, Sigma_V, np.diag([0.1, 0.2, 0.3]))
    r = dci_score(cov, 3)
    assert r.disentanglement == pytest.approx(1.0, abs=1e-12)
    assert r.completeness == pytest.approx(1.0, abs=1e-12)
    sig = np.diag(B) ** 2 * np.diag(Sigma_V)
    assert r.informativeness == pytest.approx(np.mean(sig / (sig + [0.1, 0.2, 0.3])), rel=TOL)
    assert r.grouping == ((0,), (1,), (2,))
    assert r.degenerate == ""


@pytest.mark.parametrize("importance", ["shapley", "coefficient"])
def test_rotated_code_is_entangled(importance):
    cov = joint(rot(np.pi / 4), np.eye(2), 0.3 * np.eye(2))
    r = dci_score(cov, 2, importance=importance)
    # each code explains both factors equally: P_j = (1/2, 1/2), entropy log 2 in base 2 = 1
    assert r.disentanglement == pytest.approx(0.0, abs=1e-12)
    assert r.completeness == pytest.approx(0.0, abs=1e-12)
    assert np.all(r.tied) and r.degenerate == "tied"


def test_partially_rotated_code_has_intermediate_scores():
    r = dci_score(joint(rot(np.pi / 8), np.eye(2), 0.3 * np.eye(2)), 2)
    assert 0.05 < r.disentanglement < 0.95
    assert r.grouping == ((0,), (1,))


def test_collapsed_code_is_nan_and_flagged():
    cov = joint(np.zeros((3, 2)), np.diag([1.0, 2.0]), np.eye(3))
    r = dci_score(cov, 3)
    assert np.isnan(r.disentanglement) and np.isnan(r.completeness)
    assert r.informativeness == 0.0
    assert r.degenerate == "collapsed"
    assert np.all(r.uninformative)


def test_d_and_c_match_the_entropy_formulas():
    """Against scipy.stats.entropy on a hand-made importance matrix (normalised columns)."""
    R = np.array([[0.9, 0.1, 0.0], [0.1, 0.6, 0.5], [0.0, 0.3, 0.5], [0.0, 0.0, 0.0]])
    r = dci_from_importance(R, np.array([0.8, 0.5, 0.3]))
    P = R / R.sum(axis=0)
    used = P.sum(axis=1) > 0
    d_j = 1 - entropy(P[used].T, base=3)
    rho = P[used].sum(axis=1) / P.sum()
    c_k = 1 - entropy(P, base=4)
    rho_f = P.sum(axis=0) / P.sum()
    assert r.disentanglement == pytest.approx(np.sum(rho * d_j), rel=1e-13)
    assert r.completeness == pytest.approx(np.sum(rho_f * c_k), rel=1e-13)
    assert r.informativeness == pytest.approx(np.mean([0.8, 0.5, 0.3]), rel=1e-15)
    assert np.isnan(r.per_code_disentanglement[3])
    # factor 2 ties between codes 1 and 2: lowest index, flagged
    assert r.top_latent.tolist() == [0, 1, 1]
    assert r.grouping == ((0,), (1, 2))
    assert r.tied.tolist() == [False, False, True] and r.degenerate == "tied"


def test_coefficient_importance_formula():
    rng = np.random.default_rng(5)
    cov = random_joint(rng, 3, 2)
    w = np.linalg.solve(cov[:3, :3], cov[:3, 3:])
    sd = np.sqrt(np.diag(cov))
    assert np.allclose(coefficient_importance(cov, 3), np.abs(w) * np.outer(sd[:3], 1 / sd[3:]))


def test_grouping_by_largest_importance():
    B = np.array([[1.0, 1.0, 0.0], [0.0, 0.1, 1.0]])
    assert dci_grouping(joint(B, np.eye(3), 0.1 * np.eye(2)), 2) == ((0, 1), (2,))


def test_batched_shapley_equals_loop():
    rng = np.random.default_rng(2)
    covs = np.stack([random_joint(rng, 3, 2) for _ in range(4)])
    out = shapley_r2(covs, 3)
    for i in range(4):
        assert np.allclose(out[i], shapley_r2(covs[i], 3), rtol=1e-13)


# ----------------------------------------------------------------------------- sample version
def test_fitted_linear_dci_converges_to_population():
    """Mean over K replicates within 4 standard errors of the population values. The
    plug-in bias is O(1/N) (here ~1e-3 at most), below the 4 SE(mean) ~ 4e-3 allowance plus
    the 1/N term added for it."""
    rng = np.random.default_rng(0)
    B = np.array([[1.0, 0.5], [0.3, 1.0], [0.2, -0.4]])
    Sigma_V, Sigma_W = np.diag([1.0, 0.5]), 0.4 * np.eye(3)
    pop = dci_score(joint(B, Sigma_V, Sigma_W), 3)
    K, N = 15, 4000
    vals = []
    for k in range(K):
        V = rng.standard_normal((N, 2)) @ np.sqrt(Sigma_V)
        X = V @ B.T + rng.standard_normal((N, 3)) @ np.sqrt(Sigma_W)
        f = fitted_dci(X, V, seed=k)
        vals.append([f.disentanglement, f.completeness, f.informativeness])
    vals = np.array(vals)
    se = vals.std(axis=0, ddof=1) / np.sqrt(K)
    target = np.array([pop.disentanglement, pop.completeness, pop.informativeness])
    assert np.all(np.abs(vals.mean(axis=0) - target) <= 4 * se + 1.0 / N)


def test_fitted_gbt_dci_finds_axis_aligned_structure():
    rng = np.random.default_rng(1)
    V = rng.standard_normal((1500, 2))
    X = np.c_[V[:, 0], V[:, 1], np.zeros(1500)] + 0.2 * rng.standard_normal((1500, 3))
    r = fitted_dci(X, V, regressor="gbt", gbt_params={"n_estimators": 30})
    assert r.method == "gbt"
    assert np.allclose(r.importance.sum(axis=0), 1.0)
    assert r.grouping == ((0,), (1,))
    # trees split on the relevant code almost exclusively; noise splits are rare
    assert r.disentanglement > 0.8 and r.informativeness > 0.8


def test_fitted_dci_accepts_tensors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    V = rng.standard_normal((400, 2))
    X = V + 0.3 * rng.standard_normal((400, 2))
    a = fitted_dci(X, V)
    b = fitted_dci(torch.from_numpy(X), torch.from_numpy(V))
    assert a.disentanglement == b.disentanglement


# -------------------------------------------------------------------------------- bad input
def test_bad_inputs():
    cov = joint(np.eye(2), np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="^importance: expected one of"):
        dci_score(cov, 2, importance="gini")
    with pytest.raises(ValueError, match="^m: must satisfy"):
        dci_score(cov, 0)
    with pytest.raises(ValueError, match="^cov_xv: must be symmetric"):
        dci_score(cov + np.triu(np.ones((4, 4)), 1), 2)
    with pytest.raises(ValueError, match="^m: Shapley importances"):
        shapley_r2(np.eye(20), 17)
    with pytest.raises(ValueError, match="^raw_importance"):
        dci_from_importance(-np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="^r2: expected shape"):
        dci_from_importance(np.ones((2, 2)), np.ones(3))
    X = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(ValueError, match="^regressor: expected one of"):
        fitted_dci(X, X, regressor="forest")
    with pytest.raises(ValueError, match="^test_fraction"):
        fitted_dci(X, X, test_fraction=1.0)
    with pytest.raises(ValueError, match="^X: 5 samples are too few"):
        fitted_dci(X[:5], X[:5])
    with pytest.raises(ValueError, match="^V: expected 50 rows"):
        fitted_dci(X, X[:10])
    with pytest.raises(
        ValueError, match="^X, V \\(training split\\): the sample covariance is singular"
    ):
        fitted_dci(np.c_[X[:, 0], X[:, 0]], X)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_dci_is_invariant_to_scaling_and_latent_order(m, s, seed):
    """R² and Shapley shares do not depend on the units of codes or factors, nor on the
    order of the latents (D, C, I unchanged; importances permuted)."""
    rng = np.random.default_rng(seed)
    cov = random_joint(rng, m, s)
    r = dci_score(cov, m)
    d = np.exp(rng.uniform(-3, 3, m + s))
    perm = np.r_[rng.permutation(m), np.arange(m, m + s)]
    r2 = dci_score((d[:, None] * cov * d[None, :])[np.ix_(perm, perm)], m)
    for name in ("disentanglement", "completeness", "informativeness"):
        assert getattr(r2, name) == pytest.approx(getattr(r, name), rel=1e-9, abs=1e-12)
        assert -1e-12 <= getattr(r, name) <= 1 + 1e-12
    assert np.allclose(r2.importance, r.importance[perm[:m]], rtol=1e-9, atol=1e-12)
