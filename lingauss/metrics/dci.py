r"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams 2018).

From an importance matrix ``R`` (``m`` codes × ``s`` factors, ``R_jk >= 0``: how much code
``x_j`` matters for predicting factor ``v_k``):

* disentanglement ``D = Σ_j ρ_j (1 - H_s(P_j·))`` with ``P_jk = R_jk / Σ_k R_jk``,
  ``ρ_j = Σ_k R_jk / Σ_jk R_jk`` and ``H_s`` the entropy in base ``s``;
* completeness ``C = Σ_k ρ̃_k (1 - H_m(P̃_·k))`` with ``P̃_jk = R_jk / Σ_j R_jk``,
  ``ρ̃_k = Σ_j R_jk / Σ_jk R_jk`` (the weighting of ``disentanglement_lib``);
* informativeness ``I = 1/s Σ_k R²_k``, the mean coefficient of determination of the
  regressions of the factors on the codes.

``0 log 0 = 0`` (no ``1e-11`` smoothing). With one factor every code is trivially
disentangled (``D_j = 1``), with one code every factor is trivially complete (``C_k = 1``).

**Population version** (:func:`dci_score`). For jointly Gaussian ``(X, V)`` the best predictor
of ``v_k`` from ``X`` is the population least-squares regression, with
``R²_k = Cov(v_k, X) Σ_X^{-1} Cov(X, v_k) / Var v_k``. The default importance
(``importance="shapley"``) is the Shapley (LMG) share of code ``j`` in ``R²_k``; why this one,
and the alternative ``importance="coefficient"``, see :mod:`lingauss.metrics.importance`.
Its cost is ``2^m`` regressions, fine for ``m <= 16``. As in ``disentanglement_lib`` (whose
importances sum to 1 per factor) each factor's importances are normalised to sum to 1 before
``D`` and ``C``; how much is predicted at all is ``I``'s business. A factor with
``R²_k <= info_tol`` is uninformative: its column is zero (excluded) and flagged; if all are,
``D`` and ``C`` are ``NaN`` with ``degenerate == "collapsed"``.

**Sample version** (:func:`fitted_dci`): a regressor fitted on a training split of samples,
informativeness as test-split ``R²``. ``regressor="linear"`` (default) is ordinary least squares
with the same Shapley importance computed from the training sample's covariance — the plug-in
of the population version, so it converges to :func:`dci_score`. ``regressor="gbt"`` is
scikit-learn's ``GradientBoostingRegressor`` with its impurity importances, the regression
analogue of ``disentanglement_lib``'s gradient-boosting classifier, for comparison with
published DCI numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validation import check_positive_scalar
from .common import (
    INFO_TOL,
    TIE_RTOL,
    check_paired_samples,
    check_sample_covariance,
    held_out_size,
    split_cov_xv,
    top_latent_grouping,
)
from .importance import (
    MAX_SHAPLEY_LATENTS,
    coefficient_importance,
    regression_r2,
    shapley_r2,
)

__all__ = [
    "DCIResult",
    "dci_score",
    "dci_from_importance",
    "regression_r2",
    "shapley_r2",
    "coefficient_importance",
    "fitted_dci",
    "dci_grouping",
    "IMPORTANCES",
    "REGRESSORS",
    "MAX_SHAPLEY_LATENTS",
]

IMPORTANCES = ("shapley", "coefficient")
REGRESSORS = ("linear", "gbt")


