"""Typed, frozen configurations of the neural path, and save/load of trained models.

Each configuration is a small frozen dataclass with ``to_dict()`` / ``from_dict()`` (JSON-safe,
validated on construction, in the manner of pythae's ``BaseConfig``). A trained model is saved
as a directory holding ``config.json`` (its model configuration plus optional metadata) and
``model.pt`` (the torch state dict); :func:`save_model` writes both into a temporary sibling
directory and renames it into place, so a failure never leaves a half-written model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "LinearVAEConfig",
    "MLPVAEConfig",
    "TrainingConfig",
    "VarianceFloor",
    "model_config_from_dict",
    "save_model",
    "load_model",
    "OBJECTIVES",
    "ACTIVATIONS",
]

OBJECTIVES = ("mc", "closed_form")
ACTIVATIONS = ("tanh", "relu", "gelu", "softplus")


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a real number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: must be finite and {bound}, got {value!r}")
    return v


class _Config:
    """Shared ``to_dict`` / ``from_dict`` of the frozen configuration dataclasses."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind} if self.kind else {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build from :meth:`to_dict` output; unknown keys or a wrong ``kind`` raise."""
        if not isinstance(data, dict):
            raise ValueError(f"data: expected a dict, got {type(data).__name__}")
        data = dict(data)
        kind = data.pop("kind", cls.kind)
        if kind != cls.kind:
            raise ValueError(f"data: kind {kind!r} does not match {cls.__name__} ({cls.kind!r})")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"data: unknown keys {unknown} for {cls.__name__}")
        return cls(**data)


@dataclass(frozen=True)
class LinearVAEConfig(_Config):
    """The linear-Gaussian VAE with the analytic parameterisation.

    Attributes
    ----------
    n, m : int
        Data and latent dimensions.
    batch : int
        Number of independent models trained together (leading parameter dimension ``G``).
    """

    kind: ClassVar[str] = "linear"
    n: int
    m: int
    batch: int = 1

    def __post_init__(self):
        object.__setattr__(self, "n", _positive_int(self.n, "n"))
        object.__setattr__(self, "m", _positive_int(self.m, "m"))
        object.__setattr__(self, "batch", _positive_int(self.batch, "batch"))


@dataclass(frozen=True)
class MLPVAEConfig(_Config):
    """MLP encoder mean and decoder mean with the same Gaussian heads as the linear model.

    Attributes
    ----------
    n, m, batch : int
        As in :class:`LinearVAEConfig`.
    hidden : tuple of int
        Hidden layer widths of both the encoder and the decoder MLP.
    activation : {"tanh", "relu", "gelu", "softplus"}
    """

    kind: ClassVar[str] = "mlp"
    n: int
    m: int
    batch: int = 1
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "tanh"

    def __post_init__(self):
        object.__setattr__(self, "n", _positive_int(self.n, "n"))
        object.__setattr__(self, "m", _positive_int(self.m, "m"))
        object.__setattr__(self, "batch", _positive_int(self.batch, "batch"))
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise ValueError(
                f"hidden: expected a sequence of widths, got {self.hidden!r}"
            ) from None
        if not hidden:
            raise ValueError("hidden: needs at least one hidden layer")
        object.__setattr__(self, "hidden", tuple(_positive_int(h, "hidden") for h in hidden))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {ACTIVATIONS}, got {self.activation!r}")


