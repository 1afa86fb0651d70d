"""Numerically singular covariances are refused; near-singular but resolvable ones work (issue 14).

The rule (:func:`lingauss.validation.check_nonsingular`) is scipy's float64 PSD rule applied to
the correlation matrix ``R`` of a covariance: refused when ``λ_min(R) <= 1e6 eps max|λ(R)|``,
i.e. when ``cond(R) > MAX_CONDITION ≈ 4.5e9``. Before it, a rank-1 ``v v^T`` passed the
Cholesky check by rounding and gave finite nonsense (``entropy`` -14.9 nats,
``mutual_information`` 17.65 nats for ``v = (3, 0.3)``).

Tolerances: the inputs of the accepted side are float64 matrices whose correlation matrix has
eigenvalues ``λ_i`` known from the construction up to ``δλ <= ~d eps`` (rounding of the
construction and of the diagonal scaling, measured ``<= 3e-15`` for ``d <= 5``), and
Cholesky's backward error adds ``<= ~d eps`` more per eigenvalue (in ``R``'s scale, because
Cholesky is invariant under diagonal scaling). A log-determinant therefore moves by at most
``sum_i δλ_i / λ_i``; the tests allow ``4 d eps sum_i 1/λ_i`` (a factor >= 2 over the bound).
"""

from __future__ import annotations

import re

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lingauss import blahut_arimoto, gaussian
from lingauss.decomposition import kl_decomposition
from lingauss.loss import gamma_lambda_loss
from lingauss.metrics import im_score, mig_score
from lingauss.strategies import (
    conditioned_covariances,
    near_singular_covariances,
    rank_deficient_covariances,
)
from lingauss.validation import MAX_CONDITION, SINGULAR_RCOND, check_covariance

EPS = np.finfo(float).eps
LOG_2PI_E = np.log(2 * np.pi * np.e)
#: The issue's example: ``v v^T`` with ``v = (3, 0.3)`` passes Cholesky by rounding.
V = np.array([3.0, 0.3])
RANK_ONE = np.outer(V, V)


def reported_condition(msg: str) -> float:
    """The condition number printed in a refusal message."""
    found = re.search(r"condition number (\S+) >", msg)
    assert found, msg
    return float(found.group(1))


def singular_error(name: str):
    return pytest.raises(
        ValueError, match=rf"^{re.escape(name)}: must be positive definite, but is numerically"
    )


def logdet_tol(lam: np.ndarray) -> float:
    """``4 d eps sum 1/λ_i``: twice the first-order bound of the module docstring."""
    return 4.0 * lam.size * EPS * float(np.sum(1.0 / lam))


# ---------------------------------------------------------------- the example
def test_threshold_is_scipys():
    assert SINGULAR_RCOND == 1e6 * np.finfo(np.float64).eps
    assert MAX_CONDITION == pytest.approx(4.5036e9, rel=1e-4)


def test_rank_one_passes_cholesky_but_is_refused():
    np.linalg.cholesky(RANK_ONE)  # the old check: it passes by rounding
    for f, args in [
        (gaussian.entropy, ()),
        (gaussian.logdet, ()),
        (gaussian.mutual_information, ([0], [1])),
        (gaussian.total_correlation, ()),
    ]:
        with singular_error("cov") as info:
            f(RANK_ONE, *args)
        assert reported_condition(str(info.value)) > MAX_CONDITION
    with singular_error("cov1"):
        gaussian.kl_divergence(np.zeros(2), np.eye(2), np.zeros(2), RANK_ONE)


