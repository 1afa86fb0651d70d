"""What both training recipes of the λβ study share: the scenario's constants as tensors, the
low-rank product with ``Σ_Y``, per-member weights, the trajectory record and the result dict."""

from __future__ import annotations

import math

import numpy as np
import torch

from lingauss.scenarios import Scenario

from ..device import resolve_device, resolve_dtype

__all__ = [
    "LOG_2PI",
    "study_constants",
    "batch_trace",
    "sigma_y_times",
    "resolve_device_dtype",
    "member_weights",
    "history_buffers",
    "training_record",
]

#: ``log 2π``.
LOG_2PI = math.log(2.0 * math.pi)


def study_constants(sc: Scenario, dtype, device) -> dict:
    """The scenario as tensors: ``G`` (Γ), ``GSV`` (Γ Σ_V), ``SV`` (Σ_V), ``Sy`` (Σ_Y), and the
    floats ``sig2`` (σ²) and ``trSy`` (tr Σ_Y)."""
    t = lambda x: torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # noqa: E731
    return {
        "G": t(sc.Gamma),
        "GSV": t(sc.Gamma @ sc.Sigma_V),
        "SV": t(sc.Sigma_V),
        "sig2": float(sc.noise_var),
        "trSy": float(np.trace(sc.Sigma_Y)),
        "Sy": t(sc.Sigma_Y),
    }


def batch_trace(M):
    """Trace of each matrix of a stack ``(..., k, k)``."""
    return torch.diagonal(M, dim1=-2, dim2=-1).sum(-1)


def sigma_y_times(c, X):
    """``Σ_Y X`` for a stack ``X (P, n, k)``, using ``Σ_Y = Γ Σ_V Γ^T + σ² I``."""
    return c["GSV"] @ (c["G"].mT @ X) + c["sig2"] * X


def resolve_device_dtype(device, dtype):
    """``(torch.device, torch.dtype)`` of the requests (:mod:`neural.device`)."""
    return resolve_device(device), resolve_dtype(dtype)


def member_weights(beta, lam, P: int, dtype, device):
    """``β`` and ``λ`` broadcast to the ``P`` members, as tensors of shape ``(P,)``."""
    beta_t = torch.as_tensor(np.broadcast_to(beta, (P,)).copy(), dtype=dtype, device=device)
    lam_t = torch.as_tensor(np.broadcast_to(lam, (P,)).copy(), dtype=dtype, device=device)
    return beta_t, lam_t


def history_buffers(steps: int, record_every: int | None, P: int):
    """``(every, loss_history, mi_history)``: records at steps ``0, every, 2·every, …``
    (default ``every = steps // 500``), NaN-filled arrays of shape ``(records, P)``."""
    every = int(record_every or max(1, steps // 500))
    n_rec = steps // every + 1
    return every, np.full((n_rec, P), np.nan), np.full((n_rec, P), np.nan)


def training_record(kept: dict, loss_hist, mi_hist, every, seconds, stop_reason, dev, dt) -> dict:
    """The dict a recipe returns: the kept iterate ``kept`` (``A, B, Sigma_Z, Sigma_W, loss,
    best_step``) followed by the trajectories and where and how long the training ran."""
    return {
        **kept,
        "loss_history": loss_hist,
        "mi_history": mi_hist,
        "record_every": every,
        "seconds": seconds,
        "stop_reason": stop_reason,
        "device": str(dev),
        "dtype": str(dt),
    }