@dataclass(frozen=True)
class VarianceFloor(_Config):
    """Lower bounds on the noise variances that make ill-posed cells well-posed (γ > 1).

    The constraint set is ``Σ_W ⪰ sigma_w · I_m`` and ``diag Σ_Z ≥ sigma_z``; Blahut–Arimoto
    applies it as a projected update (eigenvalues floored), the network reaches the same set
    through the parameterisation ``Σ_W = L L^T + sigma_w I`` and ``Σ_Z = diag(exp(ℓ)) +
    sigma_z I``. ``sigma_w`` is in latent units (the prior is ``N(0, I)``); ``sigma_z`` in the
    units of the data.
    """

    kind: ClassVar[str] = ""
    sigma_w: float
    sigma_z: float

    def __post_init__(self):
        object.__setattr__(self, "sigma_w", _positive_float(self.sigma_w, "sigma_w"))
        object.__setattr__(self, "sigma_z", _positive_float(self.sigma_z, "sigma_z"))

    #: Default floors relative to the scale of each space (see :meth:`default`).
    RELATIVE: ClassVar[float] = 1e-3

    @classmethod
    def default(cls, Sigma_Y) -> VarianceFloor:
        """``sigma_w = 1e-3`` (relative to the unit prior variance) and ``sigma_z = 1e-3 ×
        min diag Σ_Y``: each caps the signal-to-noise ratio of its space at 1000, i.e. at most
        ``½ log(1 + 1000) ≈ 3.45`` nats per latent direction or data coordinate."""
        Sigma_Y = np.asarray(Sigma_Y, dtype=float)
        return cls(cls.RELATIVE, cls.RELATIVE * float(np.min(np.diagonal(Sigma_Y))))


@dataclass(frozen=True)
class TrainingConfig(_Config):
    """How to train (one configuration for the whole batched grid).

    Attributes
    ----------
    objective : {"mc", "closed_form"}
        ``"mc"``: the Monte Carlo γλ loss with the reparameterisation trick (any model).
        ``"closed_form"``: the exact loss at the parameters (linear model only; deterministic).
    max_steps : int
        Adam steps at most.
    lr : float
        Initial Adam learning rate (the model's parameters are scale-free, see
        :mod:`neural.models`).
    betas : tuple of float
        Adam's moment decay rates.
    lr_decay : float
        On a plateau the member's learning rate is multiplied by this factor; after
        ``n_decays`` reductions the next plateau stops the member (early stopping).
    n_decays : int
    batch_size : int or None
        Data points per step (``None``: the whole training set, needs ``n_train``).
    mc_samples : int
        Encoder noise draws per data point.
    antithetic : bool
        Also use ``-ε`` for every draw ``ε`` (antithetic variates: still unbiased; for the
        linear decoder the noise term linear in ``ε``, the largest part of the gradient
        noise, cancels exactly within each pair).
    n_train : int or None
        Size of a fixed training set drawn once per seed; ``None`` draws fresh data every step.
    n_val : int
        Size of the validation set (per seed) that decides plateaus and the kept iterate.
    eval_every : int
        Steps between validation evaluations.
    patience : int
        Evaluations without an improvement of more than ``min_delta`` nats that make a plateau.
    min_delta : float
        Improvement (nats) that counts.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ...
    dtype : {"float64", "float32"}
    num_threads : int or None
        CPU threads torch may use while training (restored afterwards); ``None`` leaves the
        setting alone. The default 1 is fastest for these small matrices: with several threads
        the per-operation synchronisation costs more than the arithmetic (measured 3-10x
        slower on a loaded 2-core machine).
    progress : bool
        Show a progress bar.
    """

    kind: ClassVar[str] = ""
    objective: str = "mc"
    max_steps: int = 6000
    lr: float = 0.02
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay: float = 0.3
    n_decays: int = 3
    batch_size: int | None = 512
    mc_samples: int = 1
    antithetic: bool = True
    n_train: int | None = None
    n_val: int = 16384
    eval_every: int = 50
    patience: int = 6
    min_delta: float = 1e-6
    device: str = "auto"
    dtype: str = "float64"
    num_threads: int | None = 1
    progress: bool = True

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective: expected one of {OBJECTIVES}, got {self.objective!r}")
        object.__setattr__(self, "max_steps", _positive_int(self.max_steps, "max_steps"))
        object.__setattr__(self, "lr", _positive_float(self.lr, "lr"))
        try:
            b1, b2 = (float(b) for b in self.betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas: expected two numbers, got {self.betas!r}") from None
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas: each must lie in [0, 1), got {self.betas!r}")
        object.__setattr__(self, "betas", (b1, b2))
        decay = _positive_float(self.lr_decay, "lr_decay")
        if decay >= 1:
            raise ValueError(f"lr_decay: must be < 1, got {self.lr_decay!r}")
        object.__setattr__(self, "lr_decay", decay)
        object.__setattr__(self, "n_decays", _positive_int(self.n_decays, "n_decays", 0))
        if self.n_train is not None:
            object.__setattr__(self, "n_train", _positive_int(self.n_train, "n_train", 2))
        if self.batch_size is None:
            if self.n_train is None:
                raise ValueError("batch_size: None (full batch) needs a fixed training set n_train")
        else:
            object.__setattr__(self, "batch_size", _positive_int(self.batch_size, "batch_size"))
        object.__setattr__(self, "mc_samples", _positive_int(self.mc_samples, "mc_samples"))
        object.__setattr__(self, "antithetic", bool(self.antithetic))
        object.__setattr__(self, "n_val", _positive_int(self.n_val, "n_val", 2))
        object.__setattr__(self, "eval_every", _positive_int(self.eval_every, "eval_every"))
        object.__setattr__(self, "patience", _positive_int(self.patience, "patience"))
        object.__setattr__(
            self, "min_delta", _positive_float(self.min_delta, "min_delta", allow_zero=True)
        )
        if not isinstance(self.device, str):
            raise ValueError(f"device: expected a string, got {self.device!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype: expected 'float64' or 'float32', got {self.dtype!r}")
        if self.num_threads is not None:
            object.__setattr__(self, "num_threads", _positive_int(self.num_threads, "num_threads"))
        object.__setattr__(self, "progress", bool(self.progress))

    def replace(self, **changes) -> TrainingConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)


