"""Tests of lingauss.gaussian: exact Gaussian information quantities.

Two kinds of checks:

* against an independent reference, mpmath at 60 significant digits on the *same* float64
  matrices (so input rounding plays no part), at a relative tolerance of 1e-10 on
  well-conditioned inputs (condition number <= 1e3);
* identities (symmetry, H-decomposition, chain rule, invariances, data processing, ...) on
  matrices with condition numbers up to 1e8, at tolerances derived from float64 error
  bounds (:func:`logdet_bound`), because there the float64 input itself only determines
  quantities that depend on the small eigenvalues to ~eps·cond.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lingauss.gaussian import (
    canonical_correlations,
    conditional_covariance,
    conditional_mutual_information,
    entropy,
    kl_divergence,
    logdet,
    mutual_information,
    total_correlation,
)
from lingauss.strategies import (
    covariances_with_blocks,
    invertible_matrices,
    spd_matrices,
)

EPS = np.finfo(float).eps
LOG_2PI_E = np.log(2 * np.pi * np.e)
DPS = 60
#: Reference values at 60 digits of O(1..100)-sized log-determinants are exact to ~1e-58
#: absolute, so an absolute floor of 1e-40 is pure reference precision, not slack.
REF_ATOL = 1e-40
RTOL = 1e-10

well_conditioned = {"max_condition": 1e3}


# ----------------------------------------------------------------------- mpmath reference
def mp_logdet(c: np.ndarray):
    with mp.workdps(DPS):
        L = mp.cholesky(mp.matrix(c.tolist()))
        return 2 * mp.fsum(mp.log(L[i, i]) for i in range(c.shape[0]))


def sub(c, idx):
    idx = list(idx)
    return c[np.ix_(idx, idx)]


def mp_mi(c, a, b):
    with mp.workdps(DPS):
        return (mp_logdet(sub(c, a)) + mp_logdet(sub(c, b)) - mp_logdet(sub(c, [*a, *b]))) / 2


def mp_cmi(c, a, b, g):
    with mp.workdps(DPS):
        return (
            mp_logdet(sub(c, [*a, *g]))
            + mp_logdet(sub(c, [*b, *g]))
            - mp_logdet(sub(c, g))
            - mp_logdet(sub(c, [*a, *b, *g]))
        ) / 2


def mp_kl(m0, c0, m1, c1):
    with mp.workdps(DPS):
        C0, C1 = mp.matrix(c0.tolist()), mp.matrix(c1.tolist())
        dm = mp.matrix((m1 - m0).tolist())
        C1i = mp.inverse(C1)
        tr = mp.fsum((C1i * C0)[i, i] for i in range(c0.shape[0]))
        maha = (dm.T * C1i * dm)[0, 0]
        return (tr + maha - c0.shape[0] + mp_logdet(c1) - mp_logdet(c0)) / 2


def rel_close(val, ref, scale=None, rtol=RTOL, atol=REF_ATOL):
    """|val - ref| <= rtol * scale + atol, with scale = |ref| unless given."""
    ref = mp.mpf(ref)
    scale = abs(ref) if scale is None else scale
    err = abs(mp.mpf(float(val)) - ref)
    return err <= rtol * scale + atol, float(err), float(ref)


# ------------------------------------------------------------------------ error bounds
def logdet_bound(c: np.ndarray) -> float:
    """Bound on the float64 error of ``log|C|`` computed from a Cholesky factor.

    Higham (2002, Thm 10.3): the computed factor satisfies ``L L^T = C + ΔC`` with
    ``|ΔC| <= γ_{d+1} |L||L^T|`` and ``(|L||L^T|)_ij <= sqrt(C_ii C_jj)``, so
    ``ΔC = D^{1/2} E D^{1/2}`` with ``|E_ij| <= γ_{d+1} ≈ (d+1) eps/2``. To first order
    ``δ log|C| = tr(R^{-1} E) <= ||R^{-1}||_2 · d · ||E||_2 <= d² (d+1) eps/2 · ||R^{-1}||_2``
    (``R`` the correlation matrix). We drop the 1/2 (factor-2 margin for the higher-order
    terms) and add the rounding of ``2 sum log L_ii`` (``~d eps`` times its magnitude).
    Every sub-block's ``||R_sub^{-1}||`` is at most the whole matrix's (interlacing), so the
    bound of a matrix also covers its principal sub-blocks.
    """
    d = c.shape[-1]
    s = np.sqrt(np.diag(c))
    r = c / np.outer(s, s)
    rinv = np.linalg.norm(np.linalg.inv(r), 2)
    return d * d * (d + 1) * EPS * rinv + 2 * d * EPS * np.sum(np.abs(np.log(np.diag(c))))


def mi_bound(c, *blocks) -> float:
    """Error bound for an information quantity built from the log-dets of sub-blocks of the
    joint matrix of ``blocks``: each log-det is bounded by the joint's bound."""
    idx = [i for b in blocks for i in b]
    return 4 * logdet_bound(sub(c, idx))


