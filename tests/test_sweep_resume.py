"""Resumability and executors: kill -9 and Ctrl-C mid-sweep, then the same call; Dask = local.

The run function is :func:`sweep_cheap.cheap_run` (deterministic in the task's weight and seed,
sleeping ``SWEEP_TEST_SLEEP`` seconds so that runs are in flight when the sweep is killed).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from sweep_cheap import cheap_run  # noqa: E402

from neural.sweep import SweepConfig, SweepStore, read_rows, run_sweep  # noqa: E402

CONFIG = dict(data="dsprites", objective="beta-vae", weights=(1, 2, 4, 8), seeds=(0, 1), steps=3)
KEY_COLS = ("objective", "weight", "seed")
BRIDGE_METRICS = ("loss", "rec_error", "kl", "mi", "tc", "dimkl", "mig", "exact_loss", "status")

_SCRIPT = textwrap.dedent(
    """
    import sys
    from sweep_cheap import cheap_run
    from neural.sweep import SweepConfig, SweepInterrupted, SweepStore, run_sweep

    if __name__ == "__main__":
        config = SweepConfig(**{config!r})
        with SweepStore(sys.argv[1], config) as store:
            try:
                run_sweep(config, store, run_fn=cheap_run, workers=1, progress=False)
            except SweepInterrupted as exc:
                print(exc, file=sys.stderr)
                sys.exit(130)
    """
)


def _start(store: Path, sleep: float) -> subprocess.Popen:
    env = dict(os.environ, SWEEP_TEST_SLEEP=str(sleep))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    script = store.parent / "sweep_script.py"
    script.write_text(_SCRIPT.format(config=CONFIG))
    return subprocess.Popen(
        [sys.executable, str(script), str(store)],
        env=env,
        cwd=store.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: kill the sweep and its workers
    )


def _wait_rows(store: Path, proc: subprocess.Popen, n: int, timeout: float = 60.0) -> list:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if store.exists():
            try:
                rows = read_rows(store)
            except ValueError:  # not created yet
                rows = []
            if len(rows) >= n:
                return rows
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("no rows in time")


def _finish(store: Path) -> None:
    """The same sweep again, in-process, on a thread pool (no sleep)."""
    config = SweepConfig(**CONFIG)
    with SweepStore(store, config) as st, cf.ThreadPoolExecutor(2) as ex:
        missing = st.missing()
        out = run_sweep(config, st, run_fn=cheap_run, executor=ex, progress=False)
    assert set(out.ran) == set(missing) and out.complete


def _same(a: dict, b: dict) -> bool:
    """Rows equal field by field, NaN (a metric the run does not produce) equal to NaN."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a
    )


def _check_complete(store: Path, before: list) -> None:
    rows = read_rows(store)
    keys = [tuple(r[c] for c in KEY_COLS) for r in rows]
    assert sorted(keys) == sorted(SweepConfig(**CONFIG).keys())  # every run, exactly once
    assert len(set(keys)) == len(keys)
    now = {tuple(r[c] for c in KEY_COLS): r for r in rows}
    for r in before:  # rows written before the kill are untouched (finished_at included)
        assert _same(now[tuple(r[c] for c in KEY_COLS)], r)
    # and a run redone after the kill has the numbers its seed gives
    config = SweepConfig(**CONFIG)
    for key, r in now.items():
        ref = cheap_run(config.task(key[1], key[2]))
        assert r["rec_error"] == ref["rec_error"] and r["kl"] == ref["kl"]


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path):
    store = tmp_path / "runs.sqlite"
    proc = _start(store, sleep=0.3)
    try:
        _wait_rows(store, proc, 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, mid-run
        proc.wait()
    before = read_rows(store)
    assert 2 <= len(before) < len(SweepConfig(**CONFIG).keys())
    _finish(store)
    _check_complete(store, before)


@pytest.mark.slow
def test_ctrl_c_leaves_store_consistent(tmp_path):
    store = tmp_path / "runs.sqlite"
    proc = _start(store, sleep=0.3)
    try:
        _wait_rows(store, proc, 1)
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C to the sweep (the parent) only
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    before = read_rows(store)
    assert 1 <= len(before) < len(SweepConfig(**CONFIG).keys())
    _finish(store)
    _check_complete(store, before)


def test_failed_run_is_reported_and_retried(tmp_path, monkeypatch):
    config = SweepConfig(**CONFIG)
    monkeypatch.setenv("SWEEP_TEST_FAIL_WEIGHT", "4")
    with SweepStore(tmp_path / "s.sqlite", config) as st, cf.ThreadPoolExecutor(1) as ex:
        out = run_sweep(config, st, run_fn=cheap_run, executor=ex, progress=False)
        assert not out.complete
        assert set(out.failed) == {("beta-vae", 4.0, 0), ("beta-vae", 4.0, 1)}
        assert "deliberate failure" in out.failed[("beta-vae", 4.0, 0)]
        assert len(st.completed()) == 6
        monkeypatch.delenv("SWEEP_TEST_FAIL_WEIGHT")
        again = run_sweep(config, st, run_fn=cheap_run, executor=ex, progress=False)
        assert set(again.ran) == set(out.failed) and again.complete and again.skipped == 6


@pytest.mark.slow
def test_dask_gives_the_same_rows_as_local(tmp_path):
    """Real runs (the linear bridge, torch) on a Dask LocalCluster and on local spawn
    processes give identical numbers: a run depends on its seed only."""
    distributed = pytest.importorskip("distributed")
    from neural.sweep import run_linear_bridge

    config = SweepConfig(
        data="scenario:3-4-3:2", objective="beta-vae", weights=(1, 2), seeds=(0, 1), steps=5
    )
    with SweepStore(tmp_path / "local.sqlite", config) as st:
        run_sweep(config, st, run_fn=run_linear_bridge, workers=1, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with SweepStore(tmp_path / "dask.sqlite", config) as st:
            out = run_sweep(
                config,
                st,
                run_fn=run_linear_bridge,
                executor=client.get_executor(),
                progress=False,
            )
    assert out.complete
    local = {tuple(r[c] for c in KEY_COLS): r for r in read_rows(tmp_path / "local.sqlite")}
    dask = {tuple(r[c] for c in KEY_COLS): r for r in read_rows(tmp_path / "dask.sqlite")}
    assert local.keys() == dask.keys() == set(config.keys())
    for k in local:
        for c in BRIDGE_METRICS:  # bit-identical: same seed, one thread, CPU
            assert _same({c: local[k][c]}, {c: dask[k][c]}), (k, c)
        assert local[k]["checkpoint"].split("/", 1)[1] == dask[k]["checkpoint"].split("/", 1)[1]