@dataclass(frozen=True)
class DCIResult:
    """Result of :func:`dci_score` / :func:`fitted_dci`.

    Attributes
    ----------
    disentanglement, completeness, informativeness : float
        ``D``, ``C`` (``NaN`` when collapsed) and ``I``.
    importance : ndarray, shape (m, s)
        Importances normalised to sum to 1 per informative factor (zero columns for
        uninformative factors); the matrix ``D`` and ``C`` are computed from.
    raw_importance : ndarray, shape (m, s)
        Before normalisation (Shapley values sum to ``R²_k`` per factor).
    r2 : ndarray, shape (s,)
        Per-factor ``R²`` (population, or test split for the sample version).
    per_code_disentanglement : ndarray, shape (m,)
        ``1 - H_s(P_j·)`` (``NaN`` for a code with zero importance).
    code_weights : ndarray, shape (m,)
        ``ρ_j``.
    per_factor_completeness : ndarray, shape (s,)
        ``1 - H_m(P̃_·k)`` (``NaN`` for uninformative factors).
    top_latent : ndarray of int, shape (s,)
        Code with the largest importance per factor (lowest index on ties).
    grouping : tuple of tuples of int
        Factors grouped by ``top_latent`` (canonical form).
    tied, uninformative : ndarray of bool, shape (s,)
    degenerate : str
        ``""``, ``"collapsed"`` or ``"tied"`` (some grouping decision is a tie).
    method : str
        ``"shapley"``, ``"coefficient"``, ``"linear"`` or ``"gbt"``.
    """

    disentanglement: float
    completeness: float
    informativeness: float
    importance: np.ndarray = field(repr=False)
    raw_importance: np.ndarray = field(repr=False)
    r2: np.ndarray = field(repr=False)
    per_code_disentanglement: np.ndarray = field(repr=False)
    code_weights: np.ndarray = field(repr=False)
    per_factor_completeness: np.ndarray = field(repr=False)
    top_latent: np.ndarray = field(repr=False)
    grouping: tuple
    tied: np.ndarray = field(repr=False)
    uninformative: np.ndarray = field(repr=False)
    degenerate: str
    method: str