def perturbation_bound(c: np.ndarray, delta: np.ndarray) -> float:
    """First-order bound on the change of ``log|C|`` (and of each principal sub-block's)
    under a symmetric perturbation bounded entrywise by ``delta``:
    ``|tr(R^{-1} D^{-1/2} Δ D^{-1/2})| <= ||R^{-1}||_2 sqrt(d) ||D^{-1/2} |Δ| D^{-1/2}||_F``."""
    d = c.shape[-1]
    s = np.sqrt(np.diag(c))
    r = c / np.outer(s, s)
    rinv = np.linalg.norm(np.linalg.inv(r), 2)
    return 2 * rinv * np.sqrt(d) * np.linalg.norm(delta / np.outer(s, s))


# ======================================================================= reference tests
@given(spd_matrices(**well_conditioned))
def test_logdet_and_entropy_match_mpmath(c):
    d = c.shape[0]
    ok, err, ref = rel_close(logdet(c), mp_logdet(c), scale=abs(mp_logdet(c)) + d)
    assert ok, (err, ref)
    # h = (d log 2πe + log|C|)/2 can cancel to ~0; the tolerance is relative to its parts.
    ref_h = (d * mp.log(2 * mp.pi * mp.e) + mp_logdet(c)) / 2
    scale = (d * LOG_2PI_E + abs(float(mp_logdet(c)))) / 2
    ok, err, ref = rel_close(entropy(c), ref_h, scale=scale)
    assert ok, (err, ref)


@given(covariances_with_blocks(2, **well_conditioned))
def test_mutual_information_matches_mpmath(cb):
    c, (a, b) = cb
    ok, err, ref = rel_close(mutual_information(c, a, b), mp_mi(c, a, b))
    assert ok, (err, ref)


@given(covariances_with_blocks(3, **well_conditioned))
def test_conditional_mutual_information_matches_mpmath(cb):
    c, (a, b, g) = cb
    ref = mp_cmi(c, a, b, g)
    ok, err, refv = rel_close(conditional_mutual_information(c, a, b, g), ref)
    assert ok, (err, refv)


@given(covariances_with_blocks(3, **well_conditioned), st.booleans())
def test_total_correlation_matches_mpmath(cb, singletons):
    c, blocks = cb
    if singletons:
        idx = list(range(c.shape[0]))
        blocks = [[i] for i in idx]
        val = total_correlation(c)
    else:
        val = total_correlation(c, blocks)
    with mp.workdps(DPS):
        ref = (
            mp.fsum(mp_logdet(sub(c, b)) for b in blocks)
            - mp_logdet(sub(c, [i for b in blocks for i in b]))
        ) / 2
    ok, err, refv = rel_close(val, ref)
    assert ok, (err, refv)


@given(
    spd_matrices(st.shared(st.integers(1, 5), key="d"), **well_conditioned),
    spd_matrices(st.shared(st.integers(1, 5), key="d"), **well_conditioned),
    st.shared(st.integers(1, 5), key="d").flatmap(
        lambda d: hnp.arrays(np.float64, (2, d), elements=st.floats(-3, 3))
    ),
)
def test_kl_divergence_matches_mpmath(c0, c1, means):
    d = c0.shape[0]
    m0, m1 = means
    val = kl_divergence(m0, c0, m1, c1)
    # KL = (tr + maha - d + log|C1| - log|C0|)/2 cancels to 0 as the two laws approach each
    # other; every part is computed to relative ~1e-13 here, so the tolerance is relative to
    # the sum of the parts' magnitudes.
    c1i = np.linalg.inv(c1)
    parts = (
        np.trace(c1i @ c0)
        + (m1 - m0) @ c1i @ (m1 - m0)
        + d
        + abs(np.linalg.slogdet(c1)[1])
        + abs(np.linalg.slogdet(c0)[1])
    )
    ok, err, ref = rel_close(val, mp_kl(m0, c0, m1, c1), scale=parts / 2)
    assert ok, (err, ref)


