"""The training configuration of the neural path (one for the whole batched grid)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from .config_base import ConfigBase, positive_float, positive_int

__all__ = ["TrainingConfig", "OBJECTIVES"]

OBJECTIVES = ("mc", "closed_form")


@dataclass(frozen=True)
class TrainingConfig(ConfigBase):
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
        object.__setattr__(self, "max_steps", positive_int(self.max_steps, "max_steps"))
        object.__setattr__(self, "lr", positive_float(self.lr, "lr"))
        try:
            b1, b2 = (float(b) for b in self.betas)
        except (TypeError, ValueError):
            raise ValueError(f"betas: expected two numbers, got {self.betas!r}") from None
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas: each must lie in [0, 1), got {self.betas!r}")
        object.__setattr__(self, "betas", (b1, b2))
        decay = positive_float(self.lr_decay, "lr_decay")
        if decay >= 1:
            raise ValueError(f"lr_decay: must be < 1, got {self.lr_decay!r}")
        object.__setattr__(self, "lr_decay", decay)
        object.__setattr__(self, "n_decays", positive_int(self.n_decays, "n_decays", 0))
        if self.n_train is not None:
            object.__setattr__(self, "n_train", positive_int(self.n_train, "n_train", 2))
        if self.batch_size is None:
            if self.n_train is None:
                raise ValueError("batch_size: None (full batch) needs a fixed training set n_train")
        else:
            object.__setattr__(self, "batch_size", positive_int(self.batch_size, "batch_size"))
        object.__setattr__(self, "mc_samples", positive_int(self.mc_samples, "mc_samples"))
        object.__setattr__(self, "antithetic", bool(self.antithetic))
        object.__setattr__(self, "n_val", positive_int(self.n_val, "n_val", 2))
        object.__setattr__(self, "eval_every", positive_int(self.eval_every, "eval_every"))
        object.__setattr__(self, "patience", positive_int(self.patience, "patience"))
        object.__setattr__(
            self, "min_delta", positive_float(self.min_delta, "min_delta", allow_zero=True)
        )
        if not isinstance(self.device, str):
            raise ValueError(f"device: expected a string, got {self.device!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype: expected 'float64' or 'float32', got {self.dtype!r}")
        if self.num_threads is not None:
            object.__setattr__(self, "num_threads", positive_int(self.num_threads, "num_threads"))
        object.__setattr__(self, "progress", bool(self.progress))

    def replace(self, **changes) -> TrainingConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
