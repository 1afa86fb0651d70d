"""neural.objectives: minibatch terms against the exact ones (numpy/torch parity), weights,
the decomposition identity, the two posterior parameterisations, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lingauss.objectives import objective_terms
from lingauss.strategies import spd_matrices
from neural.objective_estimators import mws_offset
from neural.objectives import (
    aggregate_log_densities,
    analytic_kl,
    dip_penalties,
    log_density_matrix,
    log_weight_matrix,
    objective_loss,
    tc_decomposition,
)

LOG_2PI = math.log(2 * math.pi)

# a fixed linear-Gaussian model with a correlated aggregate posterior (n = 4, m = 2)
_RNG = np.random.default_rng(3)
_G = _RNG.standard_normal((4, 4))
SIGMA_Y = _G @ _G.T / 4 + 0.3 * np.eye(4)
B = 0.5 * _RNG.standard_normal((2, 4))
SIGMA_W = np.array([[0.5, 0.15], [0.15, 0.4]])
A = 0.4 * _RNG.standard_normal((4, 2))
SIGMA_Z = np.diag([0.5, 0.6, 0.7, 0.8])


def _reference():
    """The exact terms from the formulas, written independently of both backends."""
    C = B @ SIGMA_Y @ B.T + SIGMA_W
    S = B @ SIGMA_Y @ B.T
    E = np.eye(4) - A @ B
    R = E @ SIGMA_Y @ E.T + A @ SIGMA_W @ A.T
    ld = lambda M: np.linalg.slogdet(M)[1]  # noqa: E731
    od = lambda M: float(np.sum(M**2) - np.sum(np.diag(M) ** 2))  # noqa: E731
    dd = lambda M: float(np.sum((np.diag(M) - 1) ** 2))  # noqa: E731
    return {
        "nll": 0.5 * (np.trace(np.linalg.solve(SIGMA_Z, R)) + 4 * LOG_2PI + ld(SIGMA_Z)),
        "kl": 0.5 * (np.trace(C) - ld(SIGMA_W) - 2),
        "mi": 0.5 * (ld(C) - ld(SIGMA_W)),
        "tc": 0.5 * (np.sum(np.log(np.diag(C))) - ld(C)),
        "dimkl": float(np.sum(0.5 * (np.diag(C) - 1 - np.log(np.diag(C))))),
        "dip_i_od": od(S),
        "dip_i_d": dd(S),
        "dip_ii_od": od(C),
        "dip_ii_d": dd(C),
    }


def _numpy_terms():
    t = objective_terms(A, B, SIGMA_Z, SIGMA_W, SIGMA_Y).as_dict()
    return {k: float(t[k]) for k in _reference()}, dict.fromkeys(_reference(), 0.0)


#: Minibatch size and repeats of the torch backend (R independent minibatches of M).
M, R = 1024, 8


def _torch_terms():
    """Minibatch estimates (MSS, N = 10⁶) over R minibatches: mean and an error allowance.

    Allowance = 5 standard errors of the mean over the R minibatches (Monte Carlo) + the
    known O(1/M) biases: MSS's Jensen term -(E_q(z,x) r - 1)/(2(M-1)) per log density
    (:func:`neural.objective_estimators.mws_offset`, an over-estimate of its size), and the
    batch-moment DIP penalties' E[Ĉ_ij²] - C_ij² = Var Ĉ_ij ≈ (C_ii C_jj + C_ij²)/M plus the
    1/M shrinkage of the batch covariance.
    """
    g = torch.Generator().manual_seed(0)
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    y = torch.randn(R, M, 4, generator=g, dtype=torch.float64) @ t(np.linalg.cholesky(SIGMA_Y)).mT
    mu = y @ t(B).mT
    z = (
        mu
        + torch.randn(R, M, 2, generator=g, dtype=torch.float64) @ t(np.linalg.cholesky(SIGMA_W)).mT
    )
    r = y - z @ t(A).mT
    sz = t(np.diag(SIGMA_Z).copy())
    nll = 0.5 * ((r * r / sz).sum(-1) + 4 * LOG_2PI + torch.log(sz).sum())
    cov = t(SIGMA_W)
    out = {}
    _, tt = objective_loss("beta-tcvae", None, nll=nll, mu=mu, z=z, cov=cov, dataset_size=10**6)
    for k in ("nll", "kl", "mi", "tc", "dimkl"):
        out[k] = tt[k]
    for name, key in (("dip-vae-i", "dip_i"), ("dip-vae-ii", "dip_ii")):
        _, td = objective_loss(name, None, nll=nll, mu=mu, z=z, cov=cov, dataset_size=10**6)
        out[f"{key}_od"], out[f"{key}_d"] = td["dip_od"], td["dip_d"]
    mean = {k: float(v.mean()) for k, v in out.items()}
    tol = {k: 5 * float(v.std()) / math.sqrt(R) for k, v in out.items()}
    off = mws_offset(B, SIGMA_W, SIGMA_Y, M, 10**6, samples=50_000)
    j, jp = abs(off["mss_jensen_log_qz"]), abs(off["mss_jensen_log_qz_prod"])
    tol["mi"] += j
    tol["tc"] += j + jp
    tol["dimkl"] += jp
    C = B @ SIGMA_Y @ B.T + SIGMA_W
    for key, D in (("dip_i", B @ SIGMA_Y @ B.T), ("dip_ii", C)):
        d = np.diag(D)
        var = (np.outer(d, d) + D**2) / M
        tol[f"{key}_od"] += float(np.sum(var) - np.sum(np.diag(var))) + 2 * float(np.sum(D**2)) / M
        tol[f"{key}_d"] += float(np.sum(np.diag(var) + 2 * np.abs(d - 1) * d / M))
    return mean, tol


BACKENDS = {"numpy": _numpy_terms, "torch": _torch_terms}


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_terms_match_the_exact_values(backend):
    """One body, two backends: exact numpy terms to 1e-10 relative; torch minibatch
    estimates within their Monte Carlo allowance (see :func:`_torch_terms`)."""
    ref = _reference()
    got, tol = BACKENDS[backend]()
    for k, v in ref.items():
        allowed = tol[k] + 1e-10 * max(1.0, abs(v))  # float64 rounding of the closed forms
        assert abs(got[k] - v) <= allowed, (backend, k, got[k], v, allowed)


def test_weight_matrices():
    w = log_weight_matrix(5, 20, "mss").exp()
    assert torch.allclose(w.sum(1), torch.ones(5, dtype=torch.float64), atol=1e-15)
    assert float(w[0, 0]) == pytest.approx(1 / 20)
    assert float(w[0, 1]) == pytest.approx((20 - 5 + 1) / (20 * 4))
    assert float(w[4, 0]) == pytest.approx((20 - 5 + 1) / (20 * 4))
    assert float(w[0, 2]) == pytest.approx(1 / 4)
    mws = log_weight_matrix(5, 20, "mws").exp()
    assert torch.allclose(mws, torch.full((5, 5), 1 / 100, dtype=torch.float64))
    with pytest.raises(ValueError, match="M"):
        log_weight_matrix(1, 20)
    with pytest.raises(ValueError, match="dataset_size"):
        log_weight_matrix(30, 20)
    with pytest.raises(ValueError, match="estimator"):
        log_weight_matrix(5, 20, "naive")


@given(
    cov=spd_matrices(3, max_condition=1e3, scale=(0.1, 1.0)),
    seed=st.integers(0, 2**16),
    est=st.sampled_from(["mws", "mss"]),
)
def test_decomposition_sums_to_the_monte_carlo_kl(cov, seed, est):
    """mi + tc + dimkl = mean(log q(z|x) - log p(z)) whatever the weights (an identity)."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(16, 3, generator=g, dtype=torch.float64)
    c = torch.as_tensor(cov)
    z = mu + torch.randn(16, 3, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(c).mT
    d = tc_decomposition(z, mu, cov=c, dataset_size=100, estimator=est)
    mc = (d["log_qz_x"] - d["log_pz"]).mean()
    assert float(abs(d["mi"] + d["tc"] + d["dimkl"] - mc)) <= 1e-9 * (1 + float(abs(mc)))


def test_diagonal_and_full_posteriors_agree_and_chunks_do_not_matter():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(2, 12, 3, generator=g, dtype=torch.float64)
    v = torch.tensor([0.3, 0.5, 0.9], dtype=torch.float64)
    z = mu + v.sqrt() * torch.randn(2, 12, 3, generator=g, dtype=torch.float64)
    full = aggregate_log_densities(z, mu, cov=torch.diag(v), dataset_size=50)
    diag = aggregate_log_densities(z, mu, var=v.expand(2, 12, 3), dataset_size=50)
    chunked = aggregate_log_densities(z, mu, cov=torch.diag(v), dataset_size=50, chunk=5)
    for a, b in zip(full, diag):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(full, chunked):
        assert torch.allclose(a, b, rtol=0, atol=1e-13)
    kl_full = analytic_kl(mu, cov=torch.diag(v))
    kl_diag = analytic_kl(mu, var=v.expand(2, 12, 3))
    assert torch.allclose(kl_full, kl_diag, rtol=1e-12)
    # the joint matrix's diagonal is log q(z_i | x_i)
    joint, marg = log_density_matrix(z[0], mu[0], cov=torch.diag(v))
    assert torch.allclose(marg.sum(-1), joint, rtol=1e-12)


def test_dip_penalties_from_batch_moments():
    mu = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], dtype=torch.float64)
    od, d = dip_penalties(mu, kind="i")  # Cov = diag(0.5, 2)
    assert float(od) == 0.0 and float(d) == pytest.approx(0.25 + 1.0)
    od, d = dip_penalties(mu, cov=torch.tensor([[0.5, 0.1], [0.1, 0.0]]).double(), kind="ii")
    assert float(od) == pytest.approx(2 * 0.01) and float(d) == pytest.approx(0.0 + 1.0)


