"""The protocol conventions: the :class:`Protocol` dataclass, the authors' notebook
convention beside the exact protocol (:data:`PROTOCOLS`), the published (γ, λ) grid and the
resolution of a configuration into scenarios.

Every convention on which the two protocols differ is one row of ``_CONVENTIONS`` (notebook
value, exact value); see :mod:`lingauss.protocol` for what each choice means.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..metrics.im import IM_TIE_TOL
from ..metrics.sap import SAP_TIE_ATOL, SAP_TIE_RTOL
from ..scenarios import CONFIGS, Scenario, scenario

__all__ = [
    "GAMMAS",
    "LAMBDAS",
    "Protocol",
    "PROTOCOLS",
    "get_protocol",
    "resolve_protocol",
    "config_scenarios",
    "grid_values",
]

GAMMAS = (0.98, 0.99, 1.00, 1.01, 1.02)
LAMBDAS = (-0.02, -0.01, 0.0, 0.01, 0.02)

#: Allowed values of each convention field of :class:`Protocol`.
_CHOICES = {
    "preset": ("rounded", "analytic", "resampled"),
    "init": ("authors", "exchangeable"),
    "stop_rule": ("notebook", "exact", "none"),
    "select": ("recon", "loss"),
    "x_block": ("identity", "true"),
    "sap_var": ("nominal", "true"),
    "tie_rule": ("authors", "exact"),
    "count": ("all", "decided"),
}


@dataclass(frozen=True)
class Protocol:
    """How a success table is computed.

    Attributes
    ----------
    name : str
    preset : {"rounded", "analytic", "resampled"}
        Σ_V of the published scenarios (see :func:`lingauss.scenario`). ``"resampled"``
        redraws Σ_V for every seed as the authors' notebooks did on each run: the sample
        covariance of 10⁷ draws (a Wishart draw) rounded to 4 decimals
        (:func:`resample_sigma_v`).
    restarts : tuple of (family, runs) pairs
        Runs per cell for the scenario family ("s3", "s5"; "default" for user scenarios).
    init : {"authors", "exchangeable"}
        Initial encoder law (:func:`lingauss.random_encoder`).
    stop_rule : {"notebook", "exact", "none"}
    select : {"recon", "loss"}
        Keep the run with the smallest reconstruction error or the smallest loss.
    x_block : {"identity", "true"}
        X block of the joint covariance given to the metrics.
    sap_var : {"nominal", "true"}
        SAP denominators: nominal σ_v² and ``Var x = 1``, or the true variances.
    tie_rule : {"authors", "exact"}
        I_m tie rule (:func:`lingauss.metrics.im_score`).
    count : {"all", "decided"}
        Which cells enter a success rate's denominator.
    max_half_steps, tol, history_every : BA options.
    im_tie_tol, sap_tie_atol, sap_tie_rtol : metric resolution thresholds.
    """

    name: str
    preset: str
    restarts: tuple[tuple[str, int], ...]
    init: str
    stop_rule: str
    select: str
    x_block: str
    sap_var: str
    tie_rule: str
    count: str
    max_half_steps: int = 10_000
    tol: float = 1e-10
    history_every: int = 50
    im_tie_tol: float = IM_TIE_TOL
    sap_tie_atol: float = SAP_TIE_ATOL
    sap_tie_rtol: float = SAP_TIE_RTOL

    def __post_init__(self):
        for field_, allowed in _CHOICES.items():
            if getattr(self, field_) not in allowed:
                raise ValueError(
                    f"{field_}: expected one of {allowed}, got {getattr(self, field_)!r}"
                )
        runs = dict(self.restarts)
        if "default" not in runs or any(not isinstance(r, int) or r < 1 for r in runs.values()):
            raise ValueError("restarts: need positive run counts including a 'default' entry")
        if int(self.max_half_steps) < 1 or int(self.history_every) < 1:
            raise ValueError("max_half_steps, history_every: must be >= 1")

    def runs_per_cell(self, sc: Scenario) -> int:
        """Runs per cell for a scenario (by its published family, else ``default``)."""
        runs = dict(self.restarts)
        family = CONFIGS[sc.config][3] if sc.config in CONFIGS else "default"
        return runs.get(family, runs["default"])

    def replace(self, **changes) -> Protocol:
        """A copy with some fields changed (e.g. ``init="exchangeable"``)."""
        return dataclasses.replace(self, **changes)


_RESTARTS = (("s3", 6), ("s5", 2), ("default", 2))

#: The two protocols, convention by convention: field -> (notebook, exact).
_CONVENTIONS = {
    "preset": ("rounded", "analytic"),
    "init": ("authors", "exchangeable"),
    "stop_rule": ("notebook", "exact"),
    "select": ("recon", "loss"),
    "x_block": ("identity", "true"),
    "sap_var": ("nominal", "true"),
    "tie_rule": ("authors", "exact"),
    "count": ("all", "decided"),
}

PROTOCOLS: dict[str, Protocol] = {
    name: Protocol(
        name=name, restarts=_RESTARTS, **{f: pair[k] for f, pair in _CONVENTIONS.items()}
    )
    for k, name in enumerate(("notebook", "exact"))
}


def get_protocol(protocol: str | Protocol) -> Protocol:
    """A :class:`Protocol` from its name (or the protocol itself).

    Examples
    --------
    >>> get_protocol("exact").select
    'loss'
    """
    if isinstance(protocol, Protocol):
        return protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected one of {sorted(PROTOCOLS)}, got {protocol!r}")
    return PROTOCOLS[protocol]


def resolve_protocol(
    protocol: str | Protocol, init: str | None = None, preset: str | None = None
) -> Protocol:
    """:func:`get_protocol` with the initialiser and Σ_V preset overridden where given.

    Examples
    --------
    >>> resolve_protocol("notebook", init="exchangeable").init
    'exchangeable'
    """
    prot = get_protocol(protocol)
    if init is not None:
        prot = prot.replace(init=init)
    if preset is not None:
        prot = prot.replace(preset=preset)
    return prot


def config_scenarios(config, preset: str = "rounded") -> list[tuple[str, list[Scenario]]]:
    """Resolve ``config`` into ``[(label, [scenarios sharing (m, n)]), ...]``.

    ``config``: a published configuration name, ``"all"``, a list of names, or a sequence of
    :class:`Scenario` objects (grouped by ``config`` label or name and by ``(m, n)``).
    Under ``preset="resampled"`` the published scenarios come with the analytic Σ_V, which
    :func:`resample_sigma_v` redraws per seed.

    Examples
    --------
    >>> [(label, len(scs)) for label, scs in config_scenarios(["3-4-3", "5-5-4"])]
    [('3-4-3', 3), ('5-5-4', 3)]
    """
    if isinstance(config, str):
        names = list(CONFIGS) if config == "all" else [config]
    elif isinstance(config, Scenario):
        config = [config]
        names = None
    else:
        try:
            config = list(config)
        except TypeError:
            raise ValueError(
                f"config: expected a name, 'all' or scenarios, got {config!r}"
            ) from None
        if not config:
            raise ValueError("config: empty")
        names = config if all(isinstance(c, str) for c in config) else None
    if names is not None:
        bad = [n for n in names if n not in CONFIGS]
        if bad:
            raise ValueError(f"config: expected one of {sorted(CONFIGS) + ['all']}, got {bad[0]!r}")
        base = "analytic" if preset == "resampled" else preset
        return [(n, [scenario(n, k, base) for k in (1, 2, 3)]) for n in names]
    if not all(isinstance(c, Scenario) for c in config):
        raise ValueError("config: a list must hold only configuration names or only Scenarios")
    groups: dict[tuple, list[Scenario]] = {}
    for sc in config:
        label = sc.config or sc.name
        groups.setdefault((label, sc.m, sc.n), []).append(sc)
    return [(label, scs) for (label, _, _), scs in groups.items()]


def grid_values(values, name: str) -> np.ndarray:
    """A non-empty sequence of finite numbers as a float array (``name`` for the error).

    Examples
    --------
    >>> grid_values([1, 0.5], "gammas")
    array([1. , 0.5])
    """
    try:
        arr = np.asarray([float(v) for v in values])
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a sequence of numbers") from None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected a non-empty sequence of finite numbers")
    return arr
