"""The exact β-TCVAE decomposition of the KL term (lingauss.decomposition)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lingauss.decomposition import kl_decomposition, kl_decomposition_from_moments
from lingauss.gaussian import kl_divergence, mutual_information, total_correlation
from lingauss.loss import gamma_lambda_loss

TERMS = ("kl", "index_code_mi", "total_correlation", "dimensionwise_kl", "marginal_kl")


def _spd(rng, d, log10_cond=2.0):
    """Random orthogonal x log-uniform spectrum with condition number 10**log10_cond."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ev = 10.0 ** rng.uniform(-log10_cond / 2, log10_cond / 2, size=d)
    if d > 1:
        ev[0], ev[-1] = 10.0 ** (-log10_cond / 2), 10.0 ** (log10_cond / 2)
    c = (q * ev) @ q.T
    return 0.5 * (c + c.T)


@st.composite
def encoders(draw):
    m = draw(st.integers(1, 5))
    n = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = 10.0 ** draw(st.floats(-3, 2))
    cond_w = draw(st.floats(0, 4))
    cond_y = draw(st.floats(0, 4))
    rng = np.random.default_rng(seed)
    B = scale * rng.standard_normal((m, n))
    return B, _spd(rng, m, cond_w), _spd(rng, n, cond_y)


# Each term is a sum of non-negative parts computed from eigenvalues / Cholesky factors of
# matrices with condition number <= ~1e4 * (B scale)^2; float64 error is then at most
# ~cond * eps ~ 1e-9 relative to the largest term, so the identities must hold to 1e-9 of kl.
@settings(max_examples=150, deadline=None)
@given(encoders())
def test_terms_sum_to_the_kl_term_of_the_loss(enc):
    B, W, Y = enc
    d = kl_decomposition(B, W, Y)
    n, m = Y.shape[0], W.shape[0]
    loss = gamma_lambda_loss(np.zeros((n, m)), B, np.eye(n), W, Y, 1.0, 0.0)
    tol = 1e-9 * max(loss.kl, 1e-300) + 1e-14
    assert abs(d.kl - loss.kl) <= tol
    three = d.index_code_mi + d.total_correlation + d.dimensionwise_kl
    assert abs(three - d.kl) <= tol
    assert abs(d.index_code_mi + d.marginal_kl - d.kl) <= tol
    assert abs(d.total_correlation + d.dimensionwise_kl - d.marginal_kl) <= tol
    for name in TERMS:
        assert getattr(d, name) >= 0.0
    assert np.isclose(d.dimensionwise_kl_per_latent.sum(), d.dimensionwise_kl, rtol=1e-12)


def test_terms_match_independent_gaussian_routes():
    """Each term from its definition, through lingauss.gaussian on other matrices."""
    rng = np.random.default_rng(3)
    m, n = 3, 4
    B = rng.standard_normal((m, n))
    W, Y = _spd(rng, m, 1.0), _spd(rng, n, 1.0)
    d = kl_decomposition(B, W, Y)
    sx = B @ Y @ B.T + W
    joint = np.block([[sx, B @ Y], [Y @ B.T, Y]])  # Cov of (X, Y)
    # well-conditioned inputs (cond <= 10): both routes are accurate to ~1e-14 relative.
    assert np.isclose(
        d.index_code_mi, mutual_information(joint, range(m), range(m, m + n)), rtol=1e-11
    )
    assert np.isclose(d.total_correlation, total_correlation(sx), rtol=1e-11)
    assert np.isclose(
        d.marginal_kl, kl_divergence(np.zeros(m), sx, np.zeros(m), np.eye(m)), rtol=1e-11
    )
    dim = sum(
        kl_divergence(np.zeros(1), sx[j : j + 1, j : j + 1], np.zeros(1), np.eye(1))
        for j in range(m)
    )
    assert np.isclose(d.dimensionwise_kl, dim, rtol=1e-11)


def test_terms_match_50_digit_reference():
    """mpmath at 50 digits, log-determinants by mpmath's own LU: agreement to 1e-12."""
    mpmath.mp.dps = 50
    rng = np.random.default_rng(11)
    m, n = 3, 5
    B = 0.7 * rng.standard_normal((m, n))
    W, Y = _spd(rng, m, 2.0), _spd(rng, n, 2.0)
    d = kl_decomposition(B, W, Y)
    Bm, Wm, Ym = mpmath.matrix(B.tolist()), mpmath.matrix(W.tolist()), mpmath.matrix(Y.tolist())
    Sx = Bm * Ym * Bm.T + Wm
    ld = lambda a: mpmath.log(mpmath.det(a))  # noqa: E731
    tr = sum(Sx[i, i] for i in range(m))
    ref = {
        "kl": (tr - m - ld(Wm)) / 2,
        "index_code_mi": (ld(Sx) - ld(Wm)) / 2,
        "marginal_kl": (tr - m - ld(Sx)) / 2,
        "total_correlation": (sum(mpmath.log(Sx[i, i]) for i in range(m)) - ld(Sx)) / 2,
        "dimensionwise_kl": sum((Sx[i, i] - 1 - mpmath.log(Sx[i, i])) / 2 for i in range(m)),
    }
    # Inputs of condition 1e2: float64 results carry ~1e2 * eps ~ 2e-14 relative error.
    for name, val in ref.items():
        assert np.isclose(getattr(d, name), float(val), rtol=1e-12, atol=0), name


