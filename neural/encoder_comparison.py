"""Rows comparing encoders of a cell: loss terms, information, KL decomposition, MIG / DCI,
reconstruction error, singular values, I_m and SAP (exact, from the joint covariance), and for
a pair the loss gap, principal angles between informative row spaces and Procrustes-aligned
differences. Every row is ``quantity, component, path, value, text``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import orthogonal_procrustes, subspace_angles

from lingauss import Scenario
from lingauss.blahut_arimoto import encoder_mutual_information
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

from .analytic_cell import INFO_TOL, informative_row_space

__all__ = ["compare_parameters", "comparison_row", "exact_metric_block", "metric_block_rows"]


def comparison_row(q, path, value, text="", component=0) -> dict:
    """One row ``quantity, component, path, value, text`` of a comparison table."""
    return {"quantity": q, "component": component, "path": path, "value": value, "text": text}


def exact_metric_block(sc: Scenario, B, Sigma_W) -> dict:
    """``I(X;V)`` and the I_m (and, for ``m >= 2``, SAP) score, grouping, tie flag and success
    of a linear encoder, exact from the joint covariance of ``(X, V)``."""
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


def metric_block_rows(sc: Scenario, B, Sigma_W, path: str) -> list[dict]:
    """The rows ``mi_xv, im, im_success`` (and ``sap, sap_success``) of :func:`exact_metric_block`;
    ``text`` holds the grouping or the tie flag."""
    mb = exact_metric_block(sc, B, Sigma_W)
    rows = [
        comparison_row("mi_xv", path, mb["mi_xv"]),
        comparison_row(
            "im", path, mb["im"], format_grouping(mb["im_grouping"]) if mb["im_grouping"] else ""
        ),
        comparison_row(
            "im_success", path, float(mb["im_success"]), "tied" if mb["im_tied"] else ""
        ),
    ]
    if "sap" in mb:
        rows.append(comparison_row("sap", path, mb["sap"], format_grouping(mb["sap_grouping"])))
        rows.append(
            comparison_row(
                "sap_success", path, float(mb["sap_success"]), "tied" if mb["sap_tied"] else ""
            )
        )
    return rows


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
        rows.append(comparison_row(q, path, value, text, int(component)))

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
        rows.extend(metric_block_rows(sc, P["B"], P["Sigma_W"], path))
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
