"""Options of one batched run, checked once: :class:`RunConfig` and :func:`make_config`."""

from __future__ import annotations

from dataclasses import dataclass

from ..validation import check_positive_scalar
from .floor import parse_variance_floor

__all__ = ["RunConfig", "make_config", "STOP_RULES", "HISTORIES"]

#: The stopping rules of the loop (see :mod:`lingauss.solver.stop_rules`).
STOP_RULES = ("exact", "notebook", "block", "none")
#: What the run records every ``history_every`` half-steps: ``"full"`` (loss and I(X;Y)),
#: ``"regime"`` (only the records the regime test reads), ``"mi"`` (I(X;Y) only).
HISTORIES = ("full", "regime", "mi")


@dataclass(frozen=True)
class RunConfig:
    """Everything a batched run needs besides its arrays (picklable, for worker processes).

    Attributes
    ----------
    diagonal : bool
        Diagonal Σ_Z (the paper's model) or full Σ_Z (the follow-up study).
    max_half_steps, history_every : int
    floor : (float, float) or None
        ``(ε_W, ε_Z)`` of the variance floor.
    stop_rule : str
        One of :data:`STOP_RULES`.
    tol, block_tol, collapse_tol : float
        The exact rule's tolerance, the block rule's tolerance, the collapse threshold (nats).
    history : str
        One of :data:`HISTORIES`. ``"mi"`` records I(X;Y) of the members whose ``B`` and
        ``Σ_W`` are finite, never retires a member for its record, and records no loss.
    carry_g : bool
        Full Σ_Z only: form the encoder's ``M A = γ Σ_Z^{-1} A + 2λ A`` as ``γ G + 2λ A``
        with ``G = B^T Σ_W^{-1}`` (``Σ_Z^{-1} A = J P G = G``, with ``J = Σ_Z^{-1}``) and
        carry ``G = M A`` (equal to ``B^T Σ_W^{-1}`` after an encoder step) into the next
        decoder step; the first ``G`` uses LAPACK's unsymmetrised ``Σ_W0^{-1}``. This is the
        λβ study's arithmetic for its authors' rule (one ``n x n`` product fewer per
        iteration); the default forms ``(γ J + 2λ I) A`` and recomputes ``G``, which rounds
        less once Σ_W is ill-conditioned. Not with a variance floor.
    """

    diagonal: bool = True
    max_half_steps: int = 10_000
    history_every: int = 20
    floor: tuple[float, float] | None = None
    stop_rule: str = "exact"
    tol: float = 1e-10
    block_tol: float | None = None
    collapse_tol: float = 1e-8
    history: str = "full"
    carry_g: bool = False


def make_config(
    *,
    diagonal: bool = True,
    max_half_steps: int = 10_000,
    tol: float = 1e-10,
    stop_rule: str = "exact",
    history_every: int | None = None,
    collapse_tol: float = 1e-8,
    variance_floor=None,
    block_tol: float | None = None,
    history: str = "full",
    carry_g: bool = False,
) -> RunConfig:
    """A checked :class:`RunConfig` (arguments as in
    :func:`lingauss.solver.blahut_arimoto_batch`; ``history_every`` defaults to
    ``max(1, max_half_steps // 500)``)."""
    if history not in HISTORIES:
        raise ValueError(f"history: expected one of {HISTORIES}, got {history!r}")
    if stop_rule not in STOP_RULES:
        raise ValueError(
            f"stop_rule: expected 'exact', 'notebook', 'block' or 'none', got {stop_rule!r}"
        )
    if stop_rule == "block":
        if block_tol is None:
            raise ValueError("block_tol: required with stop_rule='block'")
        block_tol = check_positive_scalar(block_tol, "block_tol")
    if history_every is None:
        history_every = max(1, int(max_half_steps) // 500)
    floor = parse_variance_floor(variance_floor)
    if int(max_half_steps) < 1:
        raise ValueError(f"max_half_steps: must be >= 1, got {max_half_steps!r}")
    if int(history_every) < 1:
        raise ValueError(f"history_every: must be >= 1, got {history_every!r}")
    tol = check_positive_scalar(tol, "tol")
    if carry_g and (diagonal or floor is not None):
        raise ValueError("carry_g: only for a full Sigma_Z without a variance floor")
    # the fields in their order (see RunConfig)
    fields = (diagonal, int(max_half_steps), int(history_every), floor, stop_rule, tol)
    return RunConfig(*fields, block_tol, collapse_tol, history, bool(carry_g))
