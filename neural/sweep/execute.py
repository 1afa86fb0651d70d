"""Running a sweep's missing runs on a :class:`concurrent.futures.Executor`.

The parent process owns the store: workers only compute (``run_fn(task)`` returns the row's
metrics) and the parent inserts each finished run in one transaction as its future completes.
Hence a sweep killed at any moment (``kill -9`` included) loses at most the runs in flight, and
the same call again submits exactly the keys that have no row (:meth:`SweepStore.missing`).

Executors: :func:`make_executor` gives a :class:`~concurrent.futures.ProcessPoolExecutor` with
the ``spawn`` start method (``"local"``; no state inherited from the parent, and CUDA-safe), or
a ``dask.distributed`` client's executor (``"dask"``; a scheduler address, or a
:class:`~distributed.LocalCluster` when none is given). Any executor with ``submit`` returning
:class:`concurrent.futures.Future` objects works with :func:`run_sweep`.

Determinism: each run is executed through :func:`execute_task`, which pins torch (when loaded
by the run) to one thread, so a run's numbers depend only on its seed, not on the executor.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import SweepConfig, SweepTask
from .store import SweepStore

__all__ = [
    "run_sweep",
    "execute_task",
    "make_executor",
    "check_executor",
    "SweepOutcome",
    "SweepInterrupted",
    "git_revision",
    "EXECUTORS",
]

EXECUTORS = ("local", "dask")


class SweepInterrupted(RuntimeError):
    """Raised by :func:`run_sweep` on Ctrl-C after the store was left consistent."""

    def __init__(self, stored: int, missing: int):
        super().__init__(
            f"interrupted: {stored} runs stored, {missing} missing; run the same command "
            "again to finish the missing ones"
        )
        self.stored = stored
        self.missing = missing


@dataclass(frozen=True)
class SweepOutcome:
    """What :func:`run_sweep` did: keys run now, keys that failed (with messages), total."""

    ran: tuple[tuple[str, float, int], ...]
    skipped: int
    failed: dict[tuple[str, float, int], str] = field(default_factory=dict)
    total: int = 0

    @property
    def complete(self) -> bool:
        return not self.failed and self.skipped + len(self.ran) == self.total


def git_revision() -> str:
    """``git rev-parse HEAD`` of the code's checkout (``+dirty`` if modified), or ``unknown``."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "lingauss", "neural"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def execute_task(run_fn: Callable[[SweepTask], Mapping[str, Any]], task: SweepTask) -> dict:
    """Run ``run_fn(task)`` single-threaded and time it; returns the result as a plain dict.

    Sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` to 1 for libraries loaded by the run, and
    ``torch.set_num_threads(1)`` if torch is already loaded (the real run functions of
    :mod:`neural.sweep.runners` pin torch themselves after importing it).
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    _torch_single_thread()
    t0 = time.perf_counter()
    result = dict(run_fn(task))
    result.setdefault("wall_time", time.perf_counter() - t0)
    return result


def _torch_single_thread() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def check_executor(kind: str, workers: int, scheduler: str | None) -> None:
    """ValueError for an unknown executor, a non-positive worker count, a stray scheduler."""
    if kind not in EXECUTORS:
        raise ValueError(f"executor: expected one of {EXECUTORS}, got {kind!r}")
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    if kind == "local" and scheduler is not None:
        raise ValueError("scheduler: only with --executor dask")


def make_executor(kind: str = "local", *, workers: int = 1, scheduler: str | None = None):
    """An executor for :func:`run_sweep`; returns ``(executor, close)``.

    Parameters
    ----------
    kind : {"local", "dask"}
    workers : int
        Worker processes (local), or workers of the LocalCluster (dask without a scheduler).
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (dask only).
    """
    check_executor(kind, workers, scheduler)
    if kind == "local":
        ex = cf.ProcessPoolExecutor(int(workers), mp_context=multiprocessing.get_context("spawn"))

        def close(cancel: bool = False):
            if cancel:  # stop the runs in flight too: their results would be discarded anyway
                procs = list((getattr(ex, "_processes", None) or {}).values())
                ex.shutdown(wait=False, cancel_futures=True)
                for p in procs:
                    if p.is_alive():
                        p.terminate()
                for p in procs:
                    p.join(timeout=10)
            else:
                ex.shutdown(wait=True)

        return ex, close
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a declared extra
        raise ValueError(
            "executor: dask.distributed is not installed (pip install 'lingauss[sweep]')"
        ) from exc
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    ex = client.get_executor()

    def close(cancel: bool = False):
        try:
            ex.shutdown(wait=not cancel)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    return ex, close


def run_sweep(
    config: SweepConfig,
    store: SweepStore,
    *,
    run_fn: Callable[[SweepTask], Mapping[str, Any]] | None = None,
    executor: cf.Executor | None = None,
    workers: int = 1,
    progress: bool = True,
    device: str = "cpu",
) -> SweepOutcome:
    """Run the runs of ``config`` that have no row in ``store``, inserting each as it finishes.

    Parameters
    ----------
    config : SweepConfig
    store : SweepStore
        Opened with the same ``config``.
    run_fn : callable, optional
        ``run_fn(task) -> dict`` (picklable); default :func:`neural.sweep.runners.run_task`.
    executor : concurrent.futures.Executor, optional
        Default: a local spawn process pool of ``workers`` processes, shut down on return.
    progress : bool
        tqdm bar on stderr.
    device : str
        Where the runs train (``"cpu"``, ``"auto"``, ``"cuda"``); not part of the sweep's
        identity.

    Returns
    -------
    SweepOutcome
        A run that raised is reported in ``failed`` (no row; the next call retries it).

    Raises
    ------
    SweepInterrupted
        On KeyboardInterrupt: pending runs are cancelled, finished rows kept, nothing partial.
    """
    if store.config.digest() != config.digest():
        raise ValueError("store: opened with another sweep configuration")
    if run_fn is None:
        from .runners import run_task as run_fn
    missing = store.missing()
    total = len(config.keys())
    if not missing:
        return SweepOutcome(ran=(), skipped=total, total=total)
    own = executor is None
    close = None
    if own:
        executor, close = make_executor("local", workers=min(int(workers), len(missing)))
    bar = _bar(total, total - len(missing), progress)
    revision = git_revision()
    ckpt_root = store.checkpoint_root
    ran, failed = [], {}
    futures: dict[cf.Future, tuple[tuple[str, float, int], SweepTask]] = {}
    try:
        for key in missing:
            task = config.task(key[1], key[2], ckpt_root, device)
            futures[executor.submit(execute_task, run_fn, task)] = (key, task)
        for fut in cf.as_completed(futures):
            key, task = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # the run failed: no row, retried next time
                failed[key] = f"{type(exc).__name__}: {exc}"
                bar.update(1)
                continue
            ckpt = task.checkpoint_dir
            rel = None
            if ckpt is not None and Path(ckpt).exists():
                rel = str(Path(ckpt).relative_to(store.path.parent))
            store.insert(
                key,
                result,
                task_config={"sweep": config.to_dict(), "task": task.to_dict()},
                git_revision=revision,
                wall_time=float(result["wall_time"]),
                checkpoint=rel,
            )
            ran.append(key)
            bar.update(1)
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        if close is not None:
            close(cancel=True)
            close = None
        bar.close()
        done = len(store.completed())
        raise SweepInterrupted(done, total - done) from None
    finally:
        if close is not None:
            close()
        bar.close()
    return SweepOutcome(ran=tuple(ran), skipped=total - len(missing), failed=failed, total=total)


def _bar(total: int, initial: int, enabled: bool):
    if not enabled:
        from lingauss.commands.arguments import NoBar

        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc="sweep", file=sys.stderr)
