"""Tests of lingauss.scenarios against the generative equations of reference §1 and §5."""

import numpy as np
import pytest

from lingauss.scenarios import (
    CONFIGS,
    Scenario,
    canonical_grouping,
    factor_group_scenario,
    make_scenario,
    scenario,
)

S3 = dict(sv=(0.01, 0.02, 0.03), alpha=2.0, beta=4.0, sz2=0.02, sz3=0.03, noise=0.04)
S5 = dict(
    sv=(0.05, 0.01, 0.02, 0.04, 0.03),
    sz={2: 0.02, 3: 0.01, 4: 0.03, 5: 0.04},
    a=0.1,
    b=0.3,
    d=0.4,
    w=0.2,
    noise=0.01,
)


def s3_expected(number):
    """The slides' Σ_V matrices (slide 'Configurations of Generative Factors')."""
    s1, s2, s3 = (x**2 for x in S3["sv"])
    a, b = S3["alpha"], S3["beta"]
    z2, z3 = S3["sz2"] ** 2, S3["sz3"] ** 2
    if number == 1:
        return np.diag([s1, s2, s3])
    if number == 2:
        return np.array([[s1, a * s1, 0], [a * s1, a**2 * s1 + z2, 0], [0, 0, s3]])
    return np.array(
        [
            [s1, a * s1, b * s1],
            [a * s1, a**2 * s1 + z2, a * b * s1],
            [b * s1, a * b * s1, b**2 * s1 + z3],
        ]
    )


def s5_expected(number):
    """Σ_V of the s5 family from the generative equations of reference §5, written as
    covariances of linear combinations of independent sources (v1, z2..z5, and leaders)."""
    sv, sz = S5["sv"], S5["sz"]
    a, b, d, w = S5["a"], S5["b"], S5["d"], S5["w"]
    # sources: u = (v1, v3 or z3, v4 or z4, v5 or z5, z2), coefficients per factor
    if number == 1:
        # v2 = a v1 + z2, v4 = b v3 + z4, v5 independent
        var = [sv[0] ** 2, sz[2] ** 2, sv[2] ** 2, sz[4] ** 2, sv[4] ** 2]
        T = [[1, 0, 0, 0, 0], [a, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, b, 1, 0], [0, 0, 0, 0, 1]]
    elif number == 2:
        # v2 = a v1 + z2, v3 = b v1 + z3, v5 = d v4 + z5
        var = [sv[0] ** 2, sz[2] ** 2, sz[3] ** 2, sv[3] ** 2, sz[5] ** 2]
        T = [[1, 0, 0, 0, 0], [a, 1, 0, 0, 0], [b, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, d, 1]]
    else:
        var = [sv[0] ** 2, sz[2] ** 2, sz[3] ** 2, sz[4] ** 2, sz[5] ** 2]
        T = [[1, 0, 0, 0, 0], [a, 1, 0, 0, 0], [b, 0, 1, 0, 0], [d, 0, 0, 1, 0], [w, 0, 0, 0, 1]]
    T = np.array(T, dtype=float)
    return T @ np.diag(var) @ T.T


TRUTH = {
    ("s3", 1): ((0,), (1,), (2,)),
    ("s3", 2): ((0, 1), (2,)),
    ("s3", 3): ((0, 1, 2),),
    ("s5", 1): ((0, 1), (2, 3), (4,)),
    ("s5", 2): ((0, 1, 2), (3, 4)),
    ("s5", 3): ((0, 1, 2, 3, 4),),
}


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("number", [1, 2, 3])
def test_analytic_sigma_v_and_truth(config, number):
    s, n, m, family = CONFIGS[config]
    sc = scenario(config, number, "analytic")
    expect = s3_expected(number) if family == "s3" else s5_expected(number)
    # same numbers by different float operations: rounding only
    np.testing.assert_allclose(sc.Sigma_V, expect, rtol=1e-12, atol=1e-18)
    assert sc.groups == TRUTH[(family, number)]
    assert (sc.s, sc.n, sc.m) == (s, n, m)
    assert sc.n_groups == len(TRUTH[(family, number)])
    assert sc.config == config and sc.number == number and sc.preset == "analytic"


def test_s3_rounded_equals_analytic():
    for number in (1, 2, 3):
        np.testing.assert_array_equal(
            scenario("3-4-3", number, "rounded").Sigma_V,
            np.round(scenario("3-4-3", number, "analytic").Sigma_V, 4),
        )
        np.testing.assert_allclose(
            scenario("3-4-2", number, "rounded").Sigma_V, s3_expected(number), atol=1e-15
        )


