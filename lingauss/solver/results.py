"""Results of the solver: one run (:class:`Solution`), a stack (:class:`BatchSolution`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..loss import LossTerms

__all__ = ["Solution", "BatchSolution", "merge_batches"]


@dataclass(frozen=True)
class Solution:
    """Result of one Blahut–Arimoto run.

    Attributes
    ----------
    A, B, Sigma_Z, Sigma_W : ndarray
        Final decoder ``(n, m)``, encoder ``(m, n)`` and noise covariances.
    gamma, lam : float
    loss : LossTerms
        Closed-form loss terms at the final parameters.
    half_steps : int
        Half-steps (encoder or decoder updates) performed.
    stop_reason : str
        One of :data:`STOP_REASONS`.
    converged : bool
        True when the exact stopping rule (or the notebook rule) fired.
    regime : str
        ``"collapsed"`` (I(X;Y) = 0 at the optimum), ``"interior"`` (a finite optimum) or
        ``"divergent"`` (I(X;Y) still rising at a non-decaying rate: the loss has no minimum),
        decided from the run's evidence by :func:`classify_regime`.
    mutual_information_xy : float
        I(X;Y) in nats at the final parameters.
    min_eig_sigma_w : float
        Smallest eigenvalue of Σ_W.
    loss_history, mi_history : ndarray
        Total loss and I(X;Y) every ``history_every`` half-steps (index 0: initial encoder
        after the first decoder step).
    history_every : int
    constrained : bool
        Whether the run used ``variance_floor`` (projected updates).
    floor_active : bool
        Whether a floor binds at the final parameters (an eigenvalue of Σ_W or Σ_Z at it).
    """

    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    gamma: float
    lam: float
    loss: LossTerms
    half_steps: int
    stop_reason: str
    converged: bool
    regime: str
    mutual_information_xy: float
    min_eig_sigma_w: float
    loss_history: np.ndarray = field(repr=False)
    mi_history: np.ndarray = field(repr=False)
    history_every: int = 1
    constrained: bool = False
    floor_active: bool = False

    def summary(self) -> dict:
        """Scalar fields as a dict (for tables and JSON)."""
        out = {
            "gamma": self.gamma,
            "lam": self.lam,
            "regime": self.regime,
            "stop_reason": self.stop_reason,
            "converged": self.converged,
            "half_steps": self.half_steps,
            "mi_xy": self.mutual_information_xy,
            "min_eig_sigma_w": self.min_eig_sigma_w,
            "constrained": self.constrained,
            "floor_active": self.floor_active,
        }
        out.update(
            {
                f"loss_{k}": float(v)
                for k, v in self.loss.as_dict().items()
                if k not in ("gamma", "lam")
            }
        )
        return out


@dataclass(frozen=True)
class BatchSolution:
    """Stacked results of :func:`blahut_arimoto_batch` (leading axis: problem index)."""

    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    gamma: np.ndarray
    lam: np.ndarray
    loss: LossTerms
    half_steps: np.ndarray
    stop_reason: np.ndarray
    converged: np.ndarray
    regime: np.ndarray
    mutual_information_xy: np.ndarray
    min_eig_sigma_w: np.ndarray
    loss_history: np.ndarray = field(repr=False)
    mi_history: np.ndarray = field(repr=False)
    history_every: int = 1
    constrained: bool = False
    floor_active: np.ndarray | None = None

    def __len__(self) -> int:
        return self.B.shape[0]

    def __getitem__(self, i: int) -> Solution:
        h = self.loss_history[:, i]
        keep = np.isfinite(h)
        return Solution(
            A=self.A[i],
            B=self.B[i],
            Sigma_Z=self.Sigma_Z[i],
            Sigma_W=self.Sigma_W[i],
            gamma=float(self.gamma[i]),
            lam=float(self.lam[i]),
            loss=LossTerms(
                *(
                    float(np.asarray(getattr(self.loss, k))[i])
                    for k in ("kl", "nll", "mse", "total", "gamma", "lam")
                )
            ),
            half_steps=int(self.half_steps[i]),
            stop_reason=str(self.stop_reason[i]),
            converged=bool(self.converged[i]),
            regime=str(self.regime[i]),
            mutual_information_xy=float(self.mutual_information_xy[i]),
            min_eig_sigma_w=float(self.min_eig_sigma_w[i]),
            loss_history=h[keep],
            mi_history=self.mi_history[:, i][keep],
            history_every=self.history_every,
            constrained=self.constrained,
            floor_active=bool(self.floor_active[i]) if self.floor_active is not None else False,
        )


def merge_batches(parts: list[BatchSolution], members: list[np.ndarray]) -> BatchSolution:
    """One batch from the results of disjoint sets of members, in member order.

    ``parts[i]`` holds the members ``members[i]`` (indices into the merged batch, each index
    in exactly one set); ``parts[i]`` may also be ``(result, rows)``, its members ``rows``.
    """
    order = np.argsort(np.concatenate(members), kind="stable")
    parts = [p if isinstance(p, tuple) else (p, None) for p in parts]

    def field(get, axis=0):
        values = []
        for res, rows in parts:
            v = np.asarray(get(res))
            values.append(v if rows is None else v.take(rows, axis=axis))
        return np.concatenate(values, axis=axis).take(order, axis=axis)

    first = parts[0][0]
    gamma = field(lambda r: r.gamma)
    lam = field(lambda r: r.lam)
    loss = LossTerms(
        *(field(lambda r, k=k: getattr(r.loss, k)) for k in ("kl", "nll", "mse", "total")),
        gamma.copy(),
        lam.copy(),
    )
    return BatchSolution(
        A=field(lambda r: r.A),
        B=field(lambda r: r.B),
        Sigma_Z=field(lambda r: r.Sigma_Z),
        Sigma_W=field(lambda r: r.Sigma_W),
        gamma=gamma,
        lam=lam,
        loss=loss,
        half_steps=field(lambda r: r.half_steps),
        stop_reason=field(lambda r: r.stop_reason),
        converged=field(lambda r: r.converged),
        regime=field(lambda r: r.regime),
        mutual_information_xy=field(lambda r: r.mutual_information_xy),
        min_eig_sigma_w=field(lambda r: r.min_eig_sigma_w),
        loss_history=field(lambda r: r.loss_history, 1),
        mi_history=field(lambda r: r.mi_history, 1),
        history_every=first.history_every,
        constrained=first.constrained,
        floor_active=None if first.floor_active is None else field(lambda r: r.floor_active),
    )
