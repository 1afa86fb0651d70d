"""The configurations of the hypothesis test: the published ones and :data:`NEW_CONFIGS`
(four factors observed in five coordinates, ``m = 4`` or ``m = 2``), resolved into
scenarios."""

from __future__ import annotations

import dataclasses

from ..scenarios import CONFIGS, Scenario, factor_group_scenario, scenario

__all__ = ["NEW_CONFIGS", "HYPOTHESIS_CONFIGS", "new_config_scenarios", "resolve_scenarios"]

# Four factors observed in five coordinates (the fifth is noise only), scales like the s5
# family: leaders' σ, loadings and noise σ as in reference §5 (s5), one group structure per
# scenario, from four independent factors (G = 4) down to one group (G = 1).
_NEW_SIGMA = (0.05, 0.02, 0.04, 0.03)
_NEW_LOAD = {1: 0.3, 2: 0.4, 3: 0.2}
_NEW_SZ = {1: 0.02, 2: 0.03, 3: 0.02}
_NEW_STRUCTURES = (
    ((0,), (1,), (2,), (3,)),
    ((0, 1), (2,), (3,)),
    ((0, 1), (2, 3)),
    ((0, 1, 2, 3),),
)

#: New configurations: name -> (s, n, m).
NEW_CONFIGS: dict[str, tuple[int, int, int]] = {"4-5-4": (4, 5, 4), "4-5-2": (4, 5, 2)}
HYPOTHESIS_CONFIGS = tuple(CONFIGS) + tuple(NEW_CONFIGS)


def new_config_scenarios(name: str) -> list[Scenario]:
    """The scenarios of a configuration in :data:`NEW_CONFIGS` (G = 4, 3, 2, 1).

    In each group the first factor leads (σ = 0.05, 0.02, 0.04, 0.03 for factors 1-4 when
    they lead); a follower ``k`` is ``v_k = a_k v_lead + z_k`` with ``a = 0.3, 0.4, 0.2`` and
    ``σ_z = 0.02, 0.03, 0.02`` for factors 2-4; observation noise σ = 0.01; ``n = 5``.

    Examples
    --------
    >>> [sc.n_groups for sc in new_config_scenarios("4-5-4")]
    [4, 3, 2, 1]
    """
    if name not in NEW_CONFIGS:
        raise ValueError(f"name: expected one of {sorted(NEW_CONFIGS)}, got {name!r}")
    s, n, m = NEW_CONFIGS[name]
    out = []
    for k, groups in enumerate(_NEW_STRUCTURES, start=1):
        leads = [_NEW_SIGMA[g[0]] for g in groups]
        followers = [j for g in groups for j in g[1:]]
        sc = factor_group_scenario(
            groups,
            leads,
            {j: _NEW_LOAD[j] for j in followers},
            {j: _NEW_SZ[j] for j in followers},
            noise_sd=0.01,
            m=m,
            n=n,
        )
        out.append(dataclasses.replace(sc, name=f"{name} scenario {k}", config=name, number=k))
    return out


def resolve_scenarios(config, preset: str) -> list[Scenario]:
    """The scenarios named by ``config``: a published configuration (with Σ_V ``preset``), a
    name in :data:`NEW_CONFIGS`, ``"all"`` (both kinds), a Scenario, or a list of these.

    Examples
    --------
    >>> [sc.name for sc in resolve_scenarios(["4-5-2", "3-4-3"], "rounded")][3:5]
    ['4-5-2 scenario 4', '3-4-3 scenario 1 (rounded)']
    """
    if isinstance(config, str):
        if config == "all":
            return [sc for c in HYPOTHESIS_CONFIGS for sc in resolve_scenarios(c, preset)]
        if config in NEW_CONFIGS:
            return new_config_scenarios(config)
        if config in CONFIGS:
            return [scenario(config, k, preset) for k in (1, 2, 3)]
        raise ValueError(
            f"config: expected one of {list(HYPOTHESIS_CONFIGS) + ['all']}, got {config!r}"
        )
    if isinstance(config, Scenario):
        return [config]
    try:
        items = list(config)
    except TypeError:
        raise ValueError(f"config: expected a name, a Scenario or a list, got {config!r}") from None
    if not items:
        raise ValueError("config: empty")
    return [sc for c in items for sc in resolve_scenarios(c, preset)]
