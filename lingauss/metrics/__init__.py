"""Disentanglement metrics on the joint covariance of (X, V).

Each metric is a pure function on arrays (a joint covariance, or the cross-covariance and
variances); sample-based wrappers live in :mod:`neural`.
"""

from .dci import *  # noqa: F401,F403
from .dci import __all__ as _dci_all
from .grouping import *  # noqa: F401,F403
from .grouping import __all__ as _grouping_all
from .im import *  # noqa: F401,F403
from .im import __all__ as _im_all
from .matched import *  # noqa: F401,F403
from .matched import __all__ as _matched_all
from .mig import *  # noqa: F401,F403
from .mig import __all__ as _mig_all
from .report import *  # noqa: F401,F403
from .report import __all__ as _report_all
from .sap import *  # noqa: F401,F403
from .sap import __all__ as _sap_all

__all__: list[str] = [
    *_im_all,
    *_sap_all,
    *_grouping_all,
    *_matched_all,
    *_mig_all,
    *_dci_all,
    *_report_all,
]

# sample metrics with discrete factors (issue 13)
from .sampled import *  # noqa: E402,F401,F403
from .sampled import __all__ as _sampled_all  # noqa: E402
from .sampled_fitted import *  # noqa: E402,F401,F403
from .sampled_fitted import __all__ as _sampled_fitted_all  # noqa: E402

__all__ += [*_sampled_all, *_sampled_fitted_all]