# ------------------------------------------------------------------------------- the scores
def _entropy_rows(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


def dci_from_importance(
    raw_importance,
    r2,
    *,
    method: str = "custom",
    info_tol: float = INFO_TOL,
    tie_rtol: float = TIE_RTOL,
    uninformative=None,
) -> DCIResult:
    """``D``, ``C``, ``I`` and the grouping from an importance matrix and per-factor ``R²``.

    Parameters
    ----------
    raw_importance : array_like, shape (m, s)
        Non-negative importances; each informative factor's column is normalised to sum 1.
    r2 : array_like, shape (s,)
        Per-factor ``R²`` (informativeness is their mean).
    method : str
        Label stored in the result.
    info_tol : float
        Factors with ``r2 <= info_tol`` or a zero importance column are uninformative.
    uninformative : array_like of bool, shape (s,), optional
        Override the uninformative mask.

    Returns
    -------
    DCIResult
    """
    raw = np.asarray(raw_importance, dtype=float)
    r2 = np.asarray(r2, dtype=float)
    if raw.ndim != 2 or np.any(~np.isfinite(raw)) or np.any(raw < 0):
        raise ValueError(
            f"raw_importance: expected a finite non-negative (m, s) matrix, got shape {raw.shape}"
        )
    m, s = raw.shape
    if r2.shape != (s,):
        raise ValueError(f"r2: expected shape ({s},), got {r2.shape}")
    colsum = raw.sum(axis=0)
    if uninformative is None:
        uninformative = (r2 <= info_tol) | (colsum <= 0)
    uninformative = np.asarray(uninformative, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        imp = np.where(uninformative[None, :], 0.0, raw / np.where(colsum > 0, colsum, 1.0))
    top, tied, grouping = top_latent_grouping(imp, uninformative, tie_rtol)
    informativeness = float(np.mean(r2))
    total = imp.sum()
    rowsum = imp.sum(axis=1)
    colsum_n = imp.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_rows = imp / rowsum[:, None]
        p_cols = imp / colsum_n[None, :]
        per_code = 1.0 - _entropy_rows(p_rows) / np.log(s) if s > 1 else np.ones(m)
        per_factor = 1.0 - _entropy_rows(p_cols.T) / np.log(m) if m > 1 else np.ones(s)
    per_code = np.where(rowsum > 0, per_code, np.nan)
    per_factor = np.where(colsum_n > 0, per_factor, np.nan)
    if total <= 0:
        return DCIResult(
            disentanglement=float("nan"),
            completeness=float("nan"),
            informativeness=informativeness,
            importance=imp,
            raw_importance=raw,
            r2=r2,
            per_code_disentanglement=per_code,
            code_weights=np.zeros(m),
            per_factor_completeness=per_factor,
            top_latent=top,
            grouping=grouping,
            tied=tied,
            uninformative=uninformative,
            degenerate="collapsed",
            method=method,
        )
    rho = rowsum / total
    rho_f = colsum_n / total
    d = float(np.sum(np.where(rowsum > 0, rho * per_code, 0.0)))
    c = float(np.sum(np.where(colsum_n > 0, rho_f * per_factor, 0.0)))
    return DCIResult(
        disentanglement=d,
        completeness=c,
        informativeness=informativeness,
        importance=imp,
        raw_importance=raw,
        r2=r2,
        per_code_disentanglement=per_code,
        code_weights=rho,
        per_factor_completeness=per_factor,
        top_latent=top,
        grouping=grouping,
        tied=tied,
        uninformative=uninformative,
        degenerate="tied" if np.any(tied) else "",
        method=method,
    )


def dci_score(
    cov_xv,
    m: int,
    *,
    importance: str = "shapley",
    info_tol: float = INFO_TOL,
    tie_rtol: float = TIE_RTOL,
) -> DCIResult:
    """Population DCI of a jointly Gaussian code.

    Regression of each factor on the codes: ``w_k = Σ_X^{-1} Cov(X, v_k)``,
    ``R²_k = Cov(v_k, X) Σ_X^{-1} Cov(X, v_k) / Var v_k``; importance of code ``j`` for factor
    ``k`` is its Shapley share of ``R²_k`` (default) or ``|w_jk| sd(x_j) / sd(v_k)``; then
    ``D``, ``C`` and ``I = mean_k R²_k`` as in the module docstring.

    Parameters
    ----------
    cov_xv : array_like, shape (m + s, m + s)
        Joint covariance of ``(X, V)``, latents first; SPD (true ``Σ_X`` block).
    m : int
        Number of latents.
    importance : {"shapley", "coefficient"}
    info_tol : float, default 1e-10
        Factors with ``R²_k <= info_tol`` are uninformative.
    tie_rtol : float, default 1e-9
        Relative tolerance for two codes' importances to tie (grouping decision).

    Returns
    -------
    DCIResult

    Raises
    ------
    ValueError
        Non-SPD ``cov_xv``, bad ``m``, unknown ``importance``, or ``m > 16`` with Shapley.

    Examples
    --------
    An axis-aligned code of two independent factors is perfectly disentangled and complete:

    >>> import numpy as np
    >>> cov = np.block([[1.5 * np.eye(2), np.eye(2)], [np.eye(2), np.eye(2)]])
    >>> r = dci_score(cov, 2)
    >>> round(r.disentanglement, 12), round(r.completeness, 12), round(r.informativeness, 4)
    (1.0, 1.0, 0.6667)
    """
    cov, m, s = split_cov_xv(cov_xv, m)
    info_tol = check_positive_scalar(info_tol, "info_tol")
    tie_rtol = check_positive_scalar(tie_rtol, "tie_rtol")
    r2 = regression_r2(cov, m)
    if importance == "shapley":
        raw = shapley_r2(cov, m)
    elif importance == "coefficient":
        raw = coefficient_importance(cov, m)
    else:
        raise ValueError(f"importance: expected one of {IMPORTANCES}, got {importance!r}")
    return dci_from_importance(raw, r2, method=importance, info_tol=info_tol, tie_rtol=tie_rtol)


def dci_grouping(cov_xv, m: int) -> tuple:
    """The factor grouping DCI induces: factors grouped by the code with the largest
    (Shapley) importance, ties to the lowest index. See :func:`dci_score` for tie flags."""
    return dci_score(cov_xv, m).grouping


# ----------------------------------------------------------------------------- sample version
def fitted_dci(
    X,
    V,
    *,
    regressor: str = "linear",
    test_fraction: float = 0.5,
    seed: int | None = 0,
    gbt_params: dict | None = None,
    info_tol: float = INFO_TOL,
    tie_rtol: float = TIE_RTOL,
) -> DCIResult:
    """Sample DCI with a fitted regressor per factor.

    The samples are shuffled (``seed``) and split; the regressor is fitted on the training part
    and informativeness is the mean test-split ``R² = 1 - SSE / SST`` (can be negative).

    * ``"linear"``: ordinary least squares with intercept. Importances are the Shapley (LMG)
      shares of the training ``R²``, computed from the training sample covariance — the plug-in
      of :func:`dci_score`, to which it converges. Fast.
    * ``"gbt"``: ``sklearn.ensemble.GradientBoostingRegressor`` (defaults: 100 trees of depth 3,
      ``random_state=seed``; override with ``gbt_params``) with its impurity importances, as
      ``disentanglement_lib`` does with classifiers. Needs scikit-learn; seconds per factor on
      10⁴ samples.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (N, m)
        Codes.
    V : array_like or torch.Tensor, shape (N, s)
        Factors.
    regressor : {"linear", "gbt"}
    test_fraction : float in (0, 1), default 0.5
    seed : int or None
    gbt_params : dict, optional
        Keyword arguments for ``GradientBoostingRegressor``.

    Returns
    -------
    DCIResult
        ``method`` is the regressor name; ``r2`` holds the test-split ``R²``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> V = rng.standard_normal((4000, 2))
    >>> X = V + 0.3 * rng.standard_normal((4000, 2))
    >>> r = fitted_dci(X, V)
    >>> r.grouping, bool(r.disentanglement > 0.95)
    (((0,), (1,)), True)
    """
    X, V = check_paired_samples(X, V)
    n, m = X.shape
    s = V.shape[1]
    n_test = held_out_size(n, test_fraction)
    n_train = n - n_test
    if n_test < 2 or n_train < m + 2:
        raise ValueError(
            f"X: {n} samples are too few for a train/test split with {m} codes "
            f"(train {n_train}, test {n_test})"
        )
    perm = np.random.default_rng(seed).permutation(n)
    tr, te = perm[:n_train], perm[n_train:]
    v_te = V[te]
    sst = np.sum((v_te - v_te.mean(axis=0)) ** 2, axis=0)
    if regressor == "linear":
        joint = np.cov(np.concatenate([X[tr], V[tr]], axis=1), rowvar=False)
        check_sample_covariance(joint, "X, V (training split)")
        joint = 0.5 * (joint + joint.T)
        raw = shapley_r2(joint, m) if m <= MAX_SHAPLEY_LATENTS else coefficient_importance(joint, m)
        w = np.linalg.solve(joint[:m, :m], joint[:m, m:])
        mx = X[tr].mean(axis=0)
        mv = V[tr].mean(axis=0)
        pred = (X[te] - mx) @ w + mv
    elif regressor == "gbt":
        try:
            from sklearn.ensemble import GradientBoostingRegressor
        except ImportError as exc:  # pragma: no cover - sklearn is a dev dependency
            raise ValueError(
                f"regressor: 'gbt' needs scikit-learn ({exc}); install it or use 'linear'"
            ) from None
        params = {"random_state": seed}
        params.update(gbt_params or {})
        raw = np.zeros((m, s))
        pred = np.empty_like(v_te)
        for k in range(s):
            model = GradientBoostingRegressor(**params).fit(X[tr], V[tr, k])
            raw[:, k] = np.abs(model.feature_importances_)
            pred[:, k] = model.predict(X[te])
    else:
        raise ValueError(f"regressor: expected one of {REGRESSORS}, got {regressor!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - np.sum((v_te - pred) ** 2, axis=0) / sst, np.nan)
    if np.any(np.isnan(r2)):
        raise ValueError("V: a factor is constant on the test split; R² is undefined")
    # Informative = the regressor found structure: positive test R² and some importance.
    uninformative = (r2 <= info_tol) | (raw.sum(axis=0) <= 0)
    return dci_from_importance(
        raw, r2, method=regressor, info_tol=info_tol, tie_rtol=tie_rtol, uninformative=uninformative
    )
