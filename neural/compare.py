"""The analytic optimum beside a learned encoder, for one (scenario, γ, λ) cell.

:func:`analytic_optimum` solves the cell by Blahut–Arimoto (exchangeable initial encoder, exact
stopping rule). A cell is *ill-posed* when γ > 1 (the loss is unbounded below, reference §3)
or when the unconstrained run is classified ``"divergent"`` (the γ = 1 boundary); both paths
then apply the same :class:`~neural.config.VarianceFloor` — BA as a projected update, the
network through its parameterisation — and the output says ``constrained``.

:func:`compare` trains the network on samples of the scenario (:func:`neural.train_grid`) and
returns one tidy table (:class:`Comparison`): the closed-form loss of the learned parameters
against the analytic optimum, rotation-invariant quantities (singular values of B, I(X;Y),
I(X;V), the authors' reconstruction error), the principal angles between the informative row
spaces of the two encoders, the Procrustes-aligned differences, and the I_m / SAP scores and
groupings of both (exact, from the joint covariance), plus the learned encoder's metrics
estimated from samples (plug-in, optionally KSG).

Informative row space: with ``G = L_W^{-1} B`` (``L_W L_W^T = Σ_W``) and the eigenpairs
``(κ_j, u_j)`` of ``G Σ_Y G^T``, latent direction ``j`` carries ``½ log(1 + κ_j)`` nats about
``Y``; the rows ``u_j^T G`` of the ``k`` directions carrying more than ``info_tol`` span the part
of ``R^n`` the encoder reads. The subspace is invariant under ``X → Q X``; the angles compare the
analytic subspace with the learned one of the same dimension (its ``k`` most informative
directions).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes, subspace_angles

from lingauss import Scenario
from lingauss import scenario as make_published
from lingauss.blahut_arimoto import Solution, blahut_arimoto, encoder_mutual_information
from lingauss.decomposition import kl_decomposition
from lingauss.gaussian import mutual_information
from lingauss.loss import gamma_lambda_loss, reconstruction_error
from lingauss.metrics import (
    dci_score,
    format_grouping,
    grouping_success,
    im_score,
    mig_score,
    sap_score,
)

from .config import LinearVAEConfig, MLPVAEConfig, TrainingConfig, VarianceFloor
from .data import ScenarioSampler, make_generator
from .device import resolve_device
from .estimators import empirical_metrics
from .models import LinearGaussianVAE
from .objective import mc_loss
from .training import TrainResult, train_grid

__all__ = [
    "AnalyticCell",
    "Comparison",
    "analytic_optimum",
    "compare",
    "compare_parameters",
    "informative_row_space",
    "is_ill_posed",
    "INFO_TOL",
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


def _metric_block(sc: Scenario, B, Sigma_W):
    cov = sc.joint_cov_xv(B, Sigma_W, x_block="true")
    m, s = sc.m, sc.s
    im = im_score(cov, m)
    out = {
        "mi_xv": float(mutual_information(cov, list(range(m)), list(range(m, m + s)))),
        "im": im.value,
        "im_grouping": im.grouping,
        "im_tied": im.tied,
        "im_success": grouping_success(im.grouping, sc.groups, m) if im.grouping else False,
    }
    if m >= 2:
        sap = sap_score(cov, m)
        out.update(
            sap=sap.score,
            sap_grouping=sap.grouping,
            sap_tied=sap.tied,
            sap_success=grouping_success(sap.grouping, sc.groups, m),
        )
    return out


def _rel(a, b) -> float:
    den = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / den) if den > 0 else float(np.linalg.norm(a - b))


def compare_parameters(
    sc: Scenario, gamma, lam, analytic: dict, learned: dict, *, info_tol=INFO_TOL
):
    """Rows comparing two linear encoders/decoders of a cell (see :func:`compare`).

    ``analytic`` and ``learned`` hold ``A, B, Sigma_Z, Sigma_W`` (2-d arrays). Returns
    ``(rows, extra)``: a list of dicts ``quantity, component, path, value, text`` and a dict of
    headline numbers (max principal angle, informative dimension).
    """
    rows: list[dict] = []

    def add(q, path, value, component=0, text=""):
        rows.append(
            {"quantity": q, "component": int(component), "path": path, "value": value, "text": text}
        )

    Sy = sc.Sigma_Y
    for path, P in (("analytic", analytic), ("learned", learned)):
        t = gamma_lambda_loss(P["A"], P["B"], P["Sigma_Z"], P["Sigma_W"], Sy, gamma, lam)
        for term in ("total", "kl", "nll", "mse"):
            add(f"loss_{term}", path, float(getattr(t, term)))
        add("mi_xy", path, float(encoder_mutual_information(P["B"], P["Sigma_W"], Sy)))
        # the β-TCVAE decomposition of the KL term and the other yardsticks (issue 6), exact
        dec = kl_decomposition(P["B"], P["Sigma_W"], Sy)
        for term in ("index_code_mi", "total_correlation", "dimensionwise_kl", "marginal_kl"):
            add(f"kl_{term}", path, float(getattr(dec, term)))
        joint = sc.joint_cov_xv(P["B"], P["Sigma_W"])
        if sc.m >= 2:
            mig = mig_score(joint, sc.m)
            add("mig", path, float(mig.score), text=mig.degenerate or "")
        dci = dci_score(joint, sc.m)
        add("dci_disentanglement", path, float(dci.disentanglement), text=dci.degenerate or "")
        add("dci_completeness", path, float(dci.completeness))
        add("dci_informativeness", path, float(dci.informativeness))
        add("recon_error", path, float(reconstruction_error(P["A"], P["Sigma_Z"], Sy)))
        for j, sv in enumerate(np.linalg.svd(P["B"], compute_uv=False)):
            add("singular_value_B", path, float(sv), j)
        _, info = informative_row_space(P["B"], P["Sigma_W"], Sy, info_tol=info_tol)
        for j, v in enumerate(info):
            add("info_per_direction", path, float(v), j)
        mb = _metric_block(sc, P["B"], P["Sigma_W"])
        add("mi_xv", path, mb["mi_xv"])
        add(
            "im",
            path,
            mb["im"],
            text=format_grouping(mb["im_grouping"]) if mb["im_grouping"] else "",
        )
        add("im_success", path, float(mb["im_success"]), text="tied" if mb["im_tied"] else "")
        if "sap" in mb:
            add("sap", path, mb["sap"], text=format_grouping(mb["sap_grouping"]))
            add(
                "sap_success", path, float(mb["sap_success"]), text="tied" if mb["sap_tied"] else ""
            )
    la = next(r["value"] for r in rows if r["quantity"] == "loss_total" and r["path"] == "analytic")
    ll = next(r["value"] for r in rows if r["quantity"] == "loss_total" and r["path"] == "learned")
    add("loss_gap", "comparison", ll - la)
    rows_a, _ = informative_row_space(analytic["B"], analytic["Sigma_W"], Sy, info_tol=info_tol)
    k = rows_a.shape[0]
    add("informative_dim", "comparison", float(k))
    max_angle = math.nan
    if k > 0:
        rows_l, _ = informative_row_space(learned["B"], learned["Sigma_W"], Sy, k=k)
        ang = np.degrees(subspace_angles(rows_a.T, rows_l.T))
        for j, a in enumerate(ang):
            add("principal_angle_deg", "comparison", float(a), j)
        max_angle = float(np.max(ang))
    R, _ = orthogonal_procrustes(learned["B"].T, analytic["B"].T)
    Q = R.T  # Q B_learned ≈ B_analytic
    add("procrustes_rel_diff_B", "comparison", _rel(Q @ learned["B"], analytic["B"]))
    add("procrustes_rel_diff_A", "comparison", _rel(learned["A"] @ Q.T, analytic["A"]))
    add(
        "procrustes_rel_diff_Sigma_W",
        "comparison",
        _rel(Q @ learned["Sigma_W"] @ Q.T, analytic["Sigma_W"]),
    )
    add("rel_diff_Sigma_Z", "comparison", _rel(learned["Sigma_Z"], analytic["Sigma_Z"]))
    return rows, {"max_principal_angle_deg": max_angle, "informative_dim": k}


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy: ``quantity, component, path, value, text`` with ``path`` one of ``analytic``,
        ``learned``, ``learned_plugin``, ``learned_ksg`` (metrics estimated from samples of the
        learned encoder) and ``comparison`` (quantities about the pair: loss gap, principal
        angles, Procrustes-aligned differences). ``text`` holds groupings (``"{1,2}{3}"``,
        1-based factors) and tie flags.
    summary : dict
        JSON-ready headline numbers (see :func:`compare`).
    analytic : AnalyticCell
    training : TrainResult
    """

    table: pd.DataFrame
    summary: dict
    analytic: AnalyticCell = field(repr=False)
    training: TrainResult = field(repr=False)

    def wide(self) -> pd.DataFrame:
        """The table with one column per path (analytic, learned, ..., comparison)."""
        return self.table.pivot_table(
            index=["quantity", "component"], columns="path", values="value", aggfunc="first"
        ).reset_index()

    def to_json(self) -> str:
        return json.dumps(self.summary, indent=2, sort_keys=True, default=_json_default)


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple | list):
        return list(x)
    raise TypeError(type(x).__name__)


