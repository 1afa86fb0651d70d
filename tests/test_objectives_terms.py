"""Exact terms and losses of the seeds' objectives (issue 12, item 1)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lingauss.objectives import (
    OBJECTIVE_NAMES,
    OBJECTIVES,
    TERM_NAMES,
    check_objective,
    objective_coefficients,
    objective_loss,
    objective_terms,
    unbounded_reason,
)
from lingauss.objectives.strategies import objective_weights
from lingauss.strategies import linear_gaussian_models, orthogonal_matrices

SETTINGS = settings(max_examples=25, deadline=None)


def mp_terms(A, B, Sz, Sw, Sy) -> dict:
    """Every term from its defining formula in 50-digit arithmetic (mpmath): an independent
    computation (plain determinants, inverses and traces; no Cholesky, no decomposition)."""
    with mpmath.workdps(50):
        M = mpmath.matrix
        A, B, Sz, Sw, Sy = (M(x.tolist()) for x in (A, B, Sz, Sw, Sy))
        n, m = Sy.rows, Sw.rows

        def tr(X):
            return mpmath.fsum(X[i, i] for i in range(X.rows))

        S = B * Sy * B.T
        C = S + Sw
        E = mpmath.eye(n) - A * B
        R = E * Sy * E.T + A * Sw * A.T
        ld = mpmath.log(mpmath.det(C))
        lw = mpmath.log(mpmath.det(Sw))

        def dip(X):
            od = mpmath.fsum(X[i, j] ** 2 for i in range(m) for j in range(m) if i != j)
            return od, mpmath.fsum((X[i, i] - 1) ** 2 for i in range(m))

        out = {
            "nll": (tr(Sz**-1 * R) + n * mpmath.log(2 * mpmath.pi) + mpmath.log(mpmath.det(Sz)))
            / 2,
            "kl": (tr(C) - lw - m) / 2,
            "mi": (ld - lw) / 2,
            "tc": (mpmath.fsum(mpmath.log(C[j, j]) for j in range(m)) - ld) / 2,
            "dimkl": mpmath.fsum(C[j, j] - 1 - mpmath.log(C[j, j]) for j in range(m)) / 2,
            "mse": tr(R),
        }
        out["dip_i_od"], out["dip_i_d"] = dip(S)
        out["dip_ii_od"], out["dip_ii_d"] = dip(C)
        return {k: float(v) for k, v in out.items()}


# Relative 1e-10: the float64 terms come from Cholesky factors, eigenvalues and canonical
# correlations of matrices with condition ≤ 1e3 (the strategy's bound), each accurate to
# ~κ·1e-16 ≈ 1e-13 relative to the quantities summed. For the non-negative information terms
# (kl, mi, tc, dimkl) and the DIP sums of squares the implementation keeps full relative
# precision; NLL and MSE are sums of terms of both signs, so their error is relative to the
# magnitude of the summands (``scale``), which is what float64 can promise.
RTOL = 1e-10


def _scale(term, ref, model):
    A, B, Sz, Sw, Sy = model.as_args()
    if term == "nll":
        n = Sy.shape[0]
        R = (np.eye(n) - A @ B) @ Sy @ (np.eye(n) - A @ B).T + A @ Sw @ A.T
        return (
            abs(np.trace(np.linalg.solve(Sz, R)))
            + n * np.log(2 * np.pi)
            + abs(np.linalg.slogdet(Sz)[1])
        )
    if term == "mse":
        n = Sy.shape[0]
        E = np.eye(n) - A @ B
        return np.linalg.norm(E) ** 2 * np.linalg.norm(Sy) + np.linalg.norm(
            A
        ) ** 2 * np.linalg.norm(Sw)
    return abs(ref)


@SETTINGS
@given(linear_gaussian_models(max_condition=1e3))
def test_terms_match_independent_mpmath(model):
    t = objective_terms(*model.as_args()).as_dict()
    ref = mp_terms(*model.as_args())
    for k in TERM_NAMES:
        err = abs(t[k] - ref[k])
        assert err <= RTOL * _scale(k, ref[k], model) + 1e-300, (k, t[k], ref[k])


@SETTINGS
@given(linear_gaussian_models(max_condition=1e3))
def test_decomposition_sums_to_kl(model):
    t = objective_terms(*model.as_args())
    # each of mi, tc, dimkl is accurate to ~1e-13 relative, so their sum to 1e-12 of kl
    assert t.mi >= 0 and t.tc >= 0 and t.dimkl >= 0
    assert abs(t.mi + t.tc + t.dimkl - t.kl) <= 1e-12 * max(t.kl, 1e-300) + 1e-15


@SETTINGS
@given(linear_gaussian_models(max_condition=1e3), st.data())
def test_losses_are_their_coefficients_times_terms(model, data):
    name, w = data.draw(objective_weights())
    loss, t = objective_loss(name, w, *model.as_args())
    c = objective_coefficients(name, w)
    want = sum(c[k] * getattr(t, k) for k in TERM_NAMES)
    assert loss == pytest.approx(want, rel=1e-13, abs=1e-13)
    formula = {
        "beta-vae": t.nll + w.get("beta", 0) * t.kl,
        "beta-tcvae": t.nll
        + w.get("alpha", 0) * t.mi
        + w.get("beta", 0) * t.tc
        + w.get("gamma", 0) * t.dimkl,
        "factor-vae": t.nll + t.kl + w.get("gamma", 0) * t.tc,
        "dip-vae-i": t.nll
        + t.kl
        + w.get("lambda_od", 0) * t.dip_i_od
        + w.get("lambda_d", 0) * t.dip_i_d,
        "dip-vae-ii": t.nll
        + t.kl
        + w.get("lambda_od", 0) * t.dip_ii_od
        + w.get("lambda_d", 0) * t.dip_ii_d,
        "gamma-lambda": t.kl + w.get("gamma", 0) * t.nll + w.get("lam", 0) * t.mse,
    }[name]
    assert loss == pytest.approx(formula, rel=1e-12, abs=1e-12)


@SETTINGS
@given(linear_gaussian_models(max_condition=1e3), st.data())
def test_beta_vae_loss_invariant_under_latent_rotations(model, data):
    """X → QX (B → QB, Σ_W → QΣ_WQᵀ, A → AQᵀ) leaves NLL, KL and MI unchanged."""
    A, B, Sz, Sw, Sy = model.as_args()
    Q = data.draw(orthogonal_matrices(model.m))
    beta = data.draw(st.floats(0.0, 20.0))
    l0, t0 = objective_loss("beta-vae", {"beta": beta}, A, B, Sz, Sw, Sy)
    Swr = Q @ Sw @ Q.T
    l1, t1 = objective_loss("beta-vae", {"beta": beta}, A @ Q.T, Q @ B, Sz, 0.5 * (Swr + Swr.T), Sy)
    # the rotation changes the rounding of every product: ~κ·1e-16 relative to the summands
    for k in ("nll", "kl", "mi", "mse"):
        assert getattr(t1, k) == pytest.approx(getattr(t0, k), rel=1e-9, abs=1e-9)
    assert l1 == pytest.approx(l0, rel=1e-9, abs=1e-9 * (1 + beta))


def test_tc_dimkl_dip_change_under_a_rotation():
    """The counterexample: C = diag(2, 5) rotated by 45° (values by hand)."""
    Sy, B, Sw = np.eye(2), np.diag([1.0, 2.0]), np.eye(2)
    A, Sz = np.zeros((2, 2)), np.eye(2)
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    Q = np.array([[c, -s], [s, c]])
    t0 = objective_terms(A, B, Sz, Sw, Sy)
    t1 = objective_terms(A @ Q.T, Q @ B, Sz, Q @ Sw @ Q.T, Sy)
    assert t0.tc == pytest.approx(0.0, abs=1e-15)
    # rotated C = [[3.5, 1.5], [1.5, 3.5]]: TC = ½ log(3.5²/(3.5² − 1.5²)) = ½ log(12.25/10)
    assert t1.tc == pytest.approx(0.5 * np.log(12.25 / 10.0), rel=1e-12)
    assert t0.dimkl == pytest.approx(0.5 * (1 - np.log(2) + 4 - np.log(5)), rel=1e-12)
    assert t1.dimkl == pytest.approx(0.5 * (5 - 2 * np.log(3.5)), rel=1e-12)
    # S = diag(1, 4) -> [[2.5, 1.5], [1.5, 2.5]]
    assert (t0.dip_i_od, t0.dip_i_d) == pytest.approx((0.0, 9.0), abs=1e-12)
    assert (t1.dip_i_od, t1.dip_i_d) == pytest.approx((4.5, 4.5), rel=1e-12)
    assert (t1.dip_ii_od, t1.dip_ii_d) == pytest.approx((4.5, 2 * 2.5**2), rel=1e-12)
    # while the rotation-invariant terms agree
    for k in ("nll", "kl", "mi", "mse"):
        assert getattr(t1, k) == pytest.approx(getattr(t0, k), rel=1e-13)
    l0 = objective_loss("factor-vae", {"gamma": 3}, A, B, Sz, Sw, Sy)[0]
    l1 = objective_loss("factor-vae", {"gamma": 3}, A @ Q.T, Q @ B, Sz, Q @ Sw @ Q.T, Sy)[0]
    assert l1 - l0 == pytest.approx(3 * t1.tc, rel=1e-10)


def test_batched_terms_equal_one_by_one():
    rng = np.random.default_rng(3)
    n, m, N = 4, 3, 5
    A = rng.normal(size=(N, n, m))
    B = rng.normal(size=(N, m, n))
    g = rng.normal(size=(N, m, m))
    Sw = g @ np.swapaxes(g, -1, -2) + 0.5 * np.eye(m)
    h = rng.normal(size=(n, n))
    Sy = h @ h.T + np.eye(n)
    Sz = np.diag(rng.uniform(0.5, 2.0, size=n))
    batch = objective_terms(A, B, Sz, Sw, Sy).as_dict()
    for i in range(N):
        one = objective_terms(A[i], B[i], Sz, Sw[i], Sy).as_dict()
        for k in TERM_NAMES:
            assert batch[k][i] == pytest.approx(one[k], rel=1e-13, abs=1e-13)
    loss, _ = objective_loss("beta-tcvae", {"beta": 6}, A, B, Sz, Sw, Sy)
    assert loss.shape == (N,)


def test_collapsed_encoder_known_answer():
    Sy = np.diag([2.0, 3.0])
    t = objective_terms(np.zeros((2, 1)), np.zeros((1, 2)), Sy, np.eye(1), Sy)
    assert (t.kl, t.mi, t.tc, t.dimkl) == (0.0, 0.0, 0.0, 0.0)
    assert t.nll == pytest.approx(0.5 * (2 + 2 * np.log(2 * np.pi) + np.log(6.0)), rel=1e-14)
    assert (t.dip_i_od, t.dip_i_d, t.dip_ii_od, t.dip_ii_d) == (0.0, 1.0, 0.0, 0.0)


def test_check_objective_defaults_and_errors():
    assert set(OBJECTIVE_NAMES) == {
        "beta-vae",
        "beta-tcvae",
        "factor-vae",
        "dip-vae-i",
        "dip-vae-ii",
        "gamma-lambda",
    }
    assert OBJECTIVES["beta-tcvae"].defaults == {"alpha": 1.0, "beta": 1.0, "gamma": 1.0}
    assert check_objective("gamma-lambda", {"lam": -0.02}) == (
        "gamma-lambda",
        {"gamma": 1.0, "lam": -0.02},
    )
    with pytest.raises(ValueError, match="unknown objective 'beta_vae'"):
        check_objective("beta_vae")
    with pytest.raises(ValueError, match="has no weight 'beta'"):
        check_objective("factor-vae", {"beta": 1.0})
    with pytest.raises(ValueError, match="negative weight"):
        check_objective("beta-tcvae", {"gamma": -1.0})
    with pytest.raises(ValueError, match="must be finite"):
        check_objective("beta-vae", {"beta": float("inf")})
    with pytest.raises(ValueError, match="must be > 0"):
        check_objective("gamma-lambda", {"gamma": 0.0})
    with pytest.raises(ValueError, match="Sigma_W"):
        objective_loss(
            "beta-vae", None, np.zeros((2, 1)), np.zeros((1, 2)), np.eye(2), -np.eye(1), np.eye(2)
        )


@pytest.mark.parametrize(
    ("name", "weights", "unbounded"),
    [
        ("beta-vae", {"beta": 0.99}, True),
        ("beta-vae", {"beta": 1.0}, False),
        ("beta-tcvae", {"alpha": 0.5, "beta": 10}, True),
        ("beta-tcvae", {"alpha": 1.0, "beta": 0.0, "gamma": 0.0}, False),
        ("factor-vae", {"gamma": 0.0}, False),
        ("dip-vae-i", {"lambda_od": 0.0, "lambda_d": 0.0}, False),
        ("dip-vae-ii", {"lambda_od": 100.0}, False),
        ("gamma-lambda", {"gamma": 1.01}, True),
        ("gamma-lambda", {"gamma": 0.5, "lam": -0.01}, True),
        ("gamma-lambda", {"gamma": 1.0, "lam": 0.02}, False),
    ],
)
def test_unbounded_reason(name, weights, unbounded):
    assert (unbounded_reason(name, weights) is not None) is unbounded
