"""Empirical information estimators, and I_m / SAP from samples.

* :func:`plugin_mutual_information`: the Gaussian formula
  ``I(a; b) = ½ (log|C_aa| + log|C_bb| - log|C|)`` at the sample covariance ``C`` (exact
  for Gaussian data up to sampling error: bias ``≈ d_a d_b / (2N)``, standard deviation
  ``≈ sqrt(Σ_k ρ_k²/N)`` over the canonical correlations ``ρ_k``).
* :func:`ksg_mutual_information`: the Kraskov–Stögbauer–Grassberger estimator (their
  "estimator 1", max-norm) for multivariate ``a`` and ``b``, consistent for any continuous
  distribution::

      Î = ψ(k) + ψ(N) - < ψ(n_a(i) + 1) + ψ(n_b(i) + 1) >_i

  with ``ε_i`` the max-norm distance from point ``i`` to its ``k``-th neighbour in the joint
  space and ``n_a(i)`` the number of other points strictly closer than ``ε_i`` in the ``a``
  space (likewise ``n_b``). Coordinates are standardised first (MI is invariant to it, the
  estimator's finite-sample bias is not).
* :func:`empirical_metrics`: I_m and SAP through :mod:`lingauss.metrics`, either from the
  sample joint covariance of ``(X, V)`` (``method="plugin"``) or from KSG estimates
  (``method="ksg"``): the table ``I(x_i; v_S)`` for every latent and non-empty factor subset
  (the terms I_m maximises over), and for SAP the "information coefficient of correlation"
  ``S_ij = 1 - exp(-2 I(x_i; v_j))``, which equals the squared correlation for Gaussian pairs.
  The factor-side penalty ``I(v_S; v_T)`` of I_m uses the plug-in formula: the factors are
  Gaussian by construction; the non-Gaussian side is the encoder.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from lingauss.gaussian import mutual_information
from lingauss.metrics import grouping_success, im_score, sap_score

from .arrays import as_numpy

__all__ = [
    "plugin_mutual_information",
    "ksg_mutual_information",
    "ksg_information_table",
    "sample_joint_covariance",
    "empirical_metrics",
    "ESTIMATOR_METHODS",
]

ESTIMATOR_METHODS = ("plugin", "ksg")


def _samples(x, name: str) -> np.ndarray:
    arr = as_numpy(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name}: expected samples of shape (N,) or (N, d), got {arr.shape}")
    return arr


def _pair(a, b, names=("a", "b"), min_n: int = 2):
    a = _samples(a, names[0])
    b = _samples(b, names[1])
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[1]}: expected {a.shape[0]} samples to match {names[0]}, got {b.shape[0]}"
        )
    if a.shape[0] < min_n:
        raise ValueError(f"{names[0]}: need at least {min_n} samples, got {a.shape[0]}")
    return a, b


def _standardize(x: np.ndarray, name: str) -> np.ndarray:
    sd = x.std(axis=0)
    if np.any(sd == 0):
        raise ValueError(f"{name}: column(s) {np.flatnonzero(sd == 0).tolist()} are constant")
    return (x - x.mean(axis=0)) / sd


def sample_joint_covariance(X, V) -> np.ndarray:
    """Sample covariance of ``(X, V)``, latents first, shape ``(m + s, m + s)``."""
    X, V = _pair(X, V, ("X", "V"), min_n=3)
    c = np.cov(np.concatenate([X, V], axis=1), rowvar=False)
    return 0.5 * (c + c.T)


def plugin_mutual_information(a, b) -> float:
    """Gaussian plug-in ``I(a; b)`` (nats) from the sample covariance of ``(a, b)``.

    Parameters
    ----------
    a : array_like, shape (N,) or (N, d_a)
    b : array_like, shape (N,) or (N, d_b)

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Mismatched sample counts, NaN, too few samples (``N <= d_a + d_b``), or a singular
        sample covariance (collinear or constant columns).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(20000)
    >>> b = 0.6 * a + 0.8 * rng.standard_normal(20000)     # ρ = 0.6
    >>> exact = -0.5 * np.log(1 - 0.36)
    >>> bool(abs(plugin_mutual_information(a, b) - exact) < 4 * 0.6 / np.sqrt(20000))
    True
    """
    a, b = _pair(a, b)
    da, db = a.shape[1], b.shape[1]
    if a.shape[0] <= da + db:
        raise ValueError(f"a: need more than d_a + d_b = {da + db} samples, got {a.shape[0]}")
    c = np.atleast_2d(np.cov(np.concatenate([a, b], axis=1), rowvar=False))
    try:
        return float(mutual_information(0.5 * (c + c.T), range(da), range(da, da + db)))
    except ValueError as exc:
        raise ValueError(f"a, b: the sample covariance is singular ({exc})") from None


def _count_within(points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """For each point, the number of *other* points within max-norm ``radius`` (inclusive).

    The distances are computed as ``|x_j - x_i|`` (by the tree), never as ``x_i + r`` against
    ``x_j``: the rounding of such sums would count the ``k``-th neighbour itself, which lies
    exactly at the excluded distance.
    """
    tree = cKDTree(points)
    return tree.query_ball_point(points, radius, p=np.inf, return_length=True) - 1


def ksg_mutual_information(a, b, *, k: int = 3, standardize: bool = True) -> float:
    """KSG estimate (estimator 1, max-norm) of ``I(a; b)`` in nats.

    Parameters
    ----------
    a : array_like, shape (N,) or (N, d_a)
    b : array_like, shape (N,) or (N, d_b)
    k : int
        Neighbour order (3 is the usual choice: lower variance for larger ``k``, lower bias
        for smaller).
    standardize : bool
        Scale every coordinate to unit sample variance first.

    Returns
    -------
    float
        The estimate; it can be slightly negative for independent variables.

    Raises
    ------
    ValueError
        Mismatched or non-finite samples, ``N <= k``, constant columns, or tied points
        (a zero ``k``-th neighbour distance: KSG needs continuous data).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(4000)
    >>> b = 0.6 * a + 0.8 * rng.standard_normal(4000)
    >>> exact = -0.5 * np.log(1 - 0.36)          # 0.2231 nats
    >>> bool(abs(ksg_mutual_information(a, b) - exact) < 0.05)
    True
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k: must be a positive integer, got {k!r}")
    a, b = _pair(a, b, min_n=int(k) + 2)
    if standardize:
        a = _standardize(a, "a")
        b = _standardize(b, "b")
    return float(_ksg(a, b, int(k)))