PRINTED_554 = {
    1: [
        [0.0025, 0.0002, 0, 0, 0],
        [0.0002, 0.0004, 0, 0, 0],
        [0, 0, 0.0004, 0.0001, 0],
        [0, 0, 0.0001, 0.0009, 0],
        [0, 0, 0, 0, 0.0009],
    ],
    2: [
        [0.0025, 0.0002, 0.0007, 0, 0],
        [0.0002, 0.0004, 0.0001, 0, 0],
        [0.0007, 0.0001, 0.0003, 0, 0],
        [0, 0, 0, 0.0016, 0.0006],
        [0, 0, 0, 0.0006, 0.0019],
    ],
    3: [
        [0.0025, 0.0002, 0.0008, 0.001, 0.0005],
        [0.0002, 0.0004, 0.0001, 0.0001, 0],
        [0.0008, 0.0001, 0.0003, 0.0003, 0.0002],
        [0.001, 0.0001, 0.0003, 0.0013, 0.0002],
        [0.0005, 0, 0.0002, 0.0002, 0.0017],
    ],
}


@pytest.mark.parametrize("number", [1, 2, 3])
def test_s5_rounded_is_the_printed_matrix(number):
    np.testing.assert_array_equal(scenario("5-5-4", number, "rounded").Sigma_V, PRINTED_554[number])
    v = scenario("5-5-3", number, "rounded").Sigma_V
    expect = np.array(PRINTED_554[number])
    expect[0, 1] = expect[1, 0] = 0.0003
    np.testing.assert_array_equal(v, expect)
    # a rounded sample covariance of 1e7 draws: within half a unit of the 4th decimal of the
    # analytic value, plus sampling error (sd of a covariance estimate <= ~3e-3^2 *
    # sqrt(2/1e7) ~ 1e-6 here; 3e-6 is three of them).
    diff = np.abs(v - s5_expected(number))
    assert np.all(diff <= 5e-5 + 3e-6)


def test_s5_gamma_permutation_and_sigma_y():
    sc = scenario("5-5-4", 2)
    v = np.arange(1.0, 6.0)  # v1..v5
    np.testing.assert_array_equal(sc.Gamma @ v, [1, 4, 5, 3, 2])  # Y = (v1, v4, v5, v3, v2)
    np.testing.assert_allclose(
        sc.Sigma_Y, sc.Gamma @ sc.Sigma_V @ sc.Gamma.T + 1e-4 * np.eye(5), rtol=1e-14
    )
    s3 = scenario("3-4-3", 1)
    np.testing.assert_array_equal(s3.Gamma, np.vstack([np.eye(3), np.zeros((1, 3))]))
    assert s3.noise_var == pytest.approx(0.04**2)
    np.testing.assert_array_equal(s3.sigma_v_nominal, [0.01, 0.02, 0.03])


def test_joint_cov_xv_blocks():
    sc = scenario("3-4-3", 3)
    rng = np.random.default_rng(0)
    B = rng.standard_normal((3, 4))
    Sw = np.diag([0.5, 0.4, 0.3])
    J = sc.joint_cov_xv(B, Sw)
    np.testing.assert_allclose(J[:3, :3], B @ sc.Sigma_Y @ B.T + Sw, rtol=1e-13)
    np.testing.assert_allclose(J[:3, 3:], B @ sc.Gamma @ sc.Sigma_V, rtol=1e-13)
    np.testing.assert_array_equal(J[3:, 3:], sc.Sigma_V)
    Ji = sc.joint_cov_xv(B, x_block="identity")
    np.testing.assert_array_equal(Ji[:3, :3], np.eye(3))
    np.testing.assert_array_equal(Ji[:3, 3:], J[:3, 3:])
    stack = sc.joint_cov_xv(np.stack([B, 2 * B]), np.stack([Sw, Sw]))
    assert stack.shape == (2, 6, 6)
    np.testing.assert_allclose(stack[1, :3, 3:], 2 * J[:3, 3:], rtol=1e-14)
    with pytest.raises(ValueError, match="^Sigma_W: required"):
        sc.joint_cov_xv(B)
    with pytest.raises(ValueError, match="^x_block:"):
        sc.joint_cov_xv(B, Sw, x_block="diag")
    with pytest.raises(ValueError, match="^B: expected 4 columns"):
        sc.cross_covariance(np.ones((3, 5)))


