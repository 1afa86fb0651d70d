"""The SAP score (Kumar et al. 2018; reference §4, slide eqs. 7-8) on a joint covariance.

``S_ij = Cov(x_i, v_j)^2 / (Var x_i · Var v_j)`` (an ``m × s`` matrix of squared
correlations); per factor ``j``, the gap between its two largest entries; the SAP score is the
mean gap over factors. For the success criterion each factor is assigned to the latent with the
largest ``S_ij`` and the factors sharing a latent form the induced grouping.

Ties: ``argmax`` takes the lowest latent index among equal entries (the authors' stable sort).
A decision is flagged ``tied`` when it is not resolvable: the factor's largest entry is at most
``tie_atol`` (e.g. a collapsed encoder's ``S_ij ~ 1e-90``) or its top two entries differ by at
most ``tie_rtol`` times the largest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenarios import canonical_grouping
from ..validation import as_float_array, check_finite_scalar

__all__ = ["SAPResult", "sap_score", "SAP_TIE_ATOL", "SAP_TIE_RTOL"]

#: A factor whose largest squared correlation is at most this carries no resolvable signal:
#: float64 products of the ~1e-2-scale covariances here keep ~1e-16 relative precision, but a
#: squared correlation of 1e-12 means a correlation of 1e-6, below what a BA run stopped at a
#: 1e-10 parameter tolerance determines.
SAP_TIE_ATOL = 1e-12
#: Top two entries closer than this relative difference are a tie: the entries are products
#: of iterates that are only converged to ~1e-10 relative.
SAP_TIE_RTOL = 1e-10


@dataclass(frozen=True)
class SAPResult:
    """Result of :func:`sap_score` (arrays over the stack for a stacked input).

    Attributes
    ----------
    score : float
        Mean over factors of the gap between the two largest ``S_ij``.
    S : ndarray, shape (m, s)
        The score matrix.
    assignment : tuple of int, length s
        For each factor, the latent with the largest ``S_ij`` (lowest index on exact ties).
    grouping : tuple of tuples of int
        Factors grouped by their assigned latent, canonical form.
    tied : bool
        Some factor's assignment is not resolvable (see module docstring).
    tied_factors : tuple of int
        Those factors.
    """

    score: float | np.ndarray
    S: np.ndarray
    assignment: tuple | np.ndarray
    grouping: tuple | np.ndarray
    tied: bool | np.ndarray
    tied_factors: tuple | np.ndarray


def _variances(var, d, name, diag):
    if var is None:
        out = diag
    else:
        out = as_float_array(var, name)
        if out.ndim == 0:
            out = np.full(d, float(out))
        try:
            out = np.broadcast_to(out, diag.shape)
        except ValueError:
            raise ValueError(
                f"{name}: expected a scalar or {d} values (or the stack's shape), "
                f"got shape {np.shape(var)}"
            ) from None
    if np.any(out <= 0):
        raise ValueError(f"{name}: variances must be > 0")
    return out


def sap_score(
    cov_xv,
    m: int,
    *,
    var_v=None,
    var_x=None,
    tie_atol: float = SAP_TIE_ATOL,
    tie_rtol: float = SAP_TIE_RTOL,
) -> SAPResult:
    """SAP score, score matrix and induced grouping from the joint covariance of ``(X, V)``.

    Parameters
    ----------
    cov_xv : array_like, shape (..., m + s, m + s)
        Joint covariance, latents first. Only the cross block and (by default) the diagonal
        are used.
    m : int, >= 2
        Number of latents (SAP needs two entries per factor).
    var_v : array_like, shape (s,) or scalar, optional
        ``Var v_j`` used in the denominator; default the diagonal of the factor block. The
        authors divide by the *nominal* ``σ_vj^2`` (reference §6.6).
    var_x : array_like, shape (m,) or scalar, optional
        ``Var x_i``; default the diagonal of the latent block. The authors use 1.
    tie_atol, tie_rtol : float
        Resolution thresholds for the ``tied`` flag.

    Returns
    -------
    SAPResult

    Raises
    ------
    ValueError
        Bad shapes, NaN, non-symmetric input, ``m < 2``, non-positive variances.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.eye(4)
    >>> cov[0, 2] = cov[2, 0] = 0.8   # x_0 ~ v_0
    >>> cov[1, 3] = cov[3, 1] = 0.6   # x_1 ~ v_1
    >>> r = sap_score(cov, 2)
    >>> bool(np.isclose(r.score, (0.64 + 0.36) / 2)), r.grouping
    (True, ((0,), (1,)))
    """
    if isinstance(m, bool) or not isinstance(m, int | np.integer):
        raise ValueError(f"m: must be an integer, got {m!r}")
    if m < 2:
        raise ValueError(
            f"m: SAP compares the two largest entries per factor; needs m >= 2, got {m}"
        )
    m = int(m)
    arr = as_float_array(cov_xv, "cov_xv", min_ndim=2)
    if arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"cov_xv: must be square, got shape {arr.shape}")
    d = arr.shape[-1]
    if d <= m:
        raise ValueError(f"cov_xv: expected shape (m + s, m + s) with s >= 1 for m = {m}")
    scale = np.max(np.abs(arr), axis=(-2, -1), keepdims=True)
    if np.any(np.abs(arr - np.swapaxes(arr, -1, -2)) > 1e-8 * scale):
        raise ValueError("cov_xv: must be symmetric")
    tie_atol = check_finite_scalar(tie_atol, "tie_atol")
    tie_rtol = check_finite_scalar(tie_rtol, "tie_rtol")
    s = d - m
    diag = np.diagonal(arr, axis1=-2, axis2=-1)
    vx = _variances(var_x, m, "var_x", diag[..., :m])
    vv = _variances(var_v, s, "var_v", diag[..., m:])
    cross = arr[..., :m, m:]
    S = cross**2 / (vx[..., :, None] * vv[..., None, :])
    order = np.argsort(-S, axis=-2, kind="stable")
    top = np.take_along_axis(S, order[..., :1, :], axis=-2)[..., 0, :]
    second = np.take_along_axis(S, order[..., 1:2, :], axis=-2)[..., 0, :]
    score = np.mean(top - second, axis=-1)
    assign = order[..., 0, :]
    tied_f = (top <= tie_atol) | (top - second <= tie_rtol * top)
    batch = arr.shape[:-2]
    flat = assign.reshape(-1, s)
    groupings = [_group(a) for a in flat]
    if batch == ():
        return SAPResult(
            score=float(score),
            S=S,
            assignment=tuple(int(x) for x in assign),
            grouping=groupings[0],
            tied=bool(np.any(tied_f)),
            tied_factors=tuple(int(j) for j in np.flatnonzero(tied_f)),
        )
    g = np.empty(len(groupings), dtype=object)
    g[:] = groupings
    tf = np.empty(len(groupings), dtype=object)
    tf[:] = [tuple(int(j) for j in np.flatnonzero(row)) for row in tied_f.reshape(-1, s)]
    return SAPResult(
        score=score,
        S=S,
        assignment=assign,
        grouping=g.reshape(batch),
        tied=np.any(tied_f, axis=-1),
        tied_factors=tf.reshape(batch),
    )


def _group(assign) -> tuple[tuple[int, ...], ...]:
    blocks: dict[int, list[int]] = {}
    for j, i in enumerate(assign.tolist()):
        blocks.setdefault(i, []).append(j)
    return canonical_grouping(blocks.values())
