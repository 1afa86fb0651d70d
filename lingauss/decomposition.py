r"""Exact β-TCVAE decomposition of the KL term of a linear-Gaussian encoder.

Encoder ``q(x|y) = N(B y, Σ_W)`` on data ``Y ~ N(0, Σ_Y)``, prior ``p(x) = N(0, I_m)``. The
aggregate posterior is ``q(x) = E_Y q(x|y) = N(0, Σ_X)`` with ``Σ_X = B Σ_Y B^T + Σ_W``.

Chen et al. (2018) split the average KL over a finite data set ``{y_n}`` with the *index*
``n ~ Uniform``. For a continuous data distribution the index is ``y`` itself: ``q(x, y) =
q(x|y) p(y)``, and the "index-code mutual information" is ``I_q(X; Y)``. Then

.. math::

    E_Y KL(q(x|y) ‖ p(x))
        = \underbrace{I_q(X;Y)}_{\text{index-code MI}}
        + \underbrace{KL(q(x) ‖ \textstyle\prod_j q(x_j))}_{\text{total correlation}}
        + \underbrace{\textstyle\sum_j KL(q(x_j) ‖ p(x_j))}_{\text{dimension-wise KL}}

and the two-term split of the β-VAE notes is ``KL = I_q(X;Y) + KL(q(x) ‖ p(x))`` (the last two
terms above add up to the *marginal KL* because the prior factorises).

Closed forms (derivation)
-------------------------
* ``E_Y KL(N(By, Σ_W) ‖ N(0, I)) = 1/2 E_Y[tr Σ_W + ‖By‖² - m - log|Σ_W|]
  = 1/2 [tr Σ_X - m - log|Σ_W|]`` since ``E‖BY‖² = tr(B Σ_Y B^T)``.
* ``I_q(X;Y) = h(X) - h(X|Y) = 1/2 log|Σ_X| - 1/2 log|Σ_W|`` (``X|Y=y`` has covariance
  ``Σ_W`` for every ``y``). Written as ``1/2 Σ_i log(1 + σ_i²)`` with ``σ_i`` the singular values
  of ``L_W^{-1} B L_Y`` (``L`` Cholesky factors).
* ``KL(q(x) ‖ p(x)) = KL(N(0, Σ_X) ‖ N(0, I)) = 1/2 [tr Σ_X - m - log|Σ_X|]``; adding ``I_q`` gives
  the first line, which proves the two-term identity.
* ``TC = Σ_j h(x_j) - h(X) = 1/2 [Σ_j log Σ_X,jj - log|Σ_X|] = -1/2 log|R_X|`` with ``R_X`` the
  correlation matrix of ``Σ_X``.
* ``Σ_j KL(N(0, Σ_X,jj) ‖ N(0, 1)) = 1/2 Σ_j [Σ_X,jj - 1 - log Σ_X,jj]``; adding ``TC`` gives
  ``1/2 [tr Σ_X - m - log|Σ_X|]``, the marginal KL, which proves the three-term identity.

Numerics: every term of the form ``1/2 (tr D - log|I + D|)`` is evaluated as
``1/2 Σ_i (u_i - log(1 + u_i))`` over the eigenvalues ``u_i`` of ``D`` (with a series for small
``u``) when ``D`` is small, so nearly collapsed encoders keep full relative precision; otherwise
from Cholesky log-determinants. ``D = Σ_X - I`` is formed as ``B Σ_Y B^T + (Σ_W - I)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gaussian import logdet_from_cholesky
from .validation import as_float_array, check_covariance, check_positive_scalar

__all__ = ["KLDecomposition", "kl_decomposition", "kl_decomposition_from_moments"]

#: Eigenvalues of ``D`` beyond this magnitude switch to the Cholesky log-determinant form.
_SMALL = 0.5


@dataclass(frozen=True)
class KLDecomposition:
    """Terms of ``E_Y KL(q(x|y) ‖ N(0, I))`` for a linear-Gaussian encoder, in nats.

    Floats for a single encoder, arrays of shape ``(...)`` for a batch.

    Attributes
    ----------
    kl : E_Y KL(q(x|y) ‖ N(0, I_m)), the KL term of the loss.
    index_code_mi : I_q(X; Y) = 1/2 log|Σ_X| - 1/2 log|Σ_W|.
    total_correlation : KL(q(x) ‖ Π_j q(x_j)) = -1/2 log|R_X|.
    dimensionwise_kl : Σ_j KL(q(x_j) ‖ N(0, 1)).
    marginal_kl : KL(q(x) ‖ N(0, I_m)) = total_correlation + dimensionwise_kl.
    dimensionwise_kl_per_latent : shape (..., m), the summands of ``dimensionwise_kl``.
    collapsed : bool (or bool array): ``index_code_mi <= collapse_tol``, i.e. the code carries no
        information about the data (posterior collapse); the TC and dimension-wise terms then
        describe the noise ``Σ_W`` only.

    Identities (exact; numerically to float precision):
    ``kl = index_code_mi + total_correlation + dimensionwise_kl = index_code_mi + marginal_kl``.
    """

    kl: float | np.ndarray
    index_code_mi: float | np.ndarray
    total_correlation: float | np.ndarray
    dimensionwise_kl: float | np.ndarray
    marginal_kl: float | np.ndarray
    dimensionwise_kl_per_latent: np.ndarray
    collapsed: bool | np.ndarray

    #: Scalar terms, in the order of the decomposition.
    TERMS = ("kl", "index_code_mi", "total_correlation", "dimensionwise_kl", "marginal_kl")

    def as_dict(self) -> dict:
        """The scalar terms and the ``collapsed`` flag as a dict (for a table row)."""
        out = {k: getattr(self, k) for k in self.TERMS}
        out["collapsed"] = self.collapsed
        return out


def _u_minus_log1p(u: np.ndarray) -> np.ndarray:
    """``u - log(1 + u)`` for ``u > -1`` with full relative precision near ``u = 0``."""
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 1e-2
    us = np.where(small, u, 0.0)
    # Taylor series sum_{k>=2} (-1)^k u^k / k; the first omitted term is < 1e-19 relative.
    series = np.zeros_like(us)
    for k in range(10, 1, -1):
        series = us * (((-1.0) ** k) / k + series)
    series = us * series
    ul = np.where(small, 0.0, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = ul - np.log1p(ul)
    return np.where(small, series, direct)


def _half_trace_minus_logdet(D: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``1/2 (tr D - log|M|)`` for symmetric ``D = M - I`` with ``M`` positive definite."""
    ev = np.linalg.eigvalsh(0.5 * (D + np.swapaxes(D, -1, -2)))
    near = np.max(np.abs(ev), axis=-1) <= _SMALL
    by_eig = 0.5 * np.sum(_u_minus_log1p(np.where(near[..., None], ev, 0.0)), axis=-1)
    by_chol = 0.5 * (np.trace(D, axis1=-2, axis2=-1) - logdet_from_cholesky(np.linalg.cholesky(M)))
    return np.maximum(np.where(near, by_eig, by_chol), 0.0)


