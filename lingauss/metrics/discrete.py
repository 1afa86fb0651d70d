"""Discretised samples and their plug-in information, as ``disentanglement_lib`` computes them.

Equal-width histogram binning per column (:func:`histogram_discretize`), the plug-in mutual
information of every pair of binned columns (:func:`discrete_mutual_information`) and the
plug-in entropy of binned columns (:func:`discrete_entropy`): the pieces of
:func:`lingauss.metrics.mig.binned_mig`.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_float_array

__all__ = ["histogram_discretize", "discrete_mutual_information", "discrete_entropy"]


def histogram_discretize(x, bins: int = 20) -> np.ndarray:
    """Equal-width binning per column, as ``disentanglement_lib``'s ``_histogram_discretize``.

    Column ``c`` gets edges ``np.histogram(x[:, c], bins)[1]`` (``bins`` equal intervals between
    the column's min and max) and labels ``np.digitize(x[:, c], edges[:-1]) - 1`` in
    ``0 .. bins-1`` (the maximum falls in the last bin).

    Parameters
    ----------
    x : array_like, shape (N, d)
    bins : int, default 20

    Returns
    -------
    ndarray of int, shape (N, d)
    """
    x = as_float_array(x, "x", ndim=2)
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins: must be an integer >= 2, got {bins!r}")
    lo = x.min(axis=0)
    hi = x.max(axis=0)
    width = np.where(hi > lo, (hi - lo) / bins, 1.0)
    # np.histogram's edges are lo + i * (hi - lo) / bins; compare against them, not a division,
    # so that labels agree with np.digitize exactly.
    edges = lo[None, :] + np.arange(bins)[:, None] * (width * (hi > lo))[None, :]
    labels = np.sum(x[:, None, :] >= edges[None, 1:, :], axis=1)
    return labels.astype(np.intp)


def discrete_mutual_information(a, b, bins_a: int, bins_b: int) -> np.ndarray:
    """Plug-in mutual information (nats) between every column of ``a`` and every column of
    ``b``: ``Σ p_ij log(p_ij / (p_i p_j))`` from the contingency table (the value
    ``sklearn.metrics.mutual_info_score`` gives).

    Parameters
    ----------
    a : array_like of int, shape (N, p), labels in ``0 .. bins_a - 1``
    b : array_like of int, shape (N, q), labels in ``0 .. bins_b - 1``

    Returns
    -------
    ndarray, shape (p, q)
    """
    a = np.asarray(a)
    b = np.asarray(b)
    n, p = a.shape
    q = b.shape[1]
    cells = bins_a * bins_b
    out = np.empty((p, q))
    # chunk over the columns of a to keep the (N, p, q) index array small
    step = max(1, int(2e7 // max(1, n * q)))
    for lo in range(0, p, step):
        aa = a[:, lo : lo + step]
        pp = aa.shape[1]
        pair = np.arange(pp * q).reshape(pp, q) * cells
        idx = aa[:, :, None] * bins_b + b[:, None, :] + pair[None]
        counts = np.bincount(idx.ravel(), minlength=pp * q * cells).reshape(pp, q, bins_a, bins_b)
        pj = counts / n
        pa = pj.sum(axis=-1, keepdims=True)
        pb = pj.sum(axis=-2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(pj > 0, pj * np.log(pj / (pa * pb)), 0.0)
        out[lo : lo + pp] = np.maximum(terms.sum(axis=(-2, -1)), 0.0)
    return out


def discrete_entropy(labels: np.ndarray, bins: int) -> np.ndarray:
    """Plug-in entropy (nats) of every column of integer ``labels`` (N, d) in ``0 .. bins-1``:
    ``-Σ p log p`` over the occupied bins. Returns shape (d,)."""
    n = labels.shape[0]
    counts = np.stack([np.bincount(labels[:, k], minlength=bins) for k in range(labels.shape[1])])
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)