def test_objective_weights_enter_linearly():
    g = torch.Generator().manual_seed(2)
    mu = torch.randn(32, 2, generator=g, dtype=torch.float64)
    cov = torch.tensor([[0.4, 0.1], [0.1, 0.3]], dtype=torch.float64)
    z = mu + torch.randn(32, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).mT
    nll = torch.rand(32, generator=g, dtype=torch.float64)
    kw = dict(nll=nll, mu=mu, z=z, cov=cov, dataset_size=1000)
    loss, t = objective_loss("beta-tcvae", {"alpha": 2, "beta": 6, "gamma": 3}, **kw)
    assert float(loss) == pytest.approx(
        float(t["nll"] + 2 * t["mi"] + 6 * t["tc"] + 3 * t["dimkl"])
    )
    loss, t = objective_loss("beta-vae", {"beta": 4}, **kw)
    assert float(loss) == pytest.approx(float(t["nll"] + 4 * t["kl"]))
    loss, t = objective_loss("dip-vae-ii", {"lambda_od": 10, "lambda_d": 5}, **kw)
    assert float(loss) == pytest.approx(
        float(t["nll"] + t["kl"] + 10 * t["dip_od"] + 5 * t["dip_d"])
    )
    mse = torch.rand(32, generator=g, dtype=torch.float64)
    loss, t = objective_loss("gamma-lambda", {"gamma": 0.9, "lam": 0.1}, mse=mse, **kw)
    assert float(loss) == pytest.approx(float(t["kl"] + 0.9 * t["nll"] + 0.1 * t["mse"]))


@pytest.mark.parametrize(
    "name, weights, extra, match",
    [
        ("beta-vea", None, {}, "unknown objective"),
        ("beta-vae", {"gamma": 1.0}, {}, "no weight 'gamma'"),
        ("beta-tcvae", {"beta": -1.0}, {}, "negative"),
        ("beta-vae", {"beta": float("nan")}, {}, "beta"),
        ("factor-vae", None, {}, "discriminator"),
        ("gamma-lambda", {"lam": 0.1}, {}, "mse"),
        ("beta-tcvae", None, {"estimator": "naive"}, "estimator"),
        ("beta-vae", None, {"var": torch.ones(4, 2)}, "exactly one"),
    ],
)
def test_errors(name, weights, extra, match):
    mu = torch.zeros(4, 2, dtype=torch.float64)
    kw = dict(nll=torch.zeros(4), mu=mu, z=mu, cov=torch.eye(2), dataset_size=10)
    kw.update(extra)
    with pytest.raises(ValueError, match=match):
        objective_loss(name, weights, **kw)