@given(covariances_with_blocks(2, max_condition=1e8))
def test_mutual_information_ill_conditioned_within_error_bound(cb):
    # With condition numbers up to 1e8 the float64 answer is only determined to ~eps·cond:
    # the check is against the derived error bound, not 1e-10 relative.
    c, (a, b) = cb
    err = abs(mp.mpf(float(mutual_information(c, a, b))) - mp_mi(c, a, b))
    assert err <= mi_bound(c, a, b) + REF_ATOL


# ===================================================================== exact closed forms
@pytest.mark.parametrize(
    "rho", [1e-9, -1e-6, 1e-3, 0.3, -0.5, 0.7, 0.71, -0.9, 0.999, 1 - 1e-6, -(1 - 1e-8)]
)
def test_scalar_closed_form(rho):
    c = np.array([[1.0, rho], [rho, 1.0]])
    with mp.workdps(DPS):
        ref = -mp.log(1 - mp.mpf(rho) ** 2) / 2
    # The Cholesky route for strong dependence forms 1 - rho^2 with absolute error ~eps,
    # i.e. an error of ~eps/(1-rho^2) nats; the log1p route (rho^2 <= 1/2) is relative-exact.
    tol = 1e-12 * ref + 2 * EPS / (1 - rho**2)
    assert abs(mp.mpf(mutual_information(c, [0], [1])) - ref) <= tol
    assert abs(mp.mpf(total_correlation(c)) - ref) <= tol


@given(
    st.floats(-0.999, 0.999),
    st.floats(1e-3, 1e3),
    st.floats(1e-3, 1e3),
)
def test_scalar_closed_form_scaled(rho, s1, s2):
    c = np.array([[s1 * s1, rho * s1 * s2], [rho * s1 * s2, s2 * s2]])
    expected = -0.5 * np.log1p(-(rho**2))
    # The entries carry relative rounding eps, which moves rho by ~2 eps |rho| and the MI by
    # |rho|^2/(1-rho^2) · 2 eps (derivative of -1/2 log(1-rho^2) w.r.t. log rho), plus eps/(1-rho^2)
    # for the Cholesky route.
    tol = 1e-12 * expected + 8 * EPS / (1 - rho**2)
    assert abs(mutual_information(c, [0], [1]) - expected) <= tol


def test_weak_dependence_keeps_relative_precision():
    # I = -1/2 log(1 - rho^2) ~ rho^2/2 = 5e-19: a log-det difference would return 0 or noise.
    rho = 1e-9
    c = np.array([[2.0, rho * np.sqrt(6.0)], [rho * np.sqrt(6.0), 3.0]])
    val = mutual_information(c, [0], [1])
    assert val == pytest.approx(0.5 * rho**2, rel=1e-9)
    c3 = np.array([[1.0, 1e-8, 0.0], [1e-8, 1.0, 2e-8], [0.0, 2e-8, 1.0]])
    with mp.workdps(DPS):
        ref = -mp_logdet(c3) / 2
    assert abs(total_correlation(c3) - ref) <= 1e-12 * ref


# ============================================================= identities, all conditions
@given(covariances_with_blocks(2))
def test_mi_symmetric_and_non_negative(cb):
    c, (a, b) = cb
    iab = mutual_information(c, a, b)
    iba = mutual_information(c, b, a)
    assert iab >= 0.0 and iba >= 0.0
    assert abs(iab - iba) <= mi_bound(c, a, b)


