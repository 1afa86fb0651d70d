"""Tests of the learned half of the λβ study (neural.lambda_beta)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from lingauss.loss import lambda_beta_loss
from lingauss.scenarios import make_scenario
from lingauss.study import evaluate_solutions, fixed_point_study, solve_fixed_point_grid
from neural.lambda_beta import (
    STUDY_ADAMW,
    AdamWRecipe,
    BestRecipe,
    LearnedRun,
    adamw_initial_parameters,
    adamw_loss_and_grad,
    explain_gap,
    learned_frame,
    learned_study,
    procrustes_rotation,
    rotate_encoder,
    study_constants,
    summarize_explanation,
    train_adamw,
    train_best,
)
from neural.objective import closed_form_loss

DT = torch.float64


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    return make_scenario(np.diag([0.7, 0.3, 0.5]), rng.standard_normal((9, 3)), 0.05, 4)


def _params(sc, K, seed=1, scale_b=0.3):
    A0, B0, LZ0, LW0 = adamw_initial_parameters(sc.n, sc.m, K, np.random.default_rng(seed))
    return A0, scale_b * B0, LZ0, LW0


# ---------------------------------------------------------------------------- the gradient
def test_analytic_gradient_equals_autograd(small):
    A0, B0, LZ0, LW0 = _params(small, 3)
    # a non-triangular L_Z: the gradient formula must hold for the full matrix
    LZ0 = LZ0 + 0.1 * np.triu(np.random.default_rng(2).standard_normal(LZ0.shape), 1)
    A, B, LZ, LW = (torch.tensor(x, dtype=DT, requires_grad=True) for x in (A0, B0, LZ0, LW0))
    beta = torch.tensor([1.0, 4.0, 8.0], dtype=DT)
    lam = torch.tensor([0.0, 2.0, 5.0], dtype=DT)
    loss, nll, _, grads = adamw_loss_and_grad(
        A, B, LZ, LW, study_constants(small, DT, "cpu"), beta, lam, 5e-5
    )
    eye = lambda k: torch.eye(k, dtype=DT)  # noqa: E731
    Sz = LZ @ LZ.mT + 5e-5 * eye(small.n)
    Sw = LW @ LW.mT + 5e-5 * eye(small.m)
    t = closed_form_loss(A, B, Sz, Sw, torch.tensor(small.Sigma_Y, dtype=DT), 1.0, 0.0)
    ref = t.nll + beta * t.kl + lam * t.mse
    # two float64 evaluations of the same quantities by different formulas: values of order
    # 1e2-1e3, rounding ~1e-13 relative
    torch.testing.assert_close(loss, ref, rtol=1e-11, atol=1e-10)
    torch.testing.assert_close(nll, t.nll, rtol=1e-11, atol=1e-10)
    for g, r in zip(grads, torch.autograd.grad(ref.sum(), [A, B, LZ, LW])):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-9)
    # and the numpy closed form of lingauss (an independent implementation of the loss)
    want = [
        lambda_beta_loss(
            A0[p],
            B0[p],
            Sz[p].detach().numpy(),
            Sw[p].detach().numpy(),
            small.Sigma_Y,
            float(beta[p]),
            float(lam[p]),
        ).total
        for p in range(3)
    ]
    np.testing.assert_allclose(loss.detach().numpy(), want, rtol=1e-11)


def _reference_adamw(sc, beta, lam, params0, recipe, steps):
    """One member, the recipe written from the study's description with stock torch parts."""
    A, B, LZ, LW = (torch.tensor(x, dtype=DT, requires_grad=True) for x in params0)
    opt = torch.optim.AdamW(
        [A, B, LZ, LW],
        lr=recipe.lr,
        betas=recipe.betas,
        eps=recipe.eps,
        weight_decay=recipe.weight_decay,
    )
    Sy = torch.tensor(sc.Sigma_Y, dtype=DT)
    best, best_loss = None, np.inf
    for _ in range(steps + 1):
        opt.zero_grad()
        Sz = LZ @ LZ.T + recipe.jitter * torch.eye(sc.n, dtype=DT)
        Sw = LW @ LW.T + recipe.jitter * torch.eye(sc.m, dtype=DT)
        t = closed_form_loss(A[None], B[None], Sz[None], Sw[None], Sy, 1.0, 0.0)
        loss = (t.nll + beta * t.kl + lam * t.mse)[0]
        if loss.item() < best_loss:
            best_loss, best = loss.item(), [x.detach().clone() for x in (A, B, Sz, Sw)]
        loss.backward()
        torch.nn.utils.clip_grad_norm_([A, B], max_norm=recipe.clip_ab)
        torch.nn.utils.clip_grad_norm_([LZ, LW], max_norm=recipe.clip_chol)
        opt.step()
        with torch.no_grad():
            LZ.copy_(torch.tril(LZ))
            LW.copy_(torch.tril(LW))
    return best_loss, best


