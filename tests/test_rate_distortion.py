"""Tests of the Gaussian rate–distortion bound (reverse water-filling) and BA operating points."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from lingauss.blahut_arimoto import blahut_arimoto_batch, random_encoder
from lingauss.rate_distortion import (
    distortion_rate,
    gaussian_rate_distortion,
    operating_point,
    rate_distortion_curve,
    solution_operating_point,
    water_level,
)
from lingauss.scenarios import scenario


def _random_spd(rng, n, spread=3.0):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    ev = np.exp(rng.uniform(-spread, spread, n))
    return (q * ev) @ q.T, ev


def _rd_bisection(ev, d):
    """Independent R(D): solve Σ min(θ, λ) = D for θ by root finding, no breakpoints."""
    if d >= ev.sum():
        return 0.0
    theta = brentq(lambda t: np.minimum(t, ev).sum() - d, 0.0, ev.max(), xtol=1e-300, rtol=1e-15)
    return 0.5 * np.sum(np.log(ev / np.minimum(theta, ev)))


# ----------------------------------------------------------------------------- closed forms
def test_scalar_closed_form():
    # n = 1: R(D) = ½ log(σ²/D) for D < σ², 0 beyond; D(R) = σ² e^{-2R}.
    s2 = 2.5
    d = np.array([0.1, 1.0, 2.4, 2.5, 3.0])
    want = np.maximum(0.5 * np.log(s2 / d), 0.0)
    # relative float64 rounding of one log and one division: 1e-14 is ~50 ulp
    np.testing.assert_allclose(gaussian_rate_distortion([[s2]], d), want, rtol=1e-14, atol=1e-15)
    r = np.array([0.0, 0.3, 2.0])
    np.testing.assert_allclose(distortion_rate([[s2]], r), s2 * np.exp(-2 * r), rtol=1e-14)


def test_isotropic_closed_form():
    # Σ = λ I_n: θ = D/n for all coordinates, R = (n/2) log(nλ/D).
    n, lam = 4, 0.3
    d = np.linspace(0.05, n * lam, 7)
    want = 0.5 * n * np.log(n * lam / d)
    np.testing.assert_allclose(gaussian_rate_distortion(lam * np.eye(n), d), want, atol=1e-14)


def test_two_eigenvalue_closed_form():
    # diag(4, 1): for D <= 2 both coded with θ = D/2, R = ½ log(4/θ) + ½ log(1/θ);
    # for 2 <= D <= 5 only λ = 4 with θ = D - 1, R = ½ log(4/(D-1)).
    S = np.diag([4.0, 1.0])
    d1 = np.array([0.2, 1.0, 2.0])
    np.testing.assert_allclose(
        gaussian_rate_distortion(S, d1), 0.5 * np.log(4 / (d1 / 2) ** 2), rtol=1e-14
    )
    d2 = np.array([2.0, 3.0, 4.9])
    np.testing.assert_allclose(gaussian_rate_distortion(S, d2), 0.5 * np.log(4 / (d2 - 1)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 7), frac=st.floats(1e-4, 1.2))
def test_matches_independent_root_finding(seed, n, frac):
    rng = np.random.default_rng(seed)
    S, _ = _random_spd(rng, n)
    ev = np.linalg.eigvalsh(S)
    d = frac * ev.sum()
    want = _rd_bisection(ev, d)
    # both sides: eigenvalues to ~1e-15 relative (cond up to e^6), θ to the same, R a sum of
    # n logs of O(1..20) numbers; 1e-9 absolute is far above that and far below any error
    # in the water level (which would shift R by O(ΔD/θ)).
    assert gaussian_rate_distortion(S, d) == pytest.approx(want, abs=1e-9, rel=1e-9)


def test_rotation_invariant_and_batched():
    rng = np.random.default_rng(1)
    S, ev = _random_spd(rng, 5)
    d = np.linspace(0.01, 1.0, 9) * ev.sum()
    diag = gaussian_rate_distortion(np.diag(ev), d)
    # rotation changes eigenvalues by rounding only: relative 1e-12
    np.testing.assert_allclose(gaussian_rate_distortion(S, d), diag, rtol=1e-11, atol=1e-12)
    stack = np.stack([S, np.diag(ev), 2 * S])
    got = gaussian_rate_distortion(stack, d[:3])
    want = [gaussian_rate_distortion(M, x) for M, x in zip(stack, d[:3])]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # scaling: R(cΣ, cD) = R(Σ, D)
    np.testing.assert_allclose(got[2], gaussian_rate_distortion(S, d[2] / 2), rtol=1e-11)


# ----------------------------------------------------------------------- shape of the curve
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6))
def test_inverse_monotone_convex(seed, n):
    rng = np.random.default_rng(seed)
    S, ev = _random_spd(rng, n)
    tr = ev.sum()
    d = np.linspace(0.002, 1.0, 400) * tr
    r = gaussian_rate_distortion(S, d)
    # D(R(D)) = D: both maps are exact closed forms, error is float rounding of ~n logs/exps
    np.testing.assert_allclose(distortion_rate(S, r), d, rtol=1e-9)
    # strictly decreasing until tr Σ (R = 0 only at D = tr)
    assert np.all(np.diff(r[:-1]) < 0) and r[-1] == pytest.approx(0.0, abs=1e-12)
    # convex: second differences non-negative up to rounding of R (~1e-15·|R| per point)
    assert np.all(np.diff(r, 2) >= -1e-10)
    # slope: dR/dD = -1/(2θ) (envelope theorem on the water level)
    theta = water_level(S, distortion=d[100])
    h = 1e-6 * tr
    slope = (gaussian_rate_distortion(S, d[100] + h) - gaussian_rate_distortion(S, d[100] - h)) / (
        2 * h
    )
    # central difference: O(h²·R''') truncation, plus rounding ~eps·R/h ≈ 1e-10/θ relative
    assert slope == pytest.approx(-1 / (2 * theta), rel=1e-4)


def test_edges_and_errors():
    S = np.diag([4.0, 1.0])
    assert gaussian_rate_distortion(S, 0.0) == np.inf
    assert distortion_rate(S, np.inf) == 0.0
    assert gaussian_rate_distortion(S, 100.0) == 0.0
    assert water_level(S, rate=0.0) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="^distortion"):
        gaussian_rate_distortion(S, -0.1)
    with pytest.raises(ValueError, match="^distortion"):
        gaussian_rate_distortion(S, np.nan)
    with pytest.raises(ValueError, match="^rate"):
        distortion_rate(S, -1.0)
    with pytest.raises(ValueError, match="^Sigma_Y"):
        gaussian_rate_distortion(np.diag([1.0, -1.0]), 0.5)
    with pytest.raises(ValueError, match="^Sigma_Y"):
        gaussian_rate_distortion([[1.0, 0.5], [0.0, 1.0]], 0.5)
    with pytest.raises(ValueError, match="^distortion, rate"):
        water_level(S)
    with pytest.raises(ValueError, match="^distortion"):
        gaussian_rate_distortion(np.stack([S, S]), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="^num"):
        rate_distortion_curve(S, num=1)


def test_rank_constrained_bound():
    rng = np.random.default_rng(5)
    S, ev = _random_spd(rng, 5, spread=2.0)
    d = np.linspace(0.01, 1.2, 30) * ev.sum()
    # rank >= n is the unconstrained bound
    np.testing.assert_array_equal(
        gaussian_rate_distortion(S, d, rank=5), gaussian_rate_distortion(S, d)
    )
    lam = np.sort(ev)
    for m in (1, 2, 4):
        floor = lam[: 5 - m].sum()
        r = gaussian_rate_distortion(S, d, rank=m)
        assert np.all(np.isinf(r[d <= floor]))
        fin = (d > floor) & (d < ev.sum())
        # the constrained rate is never below the unconstrained one (rounding slack)
        assert np.all(r[fin] >= gaussian_rate_distortion(S, d[fin]) - 1e-12)
        np.testing.assert_allclose(distortion_rate(S, r[fin], rank=m), d[fin], rtol=1e-9)
        assert distortion_rate(S, np.inf, rank=m) == pytest.approx(floor, rel=1e-12)
        # achievability: code the m top eigen-directions, each with posterior variance θ
        theta = 0.5 * lam[0]  # below every eigenvalue: unconstrained would code all 5
        top = lam[5 - m :]
        _, U = np.linalg.eigh(S)
        B = U[:, 5 - m :].T
        Sw = np.diag(theta * top / (top - theta))
        A = S @ B.T @ np.linalg.inv(B @ S @ B.T + Sw)
        p = operating_point(A, B, Sw, S)
        assert p.distortion == pytest.approx(floor + m * theta, rel=1e-10)
        assert p.rank_bound == pytest.approx(p.distortion, rel=1e-10)
        if m < 5:
            assert p.excess > 1e-3 * ev.sum()  # the unconstrained bound is strictly lower
    with pytest.raises(ValueError, match="^rank"):
        gaussian_rate_distortion(S, 1.0, rank=0)


def test_curve_table():
    S = np.diag([4.0, 1.0])
    df = rate_distortion_curve(S, num=5, max_rate=np.log(4.0))
    assert list(df.columns) == ["rate", "distortion", "water_level", "relative_distortion"]
    assert df["distortion"].iloc[0] == pytest.approx(5.0)
    assert df["distortion"].iloc[-1] == pytest.approx(1.0)
    default = rate_distortion_curve(S, num=50)
    # default max rate is where D = 1% of tr Σ_Y
    assert default["relative_distortion"].iloc[-1] == pytest.approx(0.01, rel=1e-9)


# ------------------------------------------------------------------- operating points
def _water_filling_code(S, theta):
    """The optimal test channel: code each eigen-direction with λ > θ, posterior var θ."""
    ev, U = np.linalg.eigh(S)
    act = ev > theta
    B = U[:, act].T
    Sw = np.diag(theta * ev[act] / (ev[act] - theta))
    A = S @ B.T @ np.linalg.inv(B @ S @ B.T + Sw)
    return A, B, Sw


def test_water_filling_code_attains_bound():
    # the bound is achieved, so a D(R) computed too low (or too high) would show here
    rng = np.random.default_rng(7)
    S, ev = _random_spd(rng, 5, spread=2.0)
    for theta in np.sort(ev)[[0, 2, 4]] * 0.7:
        p = operating_point(*_water_filling_code(S, theta), S)
        want_d = np.minimum(theta, ev).sum()
        want_r = 0.5 * np.sum(np.log(np.maximum(ev / theta, 1.0)))
        # products of O(cond) matrices: float64 rounding ~1e-13 relative
        assert p.distortion == pytest.approx(want_d, rel=1e-10)
        assert p.rate == pytest.approx(want_r, rel=1e-10)
        assert abs(p.excess) <= 1e-10 * ev.sum()


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 5))
def test_any_linear_code_is_above_bound(seed, n, m):
    rng = np.random.default_rng(seed)
    S, ev = _random_spd(rng, n)
    B = rng.standard_normal((m, n)) * rng.uniform(0.1, 10)
    Sw, _ = _random_spd(rng, m, spread=2.0)
    A = rng.standard_normal((n, m)) * rng.uniform(0.01, 1)
    p = operating_point(A, B, Sw, S)
    # data processing: tr R >= D(I(X;Y)); slack is float rounding of tr R (~1e-13·(tr Σ_Y+...))
    assert p.excess >= -1e-10 * (ev.sum() + p.distortion)
    # Ŷ = AX lies in an m-dimensional subspace: the rank-m bound holds too, and is tighter
    assert p.rank_excess >= -1e-10 * (ev.sum() + p.distortion)
    assert p.rank_bound >= p.bound - 1e-12 * ev.sum()
    # and the MMSE decoder for the same encoder is no better than the bound either
    A_opt = S @ B.T @ np.linalg.inv(B @ S @ B.T + Sw)
    p_opt = operating_point(A_opt, B, Sw, S)
    assert p_opt.excess >= -1e-10 * ev.sum()
    assert p_opt.distortion <= p.distortion + 1e-10 * ev.sum()


@pytest.mark.parametrize("config", ["3-4-3", "5-5-3"])
def test_every_ba_solution_is_on_or_above_bound(config):
    rng = np.random.default_rng(3)
    gam, lam = np.meshgrid([0.9, 0.98, 1.0, 1.02, 1.2], [-0.02, 0.0, 0.02, 1.0])
    gam, lam = gam.ravel(), lam.ravel()
    for number in (1, 2, 3):
        sc = scenario(config, number)
        B0, Sw0 = random_encoder(sc.m, sc.n, rng, size=gam.size, method="exchangeable")
        sol = blahut_arimoto_batch(sc.Sigma_Y, sc.m, gam, lam, B0, Sw0, max_half_steps=400)
        p = solution_operating_point(sol, sc.Sigma_Y)
        assert p.rate.shape == (gam.size,)
        np.testing.assert_allclose(p.rate, sol.mutual_information_xy, rtol=1e-12, atol=1e-15)
        # tr R from the solver's own loss terms (same formula, different code path)
        np.testing.assert_allclose(p.distortion, sol.loss.mse, rtol=1e-9, atol=1e-18)
        # slack: float rounding of tr R at the scale of tr Σ_Y (1e-3 here) ~1e-18
        tr = np.trace(sc.Sigma_Y)
        assert np.all(p.excess >= -1e-10 * tr), (config, number, p.excess.min())
        assert np.all(p.rank_excess >= -1e-10 * tr), (config, number, p.rank_excess.min())
        # BA with KL ≥ I(X;Y) is not rate-distortion optimal in general: a non-trivial
        # check that the excess is not identically zero (else the bound would be vacuous)
        assert np.any(p.relative_excess > 1e-6)


def test_solution_operating_point_errors():
    with pytest.raises(ValueError, match="^solution"):
        solution_operating_point(object(), np.eye(2))
