"""The seeds' objectives (β-VAE, β-TCVAE, FactorVAE, DIP-VAE-I/II, γλ), exact (issue 12).

* :mod:`.spec` — names, weights, coefficients and the unbounded regimes (derived);
* :mod:`.terms` — every exact term and each objective's loss, batched;
* :mod:`.profile` — the decoder profiled out: the loss of the encoder alone, with gradient;
* :mod:`.optimum` — the exact optimum of every objective, its regime;
* :mod:`.certificate` — the optimum's certificate, the rotation landscape, a reference optimiser;
* :mod:`.regimes` — drift paths that show the unbounded regimes;
* :mod:`.recovery` — which objective recovers the factors (I_m / SAP success table).

numpy/scipy only.
"""

from .certificate import *  # noqa: F401,F403
from .certificate import __all__ as _certificate_all
from .optimum import *  # noqa: F401,F403
from .optimum import __all__ as _optimum_all
from .profile import *  # noqa: F401,F403
from .profile import __all__ as _profile_all
from .recovery import *  # noqa: F401,F403
from .recovery import __all__ as _recovery_all
from .regimes import *  # noqa: F401,F403
from .regimes import __all__ as _regimes_all
from .spec import *  # noqa: F401,F403
from .spec import __all__ as _spec_all
from .terms import *  # noqa: F401,F403
from .terms import __all__ as _terms_all

__all__ = [
    *_spec_all,
    *_terms_all,
    *_profile_all,
    *_optimum_all,
    *_certificate_all,
    *_regimes_all,
    *_recovery_all,
]