def test_batched_adamw_equals_the_reference_loop_member_by_member(small):
    # members with very different gradient scales (β up to 32, λ up to 8), so per-member
    # clipping matters: a shared clip would change every trajectory
    K, steps = 2, 40
    recipe = replace(STUDY_ADAMW[50], steps=steps)
    A0, B0, LZ0, LW0 = _params(small, K, scale_b=1.0)
    beta = np.array([1.0, 32.0, 4.0, 8.0])
    lam = np.array([0.0, 8.0, 2.0, 0.0])
    tile = lambda x: np.tile(x, (2, 1, 1))  # noqa: E731
    out = train_adamw(
        small, beta, lam, tuple(map(tile, (A0, B0, LZ0, LW0))), recipe, record_every=1
    )
    for p in range(4):
        k = p % K
        want_loss, (A, B, Sz, Sw) = _reference_adamw(
            small, beta[p], lam[p], (A0[k], B0[k], LZ0[k], LW0[k]), recipe, steps
        )
        # same arithmetic in a different order (analytic vs autograd gradient) over 40 Adam
        # steps: the trajectories agree to ~1e-12; 1e-9 is ample and far below one step (1e-3)
        assert out["loss"][p] == pytest.approx(want_loss, rel=1e-9)
        np.testing.assert_allclose(out["B"][p], B.numpy(), rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(out["Sigma_Z"][p], Sz.numpy(), rtol=1e-8, atol=1e-9)
    # the kept iterate is the best recorded one, and its loss is what the closed form says
    np.testing.assert_allclose(out["loss"], np.nanmin(out["loss_history"], axis=0), rtol=0)
    ev = evaluate_solutions(small, out["A"], out["B"], out["Sigma_Z"], out["Sigma_W"], beta, lam)
    np.testing.assert_allclose(ev.loss, out["loss"], rtol=1e-10)


# ------------------------------------------------------------------------ the best recipe
def test_best_recipe_reaches_the_fixed_point_loss(small):
    betas, lams = [4.0, 16.0], [0.0, 2.0, 8.0]
    K = 2
    fp = fixed_point_study(small, 2, seed=0, betas=betas, lams=lams)
    fp_loss = fp.groupby(["beta", "lam"]).loss.min()
    run = learned_study(small, K, method="best", seed=3, betas=betas, lams=lams)
    df = learned_frame(run)
    gap = df.loss.to_numpy() - fp_loss.loc[list(zip(df.beta, df.lam))].to_numpy()
    # the fixed point is the minimum (exact rule, 1e-10): the recipe must reach it to float
    # precision of the profile loss (~1e-12 on values ~10) and never go below it
    assert np.all(np.abs(gap) <= 1e-9 * (1 + np.abs(df.loss))), gap
    assert set(df.columns) >= {"recon", "sap", "matched_mi", "regime", "expected_regime"}


def test_best_recipe_decoder_is_optimal(small):
    # the returned decoder must be the exact decoder update of the returned encoder
    from lingauss.blahut_arimoto import decoder_update

    K = 2
    A0, B0, LZ0, LW0 = _params(small, K)
    Sw0 = LW0 @ np.swapaxes(LW0, -1, -2)
    out = train_best(small, [4.0, 8.0], [2.0, 0.0], B0, Sw0, BestRecipe(steps=200))
    A, Sz = decoder_update(out["B"], out["Sigma_W"], small.Sigma_Y, diagonal=False)
    # two formulas for the posterior covariance (Woodbury vs inverse): 1e-10 relative
    np.testing.assert_allclose(out["A"], A, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(out["Sigma_Z"], Sz, rtol=1e-9, atol=1e-11)
    ev = evaluate_solutions(
        small, out["A"], out["B"], out["Sigma_Z"], out["Sigma_W"], [4.0, 8.0], [2.0, 0.0]
    )
    np.testing.assert_allclose(ev.loss, out["loss"], rtol=1e-10)


# ------------------------------------------------------------------------------ Procrustes
def test_procrustes_recovers_a_rotation_and_leaves_the_loss_unchanged(small):
    rng = np.random.default_rng(8)
    A0, B0, LZ0, LW0 = _params(small, 1)
    B = B0[0]
    Sw = LW0[0] @ LW0[0].T
    from lingauss.blahut_arimoto import decoder_update

    A, Sz = decoder_update(B, Sw, small.Sigma_Y, diagonal=False)
    Q, _ = np.linalg.qr(rng.standard_normal((small.m, small.m)))
    rA, rB, rSz, rSw = rotate_encoder(Q, A, B, Sz, Sw)
    # Procrustes of an exact rotation returns it (SVD rounding only)
    np.testing.assert_allclose(procrustes_rotation(B, rB, small.Sigma_Y), Q, atol=1e-10)
    for beta, lam in ((4.0, 2.0), (1.0, 0.0)):
        t0 = lambda_beta_loss(A, B, Sz, Sw, small.Sigma_Y, beta, lam)
        t1 = lambda_beta_loss(rA, rB, rSz, rSw, small.Sigma_Y, beta, lam)
        assert t1.total == pytest.approx(t0.total, rel=1e-12)
    e0 = evaluate_solutions(small, A[None], B[None], Sz[None], Sw[None], 4.0, 2.0)
    e1 = evaluate_solutions(small, rA[None], rB[None], rSz[None], rSw[None], 4.0, 2.0)
    # the metrics are not rotation invariant (a generic rotation moves them by O(0.1))
    assert abs(e1.matched_mi[0] - e0.matched_mi[0]) > 1e-3


def test_explain_gap_attributes_a_pure_rotation_to_rotation(small):
    betas, lams = [4.0], [0.0, 2.0]
    grid = solve_fixed_point_grid(small, 2, seed=0, betas=betas, lams=lams)
    A, B, Sz, Sw = grid.full_parameters()
    rng = np.random.default_rng(4)
    Q = np.linalg.qr(rng.standard_normal((len(grid), small.m, small.m)))[0]
    rA, rB, rSz, rSw = rotate_encoder(Q, A, B, Sz, Sw)
    fake = LearnedRun(
        scenario=small,
        method="adamw",
        beta=grid.beta,
        lam=grid.lam,
        init=grid.init,
        A=rA,
        B=rB,
        Sigma_Z=rSz,
        Sigma_W=rSw,
        loss=grid.metrics.loss.to_numpy(),
        best_step=np.zeros(len(grid), int),
        steps=0,
        seconds=0.0,
        loss_history=np.zeros((1, len(grid))),
        mi_history=np.zeros((1, len(grid))),
        record_every=1,
        stop_reason=np.full(len(grid), "max_steps"),
    )
    ex = explain_gap(fake, grid)
    np.testing.assert_allclose(ex.sap_gap, ex.sap_rotation + ex.sap_solution, atol=1e-15)
    interior = ex[ex.lam == 2.0]
    # an exact rotation of the reference: same loss, aligned metrics equal the reference's
    # (Procrustes/SVD rounding ~1e-12)
    assert (interior.loss_gap.abs() < 1e-10).all()
    assert (interior.alignment_residual < 1e-8).all()
    np.testing.assert_allclose(interior.matched_mi_solution, 0, atol=1e-8)
    np.testing.assert_allclose(interior.sap_solution, 0, atol=1e-8)
    s = summarize_explanation(ex).set_index("lam")
    assert s.loc[0.0, "verdict"] == "collapsed"
    assert s.loc[2.0, "verdict"] == "rotation" and s.loc[2.0, "same_loss"]


def test_learned_frame_feeds_the_summary(small):
    run = learned_study(small, 1, method="adamw", seed=0, betas=[4.0], lams=[2.0], steps=5)
    assert isinstance(run, LearnedRun) and len(run) == 1
    df = learned_frame(run)
    assert df.method.tolist() == ["adamw"] and df.steps.tolist() == [5]
    assert {"recon", "sap", "matched_mi", "loss"} <= set(df.columns)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(method="sgd"), "method:"),
        (dict(steps=0), "steps:"),
        (dict(inits=0), "inits:"),
        (dict(lams=[-1.0]), "lams:"),
        (dict(betas=[0.0]), "betas:"),
    ],
)
def test_bad_arguments(small, kwargs, match):
    args = dict(inits=1, betas=[4.0], lams=[0.0], steps=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        learned_study(small, args.pop("inits"), **args)


def test_recipe_constants_match_the_study():
    assert STUDY_ADAMW[50] == AdamWRecipe(steps=30_000, clip_ab=1.0, clip_chol=2.0)
    r = STUDY_ADAMW[100]
    assert (r.steps, r.clip_ab, r.clip_chol, r.lr, r.weight_decay, r.jitter) == (
        50_000,
        2.0,
        3.0,
        1e-3,
        0.01,
        5e-5,
    )
    assert isinstance(pd.DataFrame(), pd.DataFrame)


def test_cli_learned_method_prints_the_explanation(capsys):
    import json

    from lingauss.cli import main

    argv = ["study", "lambda-beta", "--method", "best", "--inits", "1", "--steps", "30",
            "--max-half-steps", "100"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Procrustes explanation" in text and "verdict" in text and "[11.553]" in text
    assert main([*argv, "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["method"] == "best" and len(obj["cells"]) == 25 and len(obj["explanation"]) == 25
    assert {"verdict", "loss_gap", "sap_rotation"} <= set(obj["explanation"][0])
    assert obj["training"]["device"] == "cpu" and obj["training"]["dtype"] == "float64"


# ----------------------------------------------------------------- learned-run regimes
def test_classify_learned_regime_rules():
    from neural.lambda_beta import LEARNED_COLLAPSE_NATS, LEARNED_FLOOR_FACTOR
    from neural.lambda_beta import classify_learned_regime as cl

    j = 5e-5
    assert cl(0.5 * LEARNED_COLLAPSE_NATS, 1.0, j) == "collapsed"
    assert cl(2.0, 0.9 * LEARNED_FLOOR_FACTOR * j, j) == "divergent"
    assert cl(2.0, 1.1 * LEARNED_FLOOR_FACTOR * j, j) == "interior"
    assert cl(float("nan"), 1.0, j) == "nonfinite"
    # no floor (best recipe): the BA trajectory test decides; a flat record is interior
    assert cl(2.0, 1e-12, 0.0, np.full(50, 2.0)) == "interior"
    assert cl(2.0, 1e-12, 0.0, 2.0 + np.arange(50.0)) == "divergent"


@pytest.mark.parametrize(
    "beta, lam, steps, expected",
    [(16.0, 0.0, 3000, "collapsed"), (1.0, 2.0, 2000, "divergent"), (4.0, 2.0, 300, "interior")],
)
def test_adamw_runs_get_the_regime_of_their_cell(small, beta, lam, steps, expected):
    """Collapse (β > 1, λ = 0), the floor of a loss with no minimum (β = 1, λ > 0), and an
    interior minimum are told apart from the kept iterate, where the BA trajectory rule
    misreads AdamW's constant-size steps."""
    run = learned_study(small, 1, method="adamw", seed=0, betas=[beta], lams=[lam], steps=steps)
    df = learned_frame(run)
    assert df.regime.tolist() == [expected]
    assert df.expected_regime.tolist() == [expected if expected != "interior" else "minimum"]


def test_save_history_round_trip(small, tmp_path):
    from neural.lambda_beta import save_history

    run = learned_study(small, 2, method="adamw", seed=0, betas=[4.0], lams=[0.0, 2.0], steps=7)
    save_history(run, tmp_path / "h.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["h.npz"]
    assert (tmp_path / "h.npz").stat().st_mode & 0o044  # readable by others (not mkstemp's 0600)
    with np.load(tmp_path / "h.npz") as z:
        np.testing.assert_array_equal(z["mi_history"], run.mi_history)
        np.testing.assert_array_equal(z["loss"], run.loss)
        np.testing.assert_array_equal(z["lam"], run.lam)
        assert z["stop_reason"].tolist() == run.stop_reason.tolist()
        assert float(z["jitter"]) == STUDY_ADAMW[50].jitter and str(z["device"]) == "cpu"
    with pytest.raises(FileNotFoundError):
        save_history(run, tmp_path / "missing" / "h.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["h.npz"]


def test_cli_learned_out_writes_tables_and_history(tmp_path, capsys):
    from lingauss.cli import main

    argv = ["study", "lambda-beta", "--method", "adamw", "--inits", "1", "--steps", "3",
            "--max-half-steps", "50", "--device", "cpu", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    assert "training:" in capsys.readouterr().out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["explanation.csv", "history.npz", "runs.csv", "summary.csv"]
    with np.load(tmp_path / "history.npz") as z:
        assert z["mi_history"].shape[1] == 25 and str(z["scenario"]) == "lambda-beta-n50"
