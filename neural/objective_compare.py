"""A learned linear encoder beside the exact optimum of one of the seeds' objectives.

:func:`compare_objective` solves the objective exactly
(:func:`lingauss.objectives.optimize_objective`), trains the linear VAE on samples with the
minibatch version of the same objective (:func:`neural.objective_training.train_objective`)
and evaluates the learned parameters with the *exact* terms
(:func:`lingauss.objectives.objective_loss`). Headline numbers:

* ``gap_share = (L(learned) − L*) / (L(collapse) − L*)``: the share of the achievable
  improvement over the collapsed encoder (``B = 0``, ``Σ_W = I`` with its optimal decoder
  ``A = 0``, ``Σ_Z = diag Σ_Y``) that training leaves on the table (NaN when the optimum is
  itself collapsed, ``L(collapse) = L*``);
* the exact terms of both (``terms_learned``, ``terms_exact``);
* the latent alignment *without* removing the best rotation: for every informative latent
  ``k`` of the optimum (``½ log(C_kk / Σ_W,kk) > INFO_TOL`` nats), the angle
  ``arccos |corr(b_πkᵀ Y, b*_kᵀ Y)|`` to its learned partner, with the best permutation ``π``
  (and sign) — the symmetries every objective has. ``rotation_fixed`` says whether the
  objective fixes the rotation at this optimum (some random latent rotation of the optimum
  raises the exact loss); where it does not (β-VAE, γλ, or TC objectives at ``C = I``) the
  per-latent angles are reported but carry no meaning, and the rotation-invariant
  ``subspace_max_angle_deg`` (principal angles of the informative row spaces) is the yardstick.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import subspace_angles

import lingauss as lg
from lingauss import Scenario
from lingauss.metrics import format_grouping, grouping_success, im_score, sap_score

from .objective_training import ObjectiveTrainResult, train_objective

__all__ = [
    "ObjectiveComparison",
    "compare_objective",
    "collapse_loss",
    "latent_alignment",
    "rotation_fixed",
    "estimator_check",
    "ALIGN_INFO_TOL",
]

#: A latent of the optimum carrying at most this many nats (alone) is not aligned.
ALIGN_INFO_TOL = 1e-3


def collapse_loss(name: str, weights, Sigma_Y, m: int) -> float:
    """Exact loss of the collapsed encoder ``B = 0, Σ_W = I`` with ``A = 0, Σ_Z = diag Σ_Y``.

    With ``X`` independent of ``Y`` the optimal decoder mean is 0 and the optimal diagonal
    ``Σ_Z`` is ``diag Σ_Y``.
    """
    from lingauss.objectives import objective_loss

    Sy = np.asarray(Sigma_Y, dtype=float)
    n = Sy.shape[0]
    loss, _ = objective_loss(
        name, weights, np.zeros((n, m)), np.zeros((m, n)), np.diag(np.diag(Sy)), np.eye(m), Sy
    )
    return float(loss)


def latent_alignment(B_learned, B_exact, Sigma_W_exact, Sigma_Y, *, info_tol=ALIGN_INFO_TOL):
    """Per-latent angles (degrees) between the exact optimum's informative latents and their
    learned partners, best permutation and signs, no rotation removed.

    Returns ``(angles, permutation)``: ``angles[k]`` for the exact latent ``k`` (NaN for a
    latent with at most ``info_tol`` nats) and ``permutation[k]`` its learned partner.
    """
    Bl, Be, Sy = (np.asarray(a, dtype=float) for a in (B_learned, B_exact, Sigma_Y))
    Swe = np.asarray(Sigma_W_exact, dtype=float)
    m = Be.shape[0]
    sl = np.einsum("ij,jk,ik->i", Bl, Sy, Bl)
    se = np.einsum("ij,jk,ik->i", Be, Sy, Be)
    info = 0.5 * np.log1p(se / np.diag(Swe))
    keep = info > info_tol
    cross = Bl @ Sy @ Be.T
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.abs(cross) / np.sqrt(np.outer(sl, se))
    corr = np.nan_to_num(corr, nan=0.0)
    best, best_perm = -1.0, tuple(range(m))
    for perm in itertools.permutations(range(m)):
        v = sum(corr[perm[k], k] for k in range(m) if keep[k])
        if v > best:
            best, best_perm = v, perm
    ang = np.full(m, np.nan)
    for k in range(m):
        if keep[k]:
            ang[k] = math.degrees(math.acos(min(1.0, corr[best_perm[k], k])))
    return ang, np.array(best_perm)


def rotation_fixed(name, weights, sol, Sigma_Y, *, rotations: int = 8, seed: int = 0) -> bool:
    """Whether some random latent rotation of the optimum raises its exact loss (> 1e-7·(1+|L|))."""
    from lingauss.objectives import objective_loss, rotate_latents

    m = sol.B.shape[0]
    if m < 2:
        return False
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((rotations, m, m)))
    Q = Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :]
    A, B, Sw = rotate_latents(Q, sol.A, sol.B, sol.Sigma_W)
    Sw = 0.5 * (Sw + np.swapaxes(Sw, -1, -2))
    loss, _ = objective_loss(name, weights, A, B, sol.Sigma_Z, Sw, np.asarray(Sigma_Y, float))
    return bool(np.max(np.asarray(loss) - sol.loss) > 1e-7 * (1.0 + abs(sol.loss)))


def estimator_check(name, weights, res: ObjectiveTrainResult, exact_loss, improvement, m):
    """Is the minibatch loss being exploited? The last logging window's minibatch loss
    (tail of training) against the exact optimum.

    The minibatch loss at the learned parameters estimates their exact loss, which is ≥ L*;
    MWS adds the constant ``(α + β(m−1) − γ m) log N`` (its offsets of MI, TC and dimKL, see
    :mod:`neural.objective_estimators`), which is removed first. A final minibatch loss below
    ``L* − 4 se − 0.05 (L(collapse) − L*)`` (4 standard errors of the window mean, plus 5 % of
    the achievable improvement for the estimators' honest O(1/M) bias) means the encoder found
    parameters where the *estimator* is low while the true loss is not: ``estimator_exploited``.
    """
    last = res.history.iloc[-1]
    mb_loss = float(last["loss"])
    from lingauss.objectives import check_objective

    name, w = check_objective(name, weights)
    if name == "beta-tcvae" and res.estimator == "mws":
        mb_loss -= (w["alpha"] + w["beta"] * (m - 1) - w["gamma"] * m) * math.log(res.dataset_size)
    se = float(last.get("loss_se", float("nan")))
    allowance = 4 * (se if math.isfinite(se) else 0.0) + 0.05 * max(improvement, 0.0)
    out = {
        "minibatch_loss_final": mb_loss,
        "minibatch_loss_se": _finite(se),
        "estimator_exploited": bool(mb_loss < exact_loss - allowance),
    }
    for key in ("tc", "mi", "dimkl", "tc_discriminator"):
        if key in res.history:
            out[f"minibatch_{key}_final"] = float(last[key])
    return out


@dataclass(frozen=True)
class ObjectiveComparison:
    """Result of :func:`compare_objective`.

    Attributes
    ----------
    summary : dict
        JSON-ready (see :func:`compare_objective`).
    table : DataFrame
        Tidy ``quantity, component, path, value``: every exact term of the optimum
        (``path="exact"``), the learned parameters and the collapsed encoder, plus the
        comparison quantities.
    solution : lingauss.objectives.ObjectiveSolution
    training : ObjectiveTrainResult
    """

    summary: dict
    table: pd.DataFrame
    solution: object = field(repr=False)
    training: ObjectiveTrainResult = field(repr=False)

    def to_json(self) -> str:
        return json.dumps(self.summary, indent=2, sort_keys=True, default=_json_default)


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


def _finite(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _metrics(sc: Scenario, B, Sigma_W) -> dict:
    cov = sc.joint_cov_xv(B, Sigma_W, x_block="true")
    im = im_score(cov, sc.m)
    out = {
        "im_grouping": format_grouping(im.grouping) if im.grouping else "",
        "im_success": bool(grouping_success(im.grouping, sc.groups, sc.m))
        if im.grouping
        else False,
    }
    if sc.m >= 2:
        sap = sap_score(cov, sc.m)
        out["sap_grouping"] = format_grouping(sap.grouping)
        out["sap_success"] = bool(grouping_success(sap.grouping, sc.groups, sc.m))
    return out


def compare_objective(
    scenario: Scenario | str,
    name: str,
    weights: Mapping[str, float] | None = None,
    *,
    number: int | None = None,
    preset: str = "analytic",
    seed: int = 0,
    estimator: str = "mss",
    restarts: int = 4,
    **training,
) -> ObjectiveComparison:
    """Exact optimum vs learned linear encoder for one objective on one scenario.

    Parameters
    ----------
    scenario : lingauss.Scenario or str
        A scenario, or a published configuration name (then give ``number``).
    name, weights
        The objective (validated by :func:`lingauss.objectives.check_objective`; weights that
        make it unbounded below are refused by the exact optimiser).
    seed : int
        Seeds the exact optimiser's restarts and the training run.
    estimator : {"mss", "mws"}
        β-TCVAE's minibatch estimator.
    restarts : int
        Restarts of the exact optimiser.
    **training
        Passed to :func:`neural.objective_training.train_objective` (``steps``,
        ``batch_size``, ``dataset_size``, ``lr``, ...).

    Returns
    -------
    ObjectiveComparison
        ``summary`` holds the keys of :func:`neural.compare` (``config, scenario, preset,
        gamma, lam, seed, model, device, regime, constrained, floor_w, floor_z,
        analytic_loss, learned_loss, loss_gap, mi_xy_*, max_principal_angle_deg,
        informative_dim, train_*``, the I_m / SAP groupings and successes of both, ``truth``;
        ``gamma``/``lam`` are the γλ weights, else ``None``) plus ``objective, weights,
        estimator, exact_loss, learned_loss, collapse_loss, gap_share, terms_learned,
        terms_exact, alignment_angles_deg, alignment_max_angle_deg, rotation_fixed,
        subspace_max_angle_deg, gradient_norm`` and :func:`estimator_check`'s
        ``minibatch_loss_final``, ``estimator_exploited``, ``minibatch_tc_final`` (...).
    """
    from lingauss.objectives import check_objective, objective_loss, optimize_objective

    name, w = check_objective(name, weights)
    sc = scenario if isinstance(scenario, Scenario) else lg.scenario(scenario, number, preset)
    Sy = sc.Sigma_Y
    sol = optimize_objective(name, w, Sy, sc.m, seed=seed, restarts=restarts, certify=False)
    res = train_objective(Sy, sc.m, name, w, estimator=estimator, seed=seed, **training)
    l_learned, t_learned = objective_loss(name, w, res.A, res.B, res.Sigma_Z, res.Sigma_W, Sy)
    l_collapse = collapse_loss(name, w, Sy, sc.m)
    improvement = l_collapse - sol.loss
    share = (l_learned - sol.loss) / improvement if improvement > 1e-12 else math.nan
    angles, perm = latent_alignment(res.B, sol.B, sol.Sigma_W, Sy)
    info_e = lg.encoder_mutual_information(sol.B, sol.Sigma_W, Sy)
    info_l = lg.encoder_mutual_information(res.B, res.Sigma_W, Sy)
    # informative row spaces (rotation invariant): rows of L_W^{-1} B weighted by information
    sub = math.nan
    k = int(np.sum(~np.isnan(angles)))
    if k > 0:
        from neural import informative_row_space

        ra, _ = informative_row_space(sol.B, sol.Sigma_W, Sy)
        if ra.shape[0] > 0:
            rl, _ = informative_row_space(res.B, res.Sigma_W, Sy, k=ra.shape[0])
            sub = float(np.degrees(np.max(subspace_angles(ra.T, rl.T))))
    fixed = rotation_fixed(name, w, sol, Sy, seed=seed)
    mb = estimator_check(name, w, res, sol.loss, improvement, sc.m)
    te = {kk: float(v) for kk, v in sol.terms.as_dict().items()}
    tl = {kk: float(v) for kk, v in t_learned.as_dict().items()}
    summary = {
        "config": sc.config,
        "scenario": sc.number if sc.number is not None else sc.name,
        "preset": sc.preset,
        "objective": name,
        "weights": w,
        "estimator": estimator,
        "gamma": w["gamma"] if name == "gamma-lambda" else None,
        "lam": w["lam"] if name == "gamma-lambda" else None,
        "seed": int(seed),
        "model": "linear",
        "device": "cpu",
        "regime": sol.regime,
        "constrained": False,
        "floor_w": None,
        "floor_z": None,
        "analytic_stop_reason": "optimize_objective",
        "analytic_floor_active": False,
        "analytic_loss": float(sol.loss),
        "exact_loss": float(sol.loss),
        "learned_loss": float(l_learned),
        "learned_loss_method": "closed_form",
        "learned_loss_se": 0.0,
        "collapse_loss": float(l_collapse),
        "loss_gap": float(l_learned - sol.loss),
        "gap_share": _finite(float(share)),
        "gradient_norm": float(sol.gradient_norm),
        "terms_exact": te,
        "terms_learned": tl,
        "mi_xy_analytic": float(info_e),
        "mi_xy_learned": float(info_l),
        "alignment_angles_deg": [_finite(float(a)) for a in angles],
        "alignment_permutation": [int(p) for p in perm],
        "alignment_max_angle_deg": _finite(float(np.nanmax(angles))) if k else None,
        "rotation_fixed": fixed,
        **mb,
        "subspace_max_angle_deg": _finite(sub),
        "max_principal_angle_deg": _finite(sub),
        "informative_dim": k,
        "train_steps": int(res.steps),
        "train_stop_reason": "max_steps",
        "train_wall_time_s": float(res.wall_time_s),
        "train_batch_size": int(res.batch_size),
        "train_dataset_size": int(res.dataset_size),
        "truth": format_grouping(sc.groups),
    }
    for path, (B, Sw) in (("analytic", (sol.B, sol.Sigma_W)), ("learned", (res.B, res.Sigma_W))):
        for key, v in _metrics(sc, B, Sw).items():
            metric, what = key.split("_")
            summary[f"{metric}_{what}_{path}"] = v
    rows = []
    for path, terms, loss in (("exact", te, sol.loss), ("learned", tl, l_learned)):
        rows.append({"quantity": "loss", "component": 0, "path": path, "value": float(loss)})
        rows += [
            {"quantity": q, "component": 0, "path": path, "value": v} for q, v in terms.items()
        ]
    rows.append({"quantity": "loss", "component": 0, "path": "collapse", "value": l_collapse})
    rows.append({"quantity": "gap_share", "component": 0, "path": "comparison", "value": share})
    for j, a in enumerate(angles):
        rows.append(
            {
                "quantity": "alignment_angle_deg",
                "component": j,
                "path": "comparison",
                "value": float(a),
            }
        )
    rows.append(
        {"quantity": "subspace_max_angle_deg", "component": 0, "path": "comparison", "value": sub}
    )
    return ObjectiveComparison(summary, pd.DataFrame(rows), sol, res)
