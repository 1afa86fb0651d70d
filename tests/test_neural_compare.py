"""One cell, analytic vs learned: the comparison table, ill-posed cells, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

import lingauss as lg
from lingauss.cli import main
from neural.compare import (
    analytic_optimum,
    compare,
    compare_parameters,
    informative_row_space,
    is_ill_posed,
)
from neural.config import TrainingConfig, VarianceFloor

CF = TrainingConfig(
    objective="closed_form", max_steps=400, eval_every=50, device="cpu", progress=False
)


def _by(rows, q, path, comp=0):
    return next(
        r["value"] for r in rows if (r["quantity"], r["path"], r["component"]) == (q, path, comp)
    )


def test_a_rotated_copy_of_the_optimum_compares_as_identical():
    sc = lg.scenario("5-5-4", 2)
    sol = lg.blahut_arimoto(sc.Sigma_Y, sc.m, 0.98, 0.0, seed=0, init="exchangeable")
    a = {"A": sol.A, "B": sol.B, "Sigma_Z": sol.Sigma_Z, "Sigma_W": sol.Sigma_W}
    Q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))
    b = {"A": sol.A @ Q.T, "B": Q @ sol.B, "Sigma_Z": sol.Sigma_Z, "Sigma_W": Q @ sol.Sigma_W @ Q.T}
    rows, extra = compare_parameters(sc, 0.98, 0.0, a, b)
    # every rotation-invariant quantity agrees to float64 rounding (values of order 10)
    for q in ("loss_total", "loss_kl", "loss_nll", "loss_mse", "mi_xy", "mi_xv", "recon_error"):
        assert _by(rows, q, "learned") == pytest.approx(
            _by(rows, q, "analytic"), rel=1e-9, abs=1e-12
        )
    assert abs(_by(rows, "loss_gap", "comparison")) < 1e-10
    # the KL decomposition is reported on both paths and sums to the loss's KL term
    # (index-code MI + TC + dimension-wise KL = KL; terms of order 1, float64 rounding)
    for path in ("analytic", "learned"):
        parts = sum(
            _by(rows, f"kl_{t}", path)
            for t in ("index_code_mi", "total_correlation", "dimensionwise_kl")
        )
        assert parts == pytest.approx(_by(rows, "loss_kl", path), rel=1e-9, abs=1e-12)
        mi_split = _by(rows, "kl_index_code_mi", path) + _by(rows, "kl_marginal_kl", path)
        assert mi_split == pytest.approx(_by(rows, "loss_kl", path), rel=1e-9, abs=1e-12)
    # MIG and DCI depend on the rotation of the latents: they are reported, not equal
    assert np.isfinite(_by(rows, "dci_informativeness", "learned"))
    assert _by(rows, "dci_informativeness", "learned") == pytest.approx(
        _by(rows, "dci_informativeness", "analytic"), rel=1e-9
    )  # R² of regressing V on X is invariant under invertible maps of X
    for q in ("procrustes_rel_diff_B", "procrustes_rel_diff_A", "procrustes_rel_diff_Sigma_W"):
        assert _by(rows, q, "comparison") < 1e-9
    # principal angles of identical subspaces: arcsin of rounding noise (~1e-8 rad ~ 1e-6 deg)
    assert extra["max_principal_angle_deg"] < 1e-5
    # informative directions: generalised eigenvalues κ of (B Σ_Y B^T, Σ_W) with ½ log(1 + κ)
    # above INFO_TOL (an independent route to the same count)
    from scipy.linalg import eigh

    from neural.compare import INFO_TOL

    kappa = eigh(sol.B @ sc.Sigma_Y @ sol.B.T, sol.Sigma_W, eigvals_only=True)
    assert extra["informative_dim"] == int(np.sum(0.5 * np.log1p(kappa) > INFO_TOL)) >= 1


def test_informative_row_space_is_rotation_invariant_and_counts_information():
    sc = lg.scenario("3-4-3", 3)
    sol = lg.blahut_arimoto(sc.Sigma_Y, sc.m, 0.98, 0.0, seed=0, init="exchangeable")
    rows, info = informative_row_space(sol.B, sol.Sigma_W, sc.Sigma_Y)
    assert info.sum() == pytest.approx(sol.mutual_information_xy, rel=1e-10)
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    rows_q, info_q = informative_row_space(Q @ sol.B, Q @ sol.Sigma_W @ Q.T, sc.Sigma_Y)
    np.testing.assert_allclose(info_q, info, atol=1e-12)
    assert np.max(subspace_angles(rows.T, rows_q.T)) < 1e-7


def test_ill_posed_rule():
    assert is_ill_posed(1.01, "interior") and is_ill_posed(1.0, "divergent")
    assert not is_ill_posed(1.0, "interior") and not is_ill_posed(0.98, "collapsed")


def test_constrained_cell_uses_the_same_floor_on_both_paths():
    sc = lg.scenario("3-4-3", 2)
    cell = analytic_optimum(sc, 1.02, 0.0, seed=0)
    fl = VarianceFloor.default(sc.Sigma_Y)
    assert cell.constrained and cell.regime == "divergent" and cell.floor == fl
    assert cell.solution.constrained
    assert np.linalg.eigvalsh(cell.solution.Sigma_W).min() >= fl.sigma_w * (1 - 1e-12)
    c = compare(sc, 1.02, 0.0, training=CF.replace(max_steps=50), n_samples=2000)
    s = c.summary
    assert s["constrained"] and s["floor_w"] == fl.sigma_w and s["floor_z"] == fl.sigma_z
    M = c.training.model.matrices()
    assert np.linalg.eigvalsh(M["Sigma_W"][0]).min() >= fl.sigma_w
    assert np.diagonal(M["Sigma_Z"][0]).min() >= fl.sigma_z


def test_compare_summary_is_consistent_with_its_parameters():
    c = compare("3-4-3", 0.98, 0.0, number=3, training=CF, n_samples=5000)
    s = c.summary
    for key in (
        "analytic_loss",
        "learned_loss",
        "max_principal_angle_deg",
        "regime",
        "constrained",
        "device",
        "loss_gap",
        "im_grouping_analytic",
        "sap_success_learned",
    ):
        assert key in s
    assert s["regime"] == "interior" and s["constrained"] is False and s["device"].startswith("cpu")
    M = {k: v[0] for k, v in c.training.model.matrices().items()}
    sc = lg.scenario("3-4-3", 3)
    t = lg.gamma_lambda_loss(M["A"], M["B"], M["Sigma_Z"], M["Sigma_W"], sc.Sigma_Y, 0.98, 0.0)
    assert s["learned_loss"] == t.total
    assert s["analytic_loss"] == c.analytic.solution.loss.total
    assert s["loss_gap"] == s["learned_loss"] - s["analytic_loss"]
    assert s["loss_gap"] > -1e-9  # BA's optimum is the minimum
    wide = c.wide()
    assert {"analytic", "learned", "comparison", "learned_plugin"} <= set(wide.columns)
    json.loads(c.to_json())


def test_cli_compare_json(capsys):
    rc = main(
        [
            "compare",
            "--config",
            "3-4-2",
            "--scenario",
            "3",
            "--gamma",
            "0.99",
            "--lam",
            "0.01",
            "--objective",
            "closed_form",
            "--steps",
            "100",
            "--device",
            "cpu",
            "--no-progress",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "analytic_loss",
        "learned_loss",
        "max_principal_angle_deg",
        "regime",
        "constrained",
        "device",
    ):
        assert key in out
    assert out["config"] == "3-4-2" and out["scenario"] == 3 and out["gamma"] == 0.99


def test_cli_compare_table(capsys):
    rc = main(
        [
            "compare",
            "--config",
            "3-4-3",
            "--scenario",
            "1",
            "--gamma",
            "0.98",
            "--lam",
            "0",
            "--objective",
            "closed_form",
            "--steps",
            "50",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "analytic loss" in out and "n/a (collapsed)" in out  # scenario 1, γ < 1: collapse


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_compare_bad_device(capsys):
    rc = main(
        [
            "compare",
            "--config",
            "3-4-3",
            "--scenario",
            "1",
            "--gamma",
            "0.98",
            "--lam",
            "0",
            "--device",
            "cuda",
        ]
    )
    assert rc == 2
    assert "lingauss compare: error: device:" in capsys.readouterr().err


def test_compare_mlp_reports_a_monte_carlo_loss():
    cfg = TrainingConfig(
        max_steps=40, eval_every=20, batch_size=64, n_val=512, device="cpu", progress=False
    )
    c = compare("3-4-3", 0.99, 0.0, number=2, model="mlp", training=cfg, n_samples=4000)
    s = c.summary
    assert s["model"] == "mlp" and s["learned_loss_method"] == "monte_carlo"
    assert s["learned_loss_se"] > 0 and s["max_principal_angle_deg"] is None
    assert s["loss_gap"] == s["learned_loss"] - s["analytic_loss"]
    assert "im_grouping_analytic" in s and "im_grouping_learned_plugin" in s
