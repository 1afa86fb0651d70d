"""Tests of the matched mutual-information score (follow-up λβ study)."""

from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lingauss.gaussian import mutual_information
from lingauss.metrics.matched import matched_mi_score, pairwise_mutual_information


def _random_joint(rng, d):
    w = rng.standard_normal((d, d))
    return w @ w.T + 0.1 * np.eye(d)


def _brute_force(mi):
    """Best one-to-one matching by enumerating every injective map (small m, s only)."""
    m, s = mi.shape
    if m >= s:
        return max(sum(mi[p[j], j] for j in range(s)) for p in permutations(range(m), s))
    return max(sum(mi[i, p[i]] for i in range(m)) for p in permutations(range(s), m))


def test_one_to_one_design_matches_hand_formula():
    # x_i = a_i v_{pi(i)} + e_i with independent V and E: rho_i^2 = a^2 s_v^2/(a^2 s_v^2 + s_e^2),
    # every other pair is independent, so the best matching is pi^{-1} and the score the sum.
    var_v = np.array([0.5, 2.0, 1.0])
    a = np.array([1.0, -0.7, 2.0])
    var_e = np.array([0.3, 1.5, 0.2])
    pi = np.array([2, 0, 1])  # latent i loads factor pi[i]
    m = s = 3
    L = np.zeros((m, s))
    L[np.arange(m), pi] = a
    sx = L @ np.diag(var_v) @ L.T + np.diag(var_e)
    cxv = L @ np.diag(var_v)
    C = np.block([[sx, cxv], [cxv.T, np.diag(var_v)]])
    rho2 = a**2 * var_v[pi] / (a**2 * var_v[pi] + var_e)
    res = matched_mi_score(C, m)
    # float64 rounding of a handful of products and one log1p per pair: 1e-12 is ample
    assert res.score == pytest.approx(np.sum(-0.5 * np.log(1 - rho2)), rel=1e-12)
    assert res.matching[pi].tolist() == [0, 1, 2]
    assert not res.collapsed


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 4), s=st.integers(1, 3))
def test_equals_brute_force_and_exact_pair_mi(seed, m, s):
    rng = np.random.default_rng(seed)
    C = _random_joint(rng, m + s)
    res = matched_mi_score(C, m)
    # per-pair MI must equal the exact Gaussian MI of the 1x1 blocks (an independent code path:
    # canonical correlations); both are a few float64 operations, so 1e-10 relative
    for i in range(m):
        for j in range(s):
            assert res.mi[i, j] == pytest.approx(
                mutual_information(C, [i], [m + j]), rel=1e-10, abs=1e-14
            )
    assert res.score == pytest.approx(_brute_force(res.mi), rel=1e-12)
    # the reported matching achieves the score and is one-to-one
    used = res.matching[res.matching >= 0]
    assert len(set(used.tolist())) == used.size == min(m, s)
    assert res.score == pytest.approx(
        sum(res.mi[res.matching[j], j] for j in range(s) if res.matching[j] >= 0), rel=1e-12
    )


def test_invariant_to_latent_permutation_and_scale():
    rng = np.random.default_rng(3)
    m, s = 5, 3
    C = _random_joint(rng, m + s)
    perm = rng.permutation(m)
    scale = np.concatenate([rng.uniform(0.1, 10, m), rng.uniform(0.1, 10, s)])
    idx = np.concatenate([perm, np.arange(m, m + s)])
    C2 = (C[np.ix_(idx, idx)] * scale[:, None]) * scale[None, :]
    a, b = matched_mi_score(C, m), matched_mi_score(C2, m)
    # correlations are scale-free; rounding of the rescaling only
    assert b.score == pytest.approx(a.score, rel=1e-12)
    assert perm[b.matching].tolist() == a.matching.tolist()


def test_batched_equals_loop():
    rng = np.random.default_rng(5)
    m, s = 4, 2
    Cs = np.stack([_random_joint(rng, m + s) for _ in range(6)]).reshape(2, 3, m + s, m + s)
    res = matched_mi_score(Cs, m)
    assert res.score.shape == (2, 3) and res.matching.shape == (2, 3, s)
    assert res.mi.shape == (2, 3, m, s) and res.collapsed.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            one = matched_mi_score(Cs[i, j], m)
            assert res.score[i, j] == one.score
            assert res.matching[i, j].tolist() == one.matching.tolist()


def test_fewer_latents_than_factors_leaves_factors_unmatched():
    rng = np.random.default_rng(7)
    m, s = 2, 4
    res = matched_mi_score(_random_joint(rng, m + s), m)
    assert np.sum(res.matching >= 0) == m
    assert np.sum(res.matching == -1) == s - m


def test_independent_latents_are_flagged_collapsed():
    C = np.diag([1.0, 2.0, 0.5, 0.3])
    res = matched_mi_score(C, 2)
    assert res.score == 0.0
    assert res.collapsed


def test_pairwise_function_matches_score_matrix():
    rng = np.random.default_rng(11)
    C = _random_joint(rng, 6)
    np.testing.assert_array_equal(pairwise_mutual_information(C, 3), matched_mi_score(C, 3).mi)


@pytest.mark.parametrize(
    "cov, m, match",
    [
        (np.array([[1.0, 2.0], [2.0, 1.0]]), 1, "cov_xv: must be positive definite"),
        (np.array([[1.0, 0.1], [0.2, 1.0]]), 1, "cov_xv: must be symmetric"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), 1, "cov_xv: contains NaN"),
        (np.eye(3), 3, "m: must satisfy"),
        (np.eye(3), 0, "m: must satisfy"),
        (np.eye(3), 1.5, "m: must be an integer"),
    ],
)
def test_bad_input(cov, m, match):
    with pytest.raises(ValueError, match=match):
        matched_mi_score(cov, m)