@given(covariances_with_blocks(2))
def test_mi_equals_entropy_decomposition(cb):
    c, (a, b) = cb
    ha, hb, hab = entropy(sub(c, a)), entropy(sub(c, b)), entropy(sub(c, [*a, *b]))
    # Each entropy carries its log-det error plus the rounding of the sum of its parts.
    tol = mi_bound(c, a, b) + 4 * EPS * (abs(ha) + abs(hb) + abs(hab) + LOG_2PI_E * c.shape[0])
    assert abs(mutual_information(c, a, b) - (ha + hb - hab)) <= tol


@given(covariances_with_blocks(3))
def test_chain_rule(cb):
    c, (a, b, g) = cb
    lhs = mutual_information(c, a, [*b, *g])
    rhs = mutual_information(c, a, b) + conditional_mutual_information(c, a, g, b)
    assert abs(lhs - rhs) <= 3 * mi_bound(c, a, b, g)


@given(covariances_with_blocks(3))
def test_cmi_non_negative_and_matches_logdet_formula(cb):
    c, (a, b, g) = cb
    val = conditional_mutual_information(c, a, b, g)
    assert val >= 0.0
    ld = lambda idx: np.linalg.slogdet(sub(c, idx))[1]  # noqa: E731
    alt = 0.5 * (ld([*a, *g]) + ld([*b, *g]) - ld(g) - ld([*a, *b, *g]))
    assert abs(val - alt) <= 2 * mi_bound(c, a, b, g)


@given(
    covariances_with_blocks(2, max_condition=1e6),
    st.data(),
)
def test_mi_invariant_under_invertible_maps_within_blocks(cb, data):
    c, (a, b) = cb
    d = c.shape[0]
    T = np.eye(d)
    for blk in (a, b):
        T[np.ix_(blk, blk)] = data.draw(invertible_matrices(len(blk), max_condition=10.0))
    c2 = T @ c @ T.T
    c2 = 0.5 * (c2 + c2.T)
    # Forming T C T^T rounds each entry by <= 2 d eps (|T||C||T|^T)_ij.
    delta = 2 * d * EPS * (np.abs(T) @ np.abs(c) @ np.abs(T).T)
    tol = mi_bound(c, a, b) + mi_bound(c2, a, b) + 3 * perturbation_bound(c2, delta)
    assert abs(mutual_information(c2, a, b) - mutual_information(c, a, b)) <= tol


@given(
    spd_matrices(st.integers(1, 3)),
    spd_matrices(st.integers(1, 3)),
    st.randoms(use_true_random=False),
)
def test_mi_zero_for_independent_blocks(ca, cb_, rnd):
    da, db = ca.shape[0], cb_.shape[0]
    c = np.zeros((da + db, da + db))
    c[:da, :da], c[da:, da:] = ca, cb_
    perm = list(range(da + db))
    rnd.shuffle(perm)
    inv = np.argsort(perm)
    c = c[np.ix_(perm, perm)]
    a, b = inv[:da].tolist(), inv[da:].tolist()
    assert mutual_information(c, a, b) <= mi_bound(c, a, b)
    assert total_correlation(c, [a, b]) <= mi_bound(c, a, b)


@st.composite
def markov_chains(draw):
    """Joint covariance of (X, Y, Z) with Y = F X + N1, Z = G Y + N2 (X → Y → Z)."""
    dx, dy, dz = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    cx = draw(spd_matrices(dx, max_condition=1e3))
    n1 = draw(spd_matrices(dy, max_condition=1e3))
    n2 = draw(spd_matrices(dz, max_condition=1e3))
    F = draw(hnp.arrays(np.float64, (dy, dx), elements=st.floats(-3, 3)))
    G = draw(hnp.arrays(np.float64, (dz, dy), elements=st.floats(-3, 3)))
    cy = F @ cx @ F.T + n1
    cz = G @ cy @ G.T + n2
    c = np.block(
        [
            [cx, cx @ F.T, cx @ F.T @ G.T],
            [F @ cx, cy, cy @ G.T],
            [G @ F @ cx, G @ cy, cz],
        ]
    )
    c = 0.5 * (c + c.T)
    X = list(range(dx))
    Y = list(range(dx, dx + dy))
    Z = list(range(dx + dy, dx + dy + dz))
    return c, X, Y, Z


