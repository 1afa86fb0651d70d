"""Bad input raises ValueError whose message starts with the offending argument's name.

Covers lingauss.validation directly and every public function of the analytic core
(gaussian, loss, blahut_arimoto): non-symmetric, non-PD, NaN/inf, mismatched shapes, empty
and overlapping index blocks, γ <= 0, and (γ, λ) that make M = γΣ_Z^{-1} + 2λI indefinite.
"""

from __future__ import annotations

import numpy as np
import pytest

from lingauss.blahut_arimoto import (
    blahut_arimoto,
    blahut_arimoto_batch,
    decoder_update,
    encoder_update,
    random_encoder,
)
from lingauss.gaussian import (
    conditional_mutual_information,
    entropy,
    kl_divergence,
    logdet,
    mutual_information,
    total_correlation,
)
from lingauss.loss import gamma_lambda_loss, lambda_beta_loss, residual_covariance
from lingauss.validation import (
    as_float_array,
    check_covariance,
    check_finite_scalar,
    check_index_blocks,
    check_positive_scalar,
    check_shape,
)

GOOD = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.5]])
NONSYM = GOOD + np.array([[0, 1e-3, 0], [0, 0, 0], [0, 0, 0]])
NOT_PD = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
SINGULAR = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
WITH_NAN = GOOD.copy()
WITH_NAN[0, 1] = WITH_NAN[1, 0] = np.nan
WITH_INF = GOOD.copy()
WITH_INF[2, 2] = np.inf

BAD_COVS = {
    "non-symmetric": NONSYM,
    "not positive definite": NOT_PD,
    "singular": SINGULAR,
    "NaN": WITH_NAN,
    "inf": WITH_INF,
    "not square": GOOD[:2],
    "1-d": np.ones(3),
    "empty": np.zeros((0, 0)),
    "not numeric": [["a", "b"], ["c", "d"]],
}


def raises(name):
    return pytest.raises(ValueError, match=rf"^{name}:")


# ------------------------------------------------------------------------ _validation
@pytest.mark.parametrize("bad", BAD_COVS.values(), ids=BAD_COVS.keys())
def test_check_covariance_rejects(bad):
    with raises("Sigma_Q"):
        check_covariance(bad, "Sigma_Q")


def test_check_covariance_accepts_and_symmetrises():
    c = GOOD + 1e-12 * np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])  # within 1e-8 relative
    out, chol = check_covariance(c, "c")
    assert np.array_equal(out, out.T)
    np.testing.assert_allclose(chol @ chol.T, out, rtol=1e-14)
    with raises("c"):
        check_covariance(np.stack([GOOD, GOOD]), "c", batched=False)
    # one bad member of a stack is enough
    with raises("c"):
        check_covariance(np.stack([GOOD, NOT_PD]), "c")


@pytest.mark.parametrize(
    "blocks, name",
    [
        ((("a", []),), "a"),
        ((("a", [0]), ("b", [])), "b"),
        ((("a", [0, 1]), ("b", [1, 2])), "b"),
        ((("a", [0, 3]),), "a"),
        ((("a", [-1]),), "a"),
        ((("a", [0.0, 1.0]),), "a"),
        ((("a", [True, False]),), "a"),
        ((("a", [1, 1]),), "a"),
        ((("a", [[0, 1]]),), "a"),
    ],
)
def test_check_index_blocks_rejects(blocks, name):
    with raises(name):
        check_index_blocks(3, *blocks)


def test_check_index_blocks_accepts():
    out = check_index_blocks(4, ("a", [2, 0]), ("b", np.array([3])), ("c", 1))
    assert [o.tolist() for o in out] == [[2, 0], [3], [1]]


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, np.inf, "x", None])
def test_check_positive_scalar_rejects(bad):
    with raises("gamma"):
        check_positive_scalar(bad, "gamma")


@pytest.mark.parametrize("bad", [np.nan, -np.inf, "x", [1.0, 2.0]])
def test_check_finite_scalar_rejects(bad):
    with raises("lam"):
        check_finite_scalar(bad, "lam")


def test_as_float_array_and_check_shape():
    with raises("x"):
        as_float_array([1.0, np.nan], "x")
    with raises("x"):
        as_float_array(np.ones((2, 2)), "x", ndim=1)
    with raises("x"):
        as_float_array(1.0, "x", min_ndim=1)
    with raises("x"):
        check_shape(np.ones((2, 3)), (2, 2), "x")
    check_shape(np.ones((2, 3)), (None, 3), "x")