def _out(x):
    x = np.asarray(x)
    return x.item() if x.ndim == 0 else x


def _decompose(G: np.ndarray, Sigma_W: np.ndarray, lw: np.ndarray, collapse_tol: float):
    """Core: ``G G^T = B Σ_Y B^T`` (shape (..., m, r)), ``Σ_W`` and its Cholesky factor."""
    m = Sigma_W.shape[-1]
    eye = np.eye(m)
    signal = G @ np.swapaxes(G, -1, -2)
    signal = 0.5 * (signal + np.swapaxes(signal, -1, -2))
    d_w = Sigma_W - eye
    d_x = signal + d_w
    sigma_x = signal + Sigma_W

    k = np.linalg.solve(lw, G)  # L_W^{-1} G (small matrices: LAPACK gesv, batched)
    sv = np.linalg.svd(k, compute_uv=False)
    mi = 0.5 * np.sum(np.log1p(sv**2), axis=-1)

    kl = 0.5 * np.trace(signal, axis1=-2, axis2=-1) + _half_trace_minus_logdet(d_w, Sigma_W)
    kl = np.broadcast_to(kl, mi.shape)
    marginal = _half_trace_minus_logdet(d_x, sigma_x)

    diag_x = np.diagonal(sigma_x, axis1=-2, axis2=-1)
    diag_d = np.diagonal(d_x, axis1=-2, axis2=-1)
    near = np.abs(diag_d) <= _SMALL
    per_latent = 0.5 * np.where(
        near,
        _u_minus_log1p(np.where(near, diag_d, 0.0)),
        diag_d - np.log(np.where(near, 1.0, diag_x)),
    )
    dimkl = np.sum(per_latent, axis=-1)

    sd = np.sqrt(diag_x)
    corr = sigma_x / (sd[..., :, None] * sd[..., None, :])
    d_r = corr - eye
    d_r = d_r * (1.0 - eye)  # the diagonal of R - I is exactly zero
    tc = _half_trace_minus_logdet(d_r, corr)

    return KLDecomposition(
        kl=_out(kl),
        index_code_mi=_out(mi),
        total_correlation=_out(tc),
        dimensionwise_kl=_out(dimkl),
        marginal_kl=_out(marginal),
        dimensionwise_kl_per_latent=per_latent,
        collapsed=_out(mi <= collapse_tol),
    )