def test_blahut_arimoto_refuses_singular_sigma_y():
    with singular_error("Sigma_Y") as info:
        blahut_arimoto(RANK_ONE, 1, 0.9, 0.0, seed=0)
    assert reported_condition(str(info.value)) > MAX_CONDITION
    # Σ_Y = diag(σ) (v v^T + 1e-12 I) diag(σ): full rank in exact arithmetic, condition ~1e13
    sy = RANK_ONE + 1e-12 * np.eye(2)
    with singular_error("Sigma_Y") as info:
        blahut_arimoto(sy, 1, 0.9, 0.0, seed=0)
    # R's smallest eigenvalue ~ 1e-12 / 9 relative: condition ~ 2 / (1e-12/9 + 1e-12/0.09)
    assert 1e10 < reported_condition(str(info.value)) < 1e12


def test_member_of_a_stack_is_named():
    good = np.array([[2.0, 0.5], [0.5, 1.0]])
    with singular_error("c") as info:
        check_covariance(np.stack([[good, good], [good, RANK_ONE]]), "c")
    assert "(member (1, 1) of the stack)" in str(info.value)


def test_indefinite_and_zero_variance_named():
    with pytest.raises(ValueError, match=r"^c: must be positive definite, but is indefinite"):
        check_covariance(np.array([[1.0, 2.0], [2.0, 1.0]]), "c")
    with pytest.raises(ValueError, match=r"^c: must be positive definite, but diagonal entry 1"):
        check_covariance(np.array([[1.0, 0.0], [0.0, 0.0]]), "c")


def test_metrics_and_decomposition_refuse_singular_inputs():
    # (X, V) with X_1 = V_1 exactly: the joint covariance has rank 3 of 4
    base = np.diag([1.0, 2.0, 1.0, 3.0])
    base[0, 2] = base[2, 0] = 1.0
    with singular_error("cov_xv"):
        mig_score(base, 2)
    # im_score validates only the factor block Σ_V (a latent that copies a factor is a
    # legitimate degenerate case it reports itself); a singular Σ_V is refused
    joint = np.eye(4)
    joint[2:, 2:] = RANK_ONE
    with singular_error("cov_xv (factor block V)"):
        im_score(joint, 2)
    with singular_error("Sigma_Y"):
        kl_decomposition(np.eye(2), np.eye(2), RANK_ONE)


# -------------------------------------------------------------- cond 1e8 still works
def test_condition_1e8_known_answer():
    # R = [[1, r], [r, 1]] has eigenvalues 1 ± r: cond = (1 + r)/(1 - r) = 1e8 at r below.
    r = (1e8 - 1) / (1e8 + 1)
    s = np.array([1e-3, 1e2])  # badly scaled as well: cond(C) ~ 1e18
    c = s[:, None] * np.array([[1.0, r], [r, 1.0]]) * s[None, :]
    with mp.workdps(50):  # the float64 matrix itself, exactly
        cm = mp.matrix(c.tolist())
        ref_ld = mp.log(mp.det(cm))
        ref_mi = (mp.log(cm[0, 0]) + mp.log(cm[1, 1]) - ref_ld) / 2
    # first-order error: 2 eps / λ_min(R) = 2 eps (1e8 + 1) / 2 on log|C|, same on the MI
    tol = 4 * 2 * EPS / (2 / (1e8 + 1))
    assert abs(gaussian.logdet(c) - float(ref_ld)) <= tol
    assert abs(gaussian.entropy(c) - 0.5 * (2 * LOG_2PI_E + float(ref_ld))) <= tol
    assert abs(gaussian.mutual_information(c, [0], [1]) - float(ref_mi)) <= tol
    assert float(ref_mi) == pytest.approx(0.5 * np.log((1e8 + 1) ** 2 / (4e8)), rel=1e-7)


