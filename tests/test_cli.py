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
