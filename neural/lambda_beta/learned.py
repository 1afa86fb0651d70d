"""The learned runs of the λβ study: every (β, λ) cell from the same initialisations, trained
in one batch by either recipe (:mod:`.adamw`, :mod:`.best`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from lingauss.scenarios import Scenario
from lingauss.study import STUDY_BETAS, STUDY_LAMS, study_scenario

from .adamw import STUDY_ADAMW, adamw_initial_parameters, train_adamw
from .best import BestRecipe, train_best

__all__ = ["LearnedRun", "learned_study"]


@dataclass(frozen=True)
class LearnedRun:
    """Result of a batched training run (``P`` members, numpy arrays on the original scale).

    Attributes
    ----------
    scenario : Scenario
    method : str
        ``"adamw"`` or ``"best"``.
    beta, lam : ndarray, shape (P,)
    init : ndarray of int, shape (P,)
    A, B, Sigma_Z, Sigma_W : ndarray
        The kept iterate: the lowest-loss one (AdamW) or the last one (best).
    loss : ndarray, shape (P,)
        λβ loss at the kept iterate.
    best_step : ndarray of int, shape (P,)
        Step of the kept iterate (0 = the initial parameters).
    steps : int
    seconds : float
        Wall time of the training loop.
    loss_history, mi_history : ndarray, shape (records, P)
        Loss and ``I(X;Y)`` every ``record_every`` steps.
    stop_reason : ndarray of str, shape (P,)
        ``"max_steps"``, or ``"nonfinite"`` for a member whose loss stopped being finite
        (its kept iterate is the last finite one).
    device, dtype : str
        Where and in which precision the training ran (e.g. ``"cuda:0"``, ``"float64"``).
    jitter : float
        The floor ``Σ = L L^T + jitter I`` of the AdamW parameterisation (0 for the best recipe).
    """

    scenario: Scenario = field(repr=False)
    method: str
    beta: np.ndarray
    lam: np.ndarray
    init: np.ndarray
    A: np.ndarray = field(repr=False)
    B: np.ndarray = field(repr=False)
    Sigma_Z: np.ndarray = field(repr=False)
    Sigma_W: np.ndarray = field(repr=False)
    loss: np.ndarray
    best_step: np.ndarray
    steps: int
    seconds: float
    loss_history: np.ndarray = field(repr=False)
    mi_history: np.ndarray = field(repr=False)
    record_every: int
    stop_reason: np.ndarray
    device: str = "cpu"
    dtype: str = "float64"
    jitter: float = 0.0

    def __len__(self) -> int:
        return self.beta.size


def _grid(betas, lams, K):
    betas = np.asarray(betas, dtype=float).ravel()
    lams = np.asarray(lams, dtype=float).ravel()
    if betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas <= 0):
        raise ValueError(f"betas: must be a non-empty list of positive numbers, got {betas}")
    if lams.size == 0 or not np.all(np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError(f"lams: must be a non-empty list of numbers >= 0, got {lams}")
    bb, ll = (x.ravel() for x in np.meshgrid(betas, lams, indexing="ij"))
    return np.repeat(bb, K), np.repeat(ll, K), np.tile(np.arange(K), bb.size)


# ------------------------------------------------------------------------- the study
def learned_study(
    n: int | Scenario = 50,
    inits: int = 5,
    *,
    method: str = "adamw",
    seed: int | None = 0,
    betas: Sequence[float] = STUDY_BETAS,
    lams: Sequence[float] = STUDY_LAMS,
    steps: int | None = None,
    dtype="float64",
    device="cpu",
    threads: int | None = 1,
    progress=None,
) -> LearnedRun:
    """Train every (β, λ) cell from the same ``inits`` initialisations, all in one batch.

    Parameters
    ----------
    n : {50, 100} or Scenario
    inits : int
        Initialisations per cell (the study: 50), shared by all cells.
    method : {"adamw", "best"}
        The study's AdamW recipe (:data:`STUDY_ADAMW`, ``n = 50`` settings for other
        scenarios) or the project's :class:`BestRecipe`.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the initialisations (both methods start from
        the same ``B``, ``Σ_W`` draws).
    steps : int, optional
        Override the recipe's number of steps (e.g. for a quick look; then it is not the
        study's protocol).
    dtype, device : torch dtype and device requests (:mod:`neural.device`).
    threads : int or None
        Intra-op torch threads during training (default 1; ``None`` keeps torch's setting).
    progress : callable, optional
        ``progress(step, steps)``, called at every record.

    Returns
    -------
    LearnedRun
        Use :func:`learned_frame` for the tidy table.
    """
    if method not in ("adamw", "best"):
        raise ValueError(f"method: expected 'adamw' or 'best', got {method!r}")
    sc = n if isinstance(n, Scenario) else study_scenario(n)
    rng = np.random.default_rng(seed)
    A0, B0, LZ0, LW0 = adamw_initial_parameters(sc.n, sc.m, inits, rng)
    beta, lam, init = _grid(betas, lams, int(inits))
    cells = beta.size // int(inits)
    recipe, out = _train(
        sc, method, beta, lam, cells, A0, B0, LZ0, LW0, steps, dtype, device, threads, progress
    )
    return LearnedRun(
        scenario=sc,
        method=method,
        beta=beta,
        lam=lam,
        init=init,
        A=out["A"],
        B=out["B"],
        Sigma_Z=out["Sigma_Z"],
        Sigma_W=out["Sigma_W"],
        loss=out["loss"],
        best_step=out["best_step"],
        steps=int(recipe.steps),
        seconds=float(out["seconds"]),
        loss_history=out["loss_history"],
        mi_history=out["mi_history"],
        record_every=int(out["record_every"]),
        stop_reason=np.asarray(out["stop_reason"]).astype(str),
        device=str(out["device"]),
        dtype=str(out["dtype"]).removeprefix("torch."),
        jitter=float(getattr(recipe, "jitter", 0.0)),
    )


def _train(sc, method, beta, lam, cells, A0, B0, LZ0, LW0, steps, dtype, device, threads, progress):
    tile = lambda x: np.tile(x, (cells, 1, 1))  # noqa: E731
    if method == "adamw":
        recipe = STUDY_ADAMW.get(sc.n, STUDY_ADAMW[50])
        if steps is not None:
            recipe = replace(recipe, steps=_check_steps(steps))
        out = train_adamw(
            sc,
            beta,
            lam,
            (tile(A0), tile(B0), tile(LZ0), tile(LW0)),
            recipe,
            dtype=dtype,
            device=device,
            threads=threads,
            progress=progress,
        )
    else:
        recipe = BestRecipe() if steps is None else BestRecipe(steps=_check_steps(steps))
        Sw0 = LW0 @ np.swapaxes(LW0, -1, -2)
        out = train_best(
            sc,
            beta,
            lam,
            tile(B0),
            tile(Sw0),
            recipe,
            dtype=dtype,
            device=device,
            threads=threads,
            progress=progress,
        )
    return recipe, out


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps: must be a positive integer, got {steps!r}")
    return int(steps)
