"""The neural reference path (torch): learned linear-Gaussian and MLP VAEs for lingauss.

The closed form (:mod:`lingauss`) says what the optimum of the γλ-VAE loss *is*; this package
trains the same model on samples and shows what gradient training *finds*:

* :mod:`neural.data` — seeded ``(V, Y)`` samples of a scenario as tensors on a device;
* :mod:`neural.models` — the batched linear-Gaussian VAE (analytic parameterisation) and an
  MLP variant with the same Gaussian heads;
* :mod:`neural.objective` — the γλ loss in closed form and by Monte Carlo (reparameterisation);
* :mod:`neural.training` — the whole (γ, λ) grid × seeds trained as one batched model;
* :mod:`neural.estimators` — plug-in and KSG mutual information, empirical I_m / SAP;
* :mod:`neural.compare` — the BA optimum beside the learned encoder for one cell;
* :mod:`neural.tables` — success-rate tables of learned encoders beside the analytic ones;
* :mod:`neural.config`, :mod:`neural.device` — configurations, save/load, device resolution.
"""

from .compare import *  # noqa: F401,F403
from .compare import __all__ as _compare_all
from .config import *  # noqa: F401,F403
from .config import __all__ as _config_all
from .data import *  # noqa: F401,F403
from .data import __all__ as _data_all
from .device import *  # noqa: F401,F403
from .device import __all__ as _device_all
from .estimators import *  # noqa: F401,F403
from .estimators import __all__ as _estimators_all
from .models import *  # noqa: F401,F403
from .models import __all__ as _models_all
from .objective import *  # noqa: F401,F403
from .objective import __all__ as _objective_all
from .tables import *  # noqa: F401,F403
from .tables import __all__ as _tables_all
from .training import *  # noqa: F401,F403
from .training import __all__ as _training_all

__all__ = [
    *_device_all,
    *_config_all,
    *_data_all,
    *_models_all,
    *_objective_all,
    *_training_all,
    *_estimators_all,
    *_compare_all,
    *_tables_all,
]

# images (issue 13): procedural dSprites, the conv VAE, image training
from . import datasets  # noqa: E402,F401
from .conv import ConvVAE, ConvVAEConfig, load_conv_vae, save_conv_vae  # noqa: E402
from .image_training import PRESETS as IMAGE_PRESETS  # noqa: E402
from .image_training import ImageRunSpec, latent_traversal, train_and_evaluate  # noqa: E402

__all__ += [
    "datasets",
    "ConvVAE",
    "ConvVAEConfig",
    "save_conv_vae",
    "load_conv_vae",
    "IMAGE_PRESETS",
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
from .objectives import objective_loss as minibatch_objective_loss  # noqa: E402
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
    "minibatch_objective_loss",
    "tc_decomposition",
]