# --------------------------------------------------------------------------- gaussian
@pytest.mark.parametrize("bad", BAD_COVS.values(), ids=BAD_COVS.keys())
def test_gaussian_functions_reject_bad_covariance(bad):
    for f, args in [
        (logdet, ()),
        (entropy, ()),
        (mutual_information, ([0], [1])),
        (conditional_mutual_information, ([0], [1], [2])),
        (total_correlation, ()),
    ]:
        with raises("cov"):
            f(bad, *args)
    z = np.zeros(3)
    with raises("cov0"):
        kl_divergence(z, bad, z, GOOD)
    with raises("cov1"):
        kl_divergence(z, GOOD, z, bad)


@pytest.mark.parametrize(
    "a, b, name",
    [([], [1], "a"), ([0], [], "b"), ([0, 1], [1], "b"), ([0], [3], "b"), ([0], [0.5], "b")],
)
def test_mutual_information_rejects_bad_blocks(a, b, name):
    with raises(name):
        mutual_information(GOOD, a, b)


def test_cmi_and_tc_reject_bad_blocks():
    with raises("c"):
        conditional_mutual_information(GOOD, [0], [1], [1])
    with raises("c"):
        conditional_mutual_information(GOOD, [0], [1], [])
    with raises("blocks"):
        total_correlation(GOOD, [])
    with raises(r"blocks\[1\]"):
        total_correlation(GOOD, [[0, 1], [1, 2]])
    with raises(r"blocks\[0\]"):
        total_correlation(GOOD, [[], [1]])


def test_kl_rejects_bad_means_and_shapes():
    z3, z2 = np.zeros(3), np.zeros(2)
    with raises("cov1"):
        kl_divergence(z3, GOOD, z3, np.eye(2))
    with raises("mean0"):
        kl_divergence(z2, GOOD, z3, GOOD)
    with raises("mean1"):
        kl_divergence(z3, GOOD, np.array([0.0, np.nan, 0.0]), GOOD)
    with raises("mean0"):
        kl_divergence(np.array([0.0, np.inf, 0.0]), GOOD, z3, GOOD)
    with pytest.raises(ValueError, match=r"^mean0, mean1, cov0, cov1:"):
        kl_divergence(np.zeros((4, 3)), np.stack([GOOD] * 2), z3, GOOD)


# ------------------------------------------------------------------------------- loss
def _model(m=2, n=3):
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((n, m)),
        rng.standard_normal((m, n)),
        np.diag([0.5, 1.0, 1.5]),
        np.eye(m),
        GOOD,
    )


@pytest.mark.parametrize("which", range(5))
@pytest.mark.parametrize("bad", ["nan", "inf", "shape"])
def test_loss_rejects_bad_arrays(which, bad):
    names = ["A", "B", "Sigma_Z", "Sigma_W", "Sigma_Y"]
    args = list(_model())
    x = np.array(args[which], dtype=float)
    if bad == "nan":
        x[0, 0] = np.nan
    elif bad == "inf":
        x[-1, -1] = np.inf
    else:
        x = x[:-1]
    args[which] = x
    with raises(names[which]):
        gamma_lambda_loss(*args, 1.0, 0.0)


@pytest.mark.parametrize("which, name", [(2, "Sigma_Z"), (3, "Sigma_W"), (4, "Sigma_Y")])
@pytest.mark.parametrize("kind", ["nonsym", "not_pd"])
def test_loss_rejects_bad_covariances(which, name, kind):
    args = list(_model())
    d = args[which].shape[0]
    bad = np.eye(d)
    if kind == "nonsym":
        bad[0, -1] = 0.5 if d > 1 else 0.0
        if d == 1:
            bad = np.array([[-1.0]])
    else:
        bad[0, 0] = -1.0
    args[which] = bad
    with raises(name):
        gamma_lambda_loss(*args, 1.0, 0.0)


@pytest.mark.parametrize("gamma", [0.0, -1.0, np.nan, np.inf])
def test_loss_rejects_bad_gamma(gamma):
    with raises("gamma"):
        gamma_lambda_loss(*_model(), gamma, 0.0)


@pytest.mark.parametrize("lam", [np.nan, np.inf, "x"])
def test_loss_rejects_bad_lambda(lam):
    with raises("lam"):
        gamma_lambda_loss(*_model(), 1.0, lam)


def test_loss_rejects_non_broadcasting_batches_and_bad_beta():
    A, B, Sz, Sw, Sy = _model()
    with pytest.raises(ValueError, match=r"^A, B, Sigma_Z, Sigma_W, Sigma_Y:"):
        gamma_lambda_loss(np.stack([A] * 2), np.stack([B] * 3), Sz, Sw, Sy, 1.0, 0.0)
    with raises("beta"):
        lambda_beta_loss(A, B, Sz, Sw, Sy, 0.0, 1.0)
    assert residual_covariance(A, B, Sw, Sy).shape == (3, 3)


