"""The seeds' objectives (β-VAE, β-TCVAE, FactorVAE, DIP-VAE-I/II, γλ), exact (issue 12).

* :mod:`.spec` — names, weights, coefficients and the unbounded regimes (derived);
* :mod:`.terms` — every exact term and each objective's loss, batched;
* :mod:`.optimum` — the exact optimum of every objective (decoder profiled out);
* :mod:`.certificate` — the optimum's certificate and the rotation landscape;
* :mod:`.recovery` — which objective recovers the factors (I_m / SAP success table).

numpy/scipy only.
"""

from .spec import *  # noqa: F401,F403
from .spec import __all__ as _spec_all
from .terms import *  # noqa: F401,F403
from .terms import __all__ as _terms_all

__all__ = [*_spec_all, *_terms_all]