@given(markov_chains())
def test_data_processing_inequality_and_markov_property(chain):
    c, X, Y, Z = chain
    tol = 2 * mi_bound(c, X, Y, Z)
    ixy = mutual_information(c, X, Y)
    ixz = mutual_information(c, X, Z)
    iyz = mutual_information(c, Y, Z)
    assert ixz <= ixy + tol
    assert ixz <= iyz + tol
    # Markov: I(X;Z|Y) = 0.
    assert conditional_mutual_information(c, X, Z, Y) <= tol


@given(covariances_with_blocks(4, max_dim=6), st.randoms(use_true_random=False))
def test_total_correlation_is_a_sum_of_mutual_informations(cb, rnd):
    c, blocks = cb
    tc = total_correlation(c, blocks)
    order = list(range(len(blocks)))
    rnd.shuffle(order)
    chain = 0.0
    for k in range(1, len(order)):
        earlier = [i for j in order[:k] for i in blocks[j]]
        chain += mutual_information(c, blocks[order[k]], earlier)
    assert abs(tc - chain) <= 3 * len(blocks) * mi_bound(c, *blocks)
    # Two blocks: TC is the mutual information.
    assert abs(total_correlation(c, blocks[:2]) - mutual_information(c, *blocks[:2])) <= (
        mi_bound(c, *blocks[:2])
    )


@given(spd_matrices(max_condition=1e6))
def test_total_correlation_default_is_singletons_and_minus_half_logdet_corr(c):
    d = c.shape[0]
    tc = total_correlation(c)
    assert tc == pytest.approx(total_correlation(c, [[i] for i in range(d)]), abs=1e-300)
    s = np.sqrt(np.diag(c))
    r = c / np.outer(s, s)
    assert abs(tc + 0.5 * np.linalg.slogdet(r)[1]) <= 2 * logdet_bound(c)


@given(covariances_with_blocks(2, max_condition=1e6, cover=True))
def test_kl_to_product_of_marginals_is_mutual_information(cb):
    c, (a, b) = cb
    prod = np.zeros_like(c)
    prod[np.ix_(a, a)] = sub(c, a)
    prod[np.ix_(b, b)] = sub(c, b)
    zero = np.zeros(c.shape[0])
    kl = kl_divergence(zero, c, zero, prod)
    # KL = (tr(P^{-1}C) - d - log|P^{-1}C|)/2 cancels: tr(P^{-1}C) = d exactly in exact
    # arithmetic, so its rounding (~d eps ||R^{-1}||) adds to the log-det bounds.
    tol = 2 * mi_bound(c, a, b) + 2 * logdet_bound(prod)
    assert abs(kl - mutual_information(c, a, b)) <= tol


@given(
    spd_matrices(st.shared(st.integers(1, 4), key="kd"), max_condition=1e4),
    st.shared(st.integers(1, 4), key="kd").flatmap(
        lambda d: hnp.arrays(np.float64, (d,), elements=st.floats(-5, 5))
    ),
    st.shared(st.integers(1, 4), key="kd").flatmap(
        lambda d: invertible_matrices(d, max_condition=10.0)
    ),
)
def test_kl_zero_on_itself_and_affine_invariant(c, mu, T):
    assert kl_divergence(mu, c, mu, c) <= 2 * logdet_bound(c) + 4 * c.shape[0] * EPS
    c1 = np.eye(c.shape[0]) + 0.5 * np.diag(np.arange(c.shape[0]))
    kl = kl_divergence(mu, c, np.zeros_like(mu), c1)
    assert kl >= 0.0
    c_t = T @ c @ T.T
    c1_t = T @ c1 @ T.T
    kl_t = kl_divergence(T @ mu, 0.5 * (c_t + c_t.T), np.zeros_like(mu), 0.5 * (c1_t + c1_t.T))
    # KL is invariant under a common invertible affine map. Forming T C T^T perturbs the
    # inputs relatively by ~d eps cond(T)^2, which moves each part of
    # (tr + maha - d + log|C1| - log|C0|)/2 by at most that fraction of its magnitude; the
    # log-dets and the triangular solves add their own float64 bounds.
    d = c.shape[0]
    c1i = np.linalg.inv(c1)
    parts = (
        np.trace(c1i @ c)
        + mu @ c1i @ mu
        + d
        + abs(np.linalg.slogdet(c1)[1])
        + abs(np.linalg.slogdet(c)[1])
    )
    tol = 8 * d * EPS * np.linalg.cond(T) ** 2 * parts + 4 * (
        logdet_bound(c_t) + logdet_bound(c1_t)
    )
    assert abs(kl_t - kl) <= tol