# ------------------------------------------------------------------------ BA updates
def test_encoder_update_rejects():
    A, _, Sz, _, _ = _model()
    with raises("gamma"):
        encoder_update(A, Sz, 0.0, 0.0)
    with raises("lam"):
        encoder_update(A, Sz, 1.0, np.nan)
    with raises("A"):
        encoder_update(np.full((3, 2), np.nan), Sz, 1.0, 0.0)
    with raises("Sigma_Z"):
        encoder_update(A, np.eye(4), 1.0, 0.0)
    with raises("Sigma_Z"):
        encoder_update(A, NOT_PD, 1.0, 0.0)
    # M = γ/z_i + 2λ: with z_max = 1.5, γ = 1, λ = -0.34 makes the last entry negative
    with raises("gamma, lam"):
        encoder_update(A, Sz, 1.0, -0.34)
    encoder_update(A, Sz, 1.0, -0.33)  # still positive definite: accepted


def test_decoder_update_rejects():
    _, B, _, Sw, Sy = _model()
    with raises("Sigma_W"):
        decoder_update(B, np.eye(3), Sy)
    with raises("Sigma_Y"):
        decoder_update(B, Sw, np.eye(4))
    with raises("Sigma_W"):
        decoder_update(B, NOT_PD[:2, :2], Sy)
    with raises("B"):
        decoder_update(np.full((2, 3), np.inf), Sw, Sy)


def test_blahut_arimoto_rejects():
    Sy = GOOD
    with raises("Sigma_Y"):
        blahut_arimoto(NOT_PD, 2, 0.9, 0.0, seed=0)
    with raises("Sigma_Y"):
        blahut_arimoto(NONSYM, 2, 0.9, 0.0, seed=0)
    with raises("m"):
        blahut_arimoto(Sy, 0, 0.9, 0.0, seed=0)
    with raises("m"):
        blahut_arimoto(Sy, 1.5, 0.9, 0.0, seed=0)
    with raises("gamma"):
        blahut_arimoto(Sy, 2, 0.0, 0.0, seed=0)
    with raises("gamma"):
        blahut_arimoto(Sy, 2, -1.0, 0.0, seed=0)
    with raises("stop_rule"):
        blahut_arimoto(Sy, 2, 0.9, 0.0, seed=0, stop_rule="sometimes")
    with raises("max_half_steps"):
        blahut_arimoto(Sy, 2, 0.9, 0.0, seed=0, max_half_steps=0)
    with raises("seed, rng"):
        blahut_arimoto(Sy, 2, 0.9, 0.0, seed=0, rng=np.random.default_rng(0))
    with raises(r"init\[0\] \(B0\)"):
        blahut_arimoto(Sy, 2, 0.9, 0.0, init=(np.ones((2, 4)), np.eye(2)))
    with raises(r"init\[1\] \(Sigma_W0\)"):
        blahut_arimoto(Sy, 2, 0.9, 0.0, init=(np.ones((2, 3)), NOT_PD[:2, :2]))
    # γ / max Σ_Y,ii + 2λ <= 0: M is indefinite for an admissible Σ_Z (Σ_Z = diag Σ_Y)
    with raises("gamma, lam"):
        blahut_arimoto(Sy, 2, 0.9, -0.9 / (2 * 2.0), seed=0)
    with raises("gamma, lam"):
        blahut_arimoto(Sy, 2, 0.9, -0.3, seed=0, diagonal=False)


def test_blahut_arimoto_bad_init_string_names_init():
    with raises("init"):
        blahut_arimoto(GOOD, 2, 0.9, 0.0, init="uniform")


def test_blahut_arimoto_batch_rejects():
    rng = np.random.default_rng(0)
    B0, Sw0 = random_encoder(2, 3, rng, size=2)
    with raises("B0"):
        blahut_arimoto_batch(GOOD, 2, 0.9, 0.0, B0[:, :, :2], Sw0)
    with raises("Sigma_W0"):
        blahut_arimoto_batch(GOOD, 2, 0.9, 0.0, B0, Sw0[:1])
    with raises("gamma"):
        blahut_arimoto_batch(GOOD, 2, [0.9, 0.0], 0.0, B0, Sw0)
    with raises("lam"):
        blahut_arimoto_batch(GOOD, 2, 0.9, [0.0, np.nan], B0, Sw0)
    with raises("Sigma_Y"):
        blahut_arimoto_batch(np.stack([GOOD] * 3), 2, 0.9, 0.0, B0, Sw0)
