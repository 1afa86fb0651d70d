"""The fixed-point half of the λβ study: every (β, λ) cell × initialisations in one batch.

The λβ loss ``L_λβ = NLL + β KL + λ MSE`` is ``β`` times the γλ loss with ``γ = 1/β`` and
``λ_γλ = λ/β`` (:func:`lingauss.loss.gamma_lambda_from_lambda_beta`), so the solver's one
loop (:mod:`lingauss.solver`) serves the study, with the decoder's **full** posterior
covariance Σ_Z, in the reduced coordinates of :mod:`lingauss.study.reduction`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..gaussian import entropy
from ..scenarios import Scenario
from ..solver import classify_regime, random_encoder
from ..solver.batch import check_batch_inputs, run_batch
from ..solver.config import make_config
from ..validation import as_float_array, check_positive_scalar
from .evaluation import evaluate_stack
from .grid import FixedPointGrid
from .published import (
    AUTHORS_FIXED_POINT,
    STUDY_BETAS,
    STUDY_LAMS,
    expected_regime,
    study_scenario,
)
from .reduction import reduction_basis

__all__ = [
    "SETTLED_RTOL",
    "settled",
    "grid_arrays",
    "resolve_scenario",
    "solve_fixed_point_grid",
    "fixed_point_study",
    "grid_frame",
]


def grid_arrays(betas, lams):
    betas = as_float_array(betas, "betas", ndim=1)
    lams = as_float_array(lams, "lams", ndim=1)
    if betas.size == 0 or np.any(betas <= 0):
        raise ValueError(f"betas: must be a non-empty list of positive numbers, got {betas}")
    if lams.size == 0:
        raise ValueError("lams: must be a non-empty list")
    return betas, lams


def resolve_scenario(n) -> Scenario:
    if isinstance(n, Scenario):
        return n
    return study_scenario(n)


#: A run has settled when the rise of I(X;Y) still to come, extrapolated geometrically from
#: its last two recorded increments, is at most this fraction of ``1 + I(X;Y)``.
SETTLED_RTOL = 1e-4


def settled(rec: np.ndarray) -> bool:
    """Whether an ``I(X;Y)`` record (equally spaced) looks converged rather than drifting.

    With increments ``d1, d2`` of the last three records, a geometric tail ``r = d2/d1 < 1``
    has ``d2 r / (1 - r)`` left to go. A drift to a deterministic encoder (no minimum) grows
    like a logarithm: ``r → 1`` and the extrapolated remainder stays large (several nats),
    while converging runs have remainders of 1e-6 nats or less.
    """
    if rec.size < 3:
        return True
    d1, d2 = rec[-2] - rec[-3], rec[-1] - rec[-2]
    scale = 1.0 + abs(rec[-1])
    if abs(d2) <= 1e-12 * scale:
        return True
    if d1 * d2 <= 0 or abs(d2) >= abs(d1):
        return False
    r = d2 / d1
    return abs(d2) * r / (1.0 - r) <= SETTLED_RTOL * scale


def solve_fixed_point_grid(
    n: int | Scenario = 50,
    inits: int = 50,
    *,
    stop_rule: str = "exact",
    seed: int | None = None,
    betas: Sequence[float] = STUDY_BETAS,
    lams: Sequence[float] = STUDY_LAMS,
    init: str = "authors",
    max_half_steps: int | None = None,
    block_tol: float | None = None,
    tol: float = 1e-10,
    collapse_tol: float = 1e-8,
    n_jobs: int | None = 1,
) -> FixedPointGrid:
    """Solve every (β, λ) cell from the same ``inits`` initial encoders, all in one batch.

    Parameters
    ----------
    n : {50, 100} or Scenario
        The study's shipped covariances (``scenario(f"lambda-beta-n{n}")``), or any scenario.
    inits : int
        Initial encoders per cell (the study: 50), shared by all cells.
    stop_rule : {"exact", "authors"}
        ``"exact"``: :func:`lingauss.blahut_arimoto.blahut_arimoto_batch`'s convergence and
        regime detection (``tol``; drifting runs stop at ``"resolution_limit"``).
        ``"authors"``: the study's rule: stop when both matrices of the block just updated
        moved by at most ``block_tol`` (Frobenius) since that block's previous update.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the initial encoders.
    betas, lams : sequences of float
        The grid (λβ weights; the solver runs ``γ = 1/β``, ``λ_γλ = λ/β``).
    init : {"authors", "exchangeable"}
        Law of the initial ``Σ_W`` (:func:`lingauss.blahut_arimoto.random_encoder`).
    max_half_steps, block_tol : optional
        Default to the study's protocol, :data:`AUTHORS_FIXED_POINT` (50 000 / 1e-6 for
        ``n = 50``, 100 000 / 1e-5 for ``n = 100``; the ``n = 50`` values for other
        scenarios). ``max_half_steps`` is the budget of both rules.
    tol, collapse_tol : float
        The exact rule's tolerance and the collapse threshold on ``I(X;Y)`` (nats).
    n_jobs : int, optional
        Worker processes for either rule (as in
        :func:`~lingauss.blahut_arimoto.blahut_arimoto_batch`; results are bit-identical).

    Returns
    -------
    FixedPointGrid
    """
    if stop_rule not in ("exact", "authors"):
        raise ValueError(f"stop_rule: expected 'exact' or 'authors', got {stop_rule!r}")
    if isinstance(inits, bool) or not isinstance(inits, int | np.integer) or inits < 1:
        raise ValueError(f"inits: must be a positive integer, got {inits!r}")
    sc = resolve_scenario(n)
    betas, lams = grid_arrays(betas, lams)
    H0, tol0 = AUTHORS_FIXED_POINT.get(sc.n, AUTHORS_FIXED_POINT[50])
    H = int(H0 if max_half_steps is None else max_half_steps)
    if H < 1:
        raise ValueError(f"max_half_steps: must be >= 1, got {max_half_steps!r}")
    block_tol = check_positive_scalar(tol0 if block_tol is None else block_tol, "block_tol")
    m = sc.m
    lam_max = np.linalg.eigvalsh(sc.Sigma_Y)[-1]
    # Σ_Z ≤ Σ_Y after a decoder step, so M = (Σ_Z^{-1} + 2λ I)/β stays PD if 1/λ_max + 2λ > 0
    if np.any(1.0 / lam_max + 2.0 * lams <= 0):
        raise ValueError(
            f"lams: lam <= -1/(2 lambda_max(Sigma_Y)) = {-0.5 / lam_max:.4g} makes the encoder "
            "update ill-posed (M not positive definite)"
        )
    rng = np.random.default_rng(seed)
    B0, Sw0 = random_encoder(m, sc.n, rng, size=int(inits), method=init)
    K = int(inits)
    red = reduction_basis(sc, B0)
    if red is None:
        U, Sy, Gam = None, sc.Sigma_Y, np.broadcast_to(sc.Gamma, (K,) + sc.Gamma.shape)
        B0r = B0
    else:
        U, Sy = red
        B0r = B0 @ U
        Gam = np.swapaxes(U, -1, -2) @ sc.Gamma
    d = Sy.shape[-1]
    bb, ll = (x.ravel() for x in np.meshgrid(betas, lams, indexing="ij"))
    beta = np.repeat(bb, K)
    lam = np.repeat(ll, K)
    cells = bb.size
    init_idx = np.tile(np.arange(K), cells)
    B0p = np.tile(B0r, (cells, 1, 1))
    Sw0p = np.tile(Sw0, (cells, 1, 1))
    # both rules run the solver's one loop; the authors' rule is its block rule, with the
    # study's arithmetic (RunConfig.carry_g) and only the I(X;Y) record it reads
    authors = stop_rule == "authors"
    config = make_config(
        diagonal=False,
        max_half_steps=H,
        tol=tol,
        stop_rule="block" if authors else "exact",
        history_every=2 * max(1, H // 2000),
        collapse_tol=collapse_tol,
        block_tol=block_tol,
        history="mi" if authors else "full",
        carry_g=authors,
    )
    arrays = check_batch_inputs(Sy, m, 1.0 / beta, lam / beta, B0p, Sw0p, diagonal=False)
    res = run_batch(*arrays, config, n_jobs)
    A, B, Sz, Sw = res.A, res.B, res.Sigma_Z, res.Sigma_W
    half_steps, reason = res.half_steps, res.stop_reason
    if authors:
        converged, regime = np.asarray(reason == "block_rule").copy(), None
    else:
        converged, regime = res.converged, res.regime
    ok = reason != "nonfinite"
    metrics = pd.DataFrame(
        {
            k: np.full(beta.size, np.nan)
            for k in ("recon", "sap", "matched_mi", "loss", "kl", "mse", "mi_xy")
        }
    )
    metrics["min_eig_sigma_w"] = np.nan
    if ok.any():
        ev = evaluate_stack(
            A[ok],
            B[ok],
            Sz[ok],
            Sw[ok],
            np.broadcast_to(Sy, (int(ok.sum()), d, d)),
            Gam[init_idx[ok]],
            sc.Sigma_V,
            beta[ok],
            lam[ok],
            n_extra=sc.n - d,
            noise_var=sc.noise_var,
        )
        for k, v in ev.items():
            metrics.loc[ok, k] = v
    if regime is None:
        regime = np.empty(beta.size, dtype=object)
        final_mi = metrics["mi_xy"].to_numpy()
        for p in range(beta.size):
            rec = res.mi_history[:, p]
            rec = rec[np.isfinite(rec)]
            # the block rule also fires on a drift whose steps have become small (n = 100,
            # β = 1, λ > 0): trust it only where the I(X;Y) record says the run has settled
            converged[p] = bool(converged[p]) and settled(rec)
            regime[p] = classify_regime(np.append(rec, final_mi[p]), converged[p], collapse_tol)
        regime = regime.astype(str)
    return FixedPointGrid(
        # the problems, their solutions (reduced coordinates) and the reduction
        scenario=sc,
        beta=beta,
        lam=lam,
        init=init_idx,
        A=res.A,
        B=res.B,
        Sigma_Z=res.Sigma_Z,
        Sigma_W=res.Sigma_W,
        basis=U,
        Sigma_Y_reduced=Sy,
        metrics=metrics,
        # how each run ended
        half_steps=np.asarray(half_steps),
        stop_reason=np.asarray(reason).astype(str),
        converged=np.asarray(converged, dtype=bool),
        regime=np.asarray(regime).astype(str),
        stop_rule=stop_rule,
    )


def fixed_point_study(n: int | Scenario = 50, inits: int = 50, **options) -> pd.DataFrame:
    """The fixed-point half of the λβ study as a tidy table, one row per (n, β, λ, init).

    Every cell of the grid starts from the same ``inits`` random encoders and all cells run
    together in one batch: :func:`solve_fixed_point_grid`, whose arguments (``n``,
    ``inits`` and the keyword ``**options``) this takes.

    Returns
    -------
    pandas.DataFrame
        Columns ``method`` (``"fixed-point"``), ``stop_rule``, ``n``, ``beta``, ``lam``,
        ``init``, ``recon`` (NLL, nats), ``sap``, ``matched_mi``, ``loss`` (λβ total), ``kl``,
        ``mse``, ``mi_xy``, ``min_eig_sigma_w``, ``h_y`` (``h(Y)``), ``regime`` (the run's),
        ``expected_regime`` (:func:`expected_regime`), ``stop_reason``, ``converged``,
        ``half_steps``.

    Examples
    --------
    >>> df = fixed_point_study(50, 2, seed=0, betas=[4.0], lams=[0.0, 2.0])
    >>> df.groupby("lam").regime.first().tolist()
    ['collapsed', 'interior']
    >>> plateau = df[df.lam == 0]
    >>> bool(np.allclose(plateau.recon, plateau.h_y))
    True
    """
    return grid_frame(solve_fixed_point_grid(n, inits, **options))


def grid_frame(grid: FixedPointGrid) -> pd.DataFrame:
    sc = grid.scenario
    df = pd.DataFrame(
        {
            "method": "fixed-point",
            "stop_rule": grid.stop_rule,
            "n": sc.n,
            "beta": grid.beta,
            "lam": grid.lam,
            "init": grid.init,
        }
    )
    df = pd.concat([df, grid.metrics.reset_index(drop=True)], axis=1)
    df["h_y"] = float(entropy(sc.Sigma_Y))
    df["regime"] = grid.regime
    df["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(grid.beta, grid.lam)]
    df["stop_reason"] = grid.stop_reason
    df["converged"] = grid.converged
    df["half_steps"] = grid.half_steps
    return df
