"""Configurations of the neural path, and save/load of trained models (one import path).

Re-exports, so that ``from neural.config import ...`` keeps working:

* :mod:`neural.model_config` — :class:`LinearVAEConfig`, :class:`MLPVAEConfig`,
  :class:`VarianceFloor`, :func:`model_config_from_dict`, :data:`ACTIVATIONS`;
* :mod:`neural.training_config` — :class:`TrainingConfig`, :data:`OBJECTIVES`;
* :mod:`neural.persistence` — :func:`save_model`, :func:`load_model`.

Each configuration is a small frozen dataclass with ``to_dict()`` / ``from_dict()`` (JSON-safe,
validated on construction; :mod:`neural.config_base`).
"""

from __future__ import annotations

from .model_config import (
    ACTIVATIONS,
    LinearVAEConfig,
    MLPVAEConfig,
    VarianceFloor,
    model_config_from_dict,
)
from .persistence import load_model, save_model
from .training_config import OBJECTIVES, TrainingConfig

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
