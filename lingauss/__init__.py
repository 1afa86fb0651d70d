"""lingauss: exact and learned disentanglement in linear-Gaussian β-VAEs.

The closed-form subsystem (numpy/scipy/sympy/pandas only; never torch):

* :mod:`lingauss.gaussian` — entropy, mutual information, total correlation, KL;
* :mod:`lingauss.loss` — the γλ-VAE loss (and its λβ form) in closed form;
* :mod:`lingauss.solver` — exact encoder/decoder updates and the batched solver (also importable
  as :mod:`lingauss.blahut_arimoto`);
* :mod:`lingauss.scenarios` — generative-factor scenarios (published and user-built);
* :mod:`lingauss.metrics` — I_m, SAP, matched MI, MIG, DCI and one metrics report;
* :mod:`lingauss.decomposition` — the β-TCVAE decomposition of the KL term, exact;
* :mod:`lingauss.rate_distortion` — the Gaussian rate–distortion bound;
* :mod:`lingauss.protocol` — the published success-rate tables, two protocols;
* :mod:`lingauss.slides_hypothesis` — the slides' G-versus-m hypothesis, tested;
* :mod:`lingauss.study` — the follow-up λβ-VAE linear study;
* :mod:`lingauss.symbolic` — sympy derivations of the updates (loaded on first use);
* :mod:`lingauss.plots` — matplotlib figures (import it explicitly).

The neural reference path (torch) is the separate package :mod:`neural`.
"""

from importlib import import_module as _import_module

from . import metrics
from .blahut_arimoto import *  # noqa: F401,F403
from .blahut_arimoto import __all__ as _ba_all
from .decomposition import *  # noqa: F401,F403
from .decomposition import __all__ as _decomposition_all
from .gaussian import *  # noqa: F401,F403
from .gaussian import __all__ as _gaussian_all
from .loss import *  # noqa: F401,F403
from .loss import __all__ as _loss_all
from .metrics import (
    dci_score,
    im_score,
    matched_mi_score,
    mig_score,
    report,
    sap_score,
)
from .protocol import *  # noqa: F401,F403
from .protocol import __all__ as _protocol_all
from .rate_distortion import *  # noqa: F401,F403
from .rate_distortion import __all__ as _rd_all
from .scenarios import *  # noqa: F401,F403
from .scenarios import __all__ as _scenarios_all
from .slides_hypothesis import *  # noqa: F401,F403
from .slides_hypothesis import __all__ as _hypothesis_all
from .study import (
    PUBLISHED_STUDY,
    STUDY_BETAS,
    STUDY_LAMS,
    FixedPointGrid,
    evaluate_solutions,
    fixed_point_study,
    solve_fixed_point_grid,
    study_heatmap,
    study_scenario,
    summarize_study,
)

__version__ = "0.1.0"

_LAZY = {  # name -> module; sympy is slow to import, so these load on first use
    "SymbolicCheck": "symbolic",
    "verify_encoder_update": "symbolic",
    "verify_decoder_update": "symbolic",
    "verify_collapse_hessian": "symbolic",
    "verify_divergence_rate": "symbolic",
    "verify_all": "symbolic",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(_import_module(f"lingauss.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lingauss' has no attribute {name!r}")


__all__ = [
    *_gaussian_all,
    *_loss_all,
    *_ba_all,
    *_scenarios_all,
    *_decomposition_all,
    *_rd_all,
    *_protocol_all,
    *_hypothesis_all,
    "PUBLISHED_STUDY",
    "STUDY_BETAS",
    "STUDY_LAMS",
    "FixedPointGrid",
    "evaluate_solutions",
    "fixed_point_study",
    "solve_fixed_point_grid",
    "study_heatmap",
    "study_scenario",
    "summarize_study",
    "metrics",
    "im_score",
    "sap_score",
    "matched_mi_score",
    "mig_score",
    "dci_score",
    "report",
    *_LAZY,
]

# The seeds' objectives, exact (issue 12): lingauss.objectives.
from . import objectives  # noqa: E402
from .objectives import *  # noqa: E402,F401,F403
from .objectives import __all__ as _objectives_all  # noqa: E402

__all__ += ["objectives", *_objectives_all]
