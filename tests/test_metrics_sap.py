"""Tests of the SAP score on joint covariances."""

import numpy as np
import pytest

from lingauss.metrics import SAPResult, sap_score


def random_joint(rng, m, s):
    d = m + s
    a = rng.standard_normal((d, 2 * d))
    return a @ a.T / (2 * d) + 0.05 * np.eye(d)


def sap_by_definition(C, m, var_v=None, var_x=None):
    """SAP written out from the slide formulas with explicit loops."""
    s = C.shape[0] - m
    var_x = np.diag(C)[:m] if var_x is None else np.broadcast_to(var_x, (m,))
    var_v = np.diag(C)[m:] if var_v is None else np.broadcast_to(var_v, (s,))
    S = np.zeros((m, s))
    for i in range(m):
        for j in range(s):
            S[i, j] = C[i, m + j] ** 2 / (var_x[i] * var_v[j])
    gaps = []
    for j in range(s):
        col = sorted(S[:, j], reverse=True)
        gaps.append(col[0] - col[1])
    return S, float(np.mean(gaps))


@pytest.mark.parametrize("seed", range(5))
def test_matches_definition(seed):
    rng = np.random.default_rng(seed)
    m, s = int(rng.integers(2, 5)), int(rng.integers(1, 6))
    C = random_joint(rng, m, s)
    S, score = sap_by_definition(C, m)
    r = sap_score(C, m)
    # same arithmetic up to operation order: float64 rounding only
    np.testing.assert_allclose(r.S, S, rtol=1e-13)
    assert r.score == pytest.approx(score, rel=1e-12, abs=1e-15)
    assert list(r.assignment) == [int(np.argmax(S[:, j])) for j in range(s)]


def test_notebook_conventions_nominal_variances():
    """The authors divide by nominal σ_v² and Var x = 1, whatever the true variances."""
    rng = np.random.default_rng(7)
    C = random_joint(rng, 3, 3)
    nominal = np.array([0.01, 0.02, 0.03])
    S, score = sap_by_definition(C, 3, var_v=nominal**2, var_x=1.0)
    r = sap_score(C, 3, var_v=nominal**2, var_x=1.0)
    np.testing.assert_allclose(r.S, S, rtol=1e-13)
    assert r.score == pytest.approx(score, rel=1e-12)


def test_disentangled_and_entangled_groupings():
    Sv = np.diag([1.0, 2.0, 3.0])
    cross = np.array([[0.0, 0.9, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 1.2]])
    C = np.block([[np.eye(3), cross], [cross.T, Sv]])
    r = sap_score(C, 3)
    assert r.grouping == ((0,), (1,), (2,))
    assert r.assignment == (1, 0, 2)
    assert r.score == pytest.approx(np.mean([0.25, 0.81 / 2, 1.44 / 3]), rel=1e-12)
    # every factor read best by latent 0: one group
    cross2 = np.array([[0.5, 0.6, 0.7], [0.1, 0.1, 0.1], [0.0, 0.2, 0.0]])
    C2 = np.block([[np.eye(3), cross2], [cross2.T, np.eye(3)]])
    assert sap_score(C2, 3).grouping == ((0, 1, 2),)


def test_exact_ties_go_to_lowest_latent_and_are_flagged():
    cross = np.array([[0.3, 0.0], [0.3, 0.4], [0.0, 0.4]])
    C = np.block([[np.eye(3), cross], [cross.T, np.eye(2)]])
    r = sap_score(C, 3)
    assert r.assignment == (0, 1)  # stable sort: lowest index among equal entries
    assert r.tied and r.tied_factors == (0, 1)
    assert r.score == pytest.approx(0.0, abs=1e-15)


def test_collapsed_noise_decision_is_a_tie():
    """S entries of order 1e-90 (a collapsed encoder): the argmax follows float noise."""
    cross = np.array([[1e-45, 2e-45], [3e-45, 1e-46]])
    C = np.block([[np.eye(2), cross], [cross.T, np.eye(2)]])
    r = sap_score(C, 2)
    assert r.assignment == (1, 0)  # the decision the noise dictates
    assert r.tied and r.tied_factors == (0, 1)
    # a resolvable decision is not flagged
    cross[:, 0] = [0.5, 0.1]
    r2 = sap_score(np.block([[np.eye(2), cross], [cross.T, np.eye(2)]]), 2)
    assert r2.tied_factors == (1,)


def test_stack():
    rng = np.random.default_rng(2)
    Cs = np.stack([random_joint(rng, 2, 3) for _ in range(3)])
    r = sap_score(Cs, 2)
    assert r.score.shape == (3,) and r.S.shape == (3, 2, 3)
    for k in range(3):
        one = sap_score(Cs[k], 2)
        assert r.score[k] == pytest.approx(one.score, rel=1e-14)
        assert r.grouping[k] == one.grouping
    assert isinstance(r, SAPResult)


def test_errors():
    C = random_joint(np.random.default_rng(0), 2, 2)
    with pytest.raises(ValueError, match="^m: SAP compares"):
        sap_score(C, 1)
    with pytest.raises(ValueError, match="^m:"):
        sap_score(C, "2")
    with pytest.raises(ValueError, match="^cov_xv: expected shape"):
        sap_score(C, 4)
    with pytest.raises(ValueError, match="^cov_xv: must be square"):
        sap_score(C[:3], 2)
    bad = C.copy()
    bad[0, 3] += 1
    with pytest.raises(ValueError, match="^cov_xv: must be symmetric"):
        sap_score(bad, 2)
    with pytest.raises(ValueError, match="^var_v: variances must be > 0"):
        sap_score(C, 2, var_v=[1.0, -1.0])
    with pytest.raises(ValueError, match="^var_x: expected a scalar or 2"):
        sap_score(C, 2, var_x=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="^cov_xv: contains NaN"):
        sap_score(np.full((4, 4), np.nan), 2)
