"""Per-member optimisation of a batched model: Adam with one learning rate per member, and the
masked checks and restores that let one member fail or stop without touching the others.

Every parameter has the members as its leading dimension ``G``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["BatchedAdam", "finite_member_grads", "restore_members"]


class BatchedAdam:
    """Adam with one learning rate per member (leading dimension of every parameter).

    ``m ← β1 m + (1-β1) g``, ``v ← β2 v + (1-β2) g²``,
    ``θ ← θ - lr_g · m̂ / (sqrt(v̂) + ε)`` with the bias corrections ``m̂ = m / (1-β1^t)``,
    ``v̂ = v / (1-β2^t)``; a member with ``lr_g = 0`` does not move (even if its moments are
    not finite).
    """

    def __init__(self, params: Sequence[torch.nn.Parameter], betas=(0.9, 0.999), eps=1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.b1, self.b2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: torch.Tensor):
        """One update with per-member learning rates ``lr`` (shape ``(G,)``)."""
        self.t += 1
        c1 = 1.0 - self.b1**self.t
        c2 = 1.0 - self.b2**self.t
        active = lr > 0
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
            shape = (-1,) + (1,) * (p.ndim - 1)
            upd = (m / c1) / ((v / c2).sqrt() + self.eps) * lr.view(shape)
            p.sub_(torch.where(active.view(shape), upd, torch.zeros_like(upd)))

    def reset_members(self, mask: torch.Tensor):
        """Zero the moments of the members in ``mask`` (e.g. after restoring them)."""
        for m, v in zip(self.m, self.v):
            shape = (-1,) + (1,) * (m.ndim - 1)
            m.masked_fill_(mask.view(shape), 0.0)
            v.masked_fill_(mask.view(shape), 0.0)


def finite_member_grads(params, G) -> torch.Tensor:
    """Per member (leading dimension ``G``), whether every gradient entry is finite, shape (G,)."""
    ok = None
    for p in params:
        if p.grad is None:
            continue
        f = torch.isfinite(p.grad).reshape(G, -1).all(dim=1)
        ok = f if ok is None else ok & f
    return ok


@torch.no_grad()
def restore_members(params, best, mask: torch.Tensor):
    """Copy ``best`` into ``params`` for the members in ``mask`` (shape (G,)), in place."""
    for p, bp in zip(params, best):
        shape = (-1,) + (1,) * (p.ndim - 1)
        p.copy_(torch.where(mask.view(shape), bp, p))