def kl_decomposition(B, Sigma_W, Sigma_Y, *, collapse_tol: float = 1e-8) -> KLDecomposition:
    r"""Exact β-TCVAE decomposition of ``E_Y KL(q(x|y) ‖ N(0, I_m))`` for ``X = B Y + W``.

    With ``Σ_X = B Σ_Y B^T + Σ_W`` (the aggregate posterior's covariance) and ``R_X`` its
    correlation matrix:

    * ``kl = 1/2 [tr Σ_X - m - log|Σ_W|]``
    * ``index_code_mi = I_q(X;Y) = 1/2 (log|Σ_X| - log|Σ_W|)``  (the data ``y`` is the "index")
    * ``total_correlation = -1/2 log|R_X|``
    * ``dimensionwise_kl = 1/2 Σ_j (Σ_X,jj - 1 - log Σ_X,jj)``
    * ``marginal_kl = 1/2 [tr Σ_X - m - log|Σ_X|]``

    so that ``kl = index_code_mi + total_correlation + dimensionwise_kl`` (β-TCVAE) and
    ``kl = index_code_mi + marginal_kl`` (β-VAE notes). See the module docstring for the
    derivation.

    Parameters
    ----------
    B : array_like, shape (..., m, n)
        Encoder matrix.
    Sigma_W : array_like, shape (..., m, m)
        Encoder noise covariance (SPD).
    Sigma_Y : array_like, shape (..., n, n)
        Data covariance (SPD).
    collapse_tol : float, default 1e-8
        ``collapsed`` is set where ``index_code_mi <= collapse_tol`` nats (the same default as the
        Blahut–Arimoto solver's collapse test).

    Returns
    -------
    KLDecomposition
        Floats, or arrays of the broadcast batch shape.

    Raises
    ------
    ValueError
        If a covariance is not symmetric positive definite, an input is not finite, or the
        shapes do not match.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.array([[1.0, 0.0], [0.5, 1.0]])
    >>> d = kl_decomposition(B, 0.5 * np.eye(2), np.eye(2))
    >>> total = d.index_code_mi + d.total_correlation + d.dimensionwise_kl
    >>> bool(np.isclose(total, d.kl)), bool(np.isclose(d.index_code_mi + d.marginal_kl, d.kl))
    (True, True)
    """
    B = as_float_array(B, "B", min_ndim=2)
    Sigma_W, lw = check_covariance(Sigma_W, "Sigma_W")
    Sigma_Y, ly = check_covariance(Sigma_Y, "Sigma_Y")
    collapse_tol = check_positive_scalar(collapse_tol, "collapse_tol")
    m, n = Sigma_W.shape[-1], Sigma_Y.shape[-1]
    if B.shape[-2:] != (m, n):
        raise ValueError(
            f"B: expected shape (..., {m}, {n}) from Sigma_W and Sigma_Y, got {B.shape}"
        )
    try:
        batch = np.broadcast_shapes(B.shape[:-2], Sigma_W.shape[:-2], Sigma_Y.shape[:-2])
    except ValueError:
        raise ValueError(
            "B, Sigma_W, Sigma_Y: batch dimensions do not broadcast "
            f"({B.shape}, {Sigma_W.shape}, {Sigma_Y.shape})"
        ) from None
    G = np.broadcast_to(B, batch + (m, n)) @ np.broadcast_to(ly, batch + (n, n))
    Sigma_W = np.broadcast_to(Sigma_W, batch + (m, m))
    lw = np.broadcast_to(lw, batch + (m, m))
    return _decompose(G, Sigma_W, lw, collapse_tol)


