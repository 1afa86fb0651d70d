"""The mutable state of a batched run: the active members' arrays, the outputs, retirement.

A run advances a stack of independent problems; a member that stops is *retired*: its
parameters, half-step count and stop reason go to the output arrays and its rows leave every
active array (and those of whoever registered through :meth:`RunState.on_retire`, such as a
stopping rule's per-member bookkeeping). The half-steps (:mod:`lingauss.solver.halfsteps`),
records (:mod:`lingauss.solver.records`) and stopping rules act on this state; the loop
(:mod:`lingauss.solver.loop`) orders them.
"""

from __future__ import annotations

import numpy as np

from .config import RunConfig
from .numerics import fro, safe_terms
from .regimes import regime_records
from .spd_inverse import inv_spd

__all__ = ["RunState"]


class RunState:
    """Arrays of a batched BA run; rows of the active arrays are the active members.

    ``J`` is ``Σ_Z^{-1}`` after a decoder step, ``K`` is ``Σ_W^{-1}`` after an encoder step,
    ``G`` is ``B^T Σ_W^{-1}`` when it is known exactly (else ``None``); ``z`` holds Σ_Z's
    diagonal (diagonal model) or Σ_Z itself.
    """

    #: Active arrays: one row per active member.
    ARRAYS = (
        "Sy",
        "Sy_inv",
        "sig",
        "norm_y",
        "fro_y",
        "g",
        "lm",
        "g1",
        "lm2",
        "B",
        "Sw",
        "K",
        "A",
        "z",
        "J",
    )

    def __init__(self, Sy, gamma, lam, B0, Sw0, config: RunConfig):
        P, m, n = B0.shape
        H, every = config.max_half_steps, config.history_every
        self.config = config
        self.floor = config.floor  # (floor on eig Σ_W, floor on eig Σ_Z) or None
        self.diagonal = config.diagonal
        self.P, self.m, self.n = P, m, n
        self.Sy_all, self.gamma_all, self.lam_all = Sy, gamma, lam
        self.max_half_steps = H
        self.history_every = every
        n_rec = H // every + 1
        self.loss_hist = np.full((n_rec, P), np.nan)
        self.mi_hist = np.full((n_rec, P), np.nan)
        # history="regime": the records always kept, and per member (all members) whether
        # every record so far was finite
        self.kept_records = regime_records(H, every) if config.history == "regime" else None
        self.records_regular = np.ones(P, dtype=bool)
        self.fixed_bound = max(1.0, *(np.max(np.abs(x), initial=0.0) for x in (Sy, gamma, lam)))
        self.out_A = np.zeros((P, n, m))
        self.out_B = np.zeros((P, m, n))
        self.out_Sz = np.zeros((P, n, n))
        self.out_Sw = np.zeros((P, m, m))
        self.half_steps = np.full(P, H, dtype=int)
        self.reason = np.full(P, "max_half_steps", dtype=object)
        self._dependents = []
        # active state
        self.idx = np.arange(P)
        self.Sy = Sy
        self.Sy_inv = inv_spd(Sy)
        sig2 = np.trace(Sy, axis1=-2, axis2=-1) / n
        self.sig = np.sqrt(sig2)
        self.norm_y = np.linalg.eigvalsh(Sy)[:, -1]
        self.fro_y = fro(Sy)
        self.g = gamma
        self.lm = lam
        # the encoder's γ and 2λ as columns (the same products as computed in place)
        self.g1 = gamma[:, None]
        self.lm2 = 2.0 * lam[:, None]
        self.eye_m, self.eye_n = np.eye(m), np.eye(n)
        self.B = B0.copy()
        self.Sw = Sw0.copy()
        self.A = np.zeros((P, n, m))
        self.z = np.zeros((P, n)) if config.diagonal else np.zeros((P, n, n))
        self.J = np.zeros((P, n, n))
        if config.carry_g:
            self.K = np.linalg.inv(self.Sw)
            self.G = np.swapaxes(self.B, -1, -2) @ self.K
        else:
            self.K = inv_spd(self.Sw)
            self.G = None
        self.any_neg_lam = bool(np.any(lam < 0))

    def on_retire(self, dependent) -> None:
        """Register ``dependent.drop(keep)``, called with the keep-mask at every retirement."""
        self._dependents.append(dependent)

    def Sz(self, z=None):
        """Σ_Z of the active members (or of ``z``), as matrices."""
        z = self.z if z is None else z
        return z[..., :, None] * self.eye_n if self.diagonal else z

    def loss(self, A, B, z, Sw, sel):
        """Total loss; NaN for members whose Σ_W or Σ_Z is not PD to working precision."""
        kl, nll, mse = safe_terms(A, B, self.Sz(z), Sw, self.Sy[sel])
        return kl + self.g[sel] * nll + self.lm[sel] * mse

    @staticmethod
    def subset(arrays, keep):
        """Keep the rows of ``arrays`` (a pre-step snapshot) for members still active."""
        if keep is None or keep.all():
            return arrays
        return tuple(x[keep] for x in arrays)

    def retire(self, mask, why, h):
        """Stop the active members ``mask`` at half-step ``h`` with stop reason ``why``."""
        ids = self.idx[mask]
        if not ids.size:
            return
        self.out_A[ids] = self.A[mask]
        self.out_B[ids] = self.B[mask]
        self.out_Sz[ids] = self.Sz(self.z[mask])
        self.out_Sw[ids] = self.Sw[mask]
        self.half_steps[ids] = h
        self.reason[ids] = why
        keep = ~mask
        self.idx = self.idx[keep]
        for name in self.ARRAYS:
            setattr(self, name, getattr(self, name)[keep])
        if self.G is not None:
            self.G = self.G[keep]
        for dependent in self._dependents:
            dependent.drop(keep)
