"""Hypothesis strategies for the analytic core (shipped in-package, as dit does).

This module imports :mod:`hypothesis`, a development dependency (``pip install
lingauss[dev]``); the rest of :mod:`lingauss` never imports it, so importing this module is
the only thing that needs it.

Every random matrix is built from hypothesis-drawn numbers (no hidden seeds), so failing
examples shrink: an SPD covariance is ``s · Q diag(λ) Q^T`` with ``Q`` the orthogonal factor
of a drawn matrix (it shrinks to a signed identity, i.e. a diagonal covariance) and a
log-uniform spectrum whose extreme eigenvalues are exactly ``1`` and ``κ`` (the condition
number, itself log-uniform in ``[min_condition, max_condition]``, shrinking to 1).

:mod:`~lingauss.strategies.matrices` holds the general strategies;
:mod:`~lingauss.strategies.near_singular` the covariances just on either side of the
singularity threshold of :func:`lingauss.validation.check_covariance` (correlation matrices of
known spectrum, rescaled) and exactly singular ``V V^T``.

Examples
--------
>>> from hypothesis import given, settings
>>> import numpy as np
>>> @settings(max_examples=5, deadline=None)
... @given(spd_matrices(dim=3, max_condition=1e4))
... def check(c):
...     assert np.all(np.linalg.eigvalsh(c) > 0)
>>> check()
"""

from .matrices import *  # noqa: F401,F403
from .matrices import __all__ as _matrices_all
from .near_singular import *  # noqa: F401,F403
from .near_singular import __all__ as _near_singular_all

__all__ = [*_matrices_all, *_near_singular_all]
