"""lingauss: exact and learned disentanglement in linear-Gaussian β-VAEs."""

from .blahut_arimoto import *  # noqa: F401,F403
from .gaussian import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
