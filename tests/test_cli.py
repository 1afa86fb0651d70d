"""Tests of the reproduce, solve and hypothesis sub-commands (through lingauss.cli.main)."""

import json

import pandas as pd
import pytest

from lingauss.cli import main

QUICK = ["--gammas", "1.0", "--lambdas", "0.0", "--no-progress"]


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_reproduce_json_schema(capsys):
    out = run_json(capsys, ["reproduce", "--config", "3-4-3", "--seeds", "2", "--json", *QUICK])
    assert set(out) >= {"protocol", "seeds", "rows"}
    assert out["protocol"] == "notebook" and out["seeds"] == 2
    assert len(out["rows"]) == 3 * 2
    for row in out["rows"]:
        assert set(row) >= {"config", "scenario", "metric", "mean", "sd", "min", "max", "low",
                            "high", "published"}  # fmt: skip
        assert row["config"] == "3-4-3" and row["scenario"] in (1, 2, 3)
        assert row["metric"] in ("I_m", "SAP")
        for key in ("mean", "min", "max", "low", "high"):
            assert 0.0 <= row[key] <= 100.0
        assert row["min"] <= row["low"] <= row["high"] <= row["max"]
        assert row["min"] <= row["mean"] <= row["max"]
        assert isinstance(row["published"], float)
    pub = {(r["scenario"], r["metric"]): r["published"] for r in out["rows"]}
    assert pub[(1, "I_m")] == 16.0 and pub[(2, "SAP")] == 92.0  # the notebook output


def test_reproduce_exact_json_and_null_published(capsys):
    out = run_json(
        capsys,
        [
            "reproduce",
            "--config",
            "5-5-3",
            "--protocol",
            "exact",
            "--seeds",
            "1",
            "--json",
            *QUICK,
        ],  # fmt: skip
    )
    assert out["protocol"] == "exact"
    for row in out["rows"]:
        # a single seed: no spread; a rate over zero counted cells is null, not 0
        assert row["sd"] is None
        assert row["mean"] is None or 0.0 <= row["mean"] <= 100.0


def test_reproduce_text_and_out(tmp_path, capsys):
    out_dir = tmp_path / "r"
    assert (
        main(["reproduce", "--config", "3-4-2", "--seeds", "1", "--out", str(out_dir), *QUICK]) == 0
    )
    text = capsys.readouterr().out
    assert "3-4-2" in text and "notebook protocol" in text and "degenerate cells" in text
    assert sorted(p.name for p in out_dir.iterdir()) == ["cells.csv", "published.csv",
                                                          "summary.csv"]  # fmt: skip
    cells = pd.read_csv(out_dir / "cells.csv")
    assert len(cells) == 3 and {"im_grouping", "sap_success", "regime"} <= set(cells.columns)
    summary = pd.read_csv(out_dir / "summary.csv")
    assert len(summary) == 6 and {"mean", "published", "inside"} <= set(summary.columns)


def test_solve_text_and_json(capsys):
    argv = ["solve", "--config", "3-4-3", "--scenario", "2", "--gamma", "1.0", "--lam", "0.0"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    for word in ("regime", "I_m", "SAP", "grouping", "Sigma_W", "true grouping   {1,2}{3}"):
        assert word in text
    out = run_json(capsys, [*argv, "--json"])
    assert out["config"] == "3-4-3" and out["scenario"] == 2 and out["gamma"] == 1.0
    assert len(out["B"]) == 3 and len(out["B"][0]) == 4
    assert out["regime"] in ("collapsed", "interior", "divergent")


def test_hypothesis_json(capsys):
    out = run_json(capsys, ["hypothesis", "--config", "4-5-2", "--seeds", "1", "--json",
                            "--no-progress"])  # fmt: skip
    rows = out["rows"]
    assert [r["G"] for r in rows] == [4, 3, 2, 1] and all(r["m"] == 2 for r in rows)
    assert {r["verdict"] for r in rows} <= {"supports", "contradicts", "inconclusive"}


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["reproduce", "--seeds", "0", *QUICK], "--seeds: need at least 1"),
        (
            ["solve", "--config", "3-4-3", "--scenario", "1", "--gamma", "-1", "--lam", "0"],
            "--gamma: must be",
        ),  # fmt: skip
        (
            ["solve", "--config", "3-4-3", "--scenario", "1", "--gamma", "1", "--lam", "nan"],
            "--lam: must be finite",
        ),  # fmt: skip
        (["hypothesis", "--seeds", "0"], "--seeds: need at least 1"),
    ],
)
def test_value_errors_are_clean(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["reproduce", "--config", "3-3-3"],
        ["reproduce", "--protocol", "fast"],
        ["reproduce", "--gammas", "a,b"],
        ["solve", "--config", "3-4-3", "--scenario", "4", "--gamma", "1", "--lam", "0"],
        ["solve", "--config", "3-4-3"],
        ["hypothesis", "--config", "9-9-9"],
    ],
)
def test_argument_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


