"""The γλ loss in torch: parity with lingauss (numpy), and the Monte Carlo estimator.

The parity tests follow POT's backend pattern: one test body, run once with the numpy closed
form (``lingauss.gamma_lambda_loss``) and once with the torch closed form
(``neural.closed_form_loss``), each checked against an independent reference built from the
joint covariance of ``(Y, X)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lingauss as lg
from lingauss.gaussian import kl_divergence
from neural.config import LinearVAEConfig
from neural.models import LinearGaussianVAE
from neural.objective import closed_form_loss, mc_loss, model_closed_form_loss

LOG2PI = math.log(2 * math.pi)


def _numpy_backend(A, B, Sz, Sw, Sy, g, lm):
    t = lg.gamma_lambda_loss(A, B, Sz, Sw, Sy, g, lm)
    return np.asarray(t.kl), np.asarray(t.nll), np.asarray(t.mse), np.asarray(t.total)


def _torch_backend(A, B, Sz, Sw, Sy, g, lm):
    T = lambda x: torch.as_tensor(np.ascontiguousarray(x))  # noqa: E731
    t = closed_form_loss(T(A), T(B), T(Sz), T(Sw), T(Sy), g, lm)
    return tuple(x.numpy() for x in (t.kl, t.nll, t.mse, t.total))


@pytest.fixture(params=["numpy", "torch"])
def backend(request):
    return _numpy_backend if request.param == "numpy" else _torch_backend


def _random_params(rng, P, n, m):
    A = rng.standard_normal((P, n, m))
    B = rng.standard_normal((P, m, n))
    Sz = np.stack([np.diag(rng.uniform(0.2, 2.0, n)) for _ in range(P)])
    G = rng.standard_normal((P, m, m))
    Sw = G @ np.swapaxes(G, -1, -2) + 0.3 * np.eye(m)
    H = rng.standard_normal((n, n))
    Sy = H @ H.T + 0.5 * np.eye(n)
    return A, B, Sz, Sw, Sy


def _reference(A, B, Sz, Sw, Sy, g, lm):
    """From the definitions: joint covariance of (Y, X), the residual Y - AX as a linear map."""
    n, m = Sy.shape[0], Sw.shape[0]
    Sx = B @ Sy @ B.T + Sw
    joint = np.block([[Sy, Sy @ B.T], [B @ Sy, Sx]])
    L = np.hstack([np.eye(n), -A])  # Y - A X = L (Y, X)
    R = L @ joint @ L.T
    # E_Y KL(N(BY, Σ_W) || N(0, I)) = KL(N(0, Σ_W) || N(0, I)) + ½ E||BY||²
    kl = kl_divergence(np.zeros(m), Sw, np.zeros(m), np.eye(m)) + 0.5 * np.trace(B @ Sy @ B.T)
    # cross-entropy of N(0, R) under N(0, Σ_Z)
    nll = 0.5 * (np.trace(np.linalg.solve(Sz, R)) + np.linalg.slogdet(2 * np.pi * Sz)[1])
    mse = np.trace(R)
    return kl, nll, mse, kl + g * nll + lm * mse


@pytest.mark.parametrize("n, m", [(4, 3), (5, 2), (3, 3)])
def test_closed_form_matches_reference(backend, n, m):
    rng = np.random.default_rng(n * 10 + m)
    A, B, Sz, Sw, Sy = _random_params(rng, 4, n, m)
    g, lm = 0.97, -0.03
    got = backend(A, B, Sz, Sw, Sy, g, lm)
    for p in range(4):
        ref = _reference(A[p], B[p], Sz[p], Sw[p], Sy, g, lm)
        for x, r in zip(got, ref):
            # both sides are float64 sums of O(10) terms of size O(10): 1e-10 relative is
            # ~1e5 ulps, far above rounding, far below any formula error
            assert abs(x[p] - r) <= 1e-10 * (1 + abs(r))


def test_closed_form_rotation_invariant(backend):
    rng = np.random.default_rng(7)
    A, B, Sz, Sw, Sy = _random_params(rng, 3, 4, 3)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = backend(A, B, Sz, Sw, Sy, 1.02, 0.01)
    b = backend(A @ Q.T, Q @ B, Sz, Q @ Sw @ Q.T, Sy, 1.02, 0.01)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-10)  # float64 rounding only


def test_closed_form_collapsed_value(backend):
    # A = 0, B = 0, Σ_W = I: KL = 0, R = Σ_Y, NLL = ½[tr(Σ_Z^{-1}Σ_Y) + log|2πΣ_Z|]
    Sy = np.array([[2.0, 0.5], [0.5, 1.0]])
    Sz = np.diag([1.5, 0.5])[None]
    kl, nll, mse, total = backend(
        np.zeros((1, 2, 1)), np.zeros((1, 1, 2)), Sz, np.eye(1)[None], Sy, 0.9, 0.2
    )
    want_nll = 0.5 * (2.0 / 1.5 + 1.0 / 0.5 + 2 * LOG2PI + math.log(0.75))
    assert kl[0] == pytest.approx(0.0, abs=1e-15)
    assert nll[0] == pytest.approx(want_nll, rel=1e-13)
    assert mse[0] == pytest.approx(3.0, rel=1e-13)
    assert total[0] == pytest.approx(0.9 * want_nll + 0.2 * 3.0, rel=1e-13)


def test_torch_and_numpy_agree_at_a_ba_solution():
    sc = lg.scenario("5-5-4", 2)
    sol = lg.blahut_arimoto(sc.Sigma_Y, sc.m, 0.98, 0.01, seed=0, init="exchangeable")
    a = _numpy_backend(sol.A, sol.B, sol.Sigma_Z, sol.Sigma_W, sc.Sigma_Y, 0.98, 0.01)
    b = _torch_backend(
        sol.A[None], sol.B[None], sol.Sigma_Z[None], sol.Sigma_W[None], sc.Sigma_Y, 0.98, 0.01
    )
    for x, y in zip(a, b):
        # Σ_Z ~ 1e-4 makes tr(Σ_Z^{-1} R) ~ 5 from entries ~1e4 x 1e-4: 1e-11 relative is
        # still ~1e4 ulps of the result
        assert abs(float(x) - float(y[0])) <= 1e-11 * (1 + abs(float(x)))


def test_model_closed_form_loss_uses_the_model_matrices():
    sc = lg.scenario("3-4-3", 2)
    sol = lg.blahut_arimoto(sc.Sigma_Y, sc.m, 0.99, 0.0, seed=1, init="exchangeable")
    net = LinearGaussianVAE(LinearVAEConfig(4, 3)).set_data_scale(sc.Sigma_Y)
    net.set_matrices(sol.A, sol.B, sol.Sigma_Z, sol.Sigma_W)
    t = model_closed_form_loss(net, sc.Sigma_Y, 0.99, 0.0)
    # set_matrices stores log-variances and a Cholesky factor: a round trip through exp/log
    # and a 3x3 Cholesky loses a few ulps relative to values of order 10
    assert float(t.total[0].detach()) == pytest.approx(sol.loss.total, rel=1e-12)


@pytest.mark.parametrize("antithetic", [False, True])
def test_monte_carlo_loss_is_unbiased(antithetic):
    rng = np.random.default_rng(3)
    n, m, N = 4, 3, 200_000
    A, B, Sz, Sw, Sy = _random_params(rng, 2, n, m)
    net = LinearGaussianVAE(LinearVAEConfig(n, m, batch=2)).set_data_scale(Sy)
    net.set_matrices(A, B, Sz, Sw)
    g = torch.Generator().manual_seed(11)
    Ly = torch.as_tensor(np.linalg.cholesky(Sy))
    y = torch.randn(N, n, generator=g, dtype=torch.float64) @ Ly.T
    eps = torch.randn(1, N, m, generator=g, dtype=torch.float64)
    if antithetic:
        eps = torch.cat([eps, -eps])
    gam, lam = torch.tensor([0.9, 1.1], dtype=torch.float64), 0.05
    with torch.no_grad():
        per = mc_loss(net, y, eps, gam, lam, per_sample=True)
        exact = closed_form_loss(
            net.A(), net.B(), net.Sigma_Z(), net.Sigma_W(), torch.as_tensor(Sy), gam, lam
        )
    for term in ("kl", "nll", "mse", "total"):
        x = getattr(per, term)
        est = x.mean(-1)
        se = x.std(-1) / math.sqrt(N)
        # i.i.d. per-sample terms: the mean is within 4.5 standard errors of its expectation
        # (two-sided normal tail 7e-6 per check, 16 checks)
        assert torch.all((est - getattr(exact, term)).abs() <= 4.5 * se), term


def test_closed_form_validation():
    z = torch.zeros
    eye = torch.eye
    with pytest.raises(ValueError, match="^B:"):
        closed_form_loss(z(1, 3, 2), z(1, 3, 3), eye(3)[None], eye(2)[None], eye(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="^gamma"):
        closed_form_loss(z(1, 3, 2), z(1, 2, 3), eye(3)[None], eye(2)[None], eye(3), 0.0, 0.0)
    with pytest.raises(ValueError, match="^Sigma_W: must be positive definite"):
        closed_form_loss(z(1, 3, 2), z(1, 2, 3), eye(3)[None], -eye(2)[None], eye(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="^gamma, lam: must be finite"):
        closed_form_loss(
            z(1, 3, 2), z(1, 2, 3), eye(3)[None], eye(2)[None], eye(3), 1.0, float("nan")
        )
