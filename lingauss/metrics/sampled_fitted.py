r"""Disentanglement metrics on samples that fit a predictor: DCI and the FactorVAE score.

DCI (Eastwood & Williams 2018)
    Per factor, a predictor of ``v_k`` from the whole code is fitted on a training split; its
    impurity importances form column ``k`` of the importance matrix ``R`` (m, s), and its test
    accuracy (discrete factor) or test ``R²`` (continuous) is the informativeness.
    ``disentanglement_lib`` uses gradient-boosted trees (``GradientBoostingClassifier``), which
    take minutes on a CPU for dSprites; here ``sklearn.ensemble.ExtraTreesClassifier`` /
    ``ExtraTreesRegressor`` (``n_estimators`` trees, all features considered at each split,
    ``min_samples_leaf`` 5): the same kind of impurity importances from an ensemble of trees, at
    a fraction of the cost (random thresholds, no sequential boosting, one pass). ``D``, ``C``
    and the grouping come from :func:`lingauss.metrics.dci_from_importance` (entropies of the
    normalised rows / columns, weighted by the rows' share of importance). Needs scikit-learn
    (imported inside the function).

FactorVAE score (Kim & Mnih 2018)
    Codes are scaled by their standard deviation over all samples; dimensions whose variance is
    at most ``prune_threshold`` (collapsed) are ignored. A *vote*: pick a factor ``k``
    uniformly, pick a value of it (the label of a uniformly drawn sample), draw ``batch_size``
    samples sharing that value (with replacement, from the given arrays — the generator of the
    original is replaced by the empirical grid), and take the active dimension of least scaled
    variance in that batch. The classifier maps each dimension to the factor it most often won
    on the training votes (majority vote); the score is its accuracy on independent evaluation
    votes. An identity code scores 1; a code that says nothing scores chance, about ``1/s``.
    No active dimension (a collapsed code): score 0 and ``degenerate == "collapsed"``, as
    ``disentanglement_lib`` reports it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .common import check_paired_samples, held_out_size
from .dci import DCIResult, dci_from_importance
from .sampled import factor_labels

__all__ = ["dci_sampled", "FactorVAEScoreResult", "factor_vae_score"]


def dci_sampled(
    latents,
    factors,
    *,
    discrete: bool | Sequence[bool] | None = None,
    test_fraction: float = 0.3,
    n_estimators: int = 50,
    seed: int | None = 0,
) -> DCIResult:
    """DCI disentanglement, completeness and informativeness with extremely randomised trees.

    Parameters
    ----------
    latents : array_like or torch.Tensor, shape (N, m)
    factors : array_like or torch.Tensor, shape (N, s)
    discrete : None, bool or sequence of bool
        Classification for discrete factors, regression for continuous ones (see
        :func:`lingauss.metrics.factor_labels`).
    test_fraction : float in (0, 1)
    n_estimators : int
        Trees per factor.
    seed : int or None
        Seed of the split and of the trees.

    Returns
    -------
    DCIResult
        ``method == "extra_trees"``; ``r2`` holds the per-factor test accuracy (discrete) or
        test ``R²`` (continuous); ``informativeness`` is their mean.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.random.default_rng(0).integers(0, 6, size=(1000, 2)).astype(float)
    >>> r = dci_sampled(v, v)
    >>> r.grouping, bool(r.disentanglement > 0.9), r.informativeness
    (((0,), (1,)), True, 1.0)
    """
    try:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the neural extra
        raise ImportError(
            f"dci_sampled needs scikit-learn ({exc}); install lingauss[neural]"
        ) from None

    Z, V = check_paired_samples(latents, factors)
    labels, _, mask = factor_labels(V, discrete)
    n, m = Z.shape
    s = V.shape[1]
    n_test = held_out_size(n, test_fraction)
    if n_test < 2 or n - n_test < 2:
        raise ValueError(f"latents: {n} samples are too few for a train/test split")
    if isinstance(n_estimators, bool) or not isinstance(n_estimators, int) or n_estimators < 1:
        raise ValueError(f"n_estimators: must be a positive integer, got {n_estimators!r}")
    perm = np.random.default_rng(seed).permutation(n)
    tr, te = perm[n_test:], perm[:n_test]
    raw = np.zeros((m, s))
    info = np.zeros(s)
    kw = {
        "n_estimators": n_estimators,
        "max_features": None,
        "min_samples_leaf": 5,
        "random_state": seed,
        "n_jobs": 1,
    }
    for k in range(s):
        if mask[k]:
            y = labels[:, k]
            if np.unique(y[tr]).size < 2:
                continue  # a constant factor: no importance, informativeness 0
            with warnings.catch_warnings():
                # many classes in few samples (tiny tests) is expected, not a regression task
                warnings.filterwarnings("ignore", message="The number of unique classes")
                model = ExtraTreesClassifier(**kw).fit(Z[tr], y[tr])
            info[k] = float(np.mean(model.predict(Z[te]) == y[te]))
        else:
            y = V[:, k]
            sst = np.sum((y[te] - y[te].mean()) ** 2)
            if sst <= 0 or np.ptp(y[tr]) == 0:
                continue
            model = ExtraTreesRegressor(**kw).fit(Z[tr], y[tr])
            info[k] = 1.0 - float(np.sum((model.predict(Z[te]) - y[te]) ** 2) / sst)
        raw[:, k] = np.abs(model.feature_importances_)
    result = dci_from_importance(raw, info, method="extra_trees")
    return result


@dataclass(frozen=True)
class FactorVAEScoreResult:
    """FactorVAE score.

    Attributes
    ----------
    score : float
        Accuracy of the majority-vote classifier on the evaluation votes.
    train_accuracy : float
        Its accuracy on the training votes.
    votes : ndarray of int, shape (m, s)
        Training vote counts (dimension, factor).
    active : ndarray of bool, shape (m,)
        Dimensions with variance above the pruning threshold.
    degenerate : str
        ``""`` or ``"collapsed"`` (no active dimension).
    """

    score: float
    train_accuracy: float
    votes: np.ndarray
    active: np.ndarray
    degenerate: str = ""


def _votes(Z, labels, factors_ok, active, scale, n, batch_size, rng):
    """``n`` votes: (argmin dimension, factor) pairs, vectorised."""
    N = Z.shape[0]
    ks = rng.choice(factors_ok, size=n)
    anchors = rng.integers(0, N, size=n)
    members = np.empty((n, batch_size), dtype=np.intp)
    for k in np.unique(ks):
        sel = np.flatnonzero(ks == k)
        order = np.argsort(labels[:, k], kind="stable")
        sorted_lab = labels[order, k]
        lab = labels[anchors[sel], k]
        start = np.searchsorted(sorted_lab, lab, side="left")
        stop = np.searchsorted(sorted_lab, lab, side="right")
        u = rng.random((sel.size, batch_size))
        pos = start[:, None] + np.floor(u * (stop - start)[:, None]).astype(np.intp)
        members[sel] = order[pos]
    batch = Z[members] / scale  # (n, L, m)
    var = np.var(batch, axis=1, ddof=1)
    var = np.where(active[None, :], var, np.inf)
    return np.argmin(var, axis=1), ks


def factor_vae_score(
    latents,
    factors,
    *,
    discrete: bool | Sequence[bool] | None = None,
    batch_size: int = 64,
    n_train: int = 5000,
    n_eval: int = 2500,
    prune_threshold: float = 0.05,
    seed: int | None = 0,
) -> FactorVAEScoreResult:
    """The FactorVAE disentanglement score (majority-vote classifier), from arrays.

    Parameters
    ----------
    latents : array_like or torch.Tensor, shape (N, m)
        Codes (posterior means) of samples covering the factor grid.
    factors : array_like or torch.Tensor, shape (N, s)
        Factors; continuous ones are binned (:func:`lingauss.metrics.factor_labels`).
    batch_size : int, default 64
        Samples per vote ``L`` (Kim & Mnih; disentanglement_lib uses 64).
    n_train, n_eval : int
        Training and evaluation votes (disentanglement_lib: 10000 and 5000).
    prune_threshold : float
        Dimensions of variance at most this are inactive (disentanglement_lib: 0.05).
    seed : int or None

    Returns
    -------
    FactorVAEScoreResult

    Examples
    --------
    >>> import numpy as np
    >>> v = np.random.default_rng(0).integers(0, 4, size=(3000, 3)).astype(float)
    >>> factor_vae_score(v, v).score
    1.0
    """
    Z, V = check_paired_samples(latents, factors)
    for name, val, lo in (
        ("batch_size", batch_size, 2),
        ("n_train", n_train, 1),
        ("n_eval", n_eval, 1),
    ):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < lo:
            raise ValueError(f"{name}: must be an integer >= {lo}, got {val!r}")
    labels, n_labels, _ = factor_labels(V, discrete)
    m, s = Z.shape[1], V.shape[1]
    factors_ok = np.flatnonzero(n_labels > 1)
    if factors_ok.size == 0:
        raise ValueError("factors: every factor is constant; the FactorVAE score is undefined")
    var = np.var(Z, axis=0, ddof=1)
    active = var > prune_threshold
    if not active.any():
        return FactorVAEScoreResult(0.0, 0.0, np.zeros((m, s), np.intp), active, "collapsed")
    scale = np.sqrt(np.where(active, var, 1.0))
    rng = np.random.default_rng(seed)
    d_tr, k_tr = _votes(Z, labels, factors_ok, active, scale, n_train, batch_size, rng)
    d_te, k_te = _votes(Z, labels, factors_ok, active, scale, n_eval, batch_size, rng)
    votes = np.zeros((m, s), dtype=np.intp)
    np.add.at(votes, (d_tr, k_tr), 1)
    classifier = np.argmax(votes, axis=1)
    train_acc = float(np.mean(classifier[d_tr] == k_tr))
    score = float(np.mean(classifier[d_te] == k_te))
    return FactorVAEScoreResult(score, train_acc, votes, active, "")
