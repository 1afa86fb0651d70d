"""``lingauss sweep``: bad input touches nothing; the linear bridge end to end; the report."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3

import numpy as np
import pytest

from lingauss.cli import main
from lingauss.objectives.optimum import OBJECTIVE_REGIMES
from neural.sweep import SweepConfig, SweepStore, format_report, published_table, read_rows

BRIDGE = ["--data", "scenario:3-4-3:2", "--objective", "beta-vae", "--weights", "1,2"]


def _sweep(tmp_path, *extra):
    return main(["sweep", *extra, "--store", str(tmp_path / "s.sqlite"), "--no-progress"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "mnist", "--objective", "beta-vae", "--weights", "1"], "unknown data set"),
        (["--data", "dsprites", "--objective", "vae", "--weights", "1"], "unknown objective"),
        (["--data", "dsprites", "--objective", "beta-vae", "--weights", "1,x"], "weights"),
        (["--data", "dsprites", "--objective", "beta-vae", "--weights", "1,-1"], "weights"),
        (["--data", "dsprites", "--objective", "beta-vae", "--weights", "2,2"], "repeat"),
        (["--data", "scenario:9-9-9:1", "--objective", "beta-vae", "--weights", "1"], "scenario"),
        (
            ["--data", "dsprites", "--objective", "beta-vae", "--weights", "1", "--seeds", "0"],
            "seeds",
        ),
        (
            ["--data", "dsprites", "--objective", "beta-vae", "--weights", "1", "--workers", "0"],
            "workers",
        ),
        (["--data", "dsprites", "--objective", "gamma-lambda", "--weights", "1"], "Gaussian"),
    ],
)
def test_bad_input_touches_nothing(tmp_path, capsys, args, message):
    assert _sweep(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert "lingauss sweep: error:" in err and message in err
    assert list(tmp_path.iterdir()) == []  # no store, no checkpoint folder


def test_wrong_shape_npz_touches_nothing(tmp_path, capsys):
    bad = tmp_path / "dsprites_ndarray_bad.npz"
    np.savez(
        bad,
        imgs=np.zeros((4, 32, 32), np.uint8),
        latents_classes=np.zeros((4, 6), np.int64),
        latents_values=np.zeros((4, 6)),
    )
    assert _sweep(tmp_path, "--data", str(bad), "--objective", "beta-vae", "--weights", "1") == 2
    assert "(N, 64, 64)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [bad.name]


def test_other_configuration_and_corrupt_store_refused(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    SweepStore(
        store,
        SweepConfig(data="dsprites", objective="beta-vae", weights=(1,), seeds=(0,), steps=300),
    ).close()
    digest = hashlib.sha256(store.read_bytes()).hexdigest()
    assert _sweep(tmp_path, *BRIDGE, "--steps", "5") == 2
    assert "another sweep configuration" in capsys.readouterr().err
    assert hashlib.sha256(store.read_bytes()).hexdigest() == digest
    store.write_bytes(b"garbage" * 50)
    assert _sweep(tmp_path, *BRIDGE, "--steps", "5") == 2
    assert "not an SQLite file" in capsys.readouterr().err
    assert main(["sweep", "--report", str(store)]) == 2
    assert store.read_bytes() == b"garbage" * 50
    assert not (tmp_path / "s.sqlite.checkpoints").exists()


@pytest.mark.slow
def test_linear_bridge_end_to_end(tmp_path, capsys):
    """Two runs of the linear bridge, the rerun runs nothing, the report and figures."""
    args = [*BRIDGE, "--seeds", "1", "--steps", "30", "--json"]
    assert _sweep(tmp_path, *args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["ran"], doc["skipped"], doc["complete"]) == (2, 0, True)
    rows = read_rows(tmp_path / "s.sqlite")
    assert [(r["weight"], r["seed"]) for r in rows] == [(1.0, 0), (2.0, 0)]
    for r in rows:
        # the learned encoder's exact loss is never below the exact optimum's (the optimum is
        # a certified minimum; 1e-9 allows the optimiser's gradient tolerance)
        assert r["loss"] >= r["exact_loss"] - 1e-9
        assert math.isclose(r["loss"], r["rec_error"] + r["weight"] * r["kl"], rel_tol=1e-9)
        assert r["exact_regime"] in OBJECTIVE_REGIMES and r["exact_regime"] != "unbounded"
        assert (tmp_path / r["checkpoint"] / "matrices.npz").is_file()
    assert _sweep(tmp_path, *args) == 0  # resumed: nothing left to run
    again = json.loads(capsys.readouterr().out)
    assert (again["ran"], again["skipped"]) == (0, 2)
    after = read_rows(tmp_path / "s.sqlite")
    assert [(a["finished_at"], a["loss"]) for a in after] == [
        (b["finished_at"], b["loss"]) for b in rows
    ]
    out = tmp_path / "figs"
    assert main(["sweep", "--report", str(tmp_path / "s.sqlite"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "linear bridge (scenario:3-4-3:2)" in text and "exact loss" in text
    assert "reduced steps: 30" in text and "runs in store: 2 of 2" in text
    assert sorted(p.name for p in out.iterdir()) == ["mig.png", "tradeoff.png"]
    assert main(["sweep", "--report", str(tmp_path / "s.sqlite"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["runs"] == rep["total"] == 2 and len(rep["summary"]) == 2


def _fake_rows(config, rec, kl):
    rows = []
    for (obj, w, s), r, k in zip(config.keys(), rec, kl):
        rows.append(
            dict(
                objective=obj,
                weight=w,
                seed=s,
                status="ok",
                git_revision="abc",
                rec_error=r,
                kl=k,
                mig=0.1,
            )
        )
    return rows


def test_report_layout_table_01():
    """The seed's numbers beside the sweep's mean ± sd (sd with ddof=1 over seeds)."""
    config = SweepConfig(
        data="dsprites", objective="beta-vae", weights=(1, 4, 3), seeds=(0, 1), steps=300
    )
    rows = _fake_rows(config, [30.0, 32.0, 80.0, 84.0, 50.0, 50.0], [20.0, 22.0, 9.0, 9.0, 1, 1])
    rows[-1]["status"] = "collapsed"
    text = format_report(config, rows)
    assert "Table 01 layout" in text and "reduced steps: 300" in text
    line = next(s for s in text.splitlines() if s.lstrip().startswith("4 "))
    pub = published_table("beta-vae")
    assert f"{pub.loc[4.0, 'rec_error']:.2f}" in line and f"{pub.loc[4.0, 'kl']:.2f}" in line
    assert "82.000 ± 2.828" in line  # mean of 80, 84; sd sqrt(8)
    line3 = next(s for s in text.splitlines() if s.lstrip().startswith("3 "))
    assert "—" in line3 and "1 collapsed" in line3  # no seed number for β=3; flagged run
    assert "runs in store: 6 of 6" in text


def test_store_rows_are_never_partial(tmp_path):
    """A reader sees whole rows only: the row is one INSERT in one transaction."""
    config = SweepConfig(data="dsprites", objective="beta-vae", weights=(1,), seeds=(0,), steps=1)
    path = tmp_path / "s.sqlite"
    SweepStore(path, config).close()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN")  # a writer mid-transaction (as if killed before COMMIT)
        writer.execute(
            "INSERT INTO runs (objective, weight, seed, weight_name, config, git_revision, "
            "steps, wall_time, status, extra, finished_at) VALUES ('beta-vae', 1, 0, 'beta', "
            "'{}', 'x', 1, 0, 'ok', '{}', 'now')"
        )
        assert read_rows(path) == []  # not visible to another connection
    finally:
        writer.close()  # closed without COMMIT: rolled back
    con = sqlite3.connect(path)
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)
    con.close()


def test_report_figures_and_json(tmp_path):
    """Figures are written atomically (nothing else in the folder); JSON has no NaN."""
    from neural.sweep import report_dict, write_figures

    config = SweepConfig(
        data="dsprites", objective="factor-vae", weights=(1, 2), seeds=(0, 1), steps=300
    )
    rows = _fake_rows(config, [30.0, 31.0, 40.0, 41.0], [24.0, 25.0, 20.0, 21.0])
    written = write_figures(config, rows, tmp_path / "s.sqlite", tmp_path / "figs")
    assert sorted(p.name for p in written) == ["mig.png", "tradeoff.png"]
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["mig.png", "tradeoff.png"]
    doc = json.loads(json.dumps(report_dict(config, rows), allow_nan=False))
    assert doc["published"][0]["d_real"] == 0.96 and doc["published_mig"] == 0.22
    by_w = {r["weight"]: r for r in doc["summary"]}
    assert by_w[2.0]["rec_error_mean"] == 40.5 and by_w[2.0]["d_real_mean"] is None
    text = format_report(config, rows)
    assert "Table 02 layout" in text and "MIG: seed up to 0.22" in text
