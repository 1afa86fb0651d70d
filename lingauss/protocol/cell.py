"""One cell of a table, solved exactly as :func:`success_table` solves it (same seeds, same
runs): the kept Blahut–Arimoto solution and the table row."""

from __future__ import annotations

from dataclasses import dataclass

from ..blahut_arimoto import Solution
from ..scenarios import CONFIGS, Scenario, scenario
from .conventions import Protocol, grid_values, resolve_protocol
from .runs import solve_group
from .scoring import metric_selection
from .seeding import normalize_seeds, scenarios_by_seed
from .tables import table_rows

__all__ = ["CellResult", "solve_cell"]


@dataclass(frozen=True)
class CellResult:
    """One cell of a table: the kept BA solution and the table row (as a dict)."""

    solution: Solution
    row: dict


def solve_cell(
    config,
    number: int | None,
    gamma: float,
    lam: float,
    protocol: str | Protocol = "notebook",
    seed: int = 0,
    *,
    init: str | None = None,
    preset: str | None = None,
    metrics="published",
) -> CellResult:
    """Solve one cell exactly as :func:`success_table` does (same seeds, same runs).

    Parameters
    ----------
    config : str or Scenario
        A published configuration name (then ``number`` picks the scenario) or a Scenario
        (``number`` ignored).
    number : int
    gamma, lam : float
    protocol : {"notebook", "exact"} or Protocol
    seed : int
    init, preset, metrics :
        As in :func:`success_table` (``metrics="all"`` adds the KL decomposition, matched
        MI, MIG and DCI to the row).

    Returns
    -------
    CellResult
        ``solution``: the kept :class:`lingauss.Solution`; ``row``: the table row.
    """
    prot = resolve_protocol(protocol, init, preset)
    metrics = metric_selection(metrics)
    if isinstance(config, Scenario):
        sc = config
        label = sc.config or sc.name
    else:
        if config not in CONFIGS:
            raise ValueError(f"config: expected one of {sorted(CONFIGS)}, got {config!r}")
        sc = scenario(config, number, "analytic" if prot.preset == "resampled" else prot.preset)
        label = config
    gammas = grid_values([gamma], "gamma")
    lambdas = grid_values([lam], "lam")
    if gammas[0] <= 0:
        raise ValueError(f"gamma: must be > 0, got {gamma!r}")
    seeds = normalize_seeds([seed])
    by_seed = scenarios_by_seed(label, [sc], prot, seeds)
    chosen, _, R = solve_group(label, by_seed, prot, seeds, gammas, lambdas, None, True)
    row = table_rows(label, by_seed, prot, seeds, gammas, lambdas, chosen, R, metrics)
    row = row.iloc[0].to_dict()
    return CellResult(solution=chosen["solutions"][0], row=row)
