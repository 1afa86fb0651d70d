"""Tests of the I_m metric: exactness against brute force, hand-made cases, tie rules."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lingauss.gaussian import mutual_information
from lingauss.metrics import (
    IMResult,
    authors_partition_order,
    im_partition_value,
    im_score,
    im_score_bruteforce,
)

# Values are sums of at most ~20 information terms of size <= ~5 nats, each computed to a
# relative error of ~1e-14 by either code path (condition numbers of the random covariances
# below stay under ~1e3); 1e-9 leaves a wide margin and is far below any real difference
# between partitions.
ATOL = 1e-9


def random_joint(rng, m, s):
    d = m + s
    a = rng.standard_normal((d, 2 * d))
    return a @ a.T / (2 * d) + 0.05 * np.eye(d)


def joint(cross, Sigma_V, var_x=None):
    m = cross.shape[0]
    top = np.eye(m) if var_x is None else np.diag(var_x)
    return np.block([[top, cross], [cross.T, Sigma_V]])


def stirling2(n, k):
    if n == k:
        return 1
    if k == 0 or k > n:
        return 0
    return k * stirling2(n - 1, k) + stirling2(n - 1, k - 1)


def direct_value(C, m, labels):
    """The slide formula for one labelled partition, term by term (gaussian.mutual_information)."""
    s = C.shape[0] - m
    blocks = [[j for j in range(s) if labels[j] == i] for i in range(m)]
    used = [i for i in range(m) if blocks[i]]
    val = 0.0
    for i in used:
        idx = [i] + [m + j for j in blocks[i]]
        val += mutual_information(C[np.ix_(idx, idx)], [0], list(range(1, len(idx))))
    for a, b in itertools.combinations(used, 2):
        idx = [m + j for j in blocks[a] + blocks[b]]
        na = len(blocks[a])
        val -= mutual_information(C[np.ix_(idx, idx)], list(range(na)), list(range(na, len(idx))))
    return val


# ------------------------------------------------------------------ exact vs brute force
@pytest.mark.parametrize("seed", range(10))
def test_fast_methods_equal_bruteforce(seed):
    rng = np.random.default_rng(seed)
    s = int(rng.integers(1, 6))
    m = int(rng.integers(1, 5))
    C = random_joint(rng, m, s)
    ref = im_score_bruteforce(C, m)
    for method in ("labelled", "setpartition"):
        got = im_score(C, m, method=method)
        assert got.value == pytest.approx(ref.value, abs=ATOL)
        if np.isinf(ref.gap):
            assert np.isinf(got.gap)
        else:
            assert got.gap == pytest.approx(ref.gap, abs=ATOL)
        assert got.n_tied == ref.n_tied
        if ref.gap > 1e-6:  # a unique winner: same grouping
            assert got.grouping == ref.grouping
        # the returned labelled partition really attains the score
        assert im_partition_value(C, m, got.partition) == pytest.approx(got.value, abs=ATOL)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    s=st.integers(1, 3),
    m=st.integers(1, 3),
)
def test_score_is_max_over_all_labelled_partitions(seed, s, m):
    """Property: the score is at least the value of every labelled partition, and attained."""
    rng = np.random.default_rng(seed)
    C = random_joint(rng, m, s)
    r = im_score(C, m, method="setpartition")
    values = [direct_value(C, m, lab) for lab in itertools.product(range(m), repeat=s)]
    assert r.value == pytest.approx(max(values), abs=ATOL)


def test_stack_matches_single():
    rng = np.random.default_rng(5)
    Cs = np.stack([random_joint(rng, 3, 3) for _ in range(4)])
    r = im_score(Cs, 3)
    for k in range(4):
        one = im_score(Cs[k], 3)
        assert r.value[k] == pytest.approx(one.value, abs=1e-12)
        assert r.grouping[k] == one.grouping
        assert tuple(r.partition[k]) == one.partition
    assert r.value.shape == (4,) and r.partition.shape == (4, 3)


# ------------------------------------------------------------------------ hand-made cases
def test_perfectly_disentangled():
    """One latent per independent factor: grouping = singletons, value = sum of the MIs."""
    Sv = np.diag([4e-4, 1e-4, 9e-4])
    rho = np.array([0.8, 0.5, 0.3])
    cross = np.zeros((3, 3))
    # latent i carries factor p[i]: a permutation, to check slots need not match factor order
    p = [2, 0, 1]
    for i, j in enumerate(p):
        cross[i, j] = rho[i] * np.sqrt(Sv[j, j])
    r = im_score(joint(cross, Sv), 3)
    assert r.grouping == ((0,), (1,), (2,))
    assert r.value == pytest.approx(-0.5 * np.sum(np.log1p(-(rho**2))), rel=1e-12)
    assert [r.partition[j] for j in p] == [0, 1, 2]
    assert not r.tied and r.valid


def test_fully_entangled():
    """Strongly correlated factors and one latent reading all of them: one group."""
    sig1 = 0.01
    alpha, beta, sz2, sz3 = 2.0, 4.0, 0.02, 0.03
    Sv = np.array(
        [
            [sig1**2, alpha * sig1**2, beta * sig1**2],
            [alpha * sig1**2, alpha**2 * sig1**2 + sz2**2, alpha * beta * sig1**2],
            [beta * sig1**2, alpha * beta * sig1**2, beta**2 * sig1**2 + sz3**2],
        ]
    )
    b = np.array([1.0, 1.0, 1.0]) * 10.0
    cross = np.zeros((2, 3))
    cross[0] = b @ Sv  # x_0 = b . v + noise
    var_x = np.array([b @ Sv @ b + 1.0, 1.0])
    r = im_score(joint(cross, Sv, var_x), 2)
    assert r.grouping == ((0, 1, 2),)
    assert not r.tied


def test_collapsed_independent_factors_all_groupings_tie():
    """No information and independent factors: every grouping scores 0, all tie."""
    s, m = 3, 3
    C = joint(np.zeros((m, s)), np.diag([1e-4, 4e-4, 9e-4]))
    r = im_score(C, m)
    assert r.value == pytest.approx(0.0, abs=1e-12)
    assert r.tied
    assert r.n_tied == sum(stirling2(s, k) for k in range(1, m + 1))  # Bell(3) = 5
    # the authors' rule takes the first partition: every factor in the last slot
    a = im_score(C, m, tie_rule="authors")
    assert a.partition == (m - 1,) * s
    assert a.grouping == ((0, 1, 2),)
    assert a.tied and a.n_tied == 5


def test_collapsed_correlated_factors_unique_single_group():
    """No information, one correlated group: only the single block avoids a penalty."""
    Sv = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]) * 1e-4
    r = im_score(joint(np.zeros((3, 3)), Sv), 3)
    assert r.grouping == ((0, 1, 2),)
    assert not r.tied and r.gap > 1e-3


def test_unrepresented_factor_is_a_tie():
    """x_0 reads v_0 only, v_1 is independent and read by no latent: v_1 may join any slot
    at zero cost, so {0}{1} and {0,1} tie exactly."""
    Sv = np.diag([1.0, 1.0])
    cross = np.array([[0.6, 0.0], [0.0, 0.0]])
    r = im_score(joint(cross, Sv), 2)
    assert r.tied and r.n_tied == 2
    assert r.gap == pytest.approx(0.0, abs=1e-15)
    assert r.value == pytest.approx(-0.5 * np.log1p(-0.36), rel=1e-12)


def test_authors_rounding_tie_vs_exact_rule():
    """Two groupings 3e-9 nats apart: equal at 8 decimals (authors: the earlier partition in
    their order wins), distinct for the exact rule with tol 1e-9 (the larger wins)."""
    # v_0, v_1 independent; x_1 reads v_0 with I = a, x_0 reads v_1 with I = e (tiny).
    # Authors' order for s = m = 2: [1,1], [0,1], [1,0], [0,0]. [1,1] (both factors in slot
    # 1) scores I(x_1; v_0, v_1) = a; [1,0] scores a + e; the rest score e or 0.
    e = 3e-9
    r1 = np.sqrt(1 - np.exp(-2 * e))
    cross = np.array([[0.0, r1], [0.6, 0.0]])
    C = joint(cross, np.eye(2))
    a = -0.5 * np.log1p(-0.36)
    assert np.round(a, 8) == np.round(a + e, 8)  # the premise: one rounding bucket
    assert authors_partition_order(2, 2).tolist() == [[1, 1], [0, 1], [1, 0], [0, 0]]
    ex = im_score(C, 2)
    assert ex.grouping == ((0,), (1,)) and ex.partition == (1, 0)
    assert not ex.tied and ex.gap == pytest.approx(e, rel=1e-5)
    au = im_score(C, 2, tie_rule="authors")
    assert au.partition == (1, 1) and au.grouping == ((0, 1),)
    assert au.tied and au.n_tied == 2
    assert au.value == np.round(a, 8)
    # a looser exact tolerance makes the same decision a tie
    assert im_score(C, 2, tie_tol=1e-8).tied


def test_authors_order_definition():
    """Independent check of the order: sort all labelled partitions by (size tuple of slots
    1..m-1, then S_1, S_2, ... as sorted tuples) — itertools.combinations order."""
    for s, m in [(3, 3), (4, 2), (3, 4), (2, 1)]:

        def key(labels, s=s, m=m):
            blocks = [tuple(j for j in range(s) if labels[j] == i) for i in range(m)]
            return (tuple(len(b) for b in blocks[:-1]), tuple(blocks[:-1]))

        expect = sorted(itertools.product(range(m), repeat=s), key=key)
        got = [tuple(r) for r in authors_partition_order(s, m).tolist()]
        assert got == expect
        assert len(got) == m**s


def test_invalid_identity_block_flagged():
    """With an identity X block a latent can 'explain' more than its unit variance."""
    C = joint(np.array([[1.5, 0.0], [0.0, 0.1]]), np.eye(2))
    r = im_score(C, 2)
    assert not r.valid and np.isnan(r.value) and r.grouping == ()
    assert np.isnan(im_partition_value(C, 2, [0, 1]))


# --------------------------------------------------------------------- im_partition_value
def test_partition_value_matches_formula_and_forms():
    rng = np.random.default_rng(3)
    C = random_joint(rng, 3, 4)
    labels = [2, 0, 2, 1]
    v = im_partition_value(C, 3, labels)
    assert v == pytest.approx(direct_value(C, 3, labels), abs=ATOL)
    assert im_partition_value(C, 3, [[1], [3], [0, 2]]) == pytest.approx(v, abs=1e-14)
    # empty slots allowed
    assert im_partition_value(C, 3, [[], [0, 1, 2, 3], []]) == pytest.approx(
        direct_value(C, 3, [1, 1, 1, 1]), abs=ATOL
    )


@pytest.mark.parametrize(
    "partition, msg",
    [
        ([0, 1, 3, 0], "slot labels must lie"),
        ([0, 1], "expected 4 integer"),
        ([[0, 1], [2], [3], [0]], "expected 3 blocks"),
        ([[0, 1], [1], [2, 3]], "appears in two blocks"),
        ([[0], [1], [2]], "unassigned"),
        ([[0], [1], [2, 7]], "out of range"),
    ],
)
def test_partition_value_errors(partition, msg):
    C = random_joint(np.random.default_rng(0), 3, 4)
    with pytest.raises(ValueError, match=msg):
        im_partition_value(C, 3, partition)


# ---------------------------------------------------------------------------------- errors
def test_input_errors():
    C = random_joint(np.random.default_rng(0), 2, 2)
    with pytest.raises(ValueError, match="^m:"):
        im_score(C, 0)
    with pytest.raises(ValueError, match="^m:"):
        im_score(C, 2.0)
    with pytest.raises(ValueError, match="^cov_xv: expected shape"):
        im_score(C, 4)
    with pytest.raises(ValueError, match="^cov_xv: must be square"):
        im_score(C[:, :3], 2)
    bad = C.copy()
    bad[0, 1] += 1.0
    with pytest.raises(ValueError, match="^cov_xv: must be symmetric"):
        im_score(bad, 2)
    nan = C.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="^cov_xv: contains NaN"):
        im_score(nan, 2)
    npd = C.copy()
    npd[2:, 2:] = [[1.0, 2.0], [2.0, 1.0]]
    with pytest.raises(ValueError, match="factor block V.*positive definite"):
        im_score(npd, 2)
    neg = C.copy()
    neg[0, 0] = -1.0
    with pytest.raises(ValueError, match="latent variances"):
        im_score(neg, 2)
    with pytest.raises(ValueError, match="^method:"):
        im_score(C, 2, method="greedy")
    with pytest.raises(ValueError, match="^tie_rule:"):
        im_score(C, 2, tie_rule="first")
    with pytest.raises(ValueError, match="^tie_tol:"):
        im_score(C, 2, tie_tol=-1.0)
    with pytest.raises(ValueError, match="^method: tie_rule='authors'"):
        im_score(C, 2, tie_rule="authors", method="setpartition")


def test_result_type():
    r = im_score(np.eye(3), 1)
    assert isinstance(r, IMResult)
    assert r.grouping == ((0, 1),) and r.n_tied == 1  # one slot: one possible grouping
    assert np.isinf(r.gap)


# ------------------------------------------------------------------------ large, exact
@pytest.mark.slow
def test_s12_m8_structured_answer_and_certificate():
    """s = 12 factors in 6 independent pairs, m = 8 latents, latent i reading pair i: the
    winner is the true grouping; the score is attained by the returned partition and beats
    every neighbour obtained by moving one factor to another slot."""
    s, m = 12, 8
    rng = np.random.default_rng(0)
    Sv = np.zeros((s, s))
    for g in range(6):
        i, j = 2 * g, 2 * g + 1
        Sv[np.ix_([i, j], [i, j])] = [[1.0, 0.6], [0.6, 1.0]]
    cross = np.zeros((m, s))
    for g in range(6):
        cross[g, 2 * g : 2 * g + 2] = 0.35 + 0.05 * rng.random(2)
    C = joint(cross, Sv)
    r = im_score(C, m, method="setpartition")
    assert r.grouping == tuple((2 * g, 2 * g + 1) for g in range(6))
    assert im_partition_value(C, m, r.partition) == pytest.approx(r.value, abs=ATOL)
    labels = np.array(r.partition)
    for j in range(s):
        for i in range(m):
            if i != labels[j]:
                moved = labels.copy()
                moved[j] = i
                assert im_partition_value(C, m, moved) <= r.value + ATOL
