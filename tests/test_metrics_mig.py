"""MIG: exact (lingauss.metrics.mig.mig_score) and binned (binned_mig)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr
from sklearn.metrics import mutual_info_score

from lingauss import scenario
from lingauss.metrics.mig import (
    available_information,
    binned_mig,
    code_factor_information,
    discrete_mutual_information,
    histogram_discretize,
    mig_grouping,
    mig_score,
)


def joint(B, Sigma_V, Sigma_W):
    """Cov of (X, V) for X = B V + W."""
    sx = B @ Sigma_V @ B.T + Sigma_W
    return np.block([[sx, B @ Sigma_V], [Sigma_V @ B.T, Sigma_V]])


def rot(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


# Values computed from the same covariance through two routes (2x2 blocks vs the full code
# block) agree to a few ulps; 1e-12 leaves room for the log-determinants of O(1) matrices.
EXACT = 1e-12


def test_axis_aligned_code_has_full_gap():
    B = np.diag([2.0, 0.5, 1.0])
    cov = joint(B, np.diag([1.0, 4.0, 0.25]), np.diag([0.1, 0.2, 0.3]))
    r = mig_score(cov, 3)
    assert r.score == pytest.approx(1.0, abs=EXACT)
    assert r.grouping == ((0,), (1,), (2,))
    assert r.degenerate == ""
    assert np.all(r.top_latent == [0, 1, 2])
    off = r.mi[~np.eye(3, dtype=bool)]
    assert np.all(off == 0.0)


def test_rotated_code_has_zero_gap_and_flags_the_tie():
    cov = joint(rot(np.pi / 4), np.eye(2), 0.3 * np.eye(2))
    r = mig_score(cov, 2)
    assert r.score == pytest.approx(0.0, abs=EXACT)
    assert np.all(r.tied)
    assert r.degenerate == "tied"
    # both latents carry the same information -1/2 log(1 - ρ²), ρ² = 1/2 / 1.3
    rho2 = 0.5 / 1.3
    assert np.allclose(r.mi, -0.5 * np.log1p(-rho2), rtol=EXACT)


def test_collapsed_code_is_nan_and_flagged():
    cov = joint(np.zeros((3, 2)), np.diag([1.0, 2.0]), np.eye(3))
    r = mig_score(cov, 3)
    assert np.isnan(r.score)
    assert r.degenerate == "collapsed"
    assert np.all(r.uninformative) and np.all(r.tied)
    assert np.all(r.gaps == 0.0)


def test_hand_computed_partial_gap():
    """x1 = v + w1, x2 = a v + w2, v, w ~ N(0, 1): I(x1;v) = 1/2 log 2,
    I(x2;v) = -1/2 log(1 - a²/(1 + a²)), I(X;v) = 1/2 log(2 + a²)."""
    a = 0.5
    cov = joint(np.array([[1.0], [a]]), np.eye(1), np.eye(2))
    r = mig_score(cov, 2)
    i1, i2 = 0.5 * np.log(2.0), 0.5 * np.log1p(a**2)
    icode = 0.5 * np.log(2.0 + a**2)
    assert np.allclose(r.mi[:, 0], [i1, i2], rtol=EXACT)
    assert code_factor_information(cov, 2)[0] == pytest.approx(icode, rel=EXACT)
    assert r.gaps_nats[0] == pytest.approx(i1 - i2, rel=EXACT)
    assert r.score == pytest.approx((i1 - i2) / icode, rel=EXACT)
    none = mig_score(cov, 2, normalizer="none")
    assert none.score == pytest.approx(i1 - i2, rel=EXACT)
    assert none.normalization == "none"


def test_available_information_and_data_normaliser():
    sc = scenario("3-4-3", 1)  # independent factors, Y_k = v_k + noise for k < 3
    info = available_information(sc.Sigma_V, sc.Gamma, sc.Sigma_Y)
    expected = 0.5 * np.log1p(np.diag(sc.Sigma_V) / sc.noise_var)
    assert np.allclose(info, expected, rtol=1e-12)
    B = np.eye(3, 4) * 10.0
    cov = sc.joint_cov_xv(B, 0.05 * np.eye(3))
    r = mig_score(cov, 3, normalizer=info)
    assert r.normalization == "data"
    assert np.allclose(r.gaps, r.mi.max(axis=0) / info, rtol=EXACT)
    assert np.all(r.gaps < 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_data_processing_chain(seed):
    """I(x_j; v_k) <= I(X; v_k) <= I(Y; v_k) for any encoder of Y = ΓV + Z̃."""
    rng = np.random.default_rng(seed)
    sc = scenario("5-5-4", 2)
    B = rng.standard_normal((4, 5)) * 20
    a = rng.standard_normal((4, 4))
    cov = sc.joint_cov_xv(B, a @ a.T + 0.01 * np.eye(4))
    r = mig_score(cov, 4, normalizer="none")
    code = code_factor_information(cov, 4)
    data = available_information(sc.Sigma_V, sc.Gamma, sc.Sigma_Y)
    assert np.all(r.mi <= code * (1 + 1e-12))
    assert np.all(code <= data * (1 + 1e-12))
    norm = mig_score(cov, 4, normalizer=data)
    assert 0.0 <= norm.score <= 1.0


def test_grouping_by_top_latent():
    # latent 0 holds v0 and v1, latent 1 holds v2
    B = np.array([[1.0, 1.0, 0.0], [0.0, 0.1, 1.0]])
    cov = joint(B, np.eye(3), 0.1 * np.eye(2))
    assert mig_grouping(cov, 2) == ((0, 1), (2,))


# ------------------------------------------------------------------------ binned estimator
def test_discretisation_and_mi_match_disentanglement_lib_and_sklearn():
    rng = np.random.default_rng(1)
    V = rng.standard_normal((3000, 3))
    X = V @ rng.standard_normal((3, 4)) + rng.standard_normal((3000, 4))
    xb = histogram_discretize(X, 20)
    # disentanglement_lib: np.digitize(x, np.histogram(x, num_bins)[1][:-1]) (labels 1..20)
    ref = np.stack(
        [np.digitize(X[:, c], np.histogram(X[:, c], 20)[1][:-1]) for c in range(4)], axis=1
    )
    assert np.array_equal(xb, ref - 1)
    vb = histogram_discretize(V, 20)
    mi = discrete_mutual_information(xb, vb, 20, 20)
    sk = np.array([[mutual_info_score(vb[:, k], xb[:, j]) for k in range(3)] for j in range(4)])
    # both are sums of 400 terms of O(1e-3): float rounding ~1e-15
    assert np.allclose(mi, sk, rtol=0, atol=1e-12)
    r = binned_mig(X, V)
    h = np.array([mutual_info_score(vb[:, k], vb[:, k]) for k in range(3)])
    srt = np.sort(sk, axis=0)
    assert r.score == pytest.approx(np.mean((srt[-1] - srt[-2]) / h), abs=1e-12)
    assert r.normalization == "binned_entropy"


def _quantised_population_mi(rho, ex, ey):
    """MI of (x̃, ṽ) for a standard bivariate normal with correlation rho, binned with
    the interior edges ex, ey (outer bins open). Cell probabilities by Gauss-Legendre
    quadrature over x of φ(x) [Φ((d - ρx)/s) - Φ((c - ρx)/s)], 40 nodes per x-bin."""
    s = np.sqrt(1 - rho**2)
    bx = np.r_[-12.0, ex, 12.0]
    by = np.r_[-np.inf, ey, np.inf]
    t, w = np.polynomial.legendre.leggauss(40)
    lo, hi = bx[:-1, None], bx[1:, None]
    x = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)  # (bins_x, 40)
    wx = 0.5 * (hi - lo) * w * np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    cdf = ndtr((by[None, None, :] - rho * x[..., None]) / s)  # (bins_x, 40, edges_y)
    p = np.einsum("in,inj->ij", wx, np.diff(cdf, axis=-1))
    px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / (px @ py)[nz]))), p


def test_binned_mi_converges_to_the_quantised_population_mi():
    rng = np.random.default_rng(7)
    rho, N = 0.8, 200_000
    v = rng.standard_normal(N)
    x = rho * v + np.sqrt(1 - rho**2) * rng.standard_normal(N)
    X = np.c_[x, rng.standard_normal(N)]
    r = binned_mig(X, v[:, None])
    ex = np.histogram(x, 20)[1][1:-1]
    ev = np.histogram(v, 20)[1][1:-1]
    pop, p = _quantised_population_mi(rho, ex, ev)
    # plug-in MI: bias ≈ (cells_x - 1)(cells_v - 1) / (2N) (Miller–Madow), standard deviation
    # ≈ sd(log p_ij / (p_i p_j)) / sqrt(N); allow the bias plus 4 standard deviations.
    px, pv = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 1e-300
    logr = np.log(p[nz] / (px @ pv)[nz])
    sd = np.sqrt(np.sum(p[nz] * logr**2) - pop**2) / np.sqrt(N)
    bias = 19 * 19 / (2 * N)
    assert abs(r.mi[0, 0] - pop) <= bias + 4 * sd
    # binning loses information: the quantised MI is below the exact -1/2 log(1 - ρ²)
    assert pop < -0.5 * np.log1p(-(rho**2))
    assert r.grouping == ((0,),)


def test_plugin_mig_converges_to_exact():
    """mig_score on sample covariances: the mean over K replicates is within 4 standard errors
    (plus the O(1/N) plug-in bias, ~1/(2N) per pairwise MI) of the exact value."""
    rng = np.random.default_rng(4)
    B = np.array([[1.0, 0.3], [0.2, 0.8], [0.1, 0.1]])
    Sigma_V, Sigma_W = np.diag([1.0, 2.0]), 0.5 * np.eye(3)
    exact = mig_score(joint(B, Sigma_V, Sigma_W), 3).score
    K, N = 12, 5000
    vals = []
    for _ in range(K):
        V = rng.standard_normal((N, 2)) @ np.sqrt(Sigma_V)
        X = V @ B.T + rng.standard_normal((N, 3)) @ np.sqrt(Sigma_W)
        vals.append(mig_score(np.cov(np.c_[X, V], rowvar=False), 3).score)
    vals = np.array(vals)
    assert abs(vals.mean() - exact) <= 4 * vals.std(ddof=1) / np.sqrt(K) + 2.0 / N


def test_binned_mig_accepts_tensors_and_flags_constant_factor():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    V = rng.standard_normal((500, 2))
    X = V + 0.1 * rng.standard_normal((500, 2))
    a = binned_mig(X, V)
    b = binned_mig(torch.from_numpy(X), torch.from_numpy(V))
    assert a.score == b.score
    V[:, 1] = 3.0
    c = binned_mig(X, V)
    assert c.uninformative.tolist() == [False, True]
    assert c.degenerate == "tied"


# ------------------------------------------------------------------------------ bad input
def test_bad_inputs():
    cov = joint(np.eye(2), np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="^m: MIG needs at least 2"):
        mig_score(cov[1:, 1:], 1)
    with pytest.raises(ValueError, match="^m: must satisfy"):
        mig_score(cov, 4)
    with pytest.raises(ValueError, match="^cov_xv: must be positive definite"):
        mig_score(-cov, 2)
    with pytest.raises(ValueError, match="^normalizer: expected 'code'"):
        mig_score(cov, 2, normalizer="entropy")
    with pytest.raises(ValueError, match="^normalizer: expected 2 positive"):
        mig_score(cov, 2, normalizer=[1.0, -1.0])
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match="^V: expected 10 rows"):
        binned_mig(X, np.zeros((9, 1)))
    with pytest.raises(ValueError, match="^X: contains NaN"):
        binned_mig(np.full((10, 2), np.nan), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="^bins: must be an integer"):
        binned_mig(np.random.default_rng(0).random((10, 2)), np.zeros((10, 1)), bins=1)
    with pytest.raises(ValueError, match="^X: MIG needs at least 2 latents"):
        binned_mig(np.zeros((10, 1)), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="^Gamma: expected shape"):
        available_information(np.eye(2), np.eye(3), np.eye(3))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_mig_is_invariant_to_code_scaling_and_latent_order(m, s, seed):
    """MI is invariant to rescaling a variable, and MIG to relabelling the latents."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m + s, m + s))
    cov = a @ a.T + 0.2 * np.eye(m + s)
    r = mig_score(cov, m)
    d = np.exp(rng.uniform(-3, 3, m + s))
    perm = np.r_[rng.permutation(m), np.arange(m, m + s)]
    cov2 = (d[:, None] * cov * d[None, :])[np.ix_(perm, perm)]
    r2 = mig_score(cov2, m)
    # rescaling by up to e^3 changes rounding only: ~1e-13 relative on O(1) nats
    assert r2.score == pytest.approx(r.score, rel=1e-9, abs=1e-12)
    assert np.allclose(r2.mi, r.mi[perm[:m]], rtol=1e-9, atol=1e-12)
    assert 0.0 <= r.score <= 1.0 + 1e-12
