"""Tests of lingauss.blahut_arimoto: the exact block updates and the solver.

* the closed-form updates are the minimisers: numerical minimisation (scipy) never beats
  them, and the finite-difference gradient of the loss vanishes there;
* the loss never increases from one half-step to the next (public updates alternated by
  hand, and the solver's own history);
* the batched solver reproduces the public updates; a converged solution is a fixed point
  of both updates and a stationary point of the loss;
* regimes against theory: collapse for γ < 1 on a diagonal Σ_Y (and for correlated Y below
  the threshold ``γ λ_max(corr Y) < 1``), an interior optimum with a closed form for
  γ < 1 < γ + 2λ s_i, divergence (``resolution_limit``, never "converged") for γ > 1, whose
  cause — a loss falling like ``(γ-1) m/2 · log ε`` — is checked on its own.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

from lingauss.blahut_arimoto import (
    RESOLUTION_LIMIT,
    blahut_arimoto,
    blahut_arimoto_batch,
    classify_regime,
    decoder_update,
    encoder_mutual_information,
    encoder_update,
    random_encoder,
)
from lingauss.gaussian import mutual_information
from lingauss.loss import gamma_lambda_loss
from lingauss.scenarios import scenario
from lingauss.strategies import spd_matrices

EPS = np.finfo(float).eps


def random_spd(rng, d, ridge=0.3):
    g = rng.standard_normal((d, d))
    return g @ g.T / d + ridge * np.eye(d)


def total(A, B, Sz, Sw, Sy, gamma, lam):
    return gamma_lambda_loss(A, B, Sz, Sw, Sy, gamma, lam).total


def eval_error(A, B, Sz, Sw, Sy, gamma, lam):
    """Bound on the float64 error of evaluating the loss: ~64 eps times the magnitudes of
    its parts (traces over absolute values, log-dets, constants). The parts are computed
    from Cholesky factors of matrices with condition numbers <= ~1e4 in these tests, for
    which the mpmath comparison in tests/test_loss.py shows relative errors ~1e-14."""
    n, m = A.shape
    Eabs = np.eye(n) + np.abs(A) @ np.abs(B)
    Rabs = Eabs @ np.abs(Sy) @ Eabs.T + np.abs(A) @ np.abs(Sw) @ np.abs(A).T
    zinv = np.abs(np.linalg.inv(Sz))
    parts_kl = np.trace(np.abs(B) @ np.abs(Sy) @ np.abs(B).T) + np.trace(Sw) + m
    parts_kl += abs(np.linalg.slogdet(Sw)[1])
    parts_nll = np.sum(zinv * Rabs) + n * 2 + abs(np.linalg.slogdet(Sz)[1])
    kappa = np.linalg.cond(Sw) + np.linalg.cond(Sz)
    return 64 * EPS * kappa * (parts_kl + gamma * parts_nll + abs(lam) * np.trace(Rabs))


# ============================================================ the updates are minimisers
def _sym_from_chol(v, d):
    L = np.zeros((d, d))
    L[np.tril_indices(d)] = v
    L[np.diag_indices(d)] = np.exp(np.diag(L))
    return L @ L.T


@pytest.mark.parametrize("gamma, lam", [(0.8, 0.1), (1.3, -0.2), (1.0, 0.0)])
def test_encoder_update_beats_numerical_minimisation(gamma, lam):
    rng = np.random.default_rng(11)
    m, n = 2, 3
    A = rng.standard_normal((n, m))
    Sz = np.diag(rng.uniform(0.3, 1.5, n))
    Sy = random_spd(rng, n)
    assert np.all(gamma / np.diag(Sz) + 2 * lam > 0)
    nb, nl = m * n, m * (m + 1) // 2

    def f(theta):
        B = theta[:nb].reshape(m, n)
        return total(A, B, Sz, _sym_from_chol(theta[nb:], m), Sy, gamma, lam)

    res = minimize(f, np.zeros(nb + nl), method="BFGS", options={"gtol": 1e-10, "maxiter": 5000})
    B, Sw = encoder_update(A, Sz, gamma, lam)
    closed = total(A, B, Sz, Sw, Sy, gamma, lam)
    # The closed form is the exact global minimiser: no point, the optimiser's included, may
    # have a lower loss beyond evaluation rounding.
    assert closed <= res.fun + eval_error(A, B, Sz, Sw, Sy, gamma, lam)
    # L is strongly convex in (B, Σ_W), so the optimiser must also land near it: a gradient
    # norm of 1e-8 or so translates into a parameter error of that order / curvature.
    assert res.fun - closed <= 1e-9 * (1 + abs(closed))
    np.testing.assert_allclose(res.x[:nb].reshape(m, n), B, atol=1e-4)


@pytest.mark.parametrize("diagonal", [True, False])
@pytest.mark.parametrize("gamma, lam", [(0.8, 0.1), (1.3, -0.2)])
def test_decoder_update_beats_numerical_minimisation(gamma, lam, diagonal):
    rng = np.random.default_rng(12)
    m, n = 2, 3
    B = rng.standard_normal((m, n))
    Sw = random_spd(rng, m)
    Sy = random_spd(rng, n)
    na = n * m
    nz = n if diagonal else n * (n + 1) // 2

    def sz(v):
        return np.diag(np.exp(v)) if diagonal else _sym_from_chol(v, n)

    def f(theta):
        Sz_ = sz(theta[na:])
        # outside {M ≻ 0} the loss is unbounded below in A (reference §3): keep the search
        # inside the region where the decoder step is claimed to be a minimiser
        if np.linalg.eigvalsh(gamma * np.linalg.inv(Sz_) + 2 * lam * np.eye(n))[0] <= 0:
            return 1e10  # a wall (finite, so that finite differences stay defined)
        return total(theta[:na].reshape(n, m), B, Sz_, Sw, Sy, gamma, lam)

    A, Sz = decoder_update(B, Sw, Sy, diagonal=diagonal)
    x0 = np.zeros(na + nz)
    res = minimize(f, x0, method="BFGS", options={"gtol": 1e-10})
    closed = total(A, B, Sz, Sw, Sy, gamma, lam)
    assert closed <= res.fun + eval_error(A, B, Sz, Sw, Sy, gamma, lam)
    assert res.fun - closed <= 1e-8 * (1 + abs(closed))


def fd_gradient(f, params, rel_step=1e-5):
    """Central differences of ``f(*params)`` w.r.t. every entry; symmetric matrices (flagged
    by a ``True`` second element) are perturbed symmetrically. Error per entry:
    ``h² |f'''| / 6 + eps |f| / h`` with ``h = 1e-5 max(|x|, 0.1)``: ~1e-10 |f'''| + 2e-11 |f|."""
    grads = []
    for k, (x, sym) in enumerate(params):
        g = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            if sym and idx[0] > idx[1]:
                continue
            h = rel_step * max(abs(x[idx]), 0.1)
            e = np.zeros_like(x)
            e[idx] = h
            if sym:
                e[idx[::-1]] = h
            plus = [p for p, _ in params]
            minus = [p for p, _ in params]
            plus[k] = x + e
            minus[k] = x - e
            g[idx] = (f(*plus) - f(*minus)) / (2 * h)
        grads.append(g)
    return grads


def test_updates_zero_the_gradient():
    rng = np.random.default_rng(5)
    m, n, gamma, lam = 2, 3, 0.9, 0.15
    Sy = random_spd(rng, n)
    A = rng.standard_normal((n, m))
    Sz = np.diag(rng.uniform(0.3, 1.0, n))
    B, Sw = encoder_update(A, Sz, gamma, lam)

    def f_enc(B_, Sw_):
        return total(A, B_, Sz, Sw_, Sy, gamma, lam)

    gB, gW = fd_gradient(f_enc, [(B, False), (Sw, True)])
    # Third derivatives are O(10) and |L| = O(10) here, so the FD error is < 1e-9; 1e-6 is a
    # wide margin and still 1e4 times smaller than the gradient off the minimiser (below).
    tol = 1e-6
    assert np.max(np.abs(gB)) < tol and np.max(np.abs(gW)) < tol
    gB_off, _ = fd_gradient(f_enc, [(B + 0.01, False), (Sw, True)])
    assert np.max(np.abs(gB_off)) > 100 * tol

    A2, Sz2 = decoder_update(B, Sw, Sy, diagonal=True)
    z = np.diag(Sz2).copy()

    def f_dec(A_, z_):
        return total(A_, B, np.diag(z_), Sw, Sy, gamma, lam)

    gA, gz = fd_gradient(f_dec, [(A2, False), (z, False)])
    assert np.max(np.abs(gA)) < tol and np.max(np.abs(gz)) < tol
    _, gz_off = fd_gradient(f_dec, [(A2, False), (z * 1.05, False)])
    assert np.max(np.abs(gz_off)) > 100 * tol


@given(
    spd_matrices(3, max_condition=1e3, scale=(0.1, 10)),
    st.floats(0.2, 3.0),
    st.floats(-0.04, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_update_beats_random_perturbations(Sy, gamma, lam, seed):
    rng = np.random.default_rng(seed)
    m, n = 2, 3
    A = rng.standard_normal((n, m))
    Sz = np.diag(rng.uniform(0.1, 2.0, n))
    # keep M = γΣ_Z^{-1} + 2λI positive definite for this Σ_Z and for the decoder's
    # diag P ⪯ diag Σ_Y (outside M ≻ 0 neither update is a minimiser)
    lam = max(lam, -0.45 * gamma / max(Sz.max(), np.diag(Sy).max()))
    B, Sw = encoder_update(A, Sz, gamma, lam)
    best = total(A, B, Sz, Sw, Sy, gamma, lam)
    tol = eval_error(A, B, Sz, Sw, Sy, gamma, lam)
    for scale in (1e-4, 1e-2, 1.0):
        dB = scale * rng.standard_normal((m, n))
        dW = scale * rng.standard_normal((m, m))
        Sw2 = Sw + 0.5 * (dW + dW.T) * np.min(np.linalg.eigvalsh(Sw))
        assert total(A, B + dB, Sz, Sw, Sy, gamma, lam) >= best - tol
        if np.all(np.linalg.eigvalsh(Sw2) > 0):
            assert total(A, B, Sz, Sw2, Sy, gamma, lam) >= best - tol
    Ad, Szd = decoder_update(B, Sw, Sy)
    best = total(Ad, B, Szd, Sw, Sy, gamma, lam)
    tol = eval_error(Ad, B, Szd, Sw, Sy, gamma, lam)
    for scale in (1e-4, 1e-2, 1.0):
        dA = scale * rng.standard_normal((n, m))
        z2 = np.diag(Szd) * np.exp(scale * rng.standard_normal(n))
        assert total(Ad + dA, B, Szd, Sw, Sy, gamma, lam) >= best - tol
        if np.all(gamma / z2 + 2 * lam > 0):
            assert total(Ad, B, np.diag(z2), Sw, Sy, gamma, lam) >= best - tol


# ================================================================= monotone half-steps
CASES = [
    # (gamma, lam, diagonal)
    (0.8, 0.0, True),
    (0.95, 0.3, True),
    (1.0, 0.0, True),
    (1.03, 0.05, True),
    (0.9, -0.18, True),  # close to the M ≻ 0 limit γ/max Σ_Y,ii + 2λ > 0 (= 0.02 here)
    (0.9, 0.1, False),
    (1.2, -0.1, False),
]


def _problem(seed, m=2, n=3):
    rng = np.random.default_rng(seed)
    Sy = random_spd(rng, n, ridge=0.5)
    B0, Sw0 = random_encoder(m, n, rng, method="exchangeable")
    return Sy, B0, Sw0


@pytest.mark.parametrize("gamma, lam, diagonal", CASES)
def test_loss_never_increases_manual_alternation(gamma, lam, diagonal):
    Sy, B, Sw = _problem(21)
    if diagonal:
        assert gamma / np.diag(Sy).max() + 2 * lam > 0
    else:
        assert gamma / np.linalg.eigvalsh(Sy)[-1] + 2 * lam > 0
    prev = None
    for step in range(300):
        if step % 2 == 0:
            A, Sz = decoder_update(B, Sw, Sy, diagonal=diagonal)
        else:
            B, Sw = encoder_update(A, Sz, gamma, lam)
        now = total(A, B, Sz, Sw, Sy, gamma, lam)
        if prev is not None:
            assert now <= prev + eval_error(A, B, Sz, Sw, Sy, gamma, lam), step
        prev = now
        if np.linalg.eigvalsh(Sw)[0] < RESOLUTION_LIMIT:
            break  # blahut_arimoto stops here too; beyond it Σ_Z is refused as singular


@pytest.mark.parametrize("gamma, lam, diagonal", CASES)
def test_loss_history_never_increases(gamma, lam, diagonal):
    Sy, B0, Sw0 = _problem(21)
    sol = blahut_arimoto(
        Sy, 2, gamma, lam, init=(B0, Sw0), diagonal=diagonal, history_every=1, max_half_steps=2000
    )
    h = sol.loss_history
    assert h.size == sol.half_steps
    # (γ, λ) are admissible (M ≻ 0 for every Σ_Z ⪯ Σ_Y), so 'indefinite_M' can only be a
    # numerical breakdown.
    assert sol.stop_reason in ("converged", "resolution_limit", "max_half_steps")
    tol = eval_error(sol.A, sol.B, sol.Sigma_Z, sol.Sigma_W, Sy, gamma, lam)
    A0, Sz0 = decoder_update(B0, Sw0, Sy, diagonal=diagonal)
    tol = max(tol, eval_error(A0, B0, Sz0, Sw0, Sy, gamma, lam))
    assert np.all(np.diff(h) <= tol)
    # the first record is the loss after the first (decoder) half-step
    assert h[0] == pytest.approx(total(A0, B0, Sz0, Sw0, Sy, gamma, lam), rel=1e-12)
    assert sol.loss.total == pytest.approx(h[-1], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("diagonal", [True, False])
@pytest.mark.parametrize("k", [1, 2, 3, 40])
def test_solver_reproduces_public_updates(k, diagonal):
    Sy, B, Sw = _problem(23, m=3, n=4)
    gamma, lam = 0.95, 0.05
    sol = blahut_arimoto(
        Sy, 3, gamma, lam, init=(B, Sw), diagonal=diagonal, max_half_steps=k, stop_rule="none"
    )
    A = Sz = None
    for step in range(k):
        if step % 2 == 0:
            A, Sz = decoder_update(B, Sw, Sy, diagonal=diagonal)
        else:
            B, Sw = encoder_update(A, Sz, gamma, lam)
    # Different (equally stable) inversion routines: agreement to rounding, which the
    # contracting iteration does not amplify over 40 half-steps.
    for got, want in [(sol.A, A), (sol.B, B), (sol.Sigma_Z, Sz), (sol.Sigma_W, Sw)]:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert sol.half_steps == k


# ========================================================== fixed point and stationarity
# (With a full Σ_Z and λ = 0, L = γ h(Y) + (1 - γ) I(X;Y) + KL(q(x) || N(0, I)) at the
# decoder's optimum, so γ < 1 always collapses: λ > 0 gives the interior point here.)
@pytest.mark.parametrize("gamma, lam, diagonal", [(0.9, 0.2, True), (0.8, 0.3, False)])
def test_converged_solution_is_fixed_point_and_stationary(gamma, lam, diagonal):
    rng = np.random.default_rng(31)
    n, m = 3, 2
    g = rng.standard_normal((n, n))
    Sy = g @ g.T + 0.5 * np.eye(n)  # correlated: an interior optimum
    tol = 1e-12
    sol = blahut_arimoto(Sy, m, gamma, lam, seed=3, tol=tol, diagonal=diagonal)
    assert sol.converged and sol.stop_reason == "converged"
    assert sol.regime == "interior" and sol.mutual_information_xy > 1e-3
    A1, Sz1 = decoder_update(sol.B, sol.Sigma_W, Sy, diagonal=diagonal)
    B1, Sw1 = encoder_update(A1, Sz1, gamma, lam)
    # The exact rule stopped when one full iteration changed the scaled parameters by
    # <= tol; near a stable fixed point the next iteration changes them by no more than the
    # last one (linear contraction), so 10·tol bounds the change (rounding is ~1e-15).
    s = np.sqrt(np.trace(Sy) / n)
    assert np.linalg.norm(B1 - sol.B) * s <= 10 * tol
    assert np.linalg.norm(A1 - sol.A) / s <= 10 * tol
    assert np.linalg.norm(Sw1 - sol.Sigma_W) <= 10 * tol
    assert np.linalg.norm(Sz1 - sol.Sigma_Z) / s**2 <= 10 * tol
    # Stationary point of the loss (independent of the update formulas).
    z = np.diag(sol.Sigma_Z).copy()

    def f(A_, B_, Sw_, Sz_):
        return total(A_, B_, Sz_, Sw_, Sy, gamma, lam)

    params = [(sol.A, False), (sol.B, False), (sol.Sigma_W, True)]
    if diagonal:
        grads = fd_gradient(lambda a, b, w, zz: f(a, b, w, np.diag(zz)), [*params, (z, False)])
    else:
        grads = fd_gradient(f, [*params, (sol.Sigma_Z, True)])
    assert max(np.max(np.abs(gr)) for gr in grads) < 1e-6


# ============================================================================ regimes
def test_collapse_below_gamma_one_on_diagonal_sigma_y():
    # Diagonal Σ_Y, γ < 1 and γ + 2λ max_i Σ_Y,ii < 1: collapse is the optimum (reference §3;
    # lingauss.symbolic.verify_collapse_hessian for the threshold).
    Sy = np.diag([1.0, 0.5, 0.25, 0.1])
    cells = [(g, lam) for g in (0.5, 0.9, 0.98) for lam in (-0.2, 0.0, 0.005)]
    # keep the collapse condition and admissibility (M ≻ 0: γ / max Σ_Y,ii + 2λ > 0)
    cells = [
        (g, lam) for g, lam in cells if g + 2 * lam * Sy.max() < 1 and g / Sy.max() + 2 * lam > 0
    ]
    for m in (1, 2, 3):
        rng = np.random.default_rng(m)
        B0, Sw0 = random_encoder(m, 4, rng, size=len(cells))
        g, lam = np.array(cells).T
        res = blahut_arimoto_batch(Sy, m, g, lam, B0, Sw0)
        assert list(res.regime) == ["collapsed"] * len(cells)
        assert list(res.stop_reason) == ["converged"] * len(cells)
        assert np.all(res.converged)
        assert np.all(res.mutual_information_xy <= 1e-8)


def test_collapse_in_published_scenario_below_gamma_one():
    sc = scenario("3-4-3", 1)  # independent factors: diagonal Σ_Y
    assert np.count_nonzero(sc.Sigma_Y - np.diag(np.diag(sc.Sigma_Y))) == 0
    cells = [(g, lam) for g in (0.98, 0.99) for lam in (-0.02, -0.01, 0.0, 0.01, 0.02)]
    rng = np.random.default_rng(7)
    B0, Sw0 = random_encoder(3, 4, rng, size=len(cells))
    g, lam = np.array(cells).T
    res = blahut_arimoto_batch(sc.Sigma_Y, 3, g, lam, B0, Sw0)
    assert list(res.regime) == ["collapsed"] * len(cells)
    assert np.all(res.mutual_information_xy <= 1e-8)


def test_collapse_threshold_for_correlated_y():
    # Unit variances, correlation 0.5: λ_max(corr) = 1.5, so collapse is a local minimum iff
    # γ < 2/3 (λ = 0). Below: collapsed; above: a strictly positive rate.
    Sy = np.array([[1.0, 0.5], [0.5, 1.0]])
    below = blahut_arimoto(Sy, 1, 0.62, 0.0, seed=1)
    above = blahut_arimoto(Sy, 1, 0.72, 0.0, seed=1)
    assert below.regime == "collapsed" and below.converged
    assert above.regime == "interior" and above.converged
    assert above.mutual_information_xy > 0.05


@pytest.mark.parametrize("m", [1, 2, 3])
def test_interior_optimum_matches_closed_form(m):
    # Diagonal Σ_Y, γ < 1, λ > 0: coordinate i is encoded iff q_i = 2λ s_i/(1-γ) - 1 > 0
    # (the scalar fixed point P·M = 1 with P = s/(1+q), M = γ/P + 2λ), at SNR q_i, so
    # I(X;Y) = 1/2 Σ_{top m} log(2λ s_i/(1-γ)).
    s = np.array([1.0, 0.5, 0.25])
    gamma, lam = 0.9, 0.25
    ratio = 2 * lam * s / (1 - gamma)  # (5, 2.5, 1.25): all active, none marginal
    expected = 0.5 * np.sum(np.log(np.sort(ratio)[::-1][:m]))
    sol = blahut_arimoto(np.diag(s), m, gamma, lam, seed=3, tol=1e-12)
    assert sol.converged and sol.regime == "interior"
    # tol = 1e-12 per iteration with a contraction rate <= ~0.99 (convergence in ~1e3
    # half-steps from O(1)) leaves the iterate ~1e-10 from the fixed point; 1e-7 is slack.
    assert sol.mutual_information_xy == pytest.approx(expected, rel=1e-7)


DIVERGENT = [(1.02, 0.0), (1.05, 0.01), (1.02, -0.01), (1.1, 0.0), (1.01, 0.02)]


@pytest.mark.parametrize(
    "Sy",
    [
        np.diag([1.0, 0.5, 0.25]),
        scenario("3-4-3", 2).Sigma_Y,
        np.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.3], [0.2, 0.3, 0.5]]),
    ],
    ids=["diagonal", "scenario-3-4-3-2", "correlated"],
)
def test_divergence_detected_above_gamma_one(Sy):
    n = Sy.shape[0]
    m = min(2, n)
    rng = np.random.default_rng(4)
    B0, Sw0 = random_encoder(m, n, rng, size=len(DIVERGENT))
    g, lam = np.array(DIVERGENT).T
    res = blahut_arimoto_batch(Sy, m, g, lam, B0, Sw0)
    assert list(res.regime) == ["divergent"] * len(DIVERGENT)
    assert list(res.stop_reason) == ["resolution_limit"] * len(DIVERGENT)
    assert not np.any(res.converged)
    # at the resolution limit (λ_min(Σ_W) ~ 1e-9) the rate is ~ -1/2 log 1e-9 ≈ 10 nats
    assert np.all(res.mutual_information_xy > 8.0)
    assert np.all(res.min_eig_sigma_w < 1e-8)
    for i in range(len(DIVERGENT)):
        h = res[i].loss_history
        assert h[-1] < h[h.size // 2]


@pytest.mark.parametrize("gamma", [0.9, 1.05, 1.5])
@pytest.mark.parametrize("m", [1, 2])
def test_loss_slope_along_path_to_deterministic_encoder(gamma, m):
    # Reference §3 (and lingauss.symbolic.verify_divergence_rate): with B = [I_m 0],
    # Σ_W = εI and the optimal decoder, L(ε) = c + (γ - 1) m/2 · log ε + O(ε): unbounded
    # below iff γ > 1.
    s = np.array([1.0, 0.5, 0.25])
    Sy = np.diag(s)
    B = np.eye(m, 3)

    def loss(eps):
        Sw = eps * np.eye(m)
        A, Sz = decoder_update(B, Sw, Sy)
        return total(A, B, Sz, Sw, Sy, gamma, 0.1)

    e1, e2 = 1e-6, 1e-8
    slope = (loss(e1) - loss(e2)) / (np.log(e1) - np.log(e2))
    # O(ε/s) corrections at ε = 1e-6 and rounding of L (|L| ~ 10, eps·10/log(100) ~ 1e-15)
    assert slope == pytest.approx((gamma - 1) * m / 2, abs=1e-4)


def test_mutual_information_of_solution_matches_gaussian_module():
    rng = np.random.default_rng(8)
    Sy = random_spd(rng, 3)
    sol = blahut_arimoto(Sy, 2, 0.8, 0.1, seed=2)
    Sx = sol.B @ Sy @ sol.B.T + sol.Sigma_W
    c = np.block([[Sx, sol.B @ Sy], [Sy @ sol.B.T, Sy]])
    ref = mutual_information(0.5 * (c + c.T), [0, 1], [2, 3, 4])
    assert sol.mutual_information_xy == pytest.approx(ref, rel=1e-10, abs=1e-14)
    assert encoder_mutual_information(sol.B, sol.Sigma_W, Sy) == pytest.approx(ref, rel=1e-10)


# ======================================================================= classify_regime
def test_classify_regime_on_synthetic_histories():
    t = np.arange(400.0)
    assert classify_regime(1e-12 + 0 * t, converged=True) == "collapsed"
    assert classify_regime(0.3 + 0 * t, converged=True) == "interior"
    # geometric decay to 0 (γ < 1 collapse), stopped by the budget
    assert classify_regime(0.5 * 0.97**t, converged=False) == "collapsed"
    # geometric decay to a positive limit
    assert classify_regime(0.3 + 0.5 * 0.97**t, converged=False) == "interior"
    # linear growth with a falling loss: a drift to a deterministic encoder
    grow = 0.01 * t
    assert classify_regime(grow, False, loss_history=-0.01 * t) == "divergent"
    # growth while the loss is flat: no evidence of a loss unbounded below
    assert classify_regime(grow, False, loss_history=0 * t + 1.0) != "divergent"


def test_breakdown_of_one_member_leaves_the_rest_of_the_batch_intact():
    """A γ = 3 run under the notebook rule (no resolution stop) drives Σ_W below float64
    resolution until its covariance is no longer PD; it must be retired as 'nonfinite' (and
    read as divergent: its I(X;Y) was rising) while the other members run on unchanged."""
    sc = scenario("3-4-3", 2)
    rng = np.random.default_rng(0)
    B0, Sw0 = random_encoder(3, 4, rng, size=3)
    opts = dict(stop_rule="notebook", history_every=1, max_half_steps=3000)
    res = blahut_arimoto_batch(sc.Sigma_Y, 3, [0.9, 3.0, 1.0], [0.0, 0.0, 0.0], B0, Sw0, **opts)
    assert res.stop_reason[1] == "nonfinite"
    assert res.regime[1] == "divergent"
    assert res.half_steps[1] < 3000
    for k in (0, 2):  # the same runs alone: bit-identical results
        alone = blahut_arimoto_batch(
            sc.Sigma_Y, 3, [[0.9, 3.0, 1.0][k]], [0.0], B0[k : k + 1], Sw0[k : k + 1], **opts
        )
        np.testing.assert_array_equal(alone.B[0], res.B[k])
        assert alone.stop_reason[0] == res.stop_reason[k]


def test_process_parallel_chunks_are_bit_identical():
    """n_jobs splits the stack across processes; members never interact, so every output
    (parameters, histories, stop reasons, regimes) must equal the single-process run exactly."""
    sc = scenario("3-4-3", 3)
    rng = np.random.default_rng(4)
    B0, Sw0 = random_encoder(3, 4, rng, size=7)
    gam = np.array([0.98, 0.99, 1.0, 1.01, 1.02, 0.98, 1.02])
    opts = dict(stop_rule="exact", max_half_steps=600, history_every=10)
    one = blahut_arimoto_batch(sc.Sigma_Y, 3, gam, 0.01, B0, Sw0, n_jobs=1, **opts)
    two = blahut_arimoto_batch(sc.Sigma_Y, 3, gam, 0.01, B0, Sw0, n_jobs=2, **opts)
    for name in ("A", "B", "Sigma_Z", "Sigma_W", "loss_history", "mi_history"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    np.testing.assert_array_equal(one.loss.total, two.loss.total)
    assert list(one.stop_reason) == list(two.stop_reason)
    assert list(one.regime) == list(two.regime)
    with pytest.raises(ValueError, match="n_jobs"):
        blahut_arimoto_batch(sc.Sigma_Y, 3, gam, 0.01, B0, Sw0, n_jobs=0, **opts)


def _inv_by_entries(K):
    """The entry-by-entry Cholesky inverse that ``inv_spd`` unrolls and vectorises: the
    same operations in the same order, so the results must agree bit for bit."""
    d = K.shape[-1]
    L = [[None] * d for _ in range(d)]
    r = [None] * d
    for j in range(d):
        s = K[..., j, j]
        for k in range(j):
            s = s - L[j][k] * L[j][k]
        r[j] = 1.0 / np.sqrt(s)
        for i in range(j + 1, d):
            t = K[..., i, j]
            for k in range(j):
                t = t - L[i][k] * L[j][k]
            L[i][j] = t * r[j]
    Li = [[None] * d for _ in range(d)]
    for i in range(d):
        Li[i][i] = r[i]
        for j in range(i):
            t = L[i][j] * Li[j][j]
            for k in range(j + 1, i):
                t = t + L[i][k] * Li[k][j]
            Li[i][j] = -t * r[i]
    out = np.empty(K.shape)
    for i in range(d):
        for j in range(i + 1):
            t = Li[i][i] * Li[i][j]
            for k in range(i + 1, d):
                t = t + Li[k][i] * Li[k][j]
            out[..., i, j] = out[..., j, i] = t
    return out


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("shape", [(40,), (1,), (3, 5)])
def test_inv_spd_is_the_entrywise_cholesky_inverse(d, shape):
    from lingauss.solver.spd_inverse import inv_spd

    rng = np.random.default_rng(d)
    g = rng.standard_normal(shape + (d, d + 2))
    K = g @ np.swapaxes(g, -1, -2) + 1e-3 * np.eye(d)
    K[..., -1, 0] += 1e-4  # the lower triangle is what counts
    np.testing.assert_array_equal(inv_spd(K), _inv_by_entries(K))
    lower = np.tril(K)
    sym = lower + np.swapaxes(np.tril(K, -1), -1, -2)
    # cond(K) <= 7e2 for these draws, so both inverses carry a relative (Frobenius) error of
    # order d · cond · eps ≈ 1e-12: 1e-10 leaves a factor 100 and would catch any wrong entry
    ref = np.linalg.inv(sym)
    err = np.linalg.norm(inv_spd(K) - ref, axis=(-2, -1)) / np.linalg.norm(ref, axis=(-2, -1))
    assert np.linalg.cond(sym).max() < 1e3 and err.max() < 1e-10


_OUTPUTS = ("A", "B", "Sigma_Z", "Sigma_W", "half_steps", "stop_reason", "converged", "regime",
            "mutual_information_xy", "min_eig_sigma_w")  # fmt: skip


def _bits(res):
    out = {k: getattr(res, k) for k in _OUTPUTS}
    out.update({k: getattr(res.loss, k) for k in ("kl", "nll", "mse", "total")})
    return out


@pytest.mark.parametrize(
    "opts",
    [
        dict(stop_rule="notebook", max_half_steps=3000, history_every=7),
        dict(stop_rule="none", max_half_steps=1200, history_every=1),
        dict(stop_rule="exact", max_half_steps=1500, history_every=10),
        dict(stop_rule="notebook", max_half_steps=1000, diagonal=False),
    ],
)
def test_regime_history_changes_nothing_but_the_histories(opts):
    """history="regime" keeps only the records the regime test reads (and re-runs the runs
    that stop early without converging): every other output is bit-identical, kept records
    too; γ = 3 members break down ('nonfinite') and exercise the re-runs."""
    sc = scenario("3-4-3", 1)
    rng = np.random.default_rng(5)
    gam = np.tile([0.9, 0.98, 1.0, 1.02, 3.0], 4)
    lam = np.repeat([-0.02, 0.0, 0.01, 0.3], 5)
    B0, Sw0 = random_encoder(3, 4, rng, size=gam.size)
    with np.errstate(all="ignore"):
        full = blahut_arimoto_batch(sc.Sigma_Y, 3, gam, lam, B0, Sw0, **opts)
        lite = blahut_arimoto_batch(sc.Sigma_Y, 3, gam, lam, B0, Sw0, history="regime", **opts)
    a, b = _bits(full), _bits(lite)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    for h_full, h_lite in (
        (full.loss_history, lite.loss_history),
        (full.mi_history, lite.mi_history),
    ):
        kept = ~np.isnan(h_lite)
        np.testing.assert_array_equal(h_lite[kept], h_full[kept])
    if opts.get("diagonal", True) and opts["stop_rule"] != "exact":
        assert np.isfinite(lite.loss_history).sum() < np.isfinite(full.loss_history).sum() / 2
    with pytest.raises(ValueError, match="history"):
        blahut_arimoto_batch(sc.Sigma_Y, 3, gam, lam, B0, Sw0, history="some")


def test_notebook_rule_certificates_skip_no_stop(monkeypatch):
    """The recon-error certificates only spare the notebook rule tests that cannot pass:
    without them (every test run in full) the runs stop at the same half-steps."""
    from lingauss.solver.notebook_rule import NotebookRule

    Sy = np.stack([scenario("3-4-3", k, "rounded").Sigma_Y for k in (1, 2)])
    Sy = np.repeat(Sy, 24, axis=0)
    rng = np.random.default_rng(0)
    gam = np.tile([0.98, 0.99, 1.0, 1.01], 12)
    lam = np.tile(np.repeat([-0.02, -0.01, 0.0, 0.01, 0.02, 0.05], 4), 2)
    B0, Sw0 = random_encoder(3, 4, rng, size=gam.size)
    opts = dict(stop_rule="notebook", max_half_steps=4000, history_every=50)
    issued = []
    certify = NotebookRule._certify_recon

    def counting(self, st, ids, *args):
        issued.append(ids.size)
        return certify(self, st, ids, *args)

    monkeypatch.setattr(NotebookRule, "_certify_recon", counting)
    with_cert = blahut_arimoto_batch(Sy, 3, gam, lam, B0, Sw0, **opts)
    monkeypatch.setattr(NotebookRule, "_certify_recon", lambda self, *args: None)
    without = blahut_arimoto_batch(Sy, 3, gam, lam, B0, Sw0, **opts)
    a, b = _bits(with_cert), _bits(without)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert sum(issued) > 10
    assert np.sum(with_cert.stop_reason == "notebook_rule") > 5


def test_auto_jobs_only_for_enough_work():
    import multiprocessing as mp
    import os

    from lingauss.solver.parallel import resolve_jobs

    assert resolve_jobs("auto", 10, 10_000) == 1  # 1e5 problem half-steps: not worth a fork
    # 4.5e6 problem half-steps (a notebook table): one process per core where fork exists
    can_fork = "fork" in mp.get_all_start_methods() and not mp.current_process().daemon
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert resolve_jobs("auto", 450, 10_000) == (min(cores, 450) if can_fork else 1)
    assert resolve_jobs(3, 2, 100) == 2
    with pytest.raises(ValueError, match="n_jobs"):
        resolve_jobs("many", 10, 10)


def test_carried_g_is_the_same_update_as_the_matrix_form():
    """RunConfig.carry_g forms the full-Σ_Z encoder's M A as γ G + 2λ A (the study's
    arithmetic) instead of (γ Σ_Z^{-1} + 2λ I) A: equal in exact arithmetic, since
    Σ_Z^{-1} A = J P G = G. The two runs differ by rounding only: each half-step adds
    ~cond · eps ≈ 1e-14 relative (cond(Σ_W) < 1e2 here) and the iteration contracts, so
    after 300 half-steps 1e-9 leaves a wide margin while catching any wrong term."""
    from lingauss.solver.batch import check_batch_inputs, run_batch
    from lingauss.solver.config import make_config

    sc = scenario("5-5-4", 2)
    rng = np.random.default_rng(11)
    B0, Sw0 = random_encoder(sc.m, sc.n, rng, size=4)
    gam, lam = np.array([0.5, 0.9, 0.8, 0.95]), np.array([0.0, 0.1, 0.3, -0.01])
    arrays = check_batch_inputs(sc.Sigma_Y, sc.m, gam, lam, B0, Sw0, diagonal=False)
    opts = dict(diagonal=False, max_half_steps=300, stop_rule="none", history_every=10)
    plain = run_batch(*arrays, make_config(**opts))
    carried = run_batch(*arrays, make_config(carry_g=True, **opts))
    for name in ("A", "B", "Sigma_Z", "Sigma_W"):
        np.testing.assert_allclose(
            getattr(carried, name), getattr(plain, name), rtol=1e-9, atol=1e-12, err_msg=name
        )
    assert not np.array_equal(carried.B, plain.B)  # a different order of operations
    with pytest.raises(ValueError, match="carry_g"):
        make_config(carry_g=True)  # diagonal Σ_Z: M A is already formed from diag(M)
    with pytest.raises(ValueError, match="carry_g"):
        make_config(carry_g=True, diagonal=False, variance_floor=1e-3)


def test_mi_history_records_only_the_rate():
    """history="mi" records I(X;Y) alone, the same values as the full history, and leaves
    the runs themselves unchanged."""
    from lingauss.solver.batch import check_batch_inputs, run_batch
    from lingauss.solver.config import make_config

    sc = scenario("3-4-3", 2)
    rng = np.random.default_rng(2)
    B0, Sw0 = random_encoder(3, 4, rng, size=6)
    gam, lam = np.linspace(0.9, 0.99, 6), np.full(6, 0.02)
    arrays = check_batch_inputs(sc.Sigma_Y, 3, gam, lam, B0, Sw0, diagonal=False)
    opts = dict(diagonal=False, max_half_steps=400, stop_rule="block", block_tol=1e-9)
    full = run_batch(*arrays, make_config(history_every=4, **opts))
    mi = run_batch(*arrays, make_config(history_every=4, history="mi", **opts))
    a, b = _bits(full), _bits(mi)
    for k in ("A", "B", "Sigma_Z", "Sigma_W", "half_steps", "stop_reason"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    np.testing.assert_array_equal(mi.mi_history, full.mi_history)
    assert np.isfinite(mi.mi_history).sum() > 6 * 10 and np.isnan(mi.loss_history).all()
    with pytest.raises(ValueError, match="history"):
        make_config(history="loss")
