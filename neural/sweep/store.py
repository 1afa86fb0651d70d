"""The SQLite store of a sweep: one row per finished run, and the sweep's identity.

Layout (stdlib :mod:`sqlite3`; WAL journal while a sweep writes, a plain file once closed):

* table ``sweep`` (``key``, ``value``): ``schema_version``, ``config`` (the canonical JSON of
  :class:`~neural.sweep.config.SweepConfig`), ``config_hash`` (its SHA-256), ``created``;
* table ``runs``: primary key ``(objective, weight, seed)``; ``weight_name``, ``config`` (the
  run's JSON: the task), ``git_revision``, ``steps``, ``wall_time`` (s), ``status``, the metric
  columns :data:`METRIC_COLUMNS` (NULL where a run does not produce the metric, e.g. D(z_real)
  outside FactorVAE), the exact optimum's terms :data:`EXACT_COLUMNS` (linear bridge only),
  ``exact_regime``, ``checkpoint`` (path relative to the store's folder), ``extra`` (JSON of
  any other value the run returned) and ``finished_at`` (UTC, ISO 8601).

Consistency. A new store is built in a temporary file and renamed into place, so a store is
either absent or complete. A row is inserted in one transaction when its run has finished,
never updated afterwards (``INSERT OR IGNORE``: a row already present is kept as it is), so a
sweep killed at any moment leaves finished rows only, and a reader never sees half a row.
Opening an existing file checks it first, read-only: a file that is not SQLite, or SQLite
without this schema, or a store written by another sweep configuration, is refused with a
:class:`ValueError` and left untouched.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import SweepConfig

__all__ = ["SweepStore", "METRIC_COLUMNS", "EXACT_COLUMNS", "SCHEMA_VERSION", "read_rows"]

SCHEMA_VERSION = "1"

#: Learned metrics of a run (per image / per data point, nats; NULL where not produced).
METRIC_COLUMNS = (
    "rec_error",
    "kl",
    "tc_mss",
    "tc_discriminator",
    "d_real",
    "d_perm",
    "mig",
    "sap",
    "dci",
    "factor_vae_score",
    "loss",
    "mi",
    "tc",
    "dimkl",
    "active_latents",
)
#: The exact optimum's loss and terms (linear bridge; lingauss.objectives.optimize_objective).
EXACT_COLUMNS = (
    "exact_loss",
    "exact_nll",
    "exact_kl",
    "exact_mi",
    "exact_tc",
    "exact_dimkl",
    "exact_mig",
)
_KEY = ("objective", "weight", "seed")
_TEXT = ("weight_name", "config", "git_revision", "status", "exact_regime", "checkpoint")
_COLUMNS = (
    *_KEY,
    "weight_name",
    "config",
    "git_revision",
    "steps",
    "wall_time",
    "status",
    *METRIC_COLUMNS,
    *EXACT_COLUMNS,
    "exact_regime",
    "checkpoint",
    "extra",
    "finished_at",
)
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _schema_sql() -> list[str]:
    metric = ", ".join(f"{c} REAL" for c in (*METRIC_COLUMNS, *EXACT_COLUMNS))
    return [
        "CREATE TABLE sweep (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE runs (objective TEXT NOT NULL, weight REAL NOT NULL, seed INTEGER NOT "
        "NULL, weight_name TEXT NOT NULL, config TEXT NOT NULL, git_revision TEXT NOT NULL, "
        f"steps INTEGER NOT NULL, wall_time REAL NOT NULL, status TEXT NOT NULL, {metric}, "
        "exact_regime TEXT, checkpoint TEXT, extra TEXT NOT NULL, finished_at TEXT NOT NULL, "
        "PRIMARY KEY (objective, weight, seed))",
    ]


def _check_file(path: Path) -> dict[str, str]:
    """The ``sweep`` table of an existing store, read-only; ValueError if it is not a store."""
    if not path.is_file():
        raise ValueError(f"store: {str(path)!r} is not a file")
    with open(path, "rb") as fh:
        head = fh.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise ValueError(f"store: {str(path)!r} is not an SQLite file (corrupt store?); left as is")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            meta = dict(con.execute("SELECT key, value FROM sweep").fetchall())
            cols = [r[1] for r in con.execute("PRAGMA table_info(runs)").fetchall()]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"store: {str(path)!r} is not a sweep store ({exc}); left as is") from None
    if tuple(cols) != _COLUMNS or not {"schema_version", "config", "config_hash"} <= set(meta):
        raise ValueError(f"store: {str(path)!r} does not have the sweep schema; left as is")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise ValueError(
            f"store: {str(path)!r} has schema version {meta['schema_version']!r}, this code "
            f"writes {SCHEMA_VERSION!r}"
        )
    return meta


def _create(path: Path, config: SweepConfig) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        try:
            with con:
                for sql in _schema_sql():
                    con.execute(sql)
                meta = {
                    "schema_version": SCHEMA_VERSION,
                    "config": config.to_json(),
                    "config_hash": config.digest(),
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                con.executemany("INSERT INTO sweep VALUES (?, ?)", sorted(meta.items()))
        finally:
            con.close()
        if path.exists():  # another process created it meanwhile: theirs wins
            return
        mask = os.umask(0o022)  # mkstemp made it 0600: give it the mode a new file gets
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _float(v) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _json_value(v):
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f if math.isfinite(f) else str(f)


class SweepStore:
    """An open sweep store (see the module docstring).

    Parameters
    ----------
    path : path-like
        The SQLite file; created (atomically) if absent.
    config : SweepConfig
        The sweep. An existing store must have been written by the same configuration
        (same :meth:`SweepConfig.digest`), otherwise :class:`ValueError`.

    Use :meth:`open_readonly` to read a store without knowing its configuration.
    """

    def __init__(self, path, config: SweepConfig):
        self.path = Path(path)
        if self.path.exists():
            meta = _check_file(self.path)
            if meta["config_hash"] != config.digest():
                raise ValueError(
                    f"store: {str(self.path)!r} was written by another sweep configuration "
                    f"({meta['config']}); this sweep is {config.to_json()}. Refusing to mix: "
                    "use another --store"
                )
        else:
            _create(self.path, config)
            meta = _check_file(self.path)
        self.config = config
        self.meta = meta
        self._con = sqlite3.connect(self.path, timeout=30.0)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=FULL")

    @staticmethod
    def open_readonly(path) -> tuple[SweepConfig, list[dict[str, Any]]]:
        """The configuration and rows of an existing store, without writing anything."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"store: {str(path)!r} does not exist")
        meta = _check_file(path)
        config = SweepConfig.from_dict(json.loads(meta["config"]))
        return config, read_rows(path)

    @property
    def checkpoint_root(self) -> Path:
        """Folder of the runs' checkpoints, beside the store: ``<store>.checkpoints/``."""
        return self.path.with_name(self.path.name + ".checkpoints")

    def close(self) -> None:
        """Close; back to a rollback journal, so the closed store is one self-contained file
        (readers then need no ``-wal``/``-shm`` files; another open writer keeps WAL on)."""
        try:
            self._con.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:  # another connection holds the database
            pass
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def completed(self) -> set[tuple[str, float, int]]:
        """The ``(objective, weight, seed)`` keys with a row."""
        cur = self._con.execute("SELECT objective, weight, seed FROM runs")
        return {(o, float(w), int(s)) for o, w, s in cur.fetchall()}

    def missing(self) -> list[tuple[str, float, int]]:
        """The sweep's keys without a row, in sweep order."""
        done = self.completed()
        return [k for k in self.config.keys() if k not in done]

    def insert(
        self,
        key: tuple[str, float, int],
        result: Mapping[str, Any],
        *,
        task_config: Mapping[str, Any],
        git_revision: str,
        wall_time: float,
        checkpoint: str | None = None,
    ) -> bool:
        """Insert one finished run in one transaction; False if its row already exists."""
        result = dict(result)
        objective, weight, seed = key
        known = {*METRIC_COLUMNS, *EXACT_COLUMNS, "exact_regime", "status", "steps", "wall_time"}
        row = {
            "objective": objective,
            "weight": float(weight),
            "seed": int(seed),
            "weight_name": self.config.weight_name,
            "config": json.dumps(dict(task_config), sort_keys=True),
            "git_revision": git_revision,
            "steps": int(result.get("steps", self.config.steps)),
            "wall_time": float(result.get("wall_time", wall_time)),
            "status": str(result.get("status", "ok")),
            "exact_regime": result.get("exact_regime"),
            "checkpoint": checkpoint,
            "extra": json.dumps(
                {k: _json_value(v) for k, v in result.items() if k not in known},
                sort_keys=True,
            ),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        for c in (*METRIC_COLUMNS, *EXACT_COLUMNS):
            row[c] = _float(result.get(c))
        sql = (
            f"INSERT OR IGNORE INTO runs ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
        )
        with self._con:  # one transaction
            cur = self._con.execute(sql, [row[c] for c in _COLUMNS])
        return cur.rowcount == 1

    def rows(self) -> list[dict[str, Any]]:
        """Every row, as dicts (NULL metrics as NaN), in key order."""
        return _rows(self._con)


def _rows(con: sqlite3.Connection) -> list[dict[str, Any]]:
    cur = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs ORDER BY objective, weight, seed")
    out = []
    for values in cur.fetchall():
        row = dict(zip(_COLUMNS, values))
        for c in (*METRIC_COLUMNS, *EXACT_COLUMNS):
            if row[c] is None:
                row[c] = float("nan")
        out.append(row)
    return out


def read_rows(path) -> list[dict[str, Any]]:
    """Rows of a store (checked first, opened read-only)."""
    path = Path(path)
    _check_file(path)
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _rows(con)
    finally:
        con.close()
