"""Plug-in and KSG mutual information against exact Gaussian values; empirical I_m / SAP.

Tolerances come from the estimators' known errors. Plug-in: the delta method gives
``sd(Î) ≈ ρ / sqrt(N)`` for one canonical correlation ``ρ`` (and ``≈ sqrt(Σ ρ_k²/N)`` for
several), and the bias is ``≈ d_a d_b / (2N)``. KSG (k = 3): ``benchmarks/bench_ksg.py``
(40 replicates per row) measured, at N = 2000 and ρ = 0.6, |bias| < 0.006 nats and sd ≈ 0.019
(d_b = 1) / 0.019 (d_b = 3); its exactness is checked separately against a brute-force
O(N²) implementation of the same formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import digamma

import lingauss as lg
from lingauss.metrics import im_score, sap_score
from neural.estimators import (
    empirical_metrics,
    ksg_information_table,
    ksg_mutual_information,
    plugin_mutual_information,
    sample_joint_covariance,
)


def _gaussian_pair(rng, N, rho, db):
    a = rng.standard_normal(N)
    b = rng.standard_normal((N, db))
    b[:, 0] = rho * a + math.sqrt(1 - rho**2) * b[:, 0]
    q, _ = np.linalg.qr(rng.standard_normal((db, db)))
    return a, b @ q.T  # one canonical correlation ρ, b rotated


def _ksg_bruteforce(a, b, k):
    a = np.atleast_2d(a.T).T
    b = np.atleast_2d(b.T).T
    a = (a - a.mean(0)) / a.std(0)
    b = (b - b.mean(0)) / b.std(0)
    da = np.max(np.abs(a[:, None, :] - a[None, :, :]), axis=-1)
    db = np.max(np.abs(b[:, None, :] - b[None, :, :]), axis=-1)
    dz = np.maximum(da, db)
    np.fill_diagonal(dz, np.inf)
    eps = np.sort(dz, axis=1)[:, k - 1]
    np.fill_diagonal(da, np.inf)
    np.fill_diagonal(db, np.inf)
    na = np.sum(da < eps[:, None], axis=1)
    nb = np.sum(db < eps[:, None], axis=1)
    N = a.shape[0]
    return digamma(k) + digamma(N) - np.mean(digamma(na + 1) + digamma(nb + 1))


@pytest.mark.parametrize("db, k", [(1, 3), (3, 3), (2, 5)])
def test_ksg_equals_bruteforce_formula(db, k):
    rng = np.random.default_rng(db + 10 * k)
    a, b = _gaussian_pair(rng, 400, 0.7, db)
    # same arithmetic on the same standardised data; only summation order differs
    assert ksg_mutual_information(a, b, k=k) == pytest.approx(_ksg_bruteforce(a, b, k), abs=1e-12)


@pytest.mark.parametrize("db", [1, 3])
def test_ksg_agrees_with_exact_gaussian_mi(db):
    rho, N, reps = 0.6, 2000, 8
    exact = -0.5 * math.log(1 - rho**2)
    rng = np.random.default_rng(100 + db)
    est = [ksg_mutual_information(*_gaussian_pair(rng, N, rho, db)) for _ in range(reps)]
    # measured bias < 0.006, sd 0.019: the mean of 8 is within 0.01 + 4 * 0.02 / sqrt(8)
    assert abs(np.mean(est) - exact) < 0.01 + 4 * 0.02 / math.sqrt(reps)
    # a single estimate is within 5 sd (sd 0.02) + bias
    assert max(abs(e - exact) for e in est) < 0.01 + 5 * 0.02


@pytest.mark.parametrize("rho, db", [(0.3, 1), (0.8, 1), (0.6, 4)])
def test_plugin_agrees_with_exact_gaussian_mi(rho, db):
    N = 20_000
    exact = -0.5 * math.log(1 - rho**2)
    rng = np.random.default_rng(int(rho * 10) + db)
    est = plugin_mutual_information(*_gaussian_pair(rng, N, rho, db))
    # delta method: sd ≈ ρ / sqrt(N); bias ≈ d_a d_b / (2N)
    assert abs(est - exact) < db / (2 * N) + 4.5 * rho / math.sqrt(N)


def test_estimators_on_independent_data():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(3000), rng.standard_normal((3000, 2))
    # I = 0: 2N Î ~ χ²_{d_a d_b} for the plug-in (mean 2/(2N), sd 2/(2N)); KSG sd ~0.015 at
    # N = 3000 (bench_ksg, ρ = 0.3 rows), unbiased at independence
    assert plugin_mutual_information(a, b) < (2 + 5 * 2) / (2 * 3000)
    assert abs(ksg_mutual_information(a, b)) < 5 * 0.015


def test_ksg_table_matches_single_estimates():
    rng = np.random.default_rng(9)
    V = rng.standard_normal((800, 3))
    X = V[:, :2] @ np.array([[1.0, 0.2], [0.0, 1.0]]) + 0.5 * rng.standard_normal((800, 2))
    w = ksg_information_table(X, V, k=3)
    assert w.shape == (2, 8) and np.all(w[:, 0] == 0)
    assert w[1, 0b110] == pytest.approx(ksg_mutual_information(X[:, 1], V[:, [1, 2]]), abs=1e-12)
    assert w[0, 0b101] == pytest.approx(ksg_mutual_information(X[:, 0], V[:, [0, 2]]), abs=1e-12)


def test_empirical_metrics_track_the_exact_ones():
    sc = lg.scenario("5-5-4", 2)
    sol = lg.blahut_arimoto(sc.Sigma_Y, sc.m, 0.98, 0.0, seed=0, init="exchangeable")
    rng = np.random.default_rng(2)
    N = 200_000
    V, Y = sc.sample(N, rng)
    X = Y @ sol.B.T + rng.multivariate_normal(np.zeros(sc.m), sol.Sigma_W, N)
    exact = sc.joint_cov_xv(sol.B, sol.Sigma_W)
    # the plug-in route is exactly the metric code applied to the sample covariance
    emp = empirical_metrics(X, V, method="plugin")
    cov = sample_joint_covariance(X, V)
    assert emp["im"] == im_score(cov, sc.m).value
    assert emp["sap"] == sap_score(cov, sc.m).score
    # and the sample covariance is within sampling error of the exact one (relative entries
    # errors ~ 1/sqrt(N) = 0.002): the SAP score, a smooth function of it, moves by < 0.01
    assert abs(emp["sap"] - sap_score(exact, sc.m).score) < 0.01
    assert emp["sap_grouping"] == sap_score(exact, sc.m).grouping


def test_empirical_metrics_ksg_route():
    rng = np.random.default_rng(0)
    V = rng.standard_normal((1500, 3))
    V[:, 1] = 0.8 * V[:, 0] + 0.6 * V[:, 1]  # truth {v1, v2}, {v3}
    X = np.column_stack([V[:, 0] + V[:, 1], V[:, 2]]) + 0.3 * rng.standard_normal((1500, 2))
    X[:, 0] = np.tanh(X[:, 0])  # a non-Gaussian code
    r = empirical_metrics(X, V, method="ksg", true_groups=[[0, 1], [2]])
    assert r["im_grouping"] == ((0, 1), (2,)) and r["im_success"]
    assert r["sap_grouping"] == ((0, 1), (2,)) and r["sap_success"]
    assert r["method"] == "ksg" and r["n_samples"] == 1500


def test_estimator_errors():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(100)
    with pytest.raises(ValueError, match="^b: expected 100 samples"):
        ksg_mutual_information(a, a[:50])
    with pytest.raises(ValueError, match="^a: contains NaN"):
        plugin_mutual_information(np.r_[a[:-1], np.nan], a)
    tied = np.repeat(rng.standard_normal(20), 5)
    with pytest.raises(ValueError, match="ties"):
        ksg_mutual_information(tied, tied)
    with pytest.raises(ValueError, match="^a: column"):
        ksg_mutual_information(np.ones(100), a)
    with pytest.raises(ValueError, match="^k:"):
        ksg_mutual_information(a, a, k=0)
    with pytest.raises(ValueError, match="^a, b: the sample covariance is singular"):
        plugin_mutual_information(a, np.column_stack([a, 2 * a]))
    with pytest.raises(ValueError, match="^method"):
        empirical_metrics(a[:, None], a[:, None], method="binned")
