"""Tests of lingauss.loss: the closed-form γλ-VAE loss of reference §2.

* an independent mpmath (60-digit) evaluation of the trace form on the same float inputs,
  at relative tolerance 1e-10;
* a Monte Carlo estimate from samples of (Y, W), within 4 standard errors;
* identities that involve other modules' independent formulas (the KL term as
  ``I(X;Y) + KL(q(x) || N(0, I))``, the NLL at the decoder optimum as ``h(Y|X)``) and
  invariances.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import multivariate_normal, ortho_group

from lingauss.blahut_arimoto import decoder_update
from lingauss.gaussian import (
    conditional_covariance,
    entropy,
    kl_divergence,
    mutual_information,
)
from lingauss.loss import (
    LossTerms,
    gamma_lambda_from_lambda_beta,
    gamma_lambda_loss,
    lambda_beta_from_gamma_lambda,
    lambda_beta_loss,
    reconstruction_error,
    residual_covariance,
)
from lingauss.strategies import gamma_lambda_pairs, linear_gaussian_models

EPS = np.finfo(float).eps
DPS = 60
RTOL = 1e-10


# ----------------------------------------------------------------------- mpmath reference
def _mp(x):
    return mp.matrix(np.atleast_2d(x).tolist())


def _mp_logdet(M):
    L = mp.cholesky(M)
    return 2 * mp.fsum(mp.log(L[i, i]) for i in range(M.rows))


def _mp_trace(M):
    return mp.fsum(M[i, i] for i in range(M.rows))


def mp_loss(A, B, Sz, Sw, Sy, gamma, lam):
    """Trace form of reference §2 evaluated at 60 digits."""
    with mp.workdps(DPS):
        A, B, Sz, Sw, Sy = (_mp(x) for x in (A, B, Sz, Sw, Sy))
        n, m = A.rows, A.cols
        E = mp.eye(n) - A * B
        R = E * Sy * E.T + A * Sw * A.T
        kl = (_mp_trace(B * Sy * B.T) + _mp_trace(Sw) - _mp_logdet(Sw) - m) / 2
        nll = (_mp_trace(mp.inverse(Sz) * R) + n * mp.log(2 * mp.pi) + _mp_logdet(Sz)) / 2
        mse = _mp_trace(R)
        return kl, nll, mse, kl + mp.mpf(gamma) * nll + mp.mpf(lam) * mse


def logdet_bound(c: np.ndarray) -> float:
    """Float64 error bound of a Cholesky log-determinant (see tests/test_gaussian.py):
    ``d² (d+1) eps ||R^{-1}||_2`` plus the rounding of the sum of logs."""
    d = c.shape[-1]
    s = np.sqrt(np.diag(c))
    rinv = np.linalg.norm(np.linalg.inv(c / np.outer(s, s)), 2)
    return d * d * (d + 1) * EPS * rinv + 2 * d * EPS * np.sum(np.abs(np.log(np.diag(c))))


def joint_xy(B, Sw, Sy):
    """Covariance of (X, Y) with X = B Y + W."""
    Sx = B @ Sy @ B.T + Sw
    c = np.block([[Sx, B @ Sy], [Sy @ B.T, Sy]])
    return 0.5 * (c + c.T)


# ======================================================================= reference tests
@given(linear_gaussian_models(), gamma_lambda_pairs())
def test_loss_matches_mpmath(model, gl):
    gamma, lam = gl
    t = gamma_lambda_loss(*model.as_args(), gamma, lam)
    kl, nll, mse, total = mp_loss(*model.as_args(), gamma, lam)
    m, n = model.m, model.n
    # Each term is a sum of parts that can cancel (KL -> 0 at collapse, NLL's log-dets against
    # the trace); 1e-10 is relative to the magnitudes of the parts. The parts are
    # well-conditioned (condition numbers <= 1e3), computed to ~1e-13 relative.
    Sw, Sz = model.Sigma_W, model.Sigma_Z
    kl_scale = (
        np.trace(model.B @ model.Sigma_Y @ model.B.T)
        + np.trace(Sw)
        + abs(np.linalg.slogdet(Sw)[1])
        + m
    ) / 2
    nll_scale = (
        float(abs(2 * nll)) + n * np.log(2 * np.pi) + 2 * abs(np.linalg.slogdet(Sz)[1])
    ) / 2
    A, B = model.A, model.B
    # tr R = tr(E Σ_Y E^T) + tr(A Σ_W A^T) with E = I - AB can cancel inside E; rounding is
    # relative to the same sums taken over absolute values.
    Eabs = np.eye(n) + np.abs(A) @ np.abs(B)
    mse_scale = float(
        np.trace(Eabs @ np.abs(model.Sigma_Y) @ Eabs.T)
        + np.trace(np.abs(A) @ np.abs(Sw) @ np.abs(A).T)
    )
    assert abs(t.kl - kl) <= RTOL * kl_scale
    assert abs(t.nll - nll) <= RTOL * nll_scale
    assert abs(t.mse - mse) <= RTOL * mse_scale
    assert abs(t.total - total) <= RTOL * (kl_scale + gamma * nll_scale + abs(lam) * mse_scale)
    assert t.gamma == gamma and t.lam == lam
    assert isinstance(t, LossTerms)


def test_loss_known_values_at_collapse():
    # A = 0, B = 0, Σ_W = I: q(x|y) = N(0, I) = prior, so KL = 0; R = Σ_Y.
    rng = np.random.default_rng(0)
    n, m = 3, 2
    g = rng.standard_normal((n, n))
    Sy = g @ g.T + np.eye(n)
    Sz = np.diag([0.5, 1.5, 2.0])
    t = gamma_lambda_loss(np.zeros((n, m)), np.zeros((m, n)), Sz, np.eye(m), Sy, 0.7, -0.1)
    assert t.kl == 0.0
    nll = 0.5 * (np.sum(np.diag(Sy) / np.diag(Sz)) + n * np.log(2 * np.pi) + np.log(1.5 * 2 * 0.5))
    assert t.nll == pytest.approx(nll, rel=1e-14)
    assert t.mse == pytest.approx(np.trace(Sy), rel=1e-14)
    assert t.total == pytest.approx(0.7 * nll - 0.1 * np.trace(Sy), rel=1e-14)


def test_loss_known_values_scalar():
    # n = m = 1: every term by hand.
    a, b, z, w, s, g, lam = 0.8, 0.6, 0.3, 0.5, 2.0, 1.3, 0.2
    r = (1 - a * b) ** 2 * s + a * a * w
    kl = 0.5 * (b * b * s + w - np.log(w) - 1)
    nll = 0.5 * (r / z + np.log(2 * np.pi) + np.log(z))
    t = gamma_lambda_loss([[a]], [[b]], [[z]], [[w]], [[s]], g, lam)
    assert (t.kl, t.nll, t.mse) == pytest.approx((kl, nll, r), rel=1e-14)
    assert t.total == pytest.approx(kl + g * nll + lam * r, rel=1e-14)


# =========================================================================== Monte Carlo
@pytest.mark.parametrize(
    "seed, m, n, gamma, lam, diagonal",
    [(1, 2, 3, 1.0, 0.0, True), (2, 1, 2, 0.8, 0.3, True), (3, 3, 4, 1.5, -0.05, False)],
)
def test_loss_matches_monte_carlo(seed, m, n, gamma, lam, diagonal):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, m))
    B = rng.standard_normal((m, n)) * 0.7
    g = rng.standard_normal((n, n))
    Sy = g @ g.T / n + 0.3 * np.eye(n)
    h = rng.standard_normal((m, m))
    Sw = h @ h.T / m + 0.2 * np.eye(m)
    if diagonal:
        Sz = np.diag(rng.uniform(0.2, 2.0, n))
    else:
        k = rng.standard_normal((n, n))
        Sz = k @ k.T / n + 0.5 * np.eye(n)
    N = 200_000
    Y = rng.standard_normal((N, n)) @ np.linalg.cholesky(Sy).T
    W = rng.standard_normal((N, m)) @ np.linalg.cholesky(Sw).T
    X = Y @ B.T + W
    res = Y - X @ A.T
    # Per-sample KL(N(By, Σ_W) || N(0, I)) in closed form; -log p(y|x) from scipy's density;
    # the squared error directly.
    kl_i = 0.5 * (np.trace(Sw) + np.sum((Y @ B.T) ** 2, axis=1) - m - np.linalg.slogdet(Sw)[1])
    nll_i = -multivariate_normal(mean=np.zeros(n), cov=Sz).logpdf(res)
    mse_i = np.sum(res**2, axis=1)
    tot_i = kl_i + gamma * nll_i + lam * mse_i
    t = gamma_lambda_loss(A, B, Sz, Sw, Sy, gamma, lam)
    # 4 standard errors: a correct formula fails one check with probability ~6e-5 (normal
    # approximation; N = 2e5 makes the CLT accurate for these sums of squares), and the seed
    # is fixed, so the test is deterministic.
    for sample, closed in [(kl_i, t.kl), (nll_i, t.nll), (mse_i, t.mse), (tot_i, t.total)]:
        se = sample.std(ddof=1) / np.sqrt(N)
        assert abs(sample.mean() - closed) <= 4 * se, (sample.mean(), closed, se)


# =============================================================== cross-module identities
@given(linear_gaussian_models(), gamma_lambda_pairs())
def test_kl_term_is_rate_plus_marginal_kl(model, gl):
    # E_Y KL(q(x|y) || p(x)) = I(X;Y) + KL(q(x) || p(x)) for any encoder.
    A, B, Sz, Sw, Sy = model.as_args()
    m = model.m
    t = gamma_lambda_loss(A, B, Sz, Sw, Sy, *gl)
    c = joint_xy(B, Sw, Sy)
    rate = mutual_information(c, range(m), range(m, m + model.n))
    marg = kl_divergence(np.zeros(m), c[:m, :m], np.zeros(m), np.eye(m))
    # Both sides are sums of Cholesky log-dets of (sub-blocks of) the joint covariance and of
    # Σ_W, each within its float64 bound, plus the rounding of the traces.
    tol = 8 * logdet_bound(c) + 4 * logdet_bound(Sw) + 1e-13 * (abs(t.kl) + np.trace(c[:m, :m]))
    assert abs(t.kl - (rate + marg)) <= tol


@given(linear_gaussian_models(), gamma_lambda_pairs())
def test_nll_and_mse_at_full_decoder_optimum(model, gl):
    # With A and Σ_Z = P = Cov(Y | X) from the decoder update, the NLL is h(Y|X) =
    # h(Y) - I(X;Y) and the MSE is tr Cov(Y|X).
    _, B, _, Sw, Sy = model.as_args()
    m, n = model.m, model.n
    A, P = decoder_update(B, Sw, Sy, diagonal=False)
    t = gamma_lambda_loss(A, B, P, Sw, Sy, *gl)
    c = joint_xy(B, Sw, Sy)
    X, Y = list(range(m)), list(range(m, m + n))
    h_y_given_x = entropy(Sy) - mutual_information(c, X, Y)
    tol = 8 * logdet_bound(c) + 4 * logdet_bound(P) + 1e-13 * (abs(t.nll) + n * 3)
    assert abs(t.nll - h_y_given_x) <= tol
    cond = conditional_covariance(c, Y, X)
    assert t.mse == pytest.approx(np.trace(cond), rel=1e-9)
    # Diagonal Σ_Z = diag P: tr(Σ_Z^{-1} R) = n exactly, NLL = (n + n log 2π + Σ log P_ii)/2.
    A2, Pd = decoder_update(B, Sw, Sy, diagonal=True)
    t2 = gamma_lambda_loss(A2, B, Pd, Sw, Sy, *gl)
    expect = 0.5 * (n + n * np.log(2 * np.pi) + np.sum(np.log(np.diag(Pd))))
    assert abs(t2.nll - expect) <= 1e-12 * (abs(expect) + n * 3) + 4 * logdet_bound(P)


@given(linear_gaussian_models(), gamma_lambda_pairs(), st.integers(0, 2**31 - 1))
def test_loss_invariant_under_latent_rotation(model, gl, seed):
    # The prior N(0, I) is rotation invariant: (A Q^T, Q B, Q Σ_W Q^T) gives the same loss.
    A, B, Sz, Sw, Sy = model.as_args()
    m = model.m
    Q = ortho_group.rvs(m, random_state=seed) if m > 1 else np.array([[-1.0]])
    t = gamma_lambda_loss(A, B, Sz, Sw, Sy, *gl)
    Sw2 = Q @ Sw @ Q.T
    t2 = gamma_lambda_loss(A @ Q.T, Q @ B, Sz, 0.5 * (Sw2 + Sw2.T), Sy, *gl)
    scale = abs(t.kl) + gl[0] * abs(t.nll) + abs(gl[1]) * t.mse + np.trace(Sw) + 10
    for a, b in [(t.kl, t2.kl), (t.nll, t2.nll), (t.mse, t2.mse), (t.total, t2.total)]:
        assert abs(a - b) <= 1e-11 * scale + 4 * logdet_bound(Sw)


@given(linear_gaussian_models())
def test_residual_covariance_from_joint(model):
    A, B, _, Sw, Sy = model.as_args()
    m, n = model.m, model.n
    c = joint_xy(B, Sw, Sy)  # order (X, Y)
    J = np.hstack([-A, np.eye(n)])  # Y - A X
    expected = J @ c @ J.T
    got = residual_covariance(A, B, Sw, Sy)
    scale = np.abs(J) @ np.abs(c) @ np.abs(J).T
    np.testing.assert_array_less(np.abs(got - expected), 1e-13 * scale + 1e-300)
    np.testing.assert_allclose(got, got.T, rtol=0, atol=0)
    assert m == B.shape[0]


@given(linear_gaussian_models(), gamma_lambda_pairs())
def test_batched_equals_loop(model, gl):
    args = model.as_args()
    stacked = [np.stack([x, 2.0 * x if i < 2 else 1.5 * x]) for i, x in enumerate(args)]
    t = gamma_lambda_loss(*stacked, *gl)
    for k in range(2):
        tk = gamma_lambda_loss(*[s[k] for s in stacked], *gl)
        for name in ("kl", "nll", "mse", "total"):
            v, vk = getattr(t, name)[k], getattr(tk, name)
            # same operations per member; LAPACK batching may reorder sums (a few ulps of
            # the parts, which are bounded by 1e3 here)
            assert abs(v - vk) <= 1e-12 * (1 + abs(vk) + t.mse[k])


# ============================================================================ λβ form
@given(linear_gaussian_models(), st.floats(0.1, 40.0), st.floats(-2.0, 8.0))
def test_lambda_beta_loss_is_beta_times_gamma_lambda(model, beta, lam):
    t = lambda_beta_loss(*model.as_args(), beta, lam)
    g, lg = gamma_lambda_from_lambda_beta(beta, lam)
    assert (g, lg) == pytest.approx((1 / beta, lam / beta), rel=1e-15)
    assert lambda_beta_from_gamma_lambda(g, lg) == pytest.approx((beta, lam), rel=1e-14)
    tg = gamma_lambda_loss(*model.as_args(), g, lg)
    scale = beta * abs(t.kl) + abs(t.nll) + abs(lam) * t.mse
    assert abs(t.total - beta * tg.total) <= 1e-13 * scale
    assert abs(t.total - (t.nll + beta * t.kl + lam * t.mse)) <= 1e-13 * scale


# ================================================================= reconstruction error
@given(linear_gaussian_models(), st.floats(1e-2, 1e2))
def test_reconstruction_error(model, c):
    A, _, Sz, _, Sy = model.as_args()
    d = A @ A.T + Sz - Sy
    expected = np.max(np.abs(np.linalg.eigvalsh(d))) / np.linalg.eigvalsh(Sy)[-1]
    got = reconstruction_error(A, Sz, Sy)
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-14)
    # invariant under the common rescaling A -> cA, Σ -> c²Σ
    assert reconstruction_error(c * A, c * c * Sz, c * c * Sy) == pytest.approx(got, rel=1e-10)
    # zero at an exact fit (Σ_Z = Σ_Y - A A^T, whatever its sign: the function only measures)
    fit = reconstruction_error(A, Sy - A @ A.T, Sy)
    assert fit <= 4 * EPS * (np.abs(A @ A.T).sum() + np.abs(Sy).sum()) / np.linalg.eigvalsh(Sy)[-1]
