"""Typed, frozen configuration of the convolutional VAE (no torch import: safe anywhere)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["ConvVAEConfig"]


def _int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ConvVAEConfig:
    """The Burgess et al. (2018) / Kim & Mnih (2018) convolutional VAE for 64×64 images.

    Attributes
    ----------
    latent_dim : int, default 10
        Number of latents ``m`` (diagonal Gaussian posterior, standard normal prior).
    channels : tuple of int, default (32, 32, 64, 64)
        Output channels of the encoder's 4×4 stride-2 convolutions (the decoder mirrors them
        with transposed convolutions). Each halves the side: ``image_size / 2**len(channels)``
        must be an integer >= 1.
    hidden : int, default 256
        Width of the fully connected layer between the convolutions and the latent heads.
    image_size : int, default 64
    in_channels : int, default 1
        Image channels (binary images: Bernoulli likelihood per pixel).
    """

    kind: ClassVar[str] = "conv"
    latent_dim: int = 10
    channels: tuple[int, ...] = (32, 32, 64, 64)
    hidden: int = 256
    image_size: int = 64
    in_channels: int = 1

    def __post_init__(self):
        object.__setattr__(self, "latent_dim", _int(self.latent_dim, "latent_dim"))
        try:
            ch = tuple(self.channels)
        except TypeError:
            raise ValueError(
                f"channels: expected a sequence of ints, got {self.channels!r}"
            ) from None
        if not ch:
            raise ValueError("channels: needs at least one convolution")
        object.__setattr__(self, "channels", tuple(_int(c, "channels") for c in ch))
        object.__setattr__(self, "hidden", _int(self.hidden, "hidden"))
        object.__setattr__(self, "image_size", _int(self.image_size, "image_size"))
        object.__setattr__(self, "in_channels", _int(self.in_channels, "in_channels"))
        side = self.image_size / 2 ** len(self.channels)
        if side < 1 or side != int(side):
            raise ValueError(
                f"image_size: {self.image_size} is not divisible by 2**{len(self.channels)} "
                f"(one halving per convolution)"
            )

    @property
    def feature_side(self) -> int:
        """Side of the last convolution's feature map (4 for the default)."""
        return self.image_size // 2 ** len(self.channels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with ``"kind": "conv"``."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvVAEConfig:
        """Inverse of :meth:`to_dict`; a wrong ``kind`` or an unknown key raises ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError(f"data: expected a dict, got {type(data).__name__}")
        data = dict(data)
        kind = data.pop("kind", cls.kind)
        if kind != cls.kind:
            raise ValueError(f"data: kind {kind!r} is not {cls.kind!r}")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"data: unknown keys {unknown} for ConvVAEConfig")
        return cls(**data)
