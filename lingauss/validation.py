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
    "check_nonsingular",
    "SINGULAR_RCOND",
    "MAX_CONDITION",
    "check_index_blocks",
    "check_positive_scalar",
    "check_finite_scalar",
    "check_shape",
]

#: Relative tolerance on ``|C - C^T|`` for a matrix to count as symmetric.
SYMMETRY_RTOL = 1e-8

#: A covariance is numerically singular when the smallest eigenvalue of its correlation
#: matrix ``R = D^{-1/2} C D^{-1/2}`` (``D = diag C``) is at most ``SINGULAR_RCOND * max|λ(R)|``:
#: scipy's rule for float64 PSD checks (``scipy.stats._multivariate._eigvalsh_to_eps``:
#: ``1e6 * finfo(float64).eps``), applied after diagonal equilibration. Below it the rounding
#: of the entries (relative ``~eps`` each, i.e. ``~d eps`` on the eigenvalues of ``R``) is a
#: sizeable fraction of ``λ_min(R)``, so ``log|C|`` and ``C^{-1}`` are noise; a rank-1 ``v v^T``
#: passes Cholesky by rounding but not this test. Equilibration keeps the test independent of
#: the units of each coordinate: Cholesky's error depends on the condition number of ``R``, not
#: of ``C`` (van der Sluis; Demmel 1989), so ``diag(1e-6, 1e6)`` is exact, not singular.
SINGULAR_RCOND = 1e6 * np.finfo(np.float64).eps
#: The largest condition number ``λ_max(R) / λ_min(R)`` of the correlation matrix accepted,
#: ``1 / SINGULAR_RCOND`` (about ``4.5e9``). It is at most ``d`` times the condition number of
#: ``C`` itself, so every covariance of condition ``<= 1e8`` with ``d <= 45`` passes.
MAX_CONDITION = 1.0 / SINGULAR_RCOND


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
    """Validate a (stack of) symmetric positive-definite, numerically non-singular matrices.

    Parameters
    ----------
    cov : array_like, shape (..., d, d)
        Covariance matrix or a stack of them (only ``(d, d)`` when ``batched`` is False).
    name : str
        Argument name used in error messages.
    batched : bool
        Accept a stack of matrices (default) or only a single one.

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
        ``1e-8``, not positive definite, or numerically singular (see
        :func:`check_nonsingular`); the message starts with ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[1.0], [2.0]])
    >>> check_covariance(v @ v.T, "Sigma")
    Traceback (most recent call last):
    ...
    ValueError: Sigma: must be positive definite, but is numerically singular: ...
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
        check_nonsingular(arr, name)  # names the offending member and its eigenvalue
        raise ValueError(
            f"{name}: must be positive definite (Cholesky factorisation failed)"
        ) from None
    if not np.all(np.isfinite(chol)) or np.any(np.diagonal(chol, axis1=-2, axis2=-1) <= 0):
        raise ValueError(f"{name}: must be positive definite (Cholesky factorisation failed)")
    check_nonsingular(arr, name)
    return arr, chol


def check_nonsingular(cov: np.ndarray, name: str) -> None:
    """Raise unless every symmetric matrix of ``cov`` is positive definite and numerically
    non-singular.

    The rule is scipy's for float64 PSD checks, applied to the correlation matrix
    ``R = D^{-1/2} C D^{-1/2}`` (``D = diag C``): ``C`` is refused when
    ``λ_min(R) <= ε max|λ(R)|`` with ``ε = 1e6 · finfo(float64).eps`` (about ``2.2e-10``,
    :data:`SINGULAR_RCOND`), i.e. when the condition number of ``R`` exceeds
    :data:`MAX_CONDITION` (about ``4.5e9``), or when a variance ``C_ii`` is not positive.
    Matrices of condition ``1e8`` pass, whatever the scales of their coordinates.

    Parameters
    ----------
    cov : ndarray, shape (..., d, d)
        Exactly symmetric float64 matrices (as :func:`check_covariance` makes them).
    name : str
        Argument name used in error messages.

    Raises
    ------
    ValueError
        ``"{name}: must be positive definite, but ..."`` with the condition number, the
        smallest eigenvalue of the correlation matrix and, for a stack, the index of the
        first offending member.

    Examples
    --------
    >>> import numpy as np
    >>> check_nonsingular(np.diag([1e-6, 1e6]), "C")  # badly scaled, not singular
    >>> check_nonsingular(np.array([[1.0, 1 - 1e-12], [1 - 1e-12, 1.0]]), "C")
    Traceback (most recent call last):
    ...
    ValueError: C: must be positive definite, but ... condition number 2e+12 > 4.5e+09 ...
    """
    if cov.shape[-1] == 1:  # 1x1: positive <=> non-singular, and Cholesky checked that
        return
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    if np.any(var <= 0):
        where = tuple(int(i) for i in np.argwhere(var <= 0)[0])
        member = f" (member {where[:-1]} of the stack)" if cov.ndim > 2 else ""
        raise ValueError(
            f"{name}: must be positive definite, but diagonal entry {where[-1]} is "
            f"{float(var[where]):.3g} <= 0{member}"
        )
    sd = np.sqrt(var)
    ev = np.linalg.eigvalsh(cov / (sd[..., :, None] * sd[..., None, :]))
    lo = ev[..., 0]
    top = np.max(np.abs(ev), axis=-1)
    bad = lo <= SINGULAR_RCOND * top
    if not np.any(bad):
        return
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    lo_i, top_i = float(lo[where]), float(top[where])
    member = f" (member {where} of the stack)" if cov.ndim > 2 else ""
    eps_i = SINGULAR_RCOND * top_i
    if lo_i < -eps_i:
        raise ValueError(
            f"{name}: must be positive definite, but is indefinite{member}: its correlation "
            f"matrix has smallest eigenvalue {lo_i:.3g} < 0"
        )
    cond = top_i / lo_i if lo_i > 0 else np.inf
    raise ValueError(
        f"{name}: must be positive definite, but is numerically singular{member}: its "
        f"correlation matrix has condition number {cond:.3g} > {MAX_CONDITION:.3g} (smallest "
        f"eigenvalue {lo_i:.3g} <= 1e6 eps max|eigenvalue| = {eps_i:.3g}, scipy's PSD rule)"
    )


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