_MODEL_CONFIGS = {c.kind: c for c in (LinearVAEConfig, MLPVAEConfig)}


def model_config_from_dict(data: dict[str, Any]) -> LinearVAEConfig | MLPVAEConfig:
    """Dispatch on ``data["kind"]`` (``"linear"`` or ``"mlp"``)."""
    if not isinstance(data, dict) or data.get("kind") not in _MODEL_CONFIGS:
        got = data.get("kind") if isinstance(data, dict) else data
        raise ValueError(f"data: 'kind' must be one of {sorted(_MODEL_CONFIGS)}, got {got!r}")
    return _MODEL_CONFIGS[data["kind"]].from_dict(data)


_CONFIG_FILE = "config.json"
_STATE_FILE = "model.pt"


def save_model(model, path: str | os.PathLike, *, metadata: dict | None = None) -> Path:
    """Save a model as a directory ``path`` with ``config.json`` and ``model.pt``.

    The files are written into a temporary directory next to ``path`` which then replaces
    ``path`` (an existing model there is replaced only after the new one is complete).

    Parameters
    ----------
    model : neural.models.GaussianVAE
    path : path-like
        Target directory.
    metadata : dict, optional
        JSON-serialisable information stored beside the configuration (training settings,
        the γ/λ grid, ...), returned by :func:`load_model` with ``return_metadata=True``.
    """
    import torch

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    doc = {"model": model.config.to_dict(), "metadata": metadata or {}}
    try:
        text = json.dumps(doc, indent=2, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"metadata: not JSON-serialisable ({exc})") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
    old = None
    try:
        (tmp / _CONFIG_FILE).write_text(text)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(state, tmp / _STATE_FILE)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=parent))
            os.replace(path, old / "model")
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / "model").exists() and not path.exists():
            os.replace(old / "model", path)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return path


def load_model(path: str | os.PathLike, *, device="cpu", return_metadata: bool = False):
    """Load a model written by :func:`save_model` onto ``device``.

    Returns the model, or ``(model, metadata)`` with ``return_metadata=True``.
    """
    import torch

    from .device import resolve_device
    from .models import build_model

    path = Path(path)
    if not (path / _CONFIG_FILE).is_file() or not (path / _STATE_FILE).is_file():
        raise ValueError(f"path: {str(path)!r} does not hold {_CONFIG_FILE} and {_STATE_FILE}")
    doc = json.loads((path / _CONFIG_FILE).read_text())
    config = model_config_from_dict(doc["model"])
    dev = resolve_device(device)
    state = torch.load(path / _STATE_FILE, map_location="cpu", weights_only=True)
    model = build_model(config, dtype=state["y_scale"].dtype)
    model.load_state_dict(state)
    model = model.to(dev)
    return (model, doc.get("metadata", {})) if return_metadata else model
