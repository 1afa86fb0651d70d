"""Tests of the follow-up λβ study (fixed-point half): identities, the exact reduction, the
authors' stopping rule, the published data and the summary."""

import numpy as np
import pandas as pd
import pytest

from lingauss.blahut_arimoto import (
    blahut_arimoto_batch,
    decoder_update,
    encoder_mutual_information,
    encoder_update,
    random_encoder,
)
from lingauss.gaussian import entropy, kl_divergence
from lingauss.loss import lambda_beta_loss
from lingauss.metrics.matched import matched_mi_score
from lingauss.scenarios import make_scenario
from lingauss.study import (
    PUBLISHED_STUDY,
    STUDY_BETAS,
    STUDY_LAMS,
    evaluate_solutions,
    expected_regime,
    fixed_point_study,
    published_frame,
    published_table,
    solve_fixed_point_grid,
    study_heatmap,
    study_scenario,
    summarize_study,
)


@pytest.fixture(scope="module")
def sc50():
    return study_scenario(50)


@pytest.fixture(scope="module")
def small():
    """n = 12, s = 2, m = 3: small enough for full-dimensional reference runs."""
    rng = np.random.default_rng(0)
    return make_scenario(np.diag([0.7, 0.3]), rng.standard_normal((12, 2)), 0.05, 3)


# ------------------------------------------------------------------------- the loss identity
@pytest.mark.parametrize("beta", [1.0, 4.0, 32.0])
def test_loss_identity_at_decoder_optimum(sc50, beta):
    # L_{λ=0} = h(Y) + (β-1) I(X;Y) + β KL(q(x) || N(0, I)) once the decoder is optimal
    # (full Σ_Z); every term below comes from a different function.
    rng = np.random.default_rng(1)
    B0, Sw = random_encoder(sc50.m, sc50.n, rng, size=3, method="exchangeable")
    B = 0.1 * B0
    A, Sz = decoder_update(B, Sw, sc50.Sigma_Y, diagonal=False)
    loss = lambda_beta_loss(A, B, Sz, Sw, sc50.Sigma_Y, beta, 0.0).total
    Sx = B @ sc50.Sigma_Y @ np.swapaxes(B, -1, -2) + Sw
    m = sc50.m
    kl_marg = kl_divergence(np.zeros(m), Sx, np.zeros(m), np.eye(m))
    mi = encoder_mutual_information(B, Sw, sc50.Sigma_Y)
    expected = entropy(sc50.Sigma_Y) + (beta - 1) * mi + beta * kl_marg
    # log-determinants of 50x50 SPD matrices with condition ~1e3 carry ~1e-12 relative
    # rounding; 1e-9 absolute on values of order 10-1000 leaves a wide margin
    np.testing.assert_allclose(loss, expected, rtol=1e-10, atol=1e-9)


def test_plateau_equals_entropy_exactly(sc50):
    # β > 1, λ = 0: the minimum is I(X;Y) = 0 and the reconstruction term is h(Y)
    h = entropy(sc50.Sigma_Y)
    for rule in ("exact", "authors"):
        df = fixed_point_study(50, 3, seed=2, stop_rule=rule, betas=[4.0, 32.0], lams=[0.0])
        assert (df.regime == "collapsed").all()
        # NLL = h(Y) - I(X;Y) at the decoder optimum; I(X;Y) < 1e-12 nats after either rule
        # and the log-dets are exact to ~1e-13 here
        np.testing.assert_allclose(df.recon, h, rtol=0, atol=1e-11)
        np.testing.assert_allclose(df.h_y, h, rtol=0, atol=0)
        assert (df.matched_mi < 1e-12).all() and (df.sap < 1e-12).all()


@pytest.mark.parametrize("n", [50, 100])
def test_published_plateau_is_rounded_entropy(n):
    h = entropy(study_scenario(n).Sigma_Y)
    for method in ("fixed-point", "adamw"):
        tab = published_table(n, method, "recon")
        # the published values are h(Y) rounded to 3 decimals (the AdamW n=100 tables too)
        np.testing.assert_allclose(tab.loc[0.0, [4.0, 8.0, 16.0, 32.0]], round(h, 3), atol=1e-12)
        assert (published_table(n, method, "sap").loc[0.0, 4.0:] == 0).all()


def test_published_data_shape():
    assert len(PUBLISHED_STUDY) == 12
    for v in PUBLISHED_STUDY.values():
        assert np.array(v).shape == (5, 5)
    f = published_frame()
    assert len(f) == 12 * 25
    row = f[(f.n == 100) & (f.method == "adamw") & (f.metric == "sap")]
    assert row[(row.beta == 4.0) & (row.lam == 4.0)].value.item() == 0.197
    assert published_table(100, "fixed-point", "sap").loc[4.0, 4.0] == 0.161