def _nan_to_none(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _resolve_scenario(scenario_or_config, number, preset) -> Scenario:
    if isinstance(scenario_or_config, Scenario):
        return scenario_or_config
    return make_published(scenario_or_config, number, preset)


def compare(
    scenario: Scenario | str,
    gamma: float,
    lam: float,
    *,
    number: int | None = None,
    preset: str = "analytic",
    seed: int = 0,
    model: str | LinearVAEConfig | MLPVAEConfig = "linear",
    training: TrainingConfig | None = None,
    floor: VarianceFloor | None = None,
    n_samples: int = 20_000,
    ksg: bool = False,
    ksg_samples: int = 2000,
) -> Comparison:
    """Analytic optimum vs learned encoder for one cell.

    Parameters
    ----------
    scenario : lingauss.Scenario or str
        A scenario, or a published configuration name (then give ``number`` and ``preset``).
    gamma, lam : float
    number : int, optional
    preset : {"analytic", "rounded"}
    seed : int
        Seeds the BA initial encoder and the training run.
    model : {"linear", "mlp"} or a model configuration
    training : TrainingConfig, optional
    floor : VarianceFloor, optional
        Used in ill-posed cells (default :meth:`VarianceFloor.default`).
    n_samples : int
        Samples of ``(V, Y)`` for the learned encoder's plug-in metrics (and, for the MLP,
        the Monte Carlo loss).
    ksg : bool
        Also estimate the learned encoder's I_m and SAP with KSG (``ksg_samples`` samples).

    Returns
    -------
    Comparison
        ``summary`` holds ``config, scenario, gamma, lam, seed, model, device, regime``
        (of the unconstrained problem), ``constrained``, ``floor_w``, ``floor_z``,
        ``analytic_loss``, ``learned_loss`` (closed form at the learned parameters; Monte Carlo
        for the MLP, with ``learned_loss_se``), ``loss_gap``, ``max_principal_angle_deg``
        (``None`` when the analytic encoder is collapsed), ``informative_dim``, ``mi_xy_*``,
        the groupings and successes of I_m and SAP on both sides, and the training's stopping
        information.

    Examples
    --------
    >>> from neural.config import TrainingConfig
    >>> cfg = TrainingConfig(objective="closed_form", max_steps=500, device="cpu", progress=False)
    >>> c = compare("3-4-3", 0.98, 0.0, number=3, training=cfg, n_samples=2000)
    >>> c.summary["regime"], c.summary["constrained"], c.summary["loss_gap"] < 1e-3
    ('interior', False, True)
    """
    sc = _resolve_scenario(scenario, number, preset)
    cfg = TrainingConfig() if training is None else training
    if not isinstance(cfg, TrainingConfig):
        raise ValueError(f"training: expected a TrainingConfig, got {type(cfg).__name__}")
    resolve_device(cfg.device)  # fail before the (slower) analytic solve
    cell = analytic_optimum(sc, gamma, lam, seed=seed, floor=floor)
    fl = cell.floor
    res = train_grid(
        sc,
        [gamma],
        [lam],
        seeds=[seed],
        model=model,
        training=cfg,
        floor_w=0.0 if fl is None else fl.sigma_w,
        floor_z=0.0 if fl is None else fl.sigma_z,
    )
    net = res.model
    sol = cell.solution
    analytic = {"A": sol.A, "B": sol.B, "Sigma_Z": sol.Sigma_Z, "Sigma_W": sol.Sigma_W}
    summary = {
        "config": sc.config,
        "scenario": sc.number if sc.number is not None else sc.name,
        "preset": sc.preset,
        "gamma": float(gamma),
        "lam": float(lam),
        "seed": int(seed),
        "model": net.config.kind,
        "device": res.device,
        "regime": cell.regime,
        "constrained": bool(cell.constrained),
        "floor_w": None if fl is None else fl.sigma_w,
        "floor_z": None if fl is None else fl.sigma_z,
        "analytic_stop_reason": sol.stop_reason,
        "analytic_floor_active": bool(getattr(sol, "floor_active", False)),
        "analytic_loss": float(sol.loss.total),
        "mi_xy_analytic": float(sol.mutual_information_xy),
        "train_steps": int(res.steps_run),
        "train_stop_reason": str(res.stop_reason[0]),
        "train_wall_time_s": float(res.wall_time_s),
    }
    sampler = ScenarioSampler(sc, device=net.device, dtype=net.dtype)
    gen = make_generator(seed + 7919)
    V, Y = sampler.sample(n_samples, gen)
    with_torch_no_grad = _no_grad()
    with with_torch_no_grad:
        X = net.encode(Y, generator=gen)[0]
    if isinstance(net, LinearGaussianVAE):
        learned = {k: v[0] for k, v in net.matrices().items()}
        rows, extra = compare_parameters(sc, gamma, lam, analytic, learned)
        lrow = gamma_lambda_loss(
            learned["A"],
            learned["B"],
            learned["Sigma_Z"],
            learned["Sigma_W"],
            sc.Sigma_Y,
            gamma,
            lam,
        )
        summary.update(
            learned_loss=float(lrow.total),
            learned_loss_method="closed_form",
            learned_loss_se=0.0,
            mi_xy_learned=float(
                encoder_mutual_information(learned["B"], learned["Sigma_W"], sc.Sigma_Y)
            ),
            **extra,
        )
    else:
        rows, est, se = _mlp_rows(sc, gamma, lam, analytic, net, sampler, gen, n_samples)
        summary.update(
            learned_loss=est,
            learned_loss_method="monte_carlo",
            learned_loss_se=se,
            mi_xy_learned=math.nan,
            max_principal_angle_deg=math.nan,
            informative_dim=len(informative_row_space(sol.B, sol.Sigma_W, sc.Sigma_Y)[0]),
        )
    summary["loss_gap"] = summary["learned_loss"] - summary["analytic_loss"]
    emp = [("learned_plugin", empirical_metrics(X, V, method="plugin", true_groups=sc.groups))]
    if ksg:
        emp.append(
            (
                "learned_ksg",
                empirical_metrics(
                    X[:ksg_samples], V[:ksg_samples], method="ksg", true_groups=sc.groups
                ),
            )
        )
    for path, e in emp:
        rows.append(_row("im", path, e["im"], format_grouping(e["im_grouping"])))
        rows.append(
            _row("im_success", path, float(e["im_success"]), "tied" if e["im_tied"] else "")
        )
        if sc.m >= 2:
            rows.append(_row("sap", path, e["sap"], format_grouping(e["sap_grouping"])))
            rows.append(
                _row("sap_success", path, float(e["sap_success"]), "tied" if e["sap_tied"] else "")
            )
    table = pd.DataFrame(rows, columns=["quantity", "component", "path", "value", "text"])
    for path in ("analytic", "learned", "learned_plugin", "learned_ksg"):
        for metric in ("im", "sap"):
            sel = table[(table.quantity == metric) & (table.path == path)]
            ok = table[(table.quantity == f"{metric}_success") & (table.path == path)]
            if len(sel):
                summary[f"{metric}_grouping_{path}"] = sel.text.iloc[0]
                summary[f"{metric}_success_{path}"] = bool(ok.value.iloc[0])
    summary["truth"] = format_grouping(sc.groups)
    return Comparison(table=table, summary=_nan_to_none(summary), analytic=cell, training=res)


def _row(q, path, value, text="", component=0):
    return {"quantity": q, "component": component, "path": path, "value": value, "text": text}


def _no_grad():
    import torch

    return torch.no_grad()


def _mlp_rows(sc, gamma, lam, analytic, net, sampler, gen, n_samples):
    """Rows for a non-linear model: analytic quantities and a Monte Carlo learned loss."""
    import torch

    rows = []
    t = gamma_lambda_loss(
        analytic["A"],
        analytic["B"],
        analytic["Sigma_Z"],
        analytic["Sigma_W"],
        sc.Sigma_Y,
        gamma,
        lam,
    )
    for term in ("total", "kl", "nll", "mse"):
        rows.append(_row(f"loss_{term}", "analytic", float(getattr(t, term))))
    Sy = sc.Sigma_Y
    rows.append(
        _row(
            "mi_xy",
            "analytic",
            float(encoder_mutual_information(analytic["B"], analytic["Sigma_W"], Sy)),
        )
    )
    rows.append(
        _row(
            "recon_error",
            "analytic",
            float(reconstruction_error(analytic["A"], analytic["Sigma_Z"], Sy)),
        )
    )
    mb = _metric_block(sc, analytic["B"], analytic["Sigma_W"])
    rows.append(_row("mi_xv", "analytic", mb["mi_xv"]))
    rows.append(
        _row(
            "im",
            "analytic",
            mb["im"],
            format_grouping(mb["im_grouping"]) if mb["im_grouping"] else "",
        )
    )
    rows.append(
        _row("im_success", "analytic", float(mb["im_success"]), "tied" if mb["im_tied"] else "")
    )
    if "sap" in mb:
        rows.append(_row("sap", "analytic", mb["sap"], format_grouping(mb["sap_grouping"])))
        rows.append(
            _row(
                "sap_success",
                "analytic",
                float(mb["sap_success"]),
                "tied" if mb["sap_tied"] else "",
            )
        )
    with torch.no_grad():
        y = sampler.sample_y(n_samples, gen)
        eps = sampler.normal((1, n_samples, net.m), gen)
        per = mc_loss(net, y, eps, gamma, lam, per_sample=True)
    for term in ("total", "kl", "nll", "mse"):
        vals = getattr(per, term)[0].double().cpu().numpy()
        rows.append(_row(f"loss_{term}", "learned", float(vals.mean())))
    tot = per.total[0].double().cpu().numpy()
    est, se = float(tot.mean()), float(tot.std(ddof=1) / math.sqrt(tot.size))
    rows.append(_row("loss_total_se", "learned", se))
    rows.append(_row("loss_gap", "comparison", est - float(t.total)))
    return rows, est, se