def test_kl_is_the_average_kl_of_the_posteriors_monte_carlo():
    """E_Y KL(N(By, Σ_W) || N(0, I)) by averaging the per-y closed form over samples of Y."""
    rng = np.random.default_rng(5)
    m, n = 2, 3
    B = rng.standard_normal((m, n))
    W, Y = _spd(rng, m, 1.0), _spd(rng, n, 1.0)
    d = kl_decomposition(B, W, Y)
    N = 20000
    ys = rng.standard_normal((N, n)) @ np.linalg.cholesky(Y).T
    per = kl_divergence(ys @ B.T, np.broadcast_to(W, (N, m, m)), np.zeros(m), np.eye(m))
    se = per.std(ddof=1) / np.sqrt(N)
    # 4 standard errors: false-failure probability ~6e-5 (the seed is fixed anyway).
    assert abs(per.mean() - d.kl) <= 4 * se


def test_collapsed_encoder():
    W = np.array([[1.5, 0.3], [0.3, 0.8]])
    d = kl_decomposition(np.zeros((2, 3)), W, np.eye(3))
    assert d.index_code_mi == 0.0
    assert d.collapsed
    expected = kl_divergence(np.zeros(2), W, np.zeros(2), np.eye(2))
    assert np.isclose(d.kl, expected, rtol=1e-13)
    assert np.isclose(d.marginal_kl, expected, rtol=1e-13)


def test_nearly_collapsed_encoder_keeps_relative_precision():
    """B = ε B0: I(X;Y) = 1/2 tr(Σ_W^{-1} B Σ_Y B^T) + O(ε^4); the decomposition must resolve
    values of order ε² = 1e-40 rather than return rounding noise of order 1e-16."""
    rng = np.random.default_rng(2)
    eps = 1e-20
    B0 = rng.standard_normal((3, 4))
    Y = _spd(rng, 4, 1.0)
    W = np.eye(3)
    d = kl_decomposition(eps * B0, W, Y)
    first_order = 0.5 * np.trace(B0 @ Y @ B0.T) * eps**2
    # with Σ_W = I: kl = mi + marginal_kl = 1/2 tr(BΣ_YB^T) exactly; mi agrees to O(ε²).
    assert np.isclose(d.index_code_mi, first_order, rtol=1e-12)
    assert np.isclose(d.kl, first_order, rtol=1e-12)
    assert d.marginal_kl < 1e-75  # second order in ε²
    assert d.collapsed


def test_axis_aligned_code_has_no_total_correlation():
    B = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.5]])
    d = kl_decomposition(B, np.diag([0.3, 0.7]), np.diag([1.0, 2.0, 3.0]))
    assert d.total_correlation == 0.0
    sx = np.array([4.0 + 0.3, 0.25 * 3.0 + 0.7])
    assert np.allclose(d.dimensionwise_kl_per_latent, 0.5 * (sx - 1 - np.log(sx)), rtol=1e-13)


def test_batched_equals_loop_and_broadcasts():
    rng = np.random.default_rng(8)
    Bs = rng.standard_normal((4, 2, 3))
    Ws = np.stack([_spd(rng, 2, 1.0) for _ in range(4)])
    Y = _spd(rng, 3, 1.0)
    d = kl_decomposition(Bs, Ws, Y)
    for i in range(4):
        one = kl_decomposition(Bs[i], Ws[i], Y)
        for name in TERMS:
            assert np.isclose(getattr(d, name)[i], getattr(one, name), rtol=1e-12)
    assert kl_decomposition(Bs, Ws[0], Y).kl.shape == (4,)


def test_from_moments_equals_encoder_form():
    rng = np.random.default_rng(9)
    B = rng.standard_normal((3, 5))
    W, Y = _spd(rng, 3, 1.0), _spd(rng, 5, 1.0)
    a = kl_decomposition(B, W, Y)
    b = kl_decomposition_from_moments(B @ Y @ B.T, W)
    for name in TERMS:
        assert np.isclose(getattr(a, name), getattr(b, name), rtol=1e-10)
    # rank-deficient Σ_mean (m > n) is allowed
    B2 = rng.standard_normal((3, 1))
    c = kl_decomposition_from_moments(B2 @ B2.T, W)
    e = kl_decomposition(B2, W, np.eye(1))
    assert np.isclose(c.kl, e.kl, rtol=1e-10)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((2, 3)), np.eye(2), np.eye(4)), "^B: expected shape"),
        (
            (np.ones((2, 3)), np.array([[1.0, 2.0], [2.0, 1.0]]), np.eye(3)),
            "^Sigma_W: must be positive",
        ),
        (
            (np.ones((2, 3)), np.eye(2), np.array([[1.0, 0.5, 0], [0, 1, 0], [0, 0, 1]])),
            "^Sigma_Y: must be symmetric",
        ),
        ((np.full((2, 3), np.nan), np.eye(2), np.eye(3)), "^B: contains NaN"),
        ((np.ones((4, 2, 3)), np.stack([np.eye(2)] * 3), np.eye(3)), "^B, Sigma_W, Sigma_Y: batch"),
    ],
)
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        kl_decomposition(*args)


def test_bad_moments():
    with pytest.raises(ValueError, match="^Sigma_mean: must be positive semi-definite"):
        kl_decomposition_from_moments(np.diag([1.0, -1.0]), np.eye(2))
    with pytest.raises(ValueError, match="^Sigma_mean: expected shape"):
        kl_decomposition_from_moments(np.eye(3), np.eye(2))
    with pytest.raises(ValueError, match="^collapse_tol"):
        kl_decomposition(np.ones((1, 1)), np.eye(1), np.eye(1), collapse_tol=0)