def _ksg(a: np.ndarray, b: np.ndarray, k: int) -> float:
    n = a.shape[0]
    z = np.concatenate([a, b], axis=1)
    dist, _ = cKDTree(z).query(z, k=k + 1, p=np.inf)
    eps = dist[:, k]
    if np.any(eps <= 0):
        raise ValueError(
            f"a, b: {int(np.sum(eps <= 0))} points have {k} or more exact duplicates (ties); "
            "the KSG estimator needs continuous data"
        )
    r = np.nextafter(eps, 0.0)  # strictly closer than eps
    na = _count_within(a, r)
    nb = _count_within(b, r)
    return digamma(k) + digamma(n) - np.mean(digamma(na + 1) + digamma(nb + 1))


def ksg_information_table(X, V, *, k: int = 3) -> np.ndarray:
    """KSG estimates ``w[i, S] = I(x_i; v_S)`` for every latent ``i`` and factor subset ``S``.

    Parameters
    ----------
    X : array_like, shape (N, m)
    V : array_like, shape (N, s)
    k : int

    Returns
    -------
    ndarray, shape (m, 2**s)
        Column ``S`` is the bitmask of the subset (bit ``j`` = factor ``j``); column 0 (the
        empty set) is 0.
    """
    X, V = _pair(X, V, ("X", "V"), min_n=int(k) + 2 if isinstance(k, int) else 2)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k: must be a positive integer, got {k!r}")
    Xs = _standardize(X, "X")
    Vs = _standardize(V, "V")
    m, s = X.shape[1], V.shape[1]
    w = np.zeros((m, 1 << s))
    for size in range(1, s + 1):
        for combo in itertools.combinations(range(s), size):
            mask = sum(1 << j for j in combo)
            vs = Vs[:, combo]
            for i in range(m):
                w[i, mask] = _ksg(Xs[:, i : i + 1], vs, int(k))
    return w


