"""Generative-factor scenarios: Σ_V, Γ, the noise and the true grouping (reference §1, §5).

``Y = Γ V + Z̃`` with ``V ~ N(0, Σ_V)`` and ``Z̃ ~ N(0, σ² I_n)``, so
``Σ_Y = Γ Σ_V Γ^T + σ² I_n``. A scenario is a frozen :class:`Scenario`; the published ones
come from :func:`scenario`, new ones from :func:`factor_group_scenario` or
:func:`make_scenario`.
"""

from .model import Scenario, canonical_grouping, factor_group_scenario, make_scenario
from .published import CONFIGS, NAMED, PRESETS, scenario

__all__ = [
    "Scenario",
    "scenario",
    "make_scenario",
    "factor_group_scenario",
    "CONFIGS",
    "PRESETS",
    "NAMED",
    "canonical_grouping",
]
