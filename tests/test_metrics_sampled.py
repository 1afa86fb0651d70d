"""Known-answer tests of the sampled MIG, SAP, DCI and FactorVAE score (discrete factors)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lingauss.metrics import (
    dci_sampled,
    factor_labels,
    factor_vae_score,
    mig_sampled,
    sap_sampled,
)
from lingauss.strategies import orthogonal_matrices

N = 20000
K = 5  # classes per factor (<= 20: each value gets its own code bin)


def _factors(n=N, s=3, k=K, seed=0):
    return np.random.default_rng(seed).integers(0, k, size=(n, s)).astype(float)


def _plugin_mi_bound(n, bins_a, bins_b, sds=4.0):
    """Plug-in MI of independent labels: ≈ χ²_df / (2n) nats with df = (a-1)(b-1), so its
    mean is df/(2n) and its sd √(2 df)/(2n); mean + `sds` sd bounds it."""
    df = (bins_a - 1) * (bins_b - 1)
    return (df + sds * math.sqrt(2 * df)) / (2 * n)


def _rotation(d, seed=1):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


# ------------------------------------------------------------------------------------- MIG
def test_mig_identity_code_is_one_less_plugin_bias():
    V = _factors()
    r = mig_sampled(V, V, discrete=True)
    bound = _plugin_mi_bound(N, 20, K) / math.log(K)  # runner-up MI / H(v), H ≈ log K
    assert np.all(r.per_factor <= 1.0)
    assert np.all(r.per_factor >= 1.0 - 1.01 * bound)
    assert r.top_latent.tolist() == [0, 1, 2]
    assert np.allclose(r.entropy, np.log(K), atol=0.01)


def test_mig_continuous_identity_and_factor_labels():
    V = np.random.default_rng(2).standard_normal((N, 2))
    labels, n_labels, disc = factor_labels(V)
    assert not disc.any() and n_labels.tolist() == [20, 20]
    r = mig_sampled(V, V)  # code bins == factor bins: top MI = H exactly
    assert np.allclose(r.mutual_information[[0, 1], [0, 1]], r.entropy)
    assert r.score >= 1 - _plugin_mi_bound(N, 20, 20) / r.entropy.min()


def test_mig_duplicated_code_is_zero_and_shuffle_invariant():
    V = _factors()
    dup = V[:, [0, 0, 1, 1, 2, 2]]
    assert mig_sampled(dup, V, discrete=True).score == 0.0  # equal top two MIs
    noise = np.random.default_rng(3).standard_normal((N, 2))
    Z = np.concatenate([V, noise], axis=1)
    perm = np.array([4, 2, 0, 3, 1])
    a = mig_sampled(Z, V, discrete=True)
    b = mig_sampled(Z[:, perm], V, discrete=True)
    assert a.score == pytest.approx(b.score, abs=1e-12)
    assert perm[b.top_latent].tolist() == a.top_latent.tolist()


def test_mig_noise_and_rotated_codes_are_low():
    V = _factors()
    noise = np.random.default_rng(4).standard_normal((N, 4))
    # independent code: every MI is plug-in bias; the gap is below the bias bound over H
    assert mig_sampled(noise, V, discrete=True).score <= _plugin_mi_bound(N, 20, K) / math.log(K)
    Vc = np.random.default_rng(5).standard_normal((N, 2))
    c = math.sqrt(0.5)
    rot = Vc @ np.array([[c, -c], [c, c]])  # each code holds the same MI about each factor
    assert mig_sampled(rot, Vc).score < 0.05


def test_mig_constant_factor_and_bad_input():
    V = _factors()
    V[:, 1] = 3.0
    r = mig_sampled(V, V, discrete=True)
    assert r.degenerate == "constant_factor" and np.isnan(r.per_factor[1])
    with pytest.raises(ValueError, match="latents"):
        mig_sampled(V[:, :1], V)
    with pytest.raises(ValueError, match="rows"):
        mig_sampled(V[:10], V)
    with pytest.raises(ValueError, match="discrete"):
        mig_sampled(V, V, discrete=[True])


# ------------------------------------------------------------------------------------- SAP
def test_sap_identity_discrete_is_one_minus_chance():
    """Own latent: accuracy 1 (max(20, K) bins separate the K values). Any predictor
    independent of a uniform K-class test label has expected accuracy exactly 1/K, sd
    √(p(1-p)/n_test): the gap is 1 - 1/K within 4 sd."""
    V = _factors()
    r = sap_sampled(V, V, discrete=True)
    assert np.all(np.diagonal(r.scores) == 1.0)
    sd = math.sqrt((1 / K) * (1 - 1 / K) / (N // 2))
    assert np.all(np.abs(r.per_factor - (1 - 1 / K)) <= 4 * sd)


def test_sap_continuous_identity_duplicated_rotated_noise():
    Vc = np.random.default_rng(6).standard_normal((N, 2))
    # independent R² ~ χ²_1 / n: below 16 / n at 4 sd
    assert sap_sampled(Vc, Vc).score >= 1 - 16 / (N // 2)
    assert sap_sampled(Vc[:, [0, 0, 1, 1]], Vc).score == 0.0
    c = math.sqrt(0.5)
    assert sap_sampled(Vc @ np.array([[c, -c], [c, c]]), Vc).score < 0.05
    V = _factors()
    noise = np.random.default_rng(7).standard_normal((N, 4))
    sd = math.sqrt((1 / K) * (1 - 1 / K) / (N // 2))
    assert sap_sampled(noise, V, discrete=True).score <= 8 * sd  # difference of two near-chance


def test_sap_shuffle_invariant():
    V = _factors()
    Z = np.concatenate([V, np.random.default_rng(8).standard_normal((N, 2))], axis=1)
    perm = np.array([3, 0, 4, 2, 1])
    a = sap_sampled(Z, V, discrete=True)
    b = sap_sampled(Z[:, perm], V, discrete=True)
    assert a.score == pytest.approx(b.score, abs=1e-12)


# ------------------------------------------------------------------------------------- DCI
def test_dci_identity_duplicated_rotated():
    """Identity: a node whose relevant code takes >= 2 values always splits on it (any random
    threshold between its min and max separates classes; an unrelated code gains only
    by chance), pure nodes are not split: importances concentrate on the own latent, D and C
    near 1 (leaks are chance splits of impure leaves of size >= 5; 0.9 leaves room for them).
    Duplicated code: the importance of a factor is shared by its two copies, so C is about
    1 - log 2 / log 4 = 0.5 while each code still serves one factor (D near 1)."""
    V = _factors(n=3000)
    r = dci_sampled(V, V, discrete=True)
    assert r.disentanglement > 0.9 and r.completeness > 0.9
    assert r.informativeness == 1.0
    assert r.grouping == ((0,), (1,), (2,))
    d = dci_sampled(V[:, [0, 0, 1, 1, 2, 2]], V, discrete=True)
    assert d.disentanglement > 0.9
    assert 0.35 < d.completeness < 0.65
    Vc = np.random.default_rng(9).standard_normal((3000, 2))
    rot = Vc @ _rotation(2)
    assert dci_sampled(rot, Vc).disentanglement < 0.3


def test_dci_noise_is_uninformative():
    V = _factors(n=3000)
    noise = np.random.default_rng(10).standard_normal((3000, 3))
    r = dci_sampled(noise, V, discrete=True)
    sd = math.sqrt((1 / K) * (1 - 1 / K) / 900)
    assert r.informativeness <= 1 / K + 4 * sd
    with pytest.raises(ValueError, match="test_fraction"):
        dci_sampled(V, V, test_fraction=1.5)


# ------------------------------------------------------------------------ FactorVAE score
def test_factor_vae_score_identity_and_shuffle():
    """Identity: the fixed factor's own latent has variance 0 in the batch, every other latent
    positive variance unless all 64 draws share a value (probability K^-63): score 1."""
    V = _factors(n=5000)
    r = factor_vae_score(V, V, discrete=True, n_train=500, n_eval=500)
    assert r.score == 1.0 and r.train_accuracy == 1.0 and r.degenerate == ""
    perm = np.array([2, 0, 1])
    assert factor_vae_score(V[:, perm], V, discrete=True, n_train=500, n_eval=500).score == 1.0


def test_factor_vae_score_noise_and_symmetric_mixture_are_chance():
    """A classifier independent of the evaluation votes' uniformly drawn factors scores 1/s in
    expectation, sd √(p(1-p)/n_eval): within 4 sd. The code ((v0 + v1), (v0 - v1)) / √2 loses
    the same variance in both dimensions whichever factor is fixed, so the argmin is a coin
    flip: chance again (s = 2). (A generic rotation keeps a dominant dimension per factor and
    still scores 1 — the score does not see such mixing.)"""
    s, n_eval = 3, 2000
    V = _factors(n=5000, s=s)
    noise = np.random.default_rng(11).standard_normal((5000, 4))
    r = factor_vae_score(noise, V, discrete=True, n_train=1000, n_eval=n_eval)
    sd = math.sqrt((1 / s) * (1 - 1 / s) / n_eval)
    assert abs(r.score - 1 / s) <= 4 * sd
    V2 = V[:, :2]
    mixed = np.stack([V2[:, 0] + V2[:, 1], V2[:, 0] - V2[:, 1]], axis=1) / math.sqrt(2)
    r2 = factor_vae_score(mixed, V2, discrete=True, n_train=1000, n_eval=n_eval)
    assert abs(r2.score - 0.5) <= 4 * math.sqrt(0.25 / n_eval)


def test_factor_vae_score_collapsed_and_bad_input():
    V = _factors(n=500)
    r = factor_vae_score(np.zeros((500, 4)), V, discrete=True)
    assert r.score == 0.0 and r.degenerate == "collapsed" and not r.active.any()
    with pytest.raises(ValueError, match="batch_size"):
        factor_vae_score(V, V, batch_size=1)
    with pytest.raises(ValueError, match="constant"):
        factor_vae_score(V, np.ones((500, 2)))


@pytest.mark.parametrize("module", ["lingauss.metrics.sampled", "lingauss.metrics.sampled_fitted"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


@given(
    q=orthogonal_matrices(3),
    perm=st.permutations(range(3)),
    seed=st.integers(0, 2**16),
)
def test_property_bounds_and_permutation_invariance(q, perm, seed):
    """For any orthogonal mixing of discrete factors: MIG, SAP and the FactorVAE score lie in
    [0, 1], and permuting the code's columns changes neither MIG nor SAP (each code dimension
    is scored on its own; the split seed does not depend on the column order)."""
    V = np.random.default_rng(seed).integers(0, 4, size=(1500, 3)).astype(float)
    Z = (V - 1.5) @ np.asarray(q).T
    perm = np.asarray(perm)
    for fn in (mig_sampled, sap_sampled):
        a = fn(Z, V, discrete=True).score
        b = fn(Z[:, perm], V, discrete=True).score
        assert 0.0 <= a <= 1.0
        assert a == pytest.approx(b, abs=1e-12)
    f = factor_vae_score(Z, V, discrete=True, n_train=200, n_eval=100, seed=seed)
    assert 0.0 <= f.score <= 1.0
