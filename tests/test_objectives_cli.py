"""``lingauss objective`` (issue 12, item 6) and the recovery table's shape (item 3)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lingauss.cli import main
from lingauss.objectives import objective_loss, objective_success_table
from lingauss.scenarios import scenario

ARGS = ["objective", "--config", "3-4-3", "--scenario", "2", "--seed", "0", "--restarts", "3"]


def test_objective_json(capsys):
    assert main([*ARGS, "--objective", "beta-tcvae", "--weight", "beta=6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {
        "objective",
        "weights",
        "loss",
        "terms",
        "A",
        "B",
        "Sigma_Z",
        "Sigma_W",
        "gradient_norm",
        "regime",
    }
    assert keys <= set(out)
    assert out["objective"] == "beta-tcvae"
    assert out["weights"] == {"alpha": 1.0, "beta": 6.0, "gamma": 1.0}
    assert {"nll", "kl", "mi", "tc", "dimkl"} <= set(out["terms"])
    assert np.shape(out["A"]) == (4, 3) and np.shape(out["B"]) == (3, 4)
    assert out["gradient_norm"] <= 1e-6
    assert out["regime"] in ("interior", "degenerate", "collapsed", "boundary")
    # the printed numbers are the exact loss of the printed parameters
    sc = scenario("3-4-3", 2)
    loss, _ = objective_loss(
        "beta-tcvae",
        out["weights"],
        np.array(out["A"]),
        np.array(out["B"]),
        np.array(out["Sigma_Z"]),
        np.array(out["Sigma_W"]),
        sc.Sigma_Y,
    )
    assert loss == pytest.approx(out["loss"], rel=1e-12)


def test_objective_text(capsys):
    assert main([*ARGS, "--objective", "factor-vae", "--weight", "gamma=10"]) == 0
    text = capsys.readouterr().out
    assert "regime" in text and "gradient norm" in text and "certificate" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--objective", "beta_vae"], "unknown objective"),
        (["--objective", "beta-vae", "--weight", "gamma=2"], "has no weight 'gamma'"),
        (["--objective", "factor-vae", "--weight", "gamma=-1"], "negative weight"),
        (["--objective", "beta-vae", "--weight", "beta=0.5"], "unbounded below"),
        (["--objective", "beta-vae", "--weight", "beta"], "NAME=VALUE"),
    ],
)
def test_objective_errors_exit_2(capsys, argv, message):
    assert main([*ARGS, *argv]) == 2
    assert message in capsys.readouterr().err


def test_success_table_shape():
    t = objective_success_table({"beta-vae": [{"beta": 1.02}]}, ["3-4-3"], [2, 3], restarts=2)
    assert len(t) == 2 * 2  # scenarios × metrics
    assert set(t["metric"]) == {"I_m", "SAP"}
    assert t["success_share"].between(0, 1).all()
    assert (t["n_optimal"] >= 1).all()


@pytest.mark.parametrize(
    "module",
    ["spec", "terms", "profile", "optimum", "certificate", "regimes", "recovery", "strategies"],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"lingauss.objectives.{module}"))
    assert result.failed == 0