def kl_decomposition_from_moments(
    Sigma_mean, Sigma_W, *, collapse_tol: float = 1e-8, psd_rtol: float = 1e-10
) -> KLDecomposition:
    """The decomposition of :func:`kl_decomposition` from the code's moments.

    For an encoder with posterior mean ``μ(y)`` and a fixed posterior covariance ``Σ_W``, all
    terms depend on the data only through ``Σ_mean = Cov(μ(Y))`` (``= B Σ_Y B^T`` for a linear
    encoder): ``Σ_X = Σ_mean + Σ_W``. This is the plug-in route for a learned encoder whose
    posterior means were evaluated on samples (``Σ_mean`` the sample covariance of the means).

    Parameters
    ----------
    Sigma_mean : array_like, shape (..., m, m)
        Covariance of the posterior means; symmetric positive *semi*-definite (a collapsed
        encoder has ``Σ_mean = 0``).
    Sigma_W : array_like, shape (..., m, m)
        Posterior covariance (SPD).
    collapse_tol : float, default 1e-8
    psd_rtol : float, default 1e-10
        Eigenvalues of ``Σ_mean`` down to ``-psd_rtol * max|Σ_mean|`` count as rounding and are
        clipped to 0; more negative ones raise.

    Returns
    -------
    KLDecomposition

    Examples
    --------
    >>> import numpy as np
    >>> d = kl_decomposition_from_moments(np.zeros((2, 2)), np.eye(2))
    >>> d.kl, d.index_code_mi, bool(d.collapsed)
    (0.0, 0.0, True)
    """
    S = as_float_array(Sigma_mean, "Sigma_mean", min_ndim=2)
    Sigma_W, lw = check_covariance(Sigma_W, "Sigma_W")
    collapse_tol = check_positive_scalar(collapse_tol, "collapse_tol")
    m = Sigma_W.shape[-1]
    if S.shape[-2:] != (m, m):
        raise ValueError(
            f"Sigma_mean: expected shape (..., {m}, {m}) to match Sigma_W, got {S.shape}"
        )
    scale = np.max(np.abs(S), axis=(-2, -1), keepdims=True)
    if np.any(np.abs(S - np.swapaxes(S, -1, -2)) > 1e-8 * scale):
        raise ValueError("Sigma_mean: must be symmetric")
    ev, vec = np.linalg.eigh(0.5 * (S + np.swapaxes(S, -1, -2)))
    if np.any(ev < -psd_rtol * scale[..., 0]):
        raise ValueError(
            "Sigma_mean: must be positive semi-definite "
            f"(smallest eigenvalue {float(ev.min()):.3g})"
        )
    try:
        batch = np.broadcast_shapes(S.shape[:-2], Sigma_W.shape[:-2])
    except ValueError:
        raise ValueError(
            f"Sigma_mean, Sigma_W: batch dimensions do not broadcast ({S.shape}, {Sigma_W.shape})"
        ) from None
    G = np.broadcast_to(vec * np.sqrt(np.maximum(ev, 0.0))[..., None, :], batch + (m, m))
    Sigma_W = np.broadcast_to(Sigma_W, batch + (m, m))
    lw = np.broadcast_to(lw, batch + (m, m))
    return _decompose(G, Sigma_W, lw, collapse_tol)
