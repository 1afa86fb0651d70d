"""The neural reference path (torch): learned linear-Gaussian and MLP VAEs for lingauss.

The closed form (:mod:`lingauss`) says what the optimum of the γλ-VAE loss *is*; this package
trains the same model on samples and shows what gradient training *finds*:

* :mod:`neural.data` — seeded ``(V, Y)`` samples of a scenario as tensors on a device;
* :mod:`neural.models` — the batched linear-Gaussian VAE (analytic parameterisation) and an
  MLP variant with the same Gaussian heads;
* :mod:`neural.objective` — the γλ loss in closed form and by Monte Carlo (reparameterisation);
* :mod:`neural.training` — the whole (γ, λ) grid × seeds trained as one batched model, with
  :mod:`neural.batched_optim` (per-member Adam) and :mod:`neural.grid_data` (seeded streams);
* :mod:`neural.estimators` — plug-in and KSG mutual information, empirical I_m / SAP;
  :mod:`neural.sample_metrics` — every metric of :func:`lingauss.metrics.report` from samples;
* :mod:`neural.analytic_cell` — the BA optimum of a cell (floored where ill-posed);
  :mod:`neural.encoder_comparison` — the rows comparing two encoders;
  :mod:`neural.compare` — the BA optimum beside the learned encoder for one cell;
* :mod:`neural.tables` — success-rate tables of learned encoders beside the analytic ones;
* :mod:`neural.lambda_beta` — the learned half of the λβ study (AdamW, best recipe, Procrustes);
* :mod:`neural.objectives`, :mod:`neural.discriminator` — the seeds' objectives per minibatch
  (one implementation for the linear and the conv models), FactorVAE's discriminator and D*;
  :mod:`neural.objective_estimators`, :mod:`neural.objective_training`,
  :mod:`neural.objective_compare` — estimators against the exact truth, learned vs exact;
* :mod:`neural.datasets`, :mod:`neural.conv`, :mod:`neural.image_training` — procedural
  dSprites, the conv VAE, image training and evaluation; :mod:`neural.sweep` — resumable sweeps;
* :mod:`neural.model_config`, :mod:`neural.training_config` (re-exported by
  :mod:`neural.config`), :mod:`neural.persistence` (save/load), :mod:`neural.device`.
"""

import sys as _sys

from .analytic_cell import *  # noqa: F401,F403
from .arrays import *  # noqa: F401,F403
from .batched_optim import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .data import *  # noqa: F401,F403
from .device import *  # noqa: F401,F403
from .encoder_comparison import *  # noqa: F401,F403
from .estimators import *  # noqa: F401,F403
from .grid_data import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .objective import *  # noqa: F401,F403
from .persistence import *  # noqa: F401,F403
from .tables import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403

#: Modules whose ``__all__`` make the package's, in dependency order.
_MODULES = (
    "device",
    "model_config",
    "training_config",
    "persistence",
    "config",
    "data",
    "models",
    "objective",
    "batched_optim",
    "grid_data",
    "training",
    "arrays",
    "estimators",
    "analytic_cell",
    "encoder_comparison",
    "compare",
    "tables",
)
__all__ = list(
    dict.fromkeys(name for m in _MODULES for name in _sys.modules[f"{__name__}.{m}"].__all__)
)

# images (issue 13): procedural dSprites, the conv VAE, image training
from . import datasets  # noqa: E402,F401
from .conv import ConvVAE, ConvVAEConfig, load_conv_vae, save_conv_vae  # noqa: E402
from .image_training import ImageRunSpec, latent_traversal, train_and_evaluate  # noqa: E402

__all__ += [
    "datasets",
    "ConvVAE",
    "ConvVAEConfig",
    "save_conv_vae",
    "load_conv_vae",
    "ImageRunSpec",
    "train_and_evaluate",
    "latent_traversal",
]

# seed objectives (issue 12): minibatch losses, FactorVAE's discriminator, estimators vs truth
from .discriminator import (  # noqa: E402
    Discriminator,
    OptimalDiscriminator,
    discriminator_loss,
    discriminator_probability,
    discriminator_tc,
    optimal_discriminator_expectations,
    permute_dims,
)
from .objective_compare import ObjectiveComparison, compare_objective  # noqa: E402
from .objective_estimators import EstimatorTable, estimator_table, mws_offset  # noqa: E402
from .objective_training import ObjectiveTrainResult, train_objective  # noqa: E402
from .objectives import tc_decomposition  # noqa: E402

__all__ += [
    "Discriminator",
    "OptimalDiscriminator",
    "discriminator_loss",
    "discriminator_probability",
    "discriminator_tc",
    "optimal_discriminator_expectations",
    "permute_dims",
    "ObjectiveComparison",
    "compare_objective",
    "EstimatorTable",
    "estimator_table",
    "mws_offset",
    "ObjectiveTrainResult",
    "train_objective",
    "tc_decomposition",
]
