"""Image data sets for the neural path: dSprites rendered procedurally in torch
(:mod:`neural.datasets.dsprites`) and a seeded sampler with a fixed held-out split
(:mod:`neural.datasets.sampler`)."""

from .dsprites import *  # noqa: F401,F403
from .dsprites import __all__ as _dsprites_all
from .sampler import *  # noqa: F401,F403
from .sampler import __all__ as _sampler_all

__all__ = [*_dsprites_all, *_sampler_all]