# ------------------------------------------------------------ issue 6: metrics in the CLI
def test_reproduce_metrics_all_json_and_text(capsys):
    base = ["reproduce", "--config", "3-4-2", "--seeds", "1", *QUICK]
    out = run_json(capsys, [*base, "--json"])
    assert {r["metric"] for r in out["rows"]} == {"I_m", "SAP"}  # default: the published two
    out = run_json(capsys, [*base, "--json", "--metrics", "all"])
    assert out["metrics"] == ["I_m", "SAP", "MIG", "DCI"]
    rows = {(r["scenario"], r["metric"]): r for r in out["rows"]}
    assert len(rows) == 3 * 4
    assert rows[(1, "MIG")]["published"] is None and rows[(1, "MIG")]["published_sources"] == {}
    assert 0.0 <= rows[(2, "DCI")]["mean"] <= 100.0
    assert main([*base, "--metrics", "all"]) == 0
    text = capsys.readouterr().out
    assert "MIG" in text and "DCI ties" in text and "scores: median over interior cells" in text


def test_reproduce_out_has_every_metric(tmp_path, capsys):
    argv = ["reproduce", "--config", "3-4-3", "--seeds", "1", "--out", str(tmp_path), *QUICK]
    assert main(argv) == 0
    capsys.readouterr()
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert {"kl", "total_correlation", "mig_success", "dci_d", "matched_mi"} <= set(cells.columns)
    assert set(pd.read_csv(tmp_path / "summary.csv").metric) == {"I_m", "SAP"}
    assert main([*argv, "--metrics", "all"]) == 0
    capsys.readouterr()
    assert set(pd.read_csv(tmp_path / "summary.csv").metric) == {"I_m", "SAP", "MIG", "DCI"}


def test_reproduce_plots(tmp_path, capsys):
    grid = ["--gammas", "0.99,1.0", "--lambdas", "0.0,0.01", "--no-progress"]
    argv = ["reproduce", "--config", "3-4-3", "--seeds", "2", *grid, "--plots",
            str(tmp_path / "figs")]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    pngs = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert pngs == ["distribution_notebook_3-4-3.png", "heatmap_notebook_3-4-3.png"]
    for name in pngs:
        assert f"wrote {tmp_path / 'figs' / name}" in err
        assert (tmp_path / "figs" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_reproduce_neural_side_by_side(tmp_path, capsys):
    argv = ["reproduce", "--config", "3-4-2", "--protocol", "exact", "--seeds", "1",
            "--neural", "--train-steps", "20", *QUICK]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "analytic (BA)" in text and "neural (learned)" in text
    out = run_json(capsys, [*argv, "--json", "--out", str(tmp_path)])
    assert out["neural"] is True and len(out["rows"]) == 3 * 2
    assert {r["metric"] for r in out["rows"]} == {"I_m", "SAP"}
    assert {"analytic_mean", "neural_mean", "difference"} <= set(out["rows"][0])
    assert {"cells.csv", "neural_cells.csv", "side_by_side.csv"} <= {
        p.name for p in tmp_path.iterdir()
    }


def test_solve_prints_every_metric(capsys):
    argv = ["solve", "--config", "5-5-4", "--scenario", "2", "--gamma", "1.0", "--lam", "0.0"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    for word in ("MIG ", "DCI ", "matched MI", "KL term", "index-code MI", "total correlation",
                 "dimension-wise KL"):  # fmt: skip
        assert word in text
    out = run_json(capsys, [*argv, "--json"])
    assert {"kl", "index_code_mi", "mig_score", "dci_d", "dci_grouping", "matched_mi"} <= set(out)
    # the decomposition adds up (float rounding of order-1 terms)
    total = out["index_code_mi"] + out["total_correlation"] + out["dimensionwise_kl"]
    assert total == pytest.approx(out["kl"], rel=1e-9)


def test_hypothesis_metrics_all(capsys):
    grid = ["--gammas", "0.99,1.0", "--lambdas", "0.0", "--no-progress"]
    argv = ["hypothesis", "--config", "3-4-2", "--protocol", "exact", "--seeds", "2", *grid,
            "--metrics", "all"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| protocol | config |" in text and "pooled by G versus m" in text
    out = run_json(capsys, [*argv, "--json"])
    assert out["metrics"] == ["I_m", "SAP", "MIG", "DCI"]
    assert len(out["rows"]) == 3 * 4 and len(out["ranking"]) == 3
    assert {r["relation"] for r in out["ranking"]} == {"G>m", "G=m", "G<m"}


@pytest.mark.parametrize(
    "argv",
    [
        ["reproduce", "--metrics", "FactorVAE"],
        ["hypothesis", "--metrics", "bogus"],
    ],
)
def test_metric_argument_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "metrics:" in capsys.readouterr().err


def test_train_steps_must_be_positive(capsys):
    assert main(["reproduce", "--neural", "--train-steps", "0", *QUICK]) == 2
    assert "--train-steps: need at least 1" in capsys.readouterr().err