# --------------------------------------------------------------------- the exact reduction
def _full_reference(sc, m, beta, lam, B0, Sw0, H):
    K = B0.shape[0]
    res = blahut_arimoto_batch(
        sc.Sigma_Y,
        m,
        np.repeat(1.0 / np.asarray(beta), K),
        np.repeat(np.asarray(lam) / np.asarray(beta), K),
        np.tile(B0, (len(beta), 1, 1)),
        np.tile(Sw0, (len(beta), 1, 1)),
        max_half_steps=H,
        diagonal=False,
        stop_rule="none",
    )
    return res


@pytest.mark.parametrize("stop_rule", ["exact", "authors"])
def test_reduced_solver_equals_full_dimensional_solver(small, stop_rule):
    # run both rules with a tolerance they cannot meet, so each uses its whole budget, and
    # compare with the lead's full-dimensional solver on the same initial encoders
    K, H = 3, 41
    betas, lams = [1.0, 4.0], [0.0, 3.0]
    grid = solve_fixed_point_grid(
        small,
        K,
        stop_rule=stop_rule,
        seed=5,
        betas=betas,
        lams=lams,
        max_half_steps=H,
        block_tol=1e-300,
        tol=1e-300,
    )
    assert grid.basis is not None and grid.Sigma_Y_reduced.shape == (5, 5)
    assert (grid.half_steps == H).all()
    B0, Sw0 = random_encoder(small.m, small.n, np.random.default_rng(5), size=K)
    bb, ll = (x.ravel() for x in np.meshgrid(betas, lams, indexing="ij"))
    ref = _full_reference(small, small.m, bb, ll, B0, Sw0, H)
    A, B, Sz, Sw = grid.full_parameters()
    # both are the same exact updates in different coordinates; 41 half-steps of 12x12
    # inversions accumulate ~1e-13 relative rounding
    for got, want in ((A, ref.A), (B, ref.B), (Sz, ref.Sigma_Z), (Sw, ref.Sigma_W)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    beta, lam = np.repeat(bb, K), np.repeat(ll, K)
    want_loss = [
        lambda_beta_loss(ref.A[p], ref.B[p], ref.Sigma_Z[p], ref.Sigma_W[p], small.Sigma_Y, b, lm)
        for p, (b, lm) in enumerate(zip(beta, lam))
    ]
    np.testing.assert_allclose(grid.metrics.loss, [t.total for t in want_loss], rtol=1e-9)
    np.testing.assert_allclose(grid.metrics.recon, [t.nll for t in want_loss], rtol=1e-9)


def _authors_reference(Sy, m, beta, lam, B0, Sw0, H, tol):
    """One problem, the study's rule written from its description with the public updates."""
    gamma, lam_g = 1.0 / beta, lam / beta
    B, Sw = B0, Sw0
    A, Sz = decoder_update(B, Sw, Sy, diagonal=False)
    h = 1
    while h < H:
        B_new, Sw_new = encoder_update(A, Sz, gamma, lam_g)
        h += 1
        done = np.linalg.norm(B_new - B) <= tol and np.linalg.norm(Sw_new - Sw) <= tol
        B, Sw = B_new, Sw_new
        if done or h >= H:
            break
        A_new, Sz_new = decoder_update(B, Sw, Sy, diagonal=False)
        h += 1
        done = np.linalg.norm(A_new - A) <= tol and np.linalg.norm(Sz_new - Sz) <= tol
        A, Sz = A_new, Sz_new
        if done:
            break
    return A, B, Sz, Sw, h


def test_authors_rule_matches_sequential_reference(small):
    K, tol, H = 2, 1e-7, 4000
    grid = solve_fixed_point_grid(
        small,
        K,
        stop_rule="authors",
        seed=9,
        betas=[2.0],
        lams=[0.0, 1.0],
        block_tol=tol,
        max_half_steps=H,
    )
    B0, Sw0 = random_encoder(small.m, small.n, np.random.default_rng(9), size=K)
    A, B, Sz, Sw = grid.full_parameters()
    for p in range(len(grid)):
        k = grid.init[p]
        rA, rB, rSz, rSw, h = _authors_reference(
            small.Sigma_Y, small.m, grid.beta[p], grid.lam[p], B0[k], Sw0[k], H, tol
        )
        assert grid.half_steps[p] == h
        assert grid.stop_reason[p] == ("block_rule" if h < H else "max_half_steps")
        # identical arithmetic up to the order of operations: rounding ~1e-13
        np.testing.assert_allclose(B[p], rB, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(Sz[p], rSz, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------- regimes and metrics
def test_regimes_of_the_grid_corners():
    df = fixed_point_study(50, 2, seed=1, betas=[1.0, 4.0], lams=[0.0, 2.0], max_half_steps=3000)
    reg = df.groupby(["beta", "lam"]).regime.agg(set).to_dict()
    assert reg[(4.0, 0.0)] == {"collapsed"}
    assert reg[(1.0, 2.0)] == {"divergent"}
    assert reg[(4.0, 2.0)] == {"interior"}
    assert expected_regime(1.0, 2.0) == "divergent"
    assert expected_regime(1.0, 0.0) == "flat"
    assert expected_regime(4.0, 0.0) == "collapsed"
    assert expected_regime(4.0, 2.0) == "minimum"
    # β = 1, λ > 0 has no minimum: both rules spend the budget drifting, I(X;Y) growing
    div = df[(df.beta == 1.0) & (df.lam == 2.0)]
    assert (div.stop_reason == "max_half_steps").all() and (div.mi_xy > 20).all()


def test_evaluate_solutions_against_independent_constructions(sc50):
    rng = np.random.default_rng(4)
    B, Sw = random_encoder(sc50.m, sc50.n, rng, size=2, method="exchangeable")
    A, Sz = decoder_update(B, Sw, sc50.Sigma_Y, diagonal=False)
    r = evaluate_solutions(sc50, A, B, Sz, Sw, 4.0, 2.0)
    joint = sc50.joint_cov_xv(B, Sw)  # the scenario's own (X, V) covariance builder
    np.testing.assert_allclose(r.matched_mi, matched_mi_score(joint, sc50.m).score, rtol=1e-12)
    m = sc50.m
    for p in range(2):
        C = joint[p]
        S = C[:m, m:] ** 2 / np.outer(np.diag(C)[:m], np.diag(C)[m:])
        gaps = [np.diff(np.sort(S[:, j]))[-1] for j in range(S.shape[1])]
        assert r.sap[p] == pytest.approx(np.mean(gaps), rel=1e-12)
        t = lambda_beta_loss(A[p], B[p], Sz[p], Sw[p], sc50.Sigma_Y, 4.0, 2.0)
        assert r.loss[p] == pytest.approx(t.total, rel=1e-12)
        assert r.recon[p] == pytest.approx(t.nll, rel=1e-12)


# ---------------------------------------------------------------------------- summaries
def test_summary_statistics_and_published_columns():
    vals = np.array([1.0, 1.2, 1.4])
    df = pd.DataFrame(
        {
            "method": "fixed-point",
            "n": 50,
            "beta": 4.0,
            "lam": 2.0,
            "recon": [3.0, 3.01, 3.02],
            "sap": [0.1, 0.2, 0.3],
            "matched_mi": vals,
            "regime": ["interior", "interior", "collapsed"],
        }
    )
    s = summarize_study(df).iloc[0]
    assert s.inits == 3 and s.regime == "interior"
    assert s.matched_mi_mean == pytest.approx(1.2) and s.matched_mi_sd == pytest.approx(0.2)
    assert s.recon_published == 2.824 and s.matched_mi_published == 1.187
    assert s.matched_mi_within  # |1.2 - 1.187| <= 0.2
    se = np.sqrt(0.2**2 * (1 / 3 + 1 / 50) + 5e-4**2 / 3)
    assert s.matched_mi_z == pytest.approx((1.2 - 1.187) / se)
    assert not s.recon_within  # |3.01 - 2.824| > sd 0.01 + 5e-4
    assert s.expected_regime == "minimum" and s.has_minimum
    df2 = df.assign(method="adamw", beta=1.0, lam=8.0)
    s2 = summarize_study(df2).iloc[0]
    assert s2.recon_published == -19.106 and not s2.has_minimum


def test_heatmap_layout():
    df = fixed_point_study(50, 1, seed=0, betas=[4.0, 8.0], lams=[0.0, 2.0, 4.0])
    tab = study_heatmap(summarize_study(df), "recon_published")
    assert list(tab.index) == [0.0, 2.0, 4.0] and list(tab.columns) == [4.0, 8.0]
    assert tab.loc[4.0, 8.0] == 3.209


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(stop_rule="fast"), "stop_rule:"),
        (dict(inits=0), "inits:"),
        (dict(n=60), "n:"),
        (dict(lams=[-1.0]), "lams:"),
        (dict(betas=[0.0]), "betas:"),
        (dict(init="uniform"), "method:"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = dict(n=50, inits=1, betas=[4.0], lams=[0.0], max_half_steps=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fixed_point_study(args.pop("n"), args.pop("inits"), **args)


# ---------------------------------------------------------------- agreement with the paper
@pytest.mark.parametrize("n", [50, 100])
def test_fixed_point_means_agree_with_published_where_a_minimum_exists(n):
    # every cell with a true minimum (β > 1, or β = 1 with λ = 0), the authors' rule, 50 inits:
    # the published means (50 other inits) must lie within the spread of ours, and the
    # difference must be within 4 standard errors of a difference of two means of
    # independent initialisations (sd sqrt(1/50 + 1/50), plus the 3-decimal rounding)
    kw = dict(seed=2024, stop_rule="authors")
    df = pd.concat(
        [
            fixed_point_study(n, 50, betas=STUDY_BETAS[1:], lams=STUDY_LAMS, **kw),
            fixed_point_study(n, 50, betas=[1.0], lams=[0.0], **kw),
        ]
    )
    s = summarize_study(df)
    assert len(s) == 21
    for metric in ("recon", "sap", "matched_mi"):
        assert s[f"{metric}_within"].all(), s.loc[~s[f"{metric}_within"], ["beta", "lam"]]
        assert (s[f"{metric}_z"].abs() < 4).all(), s[["beta", "lam", f"{metric}_z"]]
    assert set(s.beta) == set(STUDY_BETAS)


# --------------------------------------------------------------------------------- the CLI
def test_cli_json(capsys):
    import json

    from lingauss.cli import main

    rc = main(["study", "lambda-beta", "--inits", "2", "--max-half-steps", "300", "--json"])
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["n"] == 50 and obj["method"] == "fixed-point" and len(obj["cells"]) == 25
    cell = next(c for c in obj["cells"] if c["beta"] == 4.0 and c["lam"] == 2.0)
    for key in (
        "recon_mean",
        "recon_sd",
        "sap_mean",
        "sap_sd",
        "matched_mi_mean",
        "matched_mi_sd",
        "regime",
    ):
        assert key in cell
    assert cell["published"] == {"recon": 2.824, "sap": 0.16, "matched_mi": 1.187}
    plateau = next(c for c in obj["cells"] if c["beta"] == 8.0 and c["lam"] == 0.0)
    assert plateau["regime"] == "collapsed"
    assert abs(plateau["recon_mean"] - obj["h_y"]) < 1e-9


def test_cli_text_files_and_errors(tmp_path, capsys):
    from lingauss.cli import main

    args = ["study", "lambda-beta", "--inits", "2", "--max-half-steps", "100"]
    rc = main([*args, "--out", str(tmp_path / "o"), "--plots", str(tmp_path / "p")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Recon (NLL, nats)" in text and "[11.553]" in text and "matched MI" in text
    assert (tmp_path / "o" / "summary.csv").exists() and (tmp_path / "o" / "runs.csv").exists()
    assert (tmp_path / "p" / "lambda_beta_n50_fixed-point.png").stat().st_size > 10_000
    assert not list((tmp_path / "o").glob(".*tmp"))
    assert main(["study", "lambda-beta", "--inits", "0"]) == 2
    assert "--inits" in capsys.readouterr().err


def test_authors_rule_firing_on_a_drift_is_still_divergent():
    # n = 100, tol 1e-5: the block rule fires after ~10^4 half-steps of the β = 1, λ = 2 drift;
    # the run is stopped by the rule but must not count as converged
    df = fixed_point_study(100, 2, seed=0, stop_rule="authors", betas=[1.0, 4.0], lams=[2.0])
    div = df[df.beta == 1.0]
    assert (div.stop_reason == "block_rule").all()
    assert (div.regime == "divergent").all() and not div.converged.any()
    inner = df[df.beta == 4.0]
    assert (inner.regime == "interior").all() and inner.converged.all()


def test_parallel_exact_rule_is_bit_identical(small):
    kw = dict(seed=3, betas=[1.0, 4.0], lams=[0.0, 2.0], max_half_steps=400)
    a = fixed_point_study(small, 2, **kw)
    b = fixed_point_study(small, 2, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(a, b)


def test_parallel_authors_rule_is_bit_identical(small):
    # the authors' rule now runs on the solver's batched loop, so n_jobs serves it too
    kw = dict(seed=3, betas=[1.0, 4.0], lams=[0.0, 2.0], max_half_steps=400, block_tol=1e-7)
    a = fixed_point_study(small, 2, stop_rule="authors", **kw)
    b = fixed_point_study(small, 2, stop_rule="authors", n_jobs=2, **kw)
    pd.testing.assert_frame_equal(a, b)
