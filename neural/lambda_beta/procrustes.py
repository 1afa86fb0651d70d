"""The Procrustes explanation of the learned–fixed-point metric gaps.

:func:`explain_gap` aligns each learned encoder to the fixed-point one of the same cell by an
orthogonal Procrustes rotation of the latent space (the loss is invariant under ``X → Q X``;
the metrics are not) and splits each metric gap into a rotation part and a different-solution
part, beside the loss gap; :func:`summarize_explanation` gives each cell a verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lingauss.study import FixedPointGrid, evaluate_solutions, expected_regime

from .learned import LearnedRun

__all__ = [
    "procrustes_rotation",
    "rotate_encoder",
    "explain_gap",
    "summarize_explanation",
    "LOSS_GAP_RTOL",
    "EXPLAINED_RTOL",
    "EXPLAINED_ATOL",
]


def procrustes_rotation(B_from, B_to, Sigma_Y=None) -> np.ndarray:
    """Orthogonal ``Q`` minimising ``E||Q B_from y - B_to y||² = ||(Q B_from - B_to) Σ_Y^½||_F²``.

    ``Q = U V^T`` with ``U S V^T = svd(B_to Σ_Y B_from^T)`` (orthogonal Procrustes on the latent
    means, weighted by the data covariance; ``Σ_Y = I`` when omitted). Batched over leading
    dimensions.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> B = rng.standard_normal((3, 5))
    >>> Q0, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    >>> bool(np.allclose(procrustes_rotation(B, Q0 @ B), Q0))
    True
    """
    B_from = np.asarray(B_from, dtype=float)
    B_to = np.asarray(B_to, dtype=float)
    if B_from.shape[-2:] != B_to.shape[-2:]:
        raise ValueError(f"B_to: expected shape (..., {B_from.shape[-2:]}), got {B_to.shape}")
    M = (
        B_to @ np.swapaxes(B_from, -1, -2)
        if Sigma_Y is None
        else (B_to @ np.asarray(Sigma_Y, dtype=float) @ np.swapaxes(B_from, -1, -2))
    )
    U, _, Vt = np.linalg.svd(M)
    return U @ Vt


def rotate_encoder(Q, A, B, Sigma_Z, Sigma_W):
    """The same model with latents ``X' = Q X``: ``(A Q^T, Q B, Σ_Z, Q Σ_W Q^T)``.

    The prior ``N(0, I)`` is rotation invariant, so every loss term is unchanged.
    """
    Qt = np.swapaxes(Q, -1, -2)
    Sw = Q @ Sigma_W @ Qt
    return A @ Qt, Q @ B, Sigma_Z, 0.5 * (Sw + np.swapaxes(Sw, -1, -2))


def explain_gap(run: LearnedRun, fixed: FixedPointGrid) -> pd.DataFrame:
    """Split each learned–fixed-point metric gap into rotation and different-solution parts.

    For learned member ``p`` (cell ``(β, λ)``, initialisation ``k``) the reference is the
    fixed-point solution of the same cell from initialisation ``k mod K_fp``. With ``Q`` the
    Procrustes rotation of the learned encoder onto the reference (:func:`procrustes_rotation`,
    ``Σ_Y``-weighted) and ``M`` a metric (SAP, matched MI)::

        M(learned) - M(fp) = [M(learned) - M(Q·learned)] + [M(Q·learned) - M(fp)]
                              rotation part                 solution part

    ``Q·learned`` has exactly the learned loss; the solution part is what no rotation can
    remove, and goes with ``loss_gap = L(learned) - L(fp)`` and the alignment residual
    ``||(Q B_l - B_fp) Σ_Y^{1/2}||_F / max(||B_fp Σ_Y^{1/2}||_F, ||B_l Σ_Y^{1/2}||_F)`` (0 when
    the two encoders are the same solution up to rotation).

    Returns
    -------
    pandas.DataFrame
        One row per learned member: ``method, n, beta, lam, init, expected_regime``,
        ``loss_learned, loss_fp, loss_gap, recon_learned, recon_fp, recon_gap``, and for
        ``M`` in ``sap, matched_mi``: ``M_learned, M_fp, M_aligned, M_gap, M_rotation,
        M_solution``; ``alignment_residual``.
    """
    sc = run.scenario
    if fixed.scenario.n != sc.n:
        raise ValueError(f"fixed: n = {fixed.scenario.n} does not match the learned n = {sc.n}")
    K_fp = int(fixed.init.max()) + 1
    ref = np.empty(len(run), dtype=int)
    for p in range(len(run)):
        hit = np.flatnonzero(
            (fixed.beta == run.beta[p])
            & (fixed.lam == run.lam[p])
            & (fixed.init == run.init[p] % K_fp)
        )
        if hit.size != 1:
            raise ValueError(
                f"fixed: no fixed-point solution for beta={run.beta[p]}, lam={run.lam[p]}"
            )
        ref[p] = hit[0]
    fA, fB, fSz, fSw = fixed.full_parameters(ref)
    Q = procrustes_rotation(run.B, fB, sc.Sigma_Y)
    rA, rB, rSz, rSw = rotate_encoder(Q, run.A, run.B, run.Sigma_Z, run.Sigma_W)
    learned = evaluate_solutions(sc, run.A, run.B, run.Sigma_Z, run.Sigma_W, run.beta, run.lam)
    aligned = evaluate_solutions(sc, rA, rB, rSz, rSw, run.beta, run.lam)
    fp = fixed.metrics.iloc[ref].reset_index(drop=True)
    ev, U = np.linalg.eigh(sc.Sigma_Y)
    S = (U * np.sqrt(ev)) @ U.T
    diff = np.linalg.norm((rB - fB) @ S, axis=(-2, -1))
    scale = np.maximum(
        np.linalg.norm(fB @ S, axis=(-2, -1)), np.linalg.norm(run.B @ S, axis=(-2, -1))
    )
    out = pd.DataFrame(
        {
            "method": run.method,
            "n": sc.n,
            "beta": run.beta,
            "lam": run.lam,
            "init": run.init,
            "expected_regime": [expected_regime(b, lm) for b, lm in zip(run.beta, run.lam)],
            "loss_learned": learned.loss,
            "loss_fp": fp.loss,
            "loss_gap": learned.loss - fp.loss,
            "recon_learned": learned.recon,
            "recon_fp": fp.recon,
            "recon_gap": learned.recon - fp.recon,
        }
    )
    for metric in ("sap", "matched_mi"):
        out[f"{metric}_learned"] = learned[metric]
        out[f"{metric}_fp"] = fp[metric]
        out[f"{metric}_aligned"] = aligned[metric]
        out[f"{metric}_gap"] = learned[metric] - fp[metric]
        out[f"{metric}_rotation"] = learned[metric] - aligned[metric]
        out[f"{metric}_solution"] = aligned[metric] - fp[metric]
    out["alignment_residual"] = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), 0.0)
    return out


#: A loss gap below this (nats, relative to ``1 + |L|``) counts as "the same loss".
LOSS_GAP_RTOL = 1e-6
#: A metric gap counts as explained by rotation when what the rotation leaves is at most this
#: fraction of it, or below ``EXPLAINED_ATOL`` (SAP and matched MI are O(0.1-1)).
EXPLAINED_RTOL = 0.1
EXPLAINED_ATOL = 1e-3


def summarize_explanation(df: pd.DataFrame) -> pd.DataFrame:
    """Per-cell means of :func:`explain_gap`, whether the losses agree, and a verdict.

    ``same_loss``: ``|loss_gap| <= LOSS_GAP_RTOL · (1 + |L_fp|)``. ``verdict``:

    * ``"no-minimum"``: β = 1, λ > 0 (or β < 1): both numbers are where a stopping rule fired;
    * ``"flat"``: β = 1, λ = 0: a continuum of minimisers sharing one loss value;
    * ``"collapsed"``: the fixed point carries no information (matched MI < 1e-6);
    * ``"rotation"``: for SAP and matched MI, the part no rotation removes is at most
      ``EXPLAINED_RTOL`` of the gap (or below ``EXPLAINED_ATOL``);
    * ``"different-solution"`` otherwise (read ``loss_gap`` beside it).
    """
    keys = ["method", "n", "beta", "lam"]
    cols = [c for c in df.columns if c not in (*keys, "init", "expected_regime")]
    g = df.groupby(keys, sort=True)
    out = g[cols].mean().reset_index()
    out["inits"] = g.size().to_numpy()
    out["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(out.beta, out.lam)]
    out["same_loss"] = out.loss_gap.abs() <= LOSS_GAP_RTOL * (1 + out.loss_fp.abs())
    verdict = []
    for r in out.itertuples():
        explained = all(
            abs(getattr(r, f"{k}_solution"))
            <= max(EXPLAINED_RTOL * abs(getattr(r, f"{k}_gap")), EXPLAINED_ATOL)
            for k in ("sap", "matched_mi")
        )
        if r.expected_regime == "divergent":
            verdict.append("no-minimum")
        elif r.expected_regime == "flat":
            verdict.append("flat")
        elif r.expected_regime == "collapsed" and r.matched_mi_fp < 1e-6:
            verdict.append("collapsed")
        elif explained:
            verdict.append("rotation")
        else:
            verdict.append("different-solution")
    out["verdict"] = verdict
    return out