def test_blahut_arimoto_accepts_condition_1e8():
    # Σ_Y with eigenvalues 1 and 1e-8 in a rotated basis: resolvable, so it must solve
    q = np.array([[0.8, -0.6], [0.6, 0.8]])
    sy = (q * np.array([1.0, 1e-8])) @ q.T
    sol = blahut_arimoto(sy, 1, 0.5, 0.0, seed=0)
    assert sol.regime in ("collapsed", "interior")
    # the reported loss is the closed form at the returned parameters; the two evaluations
    # differ only in operation order (rounding ~eps·cond(Σ_Y) = 2e-8 relative at most on the
    # NLL's inverse, far less on the total in practice; 1e-12 is what the run shows, x100)
    again = gamma_lambda_loss(sol.A, sol.B, sol.Sigma_Z, sol.Sigma_W, sy, 0.5, 0.0)
    assert np.isfinite(sol.loss.total) and sol.loss.total == pytest.approx(again.total, rel=1e-12)


# ------------------------------------------------------------------- property tests
@given(near_singular_covariances(singular=False))
def test_accepted_side_gives_the_constructed_entropy(cc):
    d = cc.cov.shape[0]
    tol = logdet_tol(cc.correlation_eigenvalues) + 8 * EPS * abs(cc.logdet)
    assert abs(gaussian.logdet(cc.cov) - cc.logdet) <= tol
    assert abs(gaussian.entropy(cc.cov) - 0.5 * (d * LOG_2PI_E + cc.logdet)) <= tol
    # total correlation = -1/2 log|R| = -1/2 sum log λ: independent of the scales
    tc = -0.5 * float(np.sum(np.log(cc.correlation_eigenvalues)))
    assert abs(gaussian.total_correlation(cc.cov) - tc) <= tol


@given(near_singular_covariances(singular=False, dim=st.integers(2, 4)), st.data())
def test_accepted_side_mutual_information_matches_mpmath(cc, data):
    c = cc.cov
    d = c.shape[0]
    k = data.draw(st.integers(1, d - 1))
    a, b = list(range(k)), list(range(k, d))
    with mp.workdps(40):
        cm = mp.matrix(c.tolist())
        ref = (mp.log(mp.det(cm[:k, :k])) + mp.log(mp.det(cm[k:, k:])) - mp.log(mp.det(cm))) / 2
    # three log-determinants, each within logdet_tol of the float64 input's
    assert abs(gaussian.mutual_information(c, a, b) - float(ref)) <= 3 * logdet_tol(
        cc.correlation_eigenvalues
    ) + 1e-12 * abs(float(ref))


@given(near_singular_covariances(singular=True))
def test_refused_side_names_matrix_and_condition(cc):
    with singular_error("Sigma_Q") as info:
        check_covariance(cc.cov, "Sigma_Q")
    # λ_min(R) = d/κ-ish carries absolute error <= ~2 d eps, i.e. relative <= 2 d eps κ
    # <= 2 * 5 * 2.2e-16 * 1e13 = 0.022: the printed condition (3 digits) is within 10%.
    assert reported_condition(str(info.value)) == pytest.approx(cc.condition, rel=0.1)
    with singular_error("cov"):
        gaussian.entropy(cc.cov)
    with singular_error("cov"):
        gaussian.mutual_information(cc.cov, [0], list(range(1, cc.cov.shape[0])))


@given(rank_deficient_covariances())
def test_rank_deficient_always_refused(c):
    d = c.shape[0]
    for f, args in [(gaussian.logdet, ()), (gaussian.total_correlation, ())]:
        with singular_error("cov"):
            f(c, *args)
    if d >= 3:
        with singular_error("cov"):
            gaussian.conditional_mutual_information(c, [0], [1], [2])


@given(conditioned_covariances(dim=3, max_condition=1e8), st.integers(0, 2))
def test_one_singular_member_of_a_batch(cc, k):
    stack = np.stack([cc.cov] * 3)
    stack[k] = np.outer([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with singular_error("cov") as info:
        gaussian.entropy(stack)
    assert f"(member ({k},) of the stack)" in str(info.value)
    # the valid members alone are fine, and equal the single-matrix answer
    one = gaussian.entropy(cc.cov)
    np.testing.assert_array_equal(gaussian.entropy(np.stack([cc.cov] * 2)), [one, one])
