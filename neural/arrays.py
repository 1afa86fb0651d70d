"""Samples handed to the neural path's estimators as numpy arrays or torch tensors."""

from __future__ import annotations

import numpy as np

from lingauss.validation import as_float_array

__all__ = ["as_numpy"]


def as_numpy(x, name: str, *, ndim: int | None = None) -> np.ndarray:
    """A finite float64 array from an array-like or a (detached, CPU) torch tensor.

    Tensors are recognised by their ``detach`` and ``cpu`` methods, so this module does not
    import torch. The checks are :func:`lingauss.validation.as_float_array`'s: ``ValueError``
    naming ``name`` for what cannot be converted, a dimension other than ``ndim``, or NaN/inf.

    Examples
    --------
    >>> as_numpy([[1, 2]], "X", ndim=2).dtype
    dtype('float64')
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return as_float_array(x, name, ndim=ndim)
