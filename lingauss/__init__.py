"""lingauss: exact and learned disentanglement in linear-Gaussian β-VAEs.

The closed-form subsystem (numpy/scipy/sympy/pandas only; never torch):

* :mod:`lingauss.gaussian` — entropy, mutual information, total correlation, KL;
* :mod:`lingauss.loss` — the γλ-VAE loss in closed form;
* :mod:`lingauss.blahut_arimoto` — exact encoder/decoder updates and the batched solver;
* :mod:`lingauss.scenarios` — generative-factor scenarios;
"""

from . import blahut_arimoto as _ba_module  # noqa: F401
from .blahut_arimoto import *  # noqa: F401,F403
from .blahut_arimoto import __all__ as _ba_all
from .gaussian import *  # noqa: F401,F403
from .gaussian import __all__ as _gaussian_all
from .loss import *  # noqa: F401,F403
from .loss import __all__ as _loss_all
from .scenarios import *  # noqa: F401,F403
from .scenarios import __all__ as _scenarios_all

__version__ = "0.1.0"

__all__ = [*_gaussian_all, *_loss_all, *_ba_all, *_scenarios_all]
