"""Typed, frozen configurations of the neural models: the linear-Gaussian VAE, the MLP VAE, and
the variance floors that make ill-posed cells well-posed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .config_base import ConfigBase, positive_float, positive_int

__all__ = [
    "LinearVAEConfig",
    "MLPVAEConfig",
    "VarianceFloor",
    "model_config_from_dict",
    "ACTIVATIONS",
]

ACTIVATIONS = ("tanh", "relu", "gelu", "softplus")


@dataclass(frozen=True)
class LinearVAEConfig(ConfigBase):
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
        object.__setattr__(self, "n", positive_int(self.n, "n"))
        object.__setattr__(self, "m", positive_int(self.m, "m"))
        object.__setattr__(self, "batch", positive_int(self.batch, "batch"))


@dataclass(frozen=True)
class MLPVAEConfig(ConfigBase):
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
        object.__setattr__(self, "n", positive_int(self.n, "n"))
        object.__setattr__(self, "m", positive_int(self.m, "m"))
        object.__setattr__(self, "batch", positive_int(self.batch, "batch"))
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            raise ValueError(
                f"hidden: expected a sequence of widths, got {self.hidden!r}"
            ) from None
        if not hidden:
            raise ValueError("hidden: needs at least one hidden layer")
        object.__setattr__(self, "hidden", tuple(positive_int(h, "hidden") for h in hidden))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: expected one of {ACTIVATIONS}, got {self.activation!r}")


@dataclass(frozen=True)
class VarianceFloor(ConfigBase):
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
        object.__setattr__(self, "sigma_w", positive_float(self.sigma_w, "sigma_w"))
        object.__setattr__(self, "sigma_z", positive_float(self.sigma_z, "sigma_z"))

    #: Default floors relative to the scale of each space (see :meth:`default`).
    RELATIVE: ClassVar[float] = 1e-3

    @classmethod
    def default(cls, Sigma_Y) -> VarianceFloor:
        """``sigma_w = 1e-3`` (relative to the unit prior variance) and ``sigma_z = 1e-3 ×
        min diag Σ_Y``: each caps the signal-to-noise ratio of its space at 1000, i.e. at most
        ``½ log(1 + 1000) ≈ 3.45`` nats per latent direction or data coordinate."""
        Sigma_Y = np.asarray(Sigma_Y, dtype=float)
        return cls(cls.RELATIVE, cls.RELATIVE * float(np.min(np.diagonal(Sigma_Y))))


_MODEL_CONFIGS = {c.kind: c for c in (LinearVAEConfig, MLPVAEConfig)}


def model_config_from_dict(data: dict[str, Any]) -> LinearVAEConfig | MLPVAEConfig:
    """Dispatch on ``data["kind"]`` (``"linear"`` or ``"mlp"``)."""
    if not isinstance(data, dict) or data.get("kind") not in _MODEL_CONFIGS:
        got = data.get("kind") if isinstance(data, dict) else data
        raise ValueError(f"data: 'kind' must be one of {sorted(_MODEL_CONFIGS)}, got {got!r}")
    return _MODEL_CONFIGS[data["kind"]].from_dict(data)
