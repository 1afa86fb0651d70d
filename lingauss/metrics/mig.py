r"""Mutual information gap (MIG; Chen et al. 2018), exact and binned.

For factor ``v_k`` let ``j*`` be the latent with the largest ``I(x_j; v_k)``. The MIG is

.. math::

    \mathrm{MIG} = \frac1s \sum_k \frac{I(x_{j^*}; v_k) - \max_{j \ne j^*} I(x_j; v_k)}{N_k}.

**Exact version** (:func:`mig_score`). For a jointly Gaussian ``(X, V)`` every pair has
``I(x_j; v_k) = -1/2 log(1 - ρ_jk²)`` with ``ρ_jk`` the correlation in the joint covariance.
The published normaliser ``N_k = H(v_k)`` (a discrete entropy) has no continuous analogue: a
Gaussian factor's differential entropy ``1/2 log(2πe σ²)`` is negative for ``σ < 0.24`` (all
factors of the published scenarios). Choices, by ``normalizer=``:

* ``"code"`` (default): ``N_k = I(X; v_k)``, the information the whole code holds about
  ``v_k``. Since ``I(x_j; v_k) <= I(X; v_k)`` each term is in ``[0, 1]``; it is 1 exactly when
  one latent holds everything the code knows about ``v_k`` and the others nothing. Needs only
  the joint covariance of ``(X, V)``.
* an array of ``s`` positive values, typically ``I(Y; v_k)`` from
  :func:`available_information` — the information the *data* hold about ``v_k``. By the data
  processing inequality (``V → Y → X``) ``I(x_j; v_k) <= I(Y; v_k)``, so each term is again in
  ``[0, 1]``, and it also penalises an encoder that throws ``v_k``'s information away. This is
  the closest analogue of ``H(v_k)``, which bounds the discrete MI.
* ``"none"``: gaps in nats.

Degenerate cases: MIG needs ``m >= 2`` latents. A factor is *uninformative* when
``I(X; v_k) <= info_tol``: its top latent is no decision and its gap is set to 0 (flagged). If
every factor is uninformative (a collapsed encoder) the score is ``NaN`` and ``degenerate`` is
``"collapsed"``. A factor whose top two ``I(x_j; v_k)`` agree to ``tie_rtol`` is ``tied``: its gap
is 0 (a real number) but its grouping decision is arbitrary (lowest index).

**Binned version** (:func:`binned_mig`), as in ``disentanglement_lib``: each code dimension is
discretised into 20 equal-width bins between its sample minimum and maximum
(``np.digitize(x, np.histogram(x, 20)[1][:-1])``); the factors, continuous here, are binned the
same way; the discrete MI (nats, plug-in, equal to ``sklearn.metrics.mutual_info_score``) is
normalised by the discrete entropy of the *binned factor*. Binning loses information and the
plug-in estimate is biased upwards by about ``(b_x - 1)(b_v - 1) / (2N)`` nats, so the binned MIG
is comparable with published MIG numbers, not with the exact value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..gaussian import mutual_information
from ..validation import as_float_array, check_covariance, check_positive_scalar
from .common import INFO_TOL, TIE_RTOL, check_paired_samples, split_cov_xv, top_latent_grouping
from .discrete import discrete_entropy, discrete_mutual_information, histogram_discretize

__all__ = [
    "MIGResult",
    "mig_score",
    "code_factor_information",
    "available_information",
    "binned_mig",
    "histogram_discretize",
    "discrete_mutual_information",
    "mig_grouping",
]


@dataclass(frozen=True)
class MIGResult:
    """Result of :func:`mig_score` or :func:`binned_mig`.

    Attributes
    ----------
    score : float
        Mean normalised gap over the ``s`` factors; ``NaN`` when ``degenerate == "collapsed"``.
    gaps : ndarray, shape (s,)
        Normalised gap per factor (0 for uninformative factors).
    gaps_nats : ndarray, shape (s,)
        Raw gap ``I(x_j*; v_k) - max_{j != j*} I(x_j; v_k)`` in nats.
    mi : ndarray, shape (m, s)
        ``I(x_j; v_k)`` in nats (exact, or binned plug-in).
    normalizer : ndarray, shape (s,)
        ``N_k`` (all ones for ``"none"``).
    normalization : str
        ``"code"``, ``"data"`` (user array), ``"none"`` or ``"binned_entropy"``.
    top_latent : ndarray of int, shape (s,)
        ``j*`` per factor (lowest index on ties).
    grouping : tuple of tuples of int
        Factors grouped by ``j*`` (canonical form, as :func:`lingauss.canonical_grouping`).
    tied, uninformative : ndarray of bool, shape (s,)
        Per-factor flags (uninformative factors are also ``tied``).
    degenerate : str
        ``""`` (none), ``"collapsed"`` (no factor informative) or ``"tied"`` (some grouping
        decision rests on a tie or an uninformative factor: the grouping is not a decision).
    """

    score: float
    gaps: np.ndarray = field(repr=False)
    gaps_nats: np.ndarray = field(repr=False)
    mi: np.ndarray = field(repr=False)
    normalizer: np.ndarray = field(repr=False)
    normalization: str
    top_latent: np.ndarray = field(repr=False)
    grouping: tuple
    tied: np.ndarray = field(repr=False)
    uninformative: np.ndarray = field(repr=False)
    degenerate: str


def pair_covariances(cov: np.ndarray, m: int) -> np.ndarray:
    """2x2 covariances of every (x_j, v_k) pair, shape (..., m, s, 2, 2)."""
    var_x = np.diagonal(cov, axis1=-2, axis2=-1)[..., :m]
    var_v = np.diagonal(cov, axis1=-2, axis2=-1)[..., m:]
    c = cov[..., :m, m:]
    vx = np.broadcast_to(var_x[..., :, None], c.shape)
    vv = np.broadcast_to(var_v[..., None, :], c.shape)
    return np.stack([np.stack([vx, c], axis=-1), np.stack([c, vv], axis=-1)], axis=-2)


def code_factor_information(cov_xv, m: int) -> np.ndarray:
    """``I(X; v_k)`` for every factor: what the whole code knows about each factor.

    Returns
    -------
    ndarray, shape (..., s)
    """
    cov, m, s = split_cov_xv(cov_xv, m, batched=True)
    idx = [np.r_[np.arange(m), m + k] for k in range(s)]
    stack = np.stack([cov[..., i[:, None], i[None, :]] for i in idx], axis=-3)
    return np.asarray(mutual_information(stack, list(range(m)), [m]))


def available_information(Sigma_V, Gamma, Sigma_Y) -> np.ndarray:
    """``I(Y; v_k)`` for ``Y = Γ V + Z̃``: the information the data hold about each factor.

    ``Cov(Y, V) = Γ Σ_V``. Any encoder ``X = B Y + W`` has ``I(x_j; v_k) <= I(X; v_k) <=
    I(Y; v_k)``, so this is a normaliser for :func:`mig_score` that keeps MIG in ``[0, 1]``.

    Parameters
    ----------
    Sigma_V : array_like, shape (s, s)
    Gamma : array_like, shape (n, s)
    Sigma_Y : array_like, shape (n, n)
        Data covariance (for a :class:`lingauss.Scenario`, ``scenario.Sigma_Y``).

    Returns
    -------
    ndarray, shape (s,)
    """
    Sigma_V, _ = check_covariance(Sigma_V, "Sigma_V", batched=False)
    Sigma_Y, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    Gamma = as_float_array(Gamma, "Gamma", ndim=2)
    s, n = Sigma_V.shape[0], Sigma_Y.shape[0]
    if Gamma.shape != (n, s):
        raise ValueError(
            f"Gamma: expected shape ({n}, {s}) from Sigma_Y and Sigma_V, got {Gamma.shape}"
        )
    c = Gamma @ Sigma_V  # (n, s)
    top = np.broadcast_to(Sigma_Y, (s, n, n))
    col = np.swapaxes(c, 0, 1)[:, :, None]  # (s, n, 1)
    var = np.diagonal(Sigma_V)[:, None, None]
    joint = np.concatenate(
        [np.concatenate([top, col], axis=-1), np.concatenate([np.swapaxes(col, -1, -2), var], -1)],
        axis=-2,
    )
    try:
        out = mutual_information(joint, list(range(n)), [n])
    except ValueError:
        raise ValueError(
            "Sigma_Y: the joint covariance of (Y, v_k) is not positive definite; Sigma_Y must "
            "equal Gamma Sigma_V Gamma^T plus a positive-definite noise covariance"
        ) from None
    return np.asarray(out)


def _resolve_normalizer(normalizer, mi_code: np.ndarray, s: int):
    if isinstance(normalizer, str):
        if normalizer == "code":
            return mi_code, "code"
        if normalizer == "none":
            return np.ones(s), "none"
        raise ValueError(
            f"normalizer: expected 'code', 'none' or an array of {s} positive values, "
            f"got {normalizer!r}"
        )
    arr = as_float_array(normalizer, "normalizer", ndim=1)
    if arr.shape != (s,) or np.any(arr <= 0):
        raise ValueError(f"normalizer: expected {s} positive values, got {arr.tolist()}")
    return arr, "data"


def mig_from_information(
    mi, informative_nats, normalizer, normalization, info_tol, tie_rtol
) -> MIGResult:
    """MIG from a table of pairwise informations ``mi[j, k] = I(x_j; v_k)``, shape ``(m, s)``.

    ``informative_nats`` (shape ``(s,)``) decides which factors carry information at all
    (``<= info_tol``: uninformative, gap 0); ``normalizer`` divides each factor's gap;
    ``normalization`` names it in the result. Top-latent ties within ``tie_rtol`` are flagged.
    """
    m, s = mi.shape
    uninformative = informative_nats <= info_tol
    top, tied, grouping = top_latent_grouping(mi, uninformative, tie_rtol)
    srt = np.sort(mi, axis=0)
    gaps_nats = np.maximum(srt[-1] - srt[-2], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(uninformative, 0.0, gaps_nats / normalizer)
    if np.all(uninformative):
        score, degenerate = float("nan"), "collapsed"
    else:
        score = float(np.mean(gaps))
        degenerate = "tied" if np.any(tied) else ""
    return MIGResult(
        score=score,
        gaps=gaps,
        gaps_nats=gaps_nats,
        mi=mi,
        normalizer=np.asarray(normalizer, dtype=float),
        normalization=normalization,
        top_latent=top,
        grouping=grouping,
        tied=tied,
        uninformative=uninformative,
        degenerate=degenerate,
    )


def mig_score(
    cov_xv,
    m: int,
    *,
    normalizer="code",
    info_tol: float = INFO_TOL,
    tie_rtol: float = TIE_RTOL,
) -> MIGResult:
    """Exact mutual information gap of a jointly Gaussian code.

    ``MIG = 1/s Σ_k [I(x_j*; v_k) - max_{j != j*} I(x_j; v_k)] / N_k`` with
    ``I(x_j; v_k) = -1/2 log(1 - ρ_jk²)``; see the module docstring for the normaliser ``N_k``.

    Parameters
    ----------
    cov_xv : array_like, shape (m + s, m + s)
        Joint covariance of ``(X, V)``, latents first; symmetric positive definite (use the true
        ``Σ_X = B Σ_Y B^T + Σ_W`` block).
    m : int
        Number of latents, ``m >= 2``.
    normalizer : {"code", "none"} or array_like of shape (s,)
        ``"code"``: ``N_k = I(X; v_k)``; an array: e.g. ``I(Y; v_k)`` from
        :func:`available_information`; ``"none"``: nats.
    info_tol : float, default 1e-10
        Factors with ``I(X; v_k) <= info_tol`` nats are uninformative.
    tie_rtol : float, default 1e-9
        Relative tolerance under which the top two ``I(x_j; v_k)`` count as tied.

    Returns
    -------
    MIGResult

    Raises
    ------
    ValueError
        If ``cov_xv`` is not SPD, ``m`` is out of range or below 2, or the normaliser is bad.

    Examples
    --------
    Two independent factors, each copied into its own latent with noise:

    >>> import numpy as np
    >>> cxv = np.diag([1.0, 1.0])                        # Cov(X, V)
    >>> cov = np.block([[cxv + 0.5 * np.eye(2), cxv], [cxv.T, np.eye(2)]])
    >>> r = mig_score(cov, 2)
    >>> round(r.score, 12), r.grouping
    (1.0, ((0,), (1,)))
    """
    cov, m, s = split_cov_xv(cov_xv, m)
    if m < 2:
        raise ValueError(f"m: MIG needs at least 2 latents (a gap to a second one), got {m}")
    info_tol = check_positive_scalar(info_tol, "info_tol")
    tie_rtol = check_positive_scalar(tie_rtol, "tie_rtol")
    # I(x_j; v_k) for all pairs at once, from the 2x2 blocks (same values as
    # lingauss.metrics.matched.pairwise_mutual_information, with the Cholesky form near ρ = 1)
    mi = np.asarray(mutual_information(pair_covariances(cov, m), [0], [1]))
    mi_code = code_factor_information(cov, m)
    norm, normalization = _resolve_normalizer(normalizer, mi_code, s)
    return mig_from_information(mi, mi_code, norm, normalization, info_tol, tie_rtol)


def mig_grouping(cov_xv, m: int) -> tuple:
    """The factor grouping MIG induces: factors grouped by their top latent ``argmax_j I(x_j;
    v_k)`` (ties to the lowest index). Use :func:`mig_score` to see whether it rests on ties."""
    return mig_score(cov_xv, m).grouping


# ----------------------------------------------------------------------------- sample version
def binned_mig(
    X, V, *, bins: int = 20, factor_bins: int | None = None, tie_rtol: float = TIE_RTOL
) -> MIGResult:
    """Sample MIG with histogram discretisation, as in ``disentanglement_lib``.

    ``MIG = 1/s Σ_k [Î(x̃_j*; ṽ_k) - max_{j != j*} Î(x̃_j; ṽ_k)] / Ĥ(ṽ_k)``, where ``x̃``, ``ṽ``
    are the codes and factors binned into ``bins`` equal-width bins (:func:`histogram_discretize`),
    ``Î`` the plug-in discrete MI and ``Ĥ(ṽ_k)`` the plug-in entropy of the binned factor.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (N, m)
        Codes (e.g. posterior means, or samples of ``X``), ``m >= 2``.
    V : array_like or torch.Tensor, shape (N, s)
        Generative factors.
    bins : int, default 20
        Bins per code dimension (``disentanglement_lib``'s ``num_bins``).
    factor_bins : int, optional
        Bins per factor (default ``bins``). Discrete factors need no binning in the original;
        continuous ones do.
    tie_rtol : float

    Returns
    -------
    MIGResult
        ``normalization == "binned_entropy"``; a factor with a single occupied bin (constant)
        has zero entropy and is uninformative.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> V = rng.standard_normal((5000, 2))
    >>> X = V + 0.1 * rng.standard_normal((5000, 2))
    >>> r = binned_mig(X, V)
    >>> r.grouping, bool(0.5 < r.score < 1.0)
    (((0,), (1,)), True)
    """
    X, V = check_paired_samples(X, V)
    if X.shape[1] < 2:
        raise ValueError(f"X: MIG needs at least 2 latents, got {X.shape[1]} columns")
    factor_bins = bins if factor_bins is None else factor_bins
    xb = histogram_discretize(X, bins)
    vb = histogram_discretize(V, factor_bins)
    mi = discrete_mutual_information(xb, vb, bins, factor_bins)
    h = discrete_entropy(vb, factor_bins)
    return mig_from_information(mi, h, np.where(h > 0, h, np.nan), "binned_entropy", 0.0, tie_rtol)
