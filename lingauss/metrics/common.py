"""Shared helpers of the MIG and DCI metrics: splitting a joint (X, V) covariance, grouping
factors by their top latent, and reading sample matrices."""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array, check_covariance

#: Two candidate latents of a factor tie when their scores differ by at most this much,
#: relative to the larger one: far above float64 rounding of values computed from the same
#: covariance (~1e-15 relative), far below any real difference.
TIE_RTOL = 1e-9
#: A factor about which the code holds at most this much information (nats, or R² / 2 for
#: DCI) is "uninformative": its top latent is not a decision.
INFO_TOL = 1e-10


def split_cov_xv(cov_xv, m, *, batched: bool = False):
    """Validate a joint covariance of ``(X, V)`` and return ``(cov, m, s)``.

    ``cov_xv`` has the ``m`` latents first, then the ``s`` factors.
    """
    cov, _ = check_covariance(cov_xv, "cov_xv", batched=batched)
    if isinstance(m, bool) or not isinstance(m, int | np.integer):
        raise ValueError(f"m: must be an integer, got {m!r}")
    d = cov.shape[-1]
    if not 1 <= m < d:
        raise ValueError(f"m: must satisfy 1 <= m < {d} (the size of cov_xv), got {m}")
    return cov, int(m), d - int(m)


def top_latent_grouping(scores: np.ndarray, uninformative: np.ndarray, tie_rtol: float):
    """Group factors by the latent with the largest score.

    Parameters
    ----------
    scores : ndarray, shape (m, s)
        Non-negative latent-by-factor scores.
    uninformative : ndarray of bool, shape (s,)
        Factors whose decision is not resolvable (no information).

    Returns
    -------
    top : ndarray of int, shape (s,)
        Argmax over latents; ties go to the lowest latent index.
    tied : ndarray of bool, shape (s,)
        The top two scores agree to ``tie_rtol`` (relative), or the factor is uninformative.
    grouping : tuple of tuples of int
        Canonical grouping: factors sharing a top latent form a group.
    """
    m, s = scores.shape
    top = np.argmax(scores, axis=0)
    if m > 1:
        srt = np.sort(scores, axis=0)
        first, second = srt[-1], srt[-2]
        tied = (first - second) <= tie_rtol * np.abs(first)
    else:
        tied = np.zeros(s, dtype=bool)
    tied = tied | uninformative
    groups: dict[int, list[int]] = {}
    for k, j in enumerate(top.tolist()):
        groups.setdefault(j, []).append(k)
    grouping = tuple(sorted(tuple(g) for g in groups.values()))
    return top, tied, grouping


def as_samples(x, name: str) -> np.ndarray:
    """A 2-d float sample matrix ``(N, d)`` from an array or a torch tensor (no torch import)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return as_float_array(x, name, ndim=2)


def check_paired_samples(X, V):
    """Two sample matrices with the same number of rows (at least 2)."""
    X = as_samples(X, "X")
    V = as_samples(V, "V")
    if X.shape[0] != V.shape[0]:
        raise ValueError(
            f"V: expected {X.shape[0]} rows to match X, got {V.shape[0]} (shapes {X.shape}, "
            f"{V.shape})"
        )
    if X.shape[0] < 2:
        raise ValueError(f"X: need at least 2 samples, got {X.shape[0]}")
    if X.shape[1] < 1 or V.shape[1] < 1:
        raise ValueError(f"X, V: need at least one column each, got {X.shape}, {V.shape}")
    return X, V


#: A sample covariance whose correlation matrix has a smallest eigenvalue below this is
#: numerically singular (a constant or collinear column): regressions on it would amplify
#: rounding by more than 1e10.
SINGULAR_RTOL = 1e-10


def check_sample_covariance(cov: np.ndarray, name: str) -> None:
    """Raise unless a sample covariance is comfortably non-singular (see SINGULAR_RTOL)."""
    sd = np.sqrt(np.clip(np.diagonal(cov), 0.0, None))
    if np.any(sd == 0):
        cols = np.flatnonzero(sd == 0).tolist()
        raise ValueError(f"{name}: columns {cols} are constant; their covariance is singular")
    corr = cov / np.outer(sd, sd)
    low = float(np.linalg.eigvalsh(0.5 * (corr + corr.T))[0])
    if low <= SINGULAR_RTOL:
        raise ValueError(
            f"{name}: the sample covariance is singular (smallest correlation-matrix eigenvalue "
            f"{low:.3g}); a constant or collinear column cannot be scored"
        )


def held_out_size(n: int, test_fraction) -> int:
    """Number of the ``n`` samples held out for testing: ``round(n · test_fraction)``.

    Raises
    ------
    ValueError
        Naming ``test_fraction`` when it is not a number in (0, 1).
    """
    try:
        test_fraction = float(test_fraction)
    except (TypeError, ValueError):
        raise ValueError(
            f"test_fraction: must be a number in (0, 1), got {test_fraction!r}"
        ) from None
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: must be in (0, 1), got {test_fraction!r}")
    return int(round(n * test_fraction))
