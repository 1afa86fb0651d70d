"""Inverse of a stack of small SPD matrices, ``(..., d, d)``, fast and bit-reproducible.

The solver inverts thousands of ``d x d`` matrices per half-step (``Σ_W = K^{-1}``,
``Σ_Z = J^{-1}``). For ``d <= 6`` :func:`inv_spd` runs a Cholesky factorisation written out
entry by entry as generated straight-line code (:func:`inv_kernel_source`), each entry a
vector over the stack; larger matrices go to LAPACK. The generated code and the order of its
operations are part of the solver's reproducibility: every table depends on them bit for bit.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["inv_spd", "inv_kernel", "inv_kernel_source", "product_plan"]


def inv_spd(K: np.ndarray) -> np.ndarray:
    """Inverse of a stack of small SPD matrices, shape ``(..., d, d)``.

    For ``d <= 6`` a Cholesky factorisation ``K = L L^T``, the triangular inverse ``L^{-1}``
    and the product ``L^{-T} L^{-1}``, written out entry by entry, each entry a vector over
    the stack: a few dozen vector operations instead of one LAPACK call per matrix, several
    times faster than ``np.linalg.inv`` on thousands of 3x3 matrices. The first two steps
    run as straight-line code generated once per ``d`` (:func:`inv_kernel`); the product's
    terms are formed in one vector operation, then summed in the same order as entry by
    entry. Larger matrices go to LAPACK.
    """
    d = K.shape[-1]
    if d > 6 or K.ndim == 2:
        out = np.linalg.inv(K)
        return 0.5 * (out + np.swapaxes(out, -1, -2))
    shape = K.shape
    K = K.reshape(-1, d, d)
    pos, gather, n_terms, sizes, full = product_plan(d)
    Li = np.empty((len(pos), K.shape[0]))  # row pos[i, j]: entry (i, j) of L^{-1}
    inv_kernel(d)(K, Li)
    # (L^{-T} L^{-1})[i, j] = sum over k = i, i + 1, ... of Li[k, i] Li[k, j] (j <= i):
    # every product at once, then the terms k = i + q added for q = 1, 2, ...
    g = Li[gather]
    prod = g[:n_terms] * g[n_terms:]
    out = prod[: sizes[0]]
    at = sizes[0]
    for size in sizes[1:]:
        out[:size] += prod[at : at + size]
        at += size
    return out.T.take(full, axis=1).reshape(shape)


def inv_kernel_source(d: int) -> str:
    """Source of :func:`inv_kernel` for ``d x d`` matrices.

    Unrolls, for entries ``k_ij = K[:, i, j]`` (``j <= i``)::

        for j in range(d):                      # Cholesky, L = [l_ij], r_j = 1 / l_jj
            s = k_jj; for k < j: s = s - l_jk * l_jk
            r_j = 1 / sqrt(s)
            for i > j: t = k_ij; for k < j: t = t - l_ik * l_jk;  l_ij = t * r_j
        for i in range(d):                      # L^{-1} = [li_ij], li_ii = r_i
            for j < i: t = l_ij * r_j; for j < k < i: t = t + l_ik * li_kj;  li_ij = -t * r_i

    Each line of the result is one vector operation (nested expressions evaluate in the
    order of the loops); ``r_j`` and ``li_ij`` are written to their rows of ``Li``.
    """
    pos = {}
    for i in range(d):
        for j in range(i + 1):
            pos[i, j] = len(pos)
    src = [f"def kernel(K, Li):  # d = {d}"]
    src += [f"    k{i}{j} = K[:, {i}, {j}]" for (i, j) in pos]
    for j in range(d):
        s = f"k{j}{j}"
        for k in range(j):
            s = f"({s} - l{j}{k} * l{j}{k})"
        src.append(f"    r{j} = divide(1.0, sqrt({s}), out=Li[{pos[j, j]}])")
        for i in range(j + 1, d):
            t = f"k{i}{j}"
            for k in range(j):
                t = f"({t} - l{i}{k} * l{j}{k})"
            src.append(f"    l{i}{j} = {t} * r{j}")
    for i in range(d):
        for j in range(i):
            t = f"l{i}{j} * r{j}"
            for k in range(j + 1, i):
                t = f"({t} + l{i}{k} * li{k}{j})"
            src.append(f"    li{i}{j} = multiply(-({t}), r{i}, out=Li[{pos[i, j]}])")
    return "\n".join(src) + "\n"


@functools.cache
def inv_kernel(d: int):
    """``kernel(K, Li)``: the Cholesky factorisation and triangular inverse of
    :func:`inv_spd` for a ``(P, d, d)`` stack ``K``, written to the rows of ``Li``
    (``(d (d + 1) / 2, P)``, packed as in :func:`product_plan`); see :func:`inv_kernel_source`.
    Straight-line code spares the interpreter the loops and index arithmetic around each of
    its few dozen vector operations.
    """
    namespace = {"divide": np.divide, "sqrt": np.sqrt, "multiply": np.multiply}
    exec(compile(inv_kernel_source(d), f"<inv_kernel({d})>", "exec"), namespace)
    return namespace["kernel"]


@functools.cache
def product_plan(d: int):
    """Index plan of :func:`inv_spd`'s product for ``d x d`` matrices.

    Returns ``pos`` (entry ``(i, j)``, ``j <= i``, of ``L^{-1}`` to its row, packed row by
    row), the rows to gather (left factors, then right factors), the number of products,
    the number of entries with a term ``k = i + q`` for each ``q`` (those come first in the
    packed order, so each term is added to a leading block) and, for each entry of the
    symmetric result in row-major order, its packed row.
    """
    pos = {}
    for i in range(d):
        for j in range(i + 1):
            pos[i, j] = len(pos)
    left, right, sizes = [], [], []
    for q in range(d):
        entries = [(i, j) for (i, j) in pos if i + q < d]
        sizes.append(len(entries))
        left += [pos[i + q, i] for i, j in entries]
        right += [pos[i + q, j] for i, j in entries]
    full = np.array([pos[max(i, j), min(i, j)] for i in range(d) for j in range(d)])
    return pos, np.array(left + right), len(left), tuple(sizes), full