def _im_from_tables(w: np.ndarray, V: np.ndarray, m: int, tie_tol: float):
    """I_m through :mod:`lingauss.metrics.im` from an information table ``w`` (m, 2^s) and
    the plug-in factor log-determinants."""
    from lingauss.metrics.im import im_score_from_tables

    s = V.shape[1]
    cv = np.atleast_2d(np.cov(V, rowvar=False))
    h = np.zeros(1 << s)
    for size in range(1, s + 1):
        for combo in itertools.combinations(range(s), size):
            mask = sum(1 << j for j in combo)
            sub = cv[np.ix_(combo, combo)]
            h[mask] = 2.0 * np.sum(np.log(np.diagonal(np.linalg.cholesky(sub))))
    return im_score_from_tables(w, h, tie_tol=tie_tol, method="labelled")


def empirical_metrics(
    X,
    V,
    *,
    method: str = "plugin",
    k: int = 3,
    true_groups=None,
    var_v=None,
    var_x=None,
    im_tie_tol: float | None = None,
) -> dict:
    """I_m and SAP of an encoder from samples of ``(X, V)``.

    Parameters
    ----------
    X : array_like or Tensor, shape (N, m)
        Codes (samples of the encoder's ``X``).
    V : array_like or Tensor, shape (N, s)
        The factors of the same data points.
    method : {"plugin", "ksg"}
        ``"plugin"``: both metrics from the sample covariance of ``(X, V)``.
        ``"ksg"``: from KSG estimates (see the module docstring).
    k : int
        KSG neighbour order.
    true_groups : sequence of sequences of int, optional
        Adds ``im_success`` and ``sap_success``.
    var_v, var_x : optional
        SAP denominators (plug-in only; default the sample variances). The authors'
        convention divides by the nominal factor variances and by 1.
    im_tie_tol : float, optional
        Tie tolerance (nats) for I_m. Default: ``lingauss.metrics.IM_TIE_TOL`` for the plug-in
        route; for KSG ``1e-3`` nats, far below its sampling error but above float noise,
        since estimates of different subsets are never equal by construction.

    Returns
    -------
    dict
        ``method, n_samples, im, im_grouping, im_tied, sap, sap_grouping, sap_tied`` (and
        ``im_success, sap_success`` with ``true_groups``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> V = rng.standard_normal((3000, 2))
    >>> X = V + 0.3 * rng.standard_normal((3000, 2))
    >>> r = empirical_metrics(X, V, true_groups=[[0], [1]])
    >>> r["im_grouping"], r["im_success"], r["sap_success"]
    (((0,), (1,)), True, True)
    """
    if method not in ESTIMATOR_METHODS:
        raise ValueError(f"method: expected one of {ESTIMATOR_METHODS}, got {method!r}")
    X, V = _pair(X, V, ("X", "V"), min_n=3)
    N, m = X.shape
    out: dict = {"method": method, "n_samples": N}
    if method == "plugin":
        if N <= X.shape[1] + V.shape[1]:
            raise ValueError(f"X: need more than m + s samples, got {N}")
        cov = sample_joint_covariance(X, V)
        kw = {} if im_tie_tol is None else {"tie_tol": im_tie_tol}
        im = im_score(cov, m, **kw)
        sap = sap_score(cov, m, var_v=var_v, var_x=var_x) if m >= 2 else None
    else:
        if var_v is not None or var_x is not None:
            raise ValueError("var_v, var_x: only for method='plugin' (KSG scores are scale-free)")
        w = ksg_information_table(X, V, k=k)
        im = _im_from_tables(w, V, m, 1e-3 if im_tie_tol is None else float(im_tie_tol))
        sap = None
        if m >= 2:
            s = V.shape[1]
            single = w[:, [1 << j for j in range(s)]]
            S = -np.expm1(-2.0 * np.maximum(single, 0.0))  # ρ²-equivalent, in [0, 1)
            pseudo = np.eye(m + s)
            pseudo[:m, m:] = np.sqrt(S)
            pseudo[m:, :m] = np.sqrt(S).T
            sap = sap_score(pseudo, m)
    out.update(im=im.value, im_grouping=im.grouping, im_tied=im.tied)
    if sap is not None:
        out.update(sap=sap.score, sap_grouping=sap.grouping, sap_tied=sap.tied)
    else:
        out.update(sap=np.nan, sap_grouping=(), sap_tied=False)
    if true_groups is not None:
        out["im_success"] = bool(grouping_success(im.grouping, true_groups, m))
        out["sap_success"] = bool(m >= 2 and grouping_success(sap.grouping, true_groups, m))
    return out
