"""The base of the neural path's configurations: frozen dataclasses with a validated,
JSON-safe ``to_dict`` / ``from_dict`` round trip (in the manner of pythae's ``BaseConfig``),
and the argument checks they share."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

__all__ = ["ConfigBase", "positive_int", "positive_float"]


def positive_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` >= ``minimum`` (booleans refused); ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """``value`` as a finite ``float`` > 0 (>= 0 with ``allow_zero``); ``ValueError`` naming
    ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a real number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: must be finite and {bound}, got {value!r}")
    return v


class ConfigBase:
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
