"""Blahut–Arimoto for the γλ-VAE loss: the public names of :mod:`lingauss.solver`.

The solver lives in the subpackage :mod:`lingauss.solver` (one module per concept: the exact
updates, the loop and its stopping rules, the batched and single-problem runs); this module
keeps the import path ``lingauss.blahut_arimoto`` working and re-exports the same names.
"""

from .solver import *  # noqa: F401,F403
from .solver import __all__  # noqa: F401
