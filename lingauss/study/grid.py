"""The result of the study's grid solve: :class:`FixedPointGrid`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..scenarios import Scenario

__all__ = ["FixedPointGrid"]


@dataclass(frozen=True, repr=False)
class FixedPointGrid:
    """Fixed-point solutions of a (β, λ) grid × initialisations, from the reduced problem.

    Problems are ordered cell-major: ``p = (i_β · n_λ + i_λ) · K + k`` for initialisation
    ``k`` of ``K``. Parameters are stored in the reduced ``d``-dimensional coordinates
    (see :mod:`lingauss.study.reduction`); :meth:`full_parameters` lifts them to ``R^n``.

    Attributes
    ----------
    scenario : Scenario
    beta, lam : ndarray, shape (P,)
        λβ weights of each problem.
    init : ndarray of int, shape (P,)
        Initialisation index ``k``.
    basis : ndarray, shape (K, n, d), or None
        Orthonormal basis of each initialisation's invariant subspace (``None``: not reduced,
        parameters already in ``R^n``).
    Sigma_Y_reduced : ndarray, shape (d, d)
    A, B, Sigma_Z, Sigma_W : ndarray
        Reduced solutions, shapes (P, d, m), (P, m, d), (P, d, d), (P, m, m).
    metrics : pandas.DataFrame
        :func:`lingauss.study.evaluate_solutions` columns, one row per problem
        (full-dimensional values).
    half_steps : ndarray of int, shape (P,)
    stop_reason : ndarray of str, shape (P,)
        Solver stop reasons (``"converged"``, ``"resolution_limit"``, ``"max_half_steps"``,
        ...); ``"block_rule"`` when the authors' rule fired.
    converged : ndarray of bool, shape (P,)
        The exact rule converged; or the authors' rule fired *and* the run's ``I(X;Y)``
        record has settled (the rule also fires on slow drifts, see
        :func:`lingauss.study.fixed_point.settled`).
    regime : ndarray of str, shape (P,)
        ``"collapsed"``, ``"interior"`` or ``"divergent"`` from the run's ``I(X;Y)`` trajectory
        (:func:`lingauss.blahut_arimoto.classify_regime`).
    stop_rule : str
    """

    scenario: Scenario
    beta: np.ndarray
    lam: np.ndarray
    init: np.ndarray
    basis: np.ndarray | None
    Sigma_Y_reduced: np.ndarray
    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    metrics: pd.DataFrame
    half_steps: np.ndarray
    stop_reason: np.ndarray
    converged: np.ndarray
    regime: np.ndarray
    stop_rule: str

    def __repr__(self) -> str:
        """A summary: the scenario, the rule, the grid and how the runs stopped."""
        reasons, counts = np.unique(self.stop_reason, return_counts=True)
        stops = ", ".join(f"{r}: {c}" for r, c in zip(reasons, counts, strict=True))
        return (
            f"FixedPointGrid(n={self.scenario.n}, stop_rule={self.stop_rule!r}, "
            f"betas={np.unique(self.beta).tolist()}, lams={np.unique(self.lam).tolist()}, "
            f"inits={np.unique(self.init).size}, stops={{{stops}}})"
        )

    def __len__(self) -> int:
        return self.beta.size

    def full_parameters(self, idx=None):
        """``(A, B, Σ_Z, Σ_W)`` of problems ``idx`` (default all) in the original ``R^n``.

        ``B = B' U^T``, ``A = U A'``, ``Σ_Z = U Σ_Z' U^T + σ² (I - U U^T)``.
        """
        idx = np.arange(len(self)) if idx is None else np.atleast_1d(np.asarray(idx))
        A, B, Sz, Sw = self.A[idx], self.B[idx], self.Sigma_Z[idx], self.Sigma_W[idx]
        if self.basis is None:
            return A, B, Sz, Sw
        U = self.basis[self.init[idx]]
        Ut = np.swapaxes(U, -1, -2)
        n = U.shape[1]
        Sz_full = U @ Sz @ Ut + self.scenario.noise_var * (np.eye(n) - U @ Ut)
        return U @ A, B @ Ut, 0.5 * (Sz_full + np.swapaxes(Sz_full, -1, -2)), Sw
