"""Tests of lingauss.plots and ``lingauss figures``: the figures draw the numbers they claim."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from lingauss.blahut_arimoto import blahut_arimoto, blahut_arimoto_batch, random_encoder
from lingauss.cli import main
from lingauss.plots import (
    REGIME_COLORS,
    analytic_vs_learned,
    ba_convergence,
    hypothesis_differences,
    per_seed_rates,
    rate_distortion_plane,
    save_figure,
    success_distributions,
    success_heatmaps,
    success_long,
    write_reproduce_plots,
)
from lingauss.rate_distortion import distortion_rate
from lingauss.scenarios import scenario

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GAMMAS = (0.98, 1.0, 1.02)
LAMS = (-0.01, 0.0, 0.01, 0.02)


def _synthetic_table(n_seeds=4, config="3-4-3"):
    """A protocol-shaped table whose success pattern is known in closed form.

    Cell (γ_i, λ_j) of scenario k succeeds for I_m exactly when ``seed < (i + j + k) % 5``
    (so its share of seeds is that number over n_seeds); SAP succeeds when seed is even; the
    cell with the largest γ and λ is not counted for SAP in scenario 2.
    """
    rows = []
    for k in (1, 2, 3):
        for i, g in enumerate(GAMMAS):
            for j, lam in enumerate(LAMS):
                for seed in range(n_seeds):
                    rows.append(
                        dict(
                            protocol="exact",
                            config=config,
                            scenario=k,
                            m=3,
                            gamma=g,
                            lam=lam,
                            seed=seed,
                            regime="divergent" if g > 1 else "interior",
                            im_success=seed < (i + j + k) % 5,
                            im_counted=True,
                            sap_success=seed % 2 == 0,
                            sap_counted=not (k == 2 and g == GAMMAS[-1] and lam == LAMS[-1]),
                        )
                    )
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------------- tables
def test_success_long_wide_and_long_forms():
    df = _synthetic_table(2)
    long = success_long(df)
    assert set(long.metric) == {"im", "sap"}
    assert len(long) == 2 * len(df)
    assert "im_success" not in long.columns and "sap_counted" not in long.columns
    im = long[long.metric == "im"].reset_index(drop=True)
    np.testing.assert_array_equal(im.success.to_numpy(), df.im_success.to_numpy(float))
    sap = long[long.metric == "sap"].reset_index(drop=True)
    np.testing.assert_array_equal(sap.counted.to_numpy(), df.sap_counted.to_numpy())
    again = success_long(long.assign(metric=long.metric.map({"im": "I_m", "sap": "SAP"})))
    assert set(again.metric) == {"im", "sap"}
    with pytest.raises(ValueError, match="^df: no success"):
        success_long(df.drop(columns=["im_success", "sap_success"]))
    with pytest.raises(ValueError, match="^df: 'success'"):
        success_long(df.assign(im_success=0.5))
    with pytest.raises(ValueError, match="^df"):
        success_long([1, 2])


def test_per_seed_rates_by_hand():
    df = _synthetic_table(4)
    r = per_seed_rates(df)
    # I_m, scenario 1, seed 0: cells with (i + j + 1) % 5 > 0 succeed
    want = np.mean([(i + j + 1) % 5 > 0 for i in range(3) for j in range(4)])
    got = r[(r.metric == "im") & (r.scenario == 1) & (r.seed == 0)].rate.item()
    assert got == pytest.approx(100 * want)
    # SAP scenario 2, seed 0 (even: all succeed), 11 of 12 cells counted -> 100 %
    row = r[(r.metric == "sap") & (r.scenario == 2) & (r.seed == 0)].iloc[0]
    assert row.n_counted == 11 and row.rate == pytest.approx(100.0)
    assert r[(r.metric == "sap") & (r.seed == 1)].rate.eq(0.0).all()


# ------------------------------------------------------------------------------ heatmaps
def test_heatmap_cells_are_the_seed_shares():
    n_seeds = 4
    df = _synthetic_table(n_seeds)
    fig = success_heatmaps(df)
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 * 3  # metrics x scenarios
    for k in (1, 2, 3):
        ax = panels[k - 1]  # first row: I_m
        grid = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
        want = np.array(
            [[100 * min((i + j + k) % 5, n_seeds) / n_seeds for i in range(3)] for j in range(4)]
        )
        np.testing.assert_allclose(grid, want)  # rows λ ascending, columns γ ascending
    # SAP, scenario 2: the uncounted cell is masked (NaN), the others 50 %
    grid = np.ma.filled(panels[3 + 1].images[0].get_array().astype(float), np.nan)
    assert np.isnan(grid[-1, -1])
    assert np.allclose(grid[~np.isnan(grid)], 50.0)
    # cell letters: divergent cells (γ > 1) carry "d"
    texts = [t.get_text() for t in panels[0].texts]
    assert sum(t.endswith(" d") for t in texts) == 4


def test_heatmap_title_rate_matches_protocol_summary():
    from lingauss.protocol import success_table, summarize

    table = success_table("3-4-3", "notebook", 2, gammas=[0.99, 1.01], lambdas=[0.0])
    summ = summarize(table)
    fig = success_heatmaps(table)
    titles = {ax.get_title() for ax in fig.axes if ax.images}
    for r in summ.itertuples():
        label = "$I_{3}$" if r.metric == "I_m" else "SAP"
        assert f"{label}, scenario {r.scenario}: {r.mean:.0f}%" in titles
    fig2 = success_distributions(table)
    # dots of the I_m panel: the per-seed rates
    ax = fig2.axes[0]
    ys = np.sort(np.concatenate([c.get_offsets()[:, 1] for c in ax.collections]))
    ps = per_seed_rates(table)
    np.testing.assert_allclose(ys, np.sort(ps[ps.metric == "im"].rate.to_numpy()))


def test_heatmap_selection_errors():
    df = pd.concat([_synthetic_table(2), _synthetic_table(2, config="3-4-2")])
    with pytest.raises(ValueError, match="^config"):
        success_heatmaps(df)
    success_heatmaps(df, config="3-4-2")
    with pytest.raises(ValueError, match="^config"):
        success_heatmaps(df, config="9-9-9")
    with pytest.raises(ValueError, match="^metrics"):
        success_heatmaps(df, config="3-4-2", metrics=["mig"])
    with pytest.raises(ValueError, match="^df"):
        success_heatmaps(df.drop(columns=["gamma"]), config="3-4-2")


def test_distribution_published_markers():
    df = _synthetic_table(3)
    pub = {("3-4-3", "I_m", "slides"): (16, 64, 100), ("3-4-3", "SAP", "slides"): (40, 92, 92)}
    fig = success_distributions(df, published=pub)
    red = [c for c in fig.axes[0].collections if c.get_label() == "slides"]
    assert len(red) == 1
    np.testing.assert_allclose(red[0].get_offsets()[:, 1], [16, 64, 100])
    with pytest.raises(ValueError, match="^published"):
        success_distributions(df, published=[1, 2, 3])
    with pytest.raises(ValueError, match="^df"):
        success_distributions(df.drop(columns=["seed"]))


# ----------------------------------------------------------------------- BA convergence
@pytest.fixture(scope="module")
def runs():
    sc = scenario("3-4-3", 2)
    g = np.array([0.9, 0.98, 1.1])
    B0, Sw0 = random_encoder(sc.m, sc.n, np.random.default_rng(0), method="exchangeable")
    return sc, blahut_arimoto_batch(
        sc.Sigma_Y,
        sc.m,
        g,
        np.zeros(3),
        np.repeat(B0[None], 3, 0),
        np.repeat(Sw0[None], 3, 0),
        max_half_steps=1200,
        history_every=3,
    )


def test_convergence_draws_the_history(runs):
    _, batch = runs
    fig = ba_convergence(batch)
    ax_l, ax_i = fig.axes
    assert len(ax_i.lines) >= len(batch)
    for i in range(len(batch)):
        sol = batch[i]
        line = [ln for ln in ax_i.lines if ln.get_label().startswith(f"γ={sol.gamma:g}")][0]
        x, y = line.get_data()
        # record j is half-step (j + 1) * history_every
        np.testing.assert_array_equal(x, 3 * (1 + np.arange(sol.mi_history.size)))
        np.testing.assert_allclose(y, np.maximum(sol.mi_history, 1e-12))
        assert line.get_color() == REGIME_COLORS[sol.regime]
        fall = [ln for ln in ax_l.lines if ln.get_label() == line.get_label()][0]
        want = sol.loss_history[0] - sol.loss_history
        np.testing.assert_allclose(fall.get_ydata(), want[want > 0])
    assert {batch[i].regime for i in range(3)} == {"collapsed", "interior", "divergent"}


def test_convergence_inputs():
    sol = blahut_arimoto(np.diag([1.0, 0.5]), 1, 1.1, 0.0, seed=0, max_half_steps=60)
    assert len(ba_convergence(sol, labels=["one"]).axes[1].get_legend().get_texts()) == 1
    assert isinstance(ba_convergence([sol, sol]), Figure)
    with pytest.raises(ValueError, match="^labels"):
        ba_convergence([sol, sol], labels=["a"])
    with pytest.raises(ValueError, match="^solutions"):
        ba_convergence([1, 2])
    with pytest.raises(ValueError, match="^mi_floor"):
        ba_convergence(sol, mi_floor=0)


# ------------------------------------------------------------------ rate–distortion plane
def test_rate_distortion_plane_points_above_curve(runs):
    sc, batch = runs
    tr = np.trace(sc.Sigma_Y)
    fig = rate_distortion_plane(sc.Sigma_Y, batch, max_rate=5.0)
    ax = fig.axes[0]
    bound = [ln for ln in ax.lines if ln.get_label() == "D(R) bound"][0]
    r, d = bound.get_data()
    np.testing.assert_allclose(d, distortion_rate(sc.Sigma_Y, r) / tr)
    assert [ln for ln in ax.lines if ln.get_label() == "rank-3 bound"]  # m = 3 < n = 4
    pts = [ln for ln in ax.lines if ln.get_marker() in ("o", ">")]
    assert len(pts) == len(batch)
    for ln in pts:
        x, y = (float(v[0]) for v in ln.get_data())
        if ln.get_marker() == ">":
            assert x == 5.0  # off scale (the γ = 1.1 drift), drawn at the edge
        else:
            assert y >= distortion_rate(sc.Sigma_Y, x) / tr - 1e-12
    assert "off scale" in " ".join(t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="^Sigma_Y"):
        rate_distortion_plane(np.ones(3))


# ------------------------------------------------------------------ scatter, hypothesis
def test_analytic_vs_learned():
    df = pd.DataFrame(
        {
            "quantity": ["kl", "kl", "mse", "mse", "mi"],
            "scenario": [1, 2, 1, 2, 1],
            "analytic": [1.0, 2.0, 0.1, 0.2, 3.0],
            "learned": [1.1, 1.9, 0.12, 0.2, np.nan],
        }
    )
    fig = analytic_vs_learned(df)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split()[0] for ax in visible] == ["kl", "mse"]  # NaN row dropped
    kl = visible[0]
    pts = np.concatenate([c.get_offsets() for c in kl.collections])
    np.testing.assert_allclose(np.sort(pts[:, 0]), [1.0, 2.0])
    np.testing.assert_allclose(np.sort(pts[:, 1]), [1.1, 1.9])
    assert "median |Δ| = 0.1" in kl.get_title()
    with pytest.raises(ValueError, match="^df: no column"):
        analytic_vs_learned(df, x="exact")
    with pytest.raises(ValueError, match="^by"):
        analytic_vs_learned(df, by="nope")


def test_analytic_vs_learned_from_tidy_compare_table():
    # the shape of neural.compare(...).table, concatenated over two cells
    rows = []
    for cell, (a, b) in enumerate([(1.0, 1.5), (2.0, 2.5)]):
        for path, v in (("analytic", a), ("learned", b), ("comparison", 9.0)):
            rows.append(dict(cell=cell, quantity="mi_xy", component=0, path=path, value=v, text=""))
        rows.append(dict(cell=cell, quantity="im", component=0, path="analytic", value=a, text=""))
        rows.append(dict(cell=cell, quantity="im", component=0, path="learned", value=a, text=""))
    fig = analytic_vs_learned(pd.DataFrame(rows), quantities=["mi_xy"], hue="cell")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 1
    pts = np.concatenate([c.get_offsets() for c in visible[0].collections])
    np.testing.assert_allclose(pts[np.argsort(pts[:, 0])], [[1.0, 1.5], [2.0, 2.5]])
    with pytest.raises(ValueError, match="^quantities"):
        analytic_vs_learned(pd.DataFrame(rows), quantities=["nope"])


def test_hypothesis_differences_positions():
    df = pd.DataFrame(
        dict(
            config=["a", "a", "a"],
            scenario=[1, 2, 3],
            G=[3, 2, 1],
            m=[2, 2, 2],
            difference=[-10.0, 5.0, 20.0],
            low=[-15.0, -5.0, 5.0],
            high=[-5.0, 15.0, 35.0],
            verdict=["supports", "inconclusive", "supports"],
        )
    )
    from matplotlib.collections import PathCollection

    ax = hypothesis_differences(df).axes[0]
    scat = [c for c in ax.collections if isinstance(c, PathCollection)]
    pts = np.concatenate([c.get_offsets() for c in scat if c.get_offsets().size])
    got = sorted(map(tuple, np.round(pts, 9)))
    assert got == [(-1.0, -10.0), (0.0, 5.0), (1.0, 20.0)]
    with pytest.raises(ValueError, match="^df"):
        hypothesis_differences(df.drop(columns=["G"]))


# ----------------------------------------------------------------------- files, CLI
def test_write_reproduce_plots_deterministic_and_atomic(tmp_path, monkeypatch):
    df = pd.concat([_synthetic_table(3), _synthetic_table(3).assign(protocol="notebook")])
    paths = write_reproduce_plots(df, tmp_path / "a", published=None)
    names = [p.name for p in paths]
    assert names == [
        "heatmap_exact_3-4-3.png",
        "distribution_exact_3-4-3.png",
        "heatmap_notebook_3-4-3.png",
        "distribution_notebook_3-4-3.png",
    ]
    again = write_reproduce_plots(df, tmp_path / "b", published=None)
    for p, q in zip(paths, again, strict=True):
        data = p.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert data == q.read_bytes()
    assert sorted(x.name for x in (tmp_path / "a").iterdir()) == sorted(names)
    mask = os.umask(0o022)
    os.umask(mask)
    assert paths[0].stat().st_mode & 0o777 == 0o666 & ~mask  # the usual mode, not mkstemp's 0600

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", boom)
    with pytest.raises(RuntimeError):
        save_figure(Figure(), tmp_path / "c" / "x.png")
    assert list((tmp_path / "c").iterdir()) == []  # no partial or temp file left


def test_figures_command(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--only", "ba_dynamics"]) == 0
    first = (out / "ba_dynamics.png").read_bytes()
    assert first.startswith(PNG_MAGIC)
    assert main(["figures", "--out", str(out), "--only", "ba_dynamics"]) == 0
    assert (out / "ba_dynamics.png").read_bytes() == first  # regenerated identically
    assert main(["figures", "--list"]) == 0
    assert "rate_distortion" in capsys.readouterr().out
    assert main(["figures", "--out", str(out), "--only", "nope"]) == 2
    assert "--only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "module",
    [
        "lingauss.plots.success",
        "lingauss.plots.dynamics",
        "lingauss.plots.comparisons",
        "lingauss.plots.reproduce",
    ],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
