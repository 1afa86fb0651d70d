"""Argument validation shared by the closed-form modules.

Every check raises :class:`ValueError` whose message names the argument and the problem,
in the manner of scikit-learn's ``check_array``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "as_float_array",
    "check_covariance",
    "check_index_blocks",
    "check_positive_scalar",
    "check_finite_scalar",
    "check_shape",
]

#: Relative tolerance on ``|C - C^T|`` for a matrix to count as symmetric.
SYMMETRY_RTOL = 1e-8


def as_float_array(x, name: str, *, ndim: int | None = None, min_ndim: int | None = None):
    """Convert ``x`` to a float64 array, rejecting NaN/inf and wrong dimensionality."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be converted to a float array ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite entries")
    return arr


def check_covariance(cov, name: str = "cov", *, batched: bool = True):
    """Validate a (stack of) symmetric positive-definite matrices.

    Parameters
    ----------
    cov : array_like, shape (..., d, d)
        Covariance matrix or a stack of them (only ``(d, d)`` when ``batched`` is False).
    name : str
        Argument name used in error messages.

    Returns
    -------
    cov : ndarray, shape (..., d, d)
        The float64 array, exactly symmetrised (``(C + C^T)/2``).
    chol : ndarray, shape (..., d, d)
        Lower Cholesky factors.

    Raises
    ------
    ValueError
        If the matrix is not square, not finite, not symmetric to a relative tolerance of
        ``1e-8``, or not positive definite (Cholesky fails).
    """
    arr = as_float_array(cov, name, min_ndim=2)
    if not batched and arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d matrix, got shape {arr.shape}")
    if arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name}: must be square, got shape {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name}: must be at least 1x1, got shape {arr.shape}")
    scale = np.max(np.abs(arr), axis=(-2, -1), keepdims=True)
    asym = np.max(np.abs(arr - np.swapaxes(arr, -1, -2)), axis=(-2, -1), keepdims=True)
    if np.any(asym > SYMMETRY_RTOL * scale):
        worst = float(np.max(asym / np.where(scale > 0, scale, 1.0)))
        raise ValueError(
            f"{name}: must be symmetric (max |C - C^T| / max |C| = {worst:.3g} > {SYMMETRY_RTOL})"
        )
    arr = 0.5 * (arr + np.swapaxes(arr, -1, -2))
    try:
        chol = np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{name}: must be positive definite (Cholesky factorisation failed)"
        ) from None
    if not np.all(np.isfinite(chol)) or np.any(np.diagonal(chol, axis1=-2, axis2=-1) <= 0):
        raise ValueError(f"{name}: must be positive definite (Cholesky factorisation failed)")
    return arr, chol


def check_index_blocks(dim: int, *blocks: tuple[str, Sequence[int]], allow_empty=False):
    """Validate index blocks into a ``dim``-dimensional vector.

    Each block must be a non-empty sequence of distinct integers in ``[0, dim)``; the
    blocks must be pairwise disjoint. Returns a list of int arrays.
    """
    out = []
    seen: dict[int, str] = {}
    for name, block in blocks:
        try:
            idx = np.atleast_1d(np.asarray(block))
        except Exception as exc:  # pragma: no cover - defensive
            raise ValueError(f"{name}: not a sequence of indices ({exc})") from None
        if idx.ndim != 1:
            raise ValueError(f"{name}: must be a 1-d sequence of indices, got shape {idx.shape}")
        if idx.size == 0:
            if allow_empty:
                out.append(idx.astype(np.intp))
                continue
            raise ValueError(f"{name}: index block is empty")
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"{name}: indices must be integers, got dtype {idx.dtype}")
        idx = idx.astype(np.intp)
        if np.any(idx < 0) or np.any(idx >= dim):
            raise ValueError(f"{name}: indices {idx.tolist()} out of range for dimension {dim}")
        if np.unique(idx).size != idx.size:
            raise ValueError(f"{name}: repeated indices {idx.tolist()}")
        for i in idx.tolist():
            if i in seen:
                raise ValueError(f"{name}: overlaps block {seen[i]} at index {i}")
            seen[i] = name
        out.append(idx)
    return out


def check_positive_scalar(x, name: str) -> float:
    """Return ``float(x)``; raise if it is not a finite number > 0."""
    val = check_finite_scalar(x, name)
    if val <= 0:
        raise ValueError(f"{name}: must be > 0, got {val!r}")
    return val


def check_finite_scalar(x, name: str) -> float:
    """Return ``float(x)``; raise if it is not a finite real number."""
    try:
        val = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a real number, got {x!r}") from None
    if not np.isfinite(val):
        raise ValueError(f"{name}: must be finite, got {val!r}")
    return val


def check_shape(arr: np.ndarray, shape: tuple, name: str) -> None:
    """Raise unless ``arr.shape`` matches ``shape`` (``None`` entries match anything)."""
    if arr.ndim != len(shape) or any(
        s is not None and a != s for a, s in zip(arr.shape, shape, strict=True)
    ):
        want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