def test_sample_matches_covariances():
    """Monte Carlo: the sample covariance of (X, V) matches joint_cov_xv."""
    sc = scenario("5-5-3", 3, "analytic")
    rng = np.random.default_rng(1)
    N = 200_000
    v, y = sc.sample(N, rng)
    B = rng.standard_normal((3, 5)) * 10
    Sw = np.diag([0.2, 0.3, 0.4])
    x = y @ B.T + rng.standard_normal((N, 3)) @ np.sqrt(Sw)
    emp = np.cov(np.hstack([x, v]).T)
    J = sc.joint_cov_xv(B, Sw)
    # sd of an empirical covariance entry: sqrt((C_ii C_jj + C_ij^2) / N); allow 5 sd
    sd = np.sqrt((np.outer(np.diag(J), np.diag(J)) + J**2) / N)
    assert np.all(np.abs(emp - J) <= 5 * sd)
    np.testing.assert_array_less(
        np.abs(np.cov(y.T) - sc.Sigma_Y),
        5 * np.sqrt((np.outer(np.diag(sc.Sigma_Y), np.diag(sc.Sigma_Y)) + sc.Sigma_Y**2) / N),
    )


def test_factor_group_builder():
    sc = factor_group_scenario(
        [[0, 1], [2]], [0.01, 0.03], {1: 2.0}, {1: 0.02}, noise_sd=0.04, m=3, n=4
    )
    np.testing.assert_allclose(sc.Sigma_V, s3_expected(2), rtol=1e-12)
    assert sc.groups == ((0, 1), (2,))
    assert isinstance(sc, Scenario) and sc.n == 4 and sc.m == 3
    # the leader need not be the lowest index
    sc2 = factor_group_scenario(
        [[2, 0], [1]], [0.5, 0.2], {0: 0.5}, {0: 0.1}, noise_sd=0.1, m=1, n=3
    )
    # v_2 = leader (var 0.25); v_0 = 0.5 v_2 + z (var 0.0625 + 0.01); v_1 independent
    assert sc2.Sigma_V[2, 2] == pytest.approx(0.25)
    assert sc2.Sigma_V[0, 2] == pytest.approx(0.125)
    assert sc2.Sigma_V[0, 0] == pytest.approx(0.0625 + 0.01)
    assert sc2.Sigma_V[1, 1] == pytest.approx(0.04) and sc2.Sigma_V[0, 1] == 0
    assert sc2.groups == ((0, 2), (1,))


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(groups=[[0, 1], [1]]), "^groups:"),
        (dict(sigma_lead=[0.1]), "^sigma_lead:"),
        (dict(loadings={}), "^loadings, sigma_z:"),
        (dict(n=1), "^n:"),
        (dict(noise_sd=0.0), "^noise_sd:"),
        (dict(m=0), "^m:"),
    ],
)
def test_factor_group_builder_errors(kwargs, msg):
    base = dict(
        groups=[[0, 1], [2]],
        sigma_lead=[0.1, 0.2],
        loadings={1: 1.0},
        sigma_z={1: 0.1},
        noise_sd=0.1,
        m=2,
    )
    base.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        factor_group_scenario(**base)


def test_make_scenario_checks_and_default_groups():
    Sv = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 2.0]])
    G = np.eye(3)
    sc = make_scenario(Sv, G, 0.1, 2)
    assert sc.groups == ((0, 1), (2,))  # connected components of the non-zero pattern
    with pytest.raises(ValueError, match="^groups: blocks"):
        make_scenario(Sv, G, 0.1, 2, groups=[[0], [1], [2]])
    with pytest.raises(ValueError, match="^Sigma_V: must be positive definite"):
        make_scenario(np.array([[1.0, 2.0], [2.0, 1.0]]), np.eye(2), 0.1, 1)
    with pytest.raises(ValueError, match="^Gamma: expected 3 columns"):
        make_scenario(Sv, np.eye(2), 0.1, 2)
    with pytest.raises(ValueError, match="^noise_var:"):
        make_scenario(Sv, G, -0.1, 2)
    with pytest.raises(ValueError, match="^groups: must partition"):
        make_scenario(Sv, G, 0.1, 2, groups=[[0, 1]])


def test_scenario_argument_errors():
    with pytest.raises(ValueError, match="^config:"):
        scenario("3-3-3", 1)
    with pytest.raises(ValueError, match="^number:"):
        scenario("3-4-3", 4)
    with pytest.raises(ValueError, match="^preset:"):
        scenario("3-4-3", 1, "sampled")
    with pytest.raises(ValueError, match="^number:"):
        scenario("lambda-beta-n50", 1)


def test_named_scenarios_load():
    sc = scenario("lambda-beta-n50")
    assert (sc.n, sc.m, sc.s) == (50, 10, 5)
    np.testing.assert_allclose(
        sc.Sigma_Y, sc.Gamma @ sc.Sigma_V @ sc.Gamma.T + 0.05 * np.eye(50), rtol=1e-12
    )


def test_canonical_grouping():
    assert canonical_grouping([[2], [1, 0], []]) == ((0, 1), (2,))
    assert canonical_grouping([(3, 1), (0, 2)]) == canonical_grouping([[2, 0], [1, 3]])
