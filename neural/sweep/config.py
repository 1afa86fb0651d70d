"""What a sweep is: its configuration, its hash and the runs it consists of.

A sweep is the grid ``weights × seeds`` of one objective on one data set, each run trained for
the same number of steps. :class:`SweepConfig` holds exactly the things that change a run's
result (data, objective, swept weight and its values, the fixed weights, seeds, steps, preset);
its :meth:`SweepConfig.digest` identifies the sweep in a store, so that a store written by
another configuration is refused rather than mixed. How the runs are executed (local processes
or Dask, how many workers) is not part of it: a sweep may be resumed on another executor.

The data set is named by a string:

* ``"dsprites"`` — the procedural dSprites renderer of :mod:`neural.datasets`;
* ``"scenario:CONFIG:N"`` — the linear bridge on scenario ``N`` (1, 2 or 3) of a published
  configuration (``3-4-3``, ...), e.g. ``"scenario:3-4-3:2"``;
* a path to an original ``dsprites_ndarray_*.npz`` (kept as ``"npz:/absolute/path"`` with the
  file's SHA-256 beside it, so a changed file is a different sweep).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SweepConfig",
    "SweepTask",
    "SWEPT_WEIGHT",
    "PRESET_NAMES",
    "parse_data",
    "parse_weights",
    "data_kind",
    "run_id",
]

#: The weight a sweep varies, per objective, unless ``weight_name`` says otherwise.
SWEPT_WEIGHT = {
    "beta-vae": "beta",
    "beta-tcvae": "beta",
    "factor-vae": "gamma",
    "dip-vae-i": "lambda_od",
    "dip-vae-ii": "lambda_od",
    "gamma-lambda": "gamma",
}

#: Training budgets: ``cpu`` (reduced steps, for a 2-core machine) and ``paper`` (the
#: published budget, for a GPU). The step counts themselves belong to the run functions.
PRESET_NAMES = ("cpu", "paper")


def parse_weights(text: str | Sequence[float], name: str = "weights") -> tuple[float, ...]:
    """Parse ``"1,2,4"`` (or a sequence) into distinct finite non-negative floats, in order.

    Raises
    ------
    ValueError
        Empty list, a non-number, a negative or non-finite value, a repeated value.
    """
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}") from None
    else:
        values = [float(v) for v in text]
    if not values:
        raise ValueError(f"{name}: expected at least one value")
    for v in values:
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name}: every value must be finite and >= 0, got {v!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name}: values repeat in {values}")
    return tuple(values)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_data(text: str) -> tuple[str, str | None]:
    """Normalise ``--data``: returns ``(data, digest)`` (``digest`` only for a file).

    Raises
    ------
    ValueError
        An unknown data set, a malformed ``scenario:`` spec, a path that is not an ``.npz``
        file. (The file's array shapes are checked by the image loader, before anything is
        written.)
    """
    from lingauss.scenarios import CONFIGS

    text = str(text).strip()
    if text == "dsprites":
        return "dsprites", None
    if text.startswith("scenario:"):
        parts = text.split(":")
        if len(parts) != 3 or parts[1] not in CONFIGS or parts[2] not in {"1", "2", "3"}:
            raise ValueError(
                f"data: expected scenario:CONFIG:N with CONFIG in {sorted(CONFIGS)} and N in "
                f"1, 2, 3, got {text!r}"
            )
        return text, None
    path = Path(text).expanduser()
    if text.endswith(".npz") or path.exists():
        if not path.is_file():
            raise ValueError(f"data: {text!r} is not a file")
        if path.suffix != ".npz":
            raise ValueError(f"data: {text!r} is not an .npz file (dsprites_ndarray_*.npz)")
        return f"npz:{path.resolve()}", _sha256(path)
    raise ValueError(
        f"data: unknown data set {text!r}; expected 'dsprites', 'scenario:CONFIG:N' "
        "or the path of a dsprites_ndarray_*.npz file"
    )


def data_kind(data: str) -> str:
    """``"dsprites"`` (procedural or file) or ``"scenario"`` (the linear bridge)."""
    return "scenario" if data.startswith("scenario:") else "dsprites"


def run_id(objective: str, weight: float, seed: int) -> str:
    """A file-name-safe identifier of one run, e.g. ``beta-vae_w4_s0``."""
    w = repr(float(weight)).replace(".", "p").replace("-", "m").replace("+", "")
    if w.endswith("p0"):
        w = w[:-2]
    return f"{objective}_w{w}_s{int(seed)}"


@dataclass(frozen=True)
class SweepConfig:
    """One sweep: ``objective`` on ``data`` for every (weight, seed), ``steps`` steps each.

    Attributes
    ----------
    data : str
        Normalised data name (see :func:`parse_data`).
    objective : str
        A name of :data:`lingauss.objectives.OBJECTIVES`.
    weights : tuple of float
        Values of the swept weight ``weight_name``.
    seeds : tuple of int
        Seeds of the runs (data order, initialisation, noise).
    steps : int
        Training steps of every run.
    preset : str
        ``"cpu"`` or ``"paper"`` (the budget the run functions use beside ``steps``).
    weight_name : str
        The swept weight (default per objective, :data:`SWEPT_WEIGHT`).
    fixed : tuple of (str, float)
        The objective's other weights, held fixed (defaults of the objective unless given).
    data_digest : str or None
        SHA-256 of the data file, for a file.
    """

    data: str
    objective: str
    weights: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    preset: str = "cpu"
    weight_name: str = ""
    fixed: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    data_digest: str | None = None

    def __post_init__(self):
        from lingauss.objectives import OBJECTIVES, check_objective

        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective: unknown objective {self.objective!r}; expected one of "
                f"{sorted(OBJECTIVES)}"
            )
        name = self.weight_name or SWEPT_WEIGHT.get(self.objective, "")
        object.__setattr__(self, "weight_name", name)
        object.__setattr__(self, "weights", parse_weights(self.weights))
        fixed = tuple(sorted((str(k), float(v)) for k, v in dict(self.fixed).items()))
        if name in dict(fixed):
            raise ValueError(f"fixed: {name!r} is the swept weight; it cannot also be fixed")
        object.__setattr__(self, "fixed", fixed)
        for w in self.weights:  # validates the weight names and values for the objective
            check_objective(self.objective, {**dict(fixed), name: w})
        seeds = tuple(int(s) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"seeds: expected distinct non-negative seeds, got {self.seeds!r}")
        object.__setattr__(self, "seeds", seeds)
        if isinstance(self.steps, bool) or int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"steps: expected a positive integer, got {self.steps!r}")
        object.__setattr__(self, "steps", int(self.steps))
        if self.preset not in PRESET_NAMES:
            raise ValueError(f"preset: expected one of {PRESET_NAMES}, got {self.preset!r}")
        if not (self.data == "dsprites" or self.data.startswith(("scenario:", "npz:"))):
            raise ValueError(f"data: not a normalised data name: {self.data!r} (parse_data)")

    # ------------------------------------------------------------------ identity
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weights"] = list(self.weights)
        d["seeds"] = list(self.seeds)
        d["fixed"] = [list(kv) for kv in self.fixed]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepConfig:
        d = dict(d)
        d["weights"] = tuple(d["weights"])
        d["seeds"] = tuple(d["seeds"])
        d["fixed"] = tuple((k, v) for k, v in d.get("fixed", ()))
        return cls(**d)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the input of :meth:`digest`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`to_json`: the sweep's identity in a store."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    # ------------------------------------------------------------------ runs
    def keys(self) -> list[tuple[str, float, int]]:
        """Every ``(objective, weight, seed)`` of the sweep, weight-major."""
        return [(self.objective, w, s) for w in self.weights for s in self.seeds]

    def task(
        self,
        weight: float,
        seed: int,
        checkpoint_root: str | os.PathLike | None = None,
        device: str = "cpu",
    ) -> SweepTask:
        """The :class:`SweepTask` of run ``(weight, seed)`` (``device``: where it trains)."""
        ckpt = None
        if checkpoint_root is not None:
            ckpt = str(Path(checkpoint_root) / run_id(self.objective, weight, seed))
        return SweepTask(
            data=self.data,
            objective=self.objective,
            weight_name=self.weight_name,
            weight=float(weight),
            weights={**dict(self.fixed), self.weight_name: float(weight)},
            seed=int(seed),
            steps=self.steps,
            preset=self.preset,
            checkpoint_dir=ckpt,
            device=str(device),
        )


@dataclass(frozen=True)
class SweepTask:
    """One run, as handed to a run function (picklable; no open handles).

    A run function is any picklable callable ``run_fn(task) -> Mapping[str, Any]`` returning
    the row's metrics (plain floats; strings for ``status`` and ``*_regime`` entries). It must
    be deterministic for ``task.seed``, and may write files only under ``task.checkpoint_dir``.
    """

    data: str
    objective: str
    weight_name: str
    weight: float
    weights: dict[str, float]
    seed: int
    steps: int
    preset: str
    checkpoint_dir: str | None = None
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