@given(
    spd_matrices(st.shared(st.integers(1, 4), key="hd"), max_condition=1e6),
    st.shared(st.integers(1, 4), key="hd").flatmap(
        lambda d: invertible_matrices(d, max_condition=10.0)
    ),
)
def test_entropy_transforms_with_log_abs_det(c, T):
    c2 = T @ c @ T.T
    c2 = 0.5 * (c2 + c2.T)
    expected = entropy(c) + np.linalg.slogdet(T)[1]
    delta = 2 * c.shape[0] * EPS * (np.abs(T) @ np.abs(c) @ np.abs(T).T)
    tol = (
        logdet_bound(c)
        + logdet_bound(c2)
        + perturbation_bound(c2, delta)
        + 8 * EPS * (abs(expected) + c.shape[0] * LOG_2PI_E)
    )
    assert abs(entropy(c2) - expected) <= tol


@given(covariances_with_blocks(2, max_condition=1e4))
def test_conditional_covariance_is_inverse_of_precision_block(cb):
    c, (t, g) = cb
    joint = [*t, *g]
    cj = sub(c, joint)
    prec = np.linalg.inv(cj)[: len(t), : len(t)]
    expected = np.linalg.inv(prec)
    got = conditional_covariance(c, t, g)
    # Both routes are backward stable; the Schur complement loses ~eps·cond(C) relative to
    # the scale of C.
    tol = 50 * len(joint) * EPS * np.linalg.cond(cj) * np.max(np.abs(cj))
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol)


@given(covariances_with_blocks(2, max_condition=1e4))
def test_canonical_correlations_are_generalized_eigenvalues(cb):
    c, (a, b) = cb
    rho = canonical_correlations(c, a, b)
    assert np.all((rho >= 0) & (rho <= 1))
    assert np.all(np.diff(rho) <= 0)
    caa, cbb, cab = sub(c, a), sub(c, b), c[np.ix_(a, b)]
    # rho^2 = eigenvalues of C_aa^{-1} C_ab C_bb^{-1} C_ba (the nonzero ones).
    ev = np.sort(np.linalg.eigvals(np.linalg.solve(caa, cab) @ np.linalg.solve(cbb, cab.T)).real)
    ev = ev[::-1][: rho.size]
    tol = 100 * c.shape[0] * EPS * np.linalg.cond(c)
    np.testing.assert_allclose(rho**2, np.clip(ev, 0, None), rtol=0, atol=tol)


# ============================================================================ batching
@given(st.lists(spd_matrices(3, max_condition=1e4), min_size=2, max_size=4))
def test_batched_equals_loop(cs):
    # The batched and the per-matrix calls run the same algorithm; LAPACK may order the
    # operations differently, so they agree to within each quantity's float64 error bound.
    c = np.stack(cs)
    tol = np.array([4 * mi_bound(ci, [0, 1, 2]) for ci in cs])
    a, b, g = [0], [2], [1]
    for f, args in [
        (entropy, ()),
        (logdet, ()),
        (mutual_information, (a, b)),
        (conditional_mutual_information, (a, b, g)),
        (total_correlation, ()),
        (total_correlation, ([a, b, g],)),
    ]:
        batched = f(c, *args)
        assert batched.shape == (len(cs),)
        loop = np.array([f(ci, *args) for ci in cs])
        assert np.all(np.abs(batched - loop) <= tol), f.__name__
    mu = np.zeros(3)
    kb = kl_divergence(mu, c, mu, c[::-1])
    kloop = np.array([kl_divergence(mu, x, mu, y) for x, y in zip(cs, cs[::-1])])
    assert np.all(np.abs(kb - kloop) <= tol + tol[::-1] + 1e-12 * np.abs(kloop))
    # a (2, P) stack of stacks keeps its batch shape
    assert mutual_information(np.stack([c, c]), a, b).shape == (2, len(cs))
