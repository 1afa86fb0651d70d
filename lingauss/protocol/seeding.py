"""Seeds of a table: the seed list, the per-cell generators, the initial encoders and the
per-seed redraw of Σ_V.

Each cell's initial encoders come from ``numpy.random.default_rng([seed, key])`` with ``key``
a CRC-32 of (configuration, scenario, γ, λ) (:func:`cell_key`), so a table, a single cell and
a subset of seeds all draw the same runs.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from ..blahut_arimoto import random_encoder
from ..scenarios import Scenario
from ..validation import check_covariance
from .conventions import Protocol

__all__ = [
    "normalize_seeds",
    "scenario_number",
    "cell_key",
    "initial_encoders",
    "resample_sigma_v",
    "scenarios_by_seed",
]


def normalize_seeds(seeds) -> list[int]:
    """The seeds of a table: ``N`` means ``0..N-1``; a sequence must hold distinct
    non-negative integers.

    Raises
    ------
    ValueError
        Naming ``seeds``: a bool, a count below 1, a non-integer entry, an empty list, a
        negative or a repeated seed.

    Examples
    --------
    >>> normalize_seeds(3), normalize_seeds([5, 2])
    ([0, 1, 2], [5, 2])
    """
    if isinstance(seeds, bool):
        raise ValueError(f"seeds: expected a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds: need at least one seed, got {seeds}")
        return list(range(int(seeds)))
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise ValueError(f"seeds: expected a count or a list of integers, got {seeds!r}") from None
    if not out or any(s < 0 for s in out) or len(set(out)) != len(out):
        raise ValueError(f"seeds: need distinct non-negative integers, got {seeds!r}")
    return out


def scenario_number(sc: Scenario, pos: int) -> int:
    """The scenario's published number, else its 1-based position ``pos + 1`` in its group."""
    return int(sc.number) if sc.number is not None else pos + 1


def cell_key(label: str, number: int, gamma: float, lam: float) -> int:
    """CRC-32 of ``"label|number|γ|λ"`` (γ, λ rounded to 10 decimals, ``-0.0`` as ``0.0``):
    the second entropy word of the cell's generator ``default_rng([seed, key])``.

    Examples
    --------
    >>> cell_key("3-4-3", 1, 1.0, 0.0) == cell_key("3-4-3", 1, 1.0, -0.0)
    True
    """
    text = f"{label}|{number}|{round(float(gamma), 10) + 0.0!r}|{round(float(lam), 10) + 0.0!r}"
    return zlib.crc32(text.encode())


def initial_encoders(label, scs, protocol: Protocol, seeds, gammas, lambdas, runs: int):
    """The initial encoders of every run of a group of scenarios (same ``m, n``).

    Returns
    -------
    B0 : ndarray, shape (S, K, G, L, runs, m, n)
    Sigma_W0 : ndarray, shape (S, K, G, L, runs, m, m)
        For seed ``a``, scenario ``k``, ``γ_g``, ``λ_l``: ``runs`` draws of
        :func:`lingauss.random_encoder` (``protocol.init``) from
        ``default_rng([seeds[a], cell_key(label, number_k, γ_g, λ_l)])``.
    """
    m, n = scs[0].m, scs[0].n
    shape = (len(seeds), len(scs), len(gammas), len(lambdas), runs)
    B0 = np.empty(shape + (m, n))
    Sw0 = np.empty(shape + (m, m))
    for a, seed in enumerate(seeds):
        for k, sc in enumerate(scs):
            num = scenario_number(sc, k)
            for gi, g in enumerate(gammas):
                for li, lm in enumerate(lambdas):
                    rng = np.random.default_rng([seed, cell_key(label, num, g, lm)])
                    B0[a, k, gi, li], Sw0[a, k, gi, li] = random_encoder(
                        m, n, rng, size=runs, method=protocol.init
                    )
    return B0, Sw0


def resample_sigma_v(
    sc: Scenario, rng: np.random.Generator, *, draws: int = 10_000_000, decimals: int = 4
) -> Scenario:
    """The scenario with Σ_V replaced by a rounded sample covariance, as the authors built it.

    ``Σ̂ = round(W / (N - 1), decimals)`` with ``W ~ Wishart(N - 1, Σ_V)``: the law of the
    (centred) sample covariance of ``N = draws`` Gaussian draws, without drawing them.
    Entries whose exact value sits on a rounding midpoint (for s5, e.g. Cov(v1, v2) =
    0.00025) land on either side from one draw to the next.

    Raises
    ------
    ValueError
        If the rounded matrix is not positive definite.
    """
    from scipy.stats import wishart

    df = int(draws) - 1
    W = wishart(df=df, scale=sc.Sigma_V).rvs(random_state=rng) / df
    S, _ = check_covariance(np.round(W, int(decimals)), "Sigma_V (resampled)", batched=False)
    Sy = sc.Gamma @ S @ sc.Gamma.T + sc.noise_var * np.eye(sc.n)
    return dataclasses.replace(
        sc, Sigma_V=S, Sigma_Y=0.5 * (Sy + Sy.T), preset="resampled", name=sc.name + " resampled"
    )


def scenarios_by_seed(label, scs, protocol: Protocol, seeds) -> list[list[Scenario]]:
    """Per seed, the scenarios to run: the same objects unless Σ_V is resampled, then
    :func:`resample_sigma_v` from ``default_rng([seed, crc32("label|number|Sigma_V")])``."""
    if protocol.preset != "resampled":
        return [scs] * len(seeds)
    out = []
    for seed in seeds:
        row = []
        for k, sc in enumerate(scs):
            key = zlib.crc32(f"{label}|{scenario_number(sc, k)}|Sigma_V".encode())
            row.append(resample_sigma_v(sc, np.random.default_rng([seed, key])))
        out.append(row)
    return out
