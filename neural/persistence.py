"""Save and load trained models.

A trained model is saved as a directory holding ``config.json`` (its model configuration plus
optional metadata) and ``model.pt`` (the torch state dict); :func:`save_model` writes both into
a temporary sibling directory and renames it into place, so a failure never leaves a
half-written model.

Loading builds the model class registered for the configuration's type
(:func:`register_model_class`; :mod:`neural.models` registers its classes when imported), so
this module does not import the models and the models may call it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .device import resolve_device
from .model_config import model_config_from_dict

__all__ = ["save_model", "load_model", "register_model_class"]

_MODEL_CLASSES: dict[type, type] = {}


def register_model_class(config_type: type, model_class: type) -> None:
    """Build ``model_class(config, dtype=...)`` when :func:`load_model` reads a ``config_type``."""
    _MODEL_CLASSES[config_type] = model_class


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

    path = Path(path)
    if not (path / _CONFIG_FILE).is_file() or not (path / _STATE_FILE).is_file():
        raise ValueError(f"path: {str(path)!r} does not hold {_CONFIG_FILE} and {_STATE_FILE}")
    doc = json.loads((path / _CONFIG_FILE).read_text())
    config = model_config_from_dict(doc["model"])
    dev = resolve_device(device)
    state = torch.load(path / _STATE_FILE, map_location="cpu", weights_only=True)
    if type(config) not in _MODEL_CLASSES:
        raise ValueError(f"path: no model class registered for a {type(config).__name__}")
    model = _MODEL_CLASSES[type(config)](config, dtype=state["y_scale"].dtype)
    model.load_state_dict(state)
    model = model.to(dev)
    return (model, doc.get("metadata", {})) if return_metadata else model
