"""The analytic side of a (scenario, γ, λ) cell: the Blahut–Arimoto optimum, floored where the
cell is ill-posed, and the informative row space of an encoder.

:func:`analytic_optimum` solves the cell by Blahut–Arimoto (exchangeable initial encoder, exact
stopping rule). A cell is *ill-posed* when γ > 1 (the loss is unbounded below, reference §3)
or when the unconstrained run is classified ``"divergent"`` (the γ = 1 boundary); both paths
then apply the same :class:`~neural.model_config.VarianceFloor` — BA as a projected update,
the network through its parameterisation — and the output says ``constrained``.

Informative row space: with ``G = L_W^{-1} B`` (``L_W L_W^T = Σ_W``) and the eigenpairs
``(κ_j, u_j)`` of ``G Σ_Y G^T``, latent direction ``j`` carries ``½ log(1 + κ_j)`` nats about
``Y``; the rows ``u_j^T G`` of the ``k`` directions carrying more than ``info_tol`` span the part
of ``R^n`` the encoder reads. The subspace is invariant under ``X → Q X``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lingauss import Scenario
from lingauss.blahut_arimoto import Solution, blahut_arimoto

from .model_config import VarianceFloor

__all__ = [
    "AnalyticCell",
    "analytic_optimum",
    "informative_row_space",
    "is_ill_posed",
    "INFO_TOL",
    "CONSTRAINED_HALF_STEPS",
]

#: A latent direction carrying at most this many nats about Y is not part of the informative
#: row space: below it the direction is not determined by a loss that depends on it only
#: through ~1e-3 nats, and a learned encoder leaves residual noise-level information there.
INFO_TOL = 1e-3
#: Half-step budget of a constrained BA run.
CONSTRAINED_HALF_STEPS = 50_000


def is_ill_posed(gamma: float, regime: str) -> bool:
    """True when the cell needs the variance floor: ``γ > 1`` or a divergent unconstrained run."""
    return float(gamma) > 1.0 or regime == "divergent"


@dataclass(frozen=True)
class AnalyticCell:
    """The analytic side of a cell.

    Attributes
    ----------
    solution : lingauss.Solution
        The BA solution used (constrained when ``constrained``).
    unconstrained : lingauss.Solution
        The unconstrained BA run (its ``regime`` decides ``constrained``).
    constrained : bool
    floor : VarianceFloor or None
        The floor applied (``None`` when unconstrained).
    """

    solution: Solution
    unconstrained: Solution
    constrained: bool
    floor: VarianceFloor | None

    @property
    def regime(self) -> str:
        """Regime of the unconstrained problem (collapsed / interior / divergent)."""
        return self.unconstrained.regime


def analytic_optimum(
    scenario: Scenario,
    gamma: float,
    lam: float,
    *,
    seed: int = 0,
    floor: VarianceFloor | None = None,
    init: str = "exchangeable",
    max_half_steps: int = 10_000,
) -> AnalyticCell:
    """Blahut–Arimoto optimum of a cell, constrained when the cell is ill-posed.

    Parameters
    ----------
    scenario : lingauss.Scenario
    gamma, lam : float
    seed : int
        Seed of the initial encoder.
    floor : VarianceFloor, optional
        Default :meth:`VarianceFloor.default` of ``Σ_Y``.
    init : {"exchangeable", "authors"}
    max_half_steps : int

    Returns
    -------
    AnalyticCell
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario: expected a lingauss.Scenario, got {type(scenario).__name__}")
    kw = dict(seed=seed, init=init, stop_rule="exact", max_half_steps=max_half_steps)
    free = blahut_arimoto(scenario.Sigma_Y, scenario.m, gamma, lam, **kw)
    if not is_ill_posed(gamma, free.regime):
        return AnalyticCell(free, free, False, None)
    floor = VarianceFloor.default(scenario.Sigma_Y) if floor is None else floor
    # the constrained optimum is approached slowly (the drift towards the floor gains only
    # (γ-1)/2 nats per e-fold of Σ_W): give it a larger budget
    kw["max_half_steps"] = max(int(max_half_steps), CONSTRAINED_HALF_STEPS)
    sol = blahut_arimoto(
        scenario.Sigma_Y,
        scenario.m,
        gamma,
        lam,
        variance_floor=(floor.sigma_w, floor.sigma_z),
        **kw,
    )
    return AnalyticCell(sol, free, True, floor)


def informative_row_space(B, Sigma_W, Sigma_Y, *, k: int | None = None, info_tol=INFO_TOL):
    """Basis of the encoder's informative row space and the information per direction.

    Parameters
    ----------
    B : array_like, shape (m, n)
    Sigma_W : array_like, shape (m, m)
    Sigma_Y : array_like, shape (n, n)
    k : int, optional
        Keep the ``k`` most informative directions (default: those above ``info_tol``).
    info_tol : float
        Nats.

    Returns
    -------
    rows : ndarray, shape (k, n)
        Rows spanning the subspace.
    info : ndarray, shape (m,)
        ``½ log(1 + κ_j)`` per latent direction, descending (sums to I(X;Y)).
    """
    B = np.asarray(B, float)
    lw = np.linalg.cholesky(np.asarray(Sigma_W, float))
    G = np.linalg.solve(lw, B)
    S = G @ np.asarray(Sigma_Y, float) @ G.T
    ev, U = np.linalg.eigh(0.5 * (S + S.T))
    ev, U = ev[::-1], U[:, ::-1]
    info = 0.5 * np.log1p(np.maximum(ev, 0.0))
    if k is None:
        k = int(np.sum(info > info_tol))
    return U[:, :k].T @ G, info
