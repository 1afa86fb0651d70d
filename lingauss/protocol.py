"""Reproduce the published success-rate tables (reference §5-§7) under two protocols.

For each configuration, scenario and cell ``(γ, λ)`` of the 5 × 5 grid, Blahut-Arimoto runs
from several random encoders; one run is kept; the I_m and SAP metrics are computed on the joint
covariance of ``(X, V)``; each metric succeeds when its induced grouping of the factors matches
the true grouping (:func:`lingauss.metrics.grouping_success`). A *success rate* is the share of
cells in which a metric succeeds.

``metrics="all"`` adds, per cell, the KL decomposition (index-code MI, total correlation,
dimension-wise and marginal KL), the matched MI, MIG and DCI (:func:`metrics_for_scenario`).
These always use the true joint covariance of ``(X, V)``: the notebook protocol's identity X
block is a convention of the published I_m/SAP only (MIG and DCI need a positive-definite
matrix). MIG and DCI get success flags and rates like I_m and SAP.

Two protocols (:data:`PROTOCOLS`):

``notebook``
    The authors' protocol convention for convention (reference §6): the rounded Σ_V, 6 runs
    per cell for s3 and 2 for s5 from their non-exchangeable initialiser, their stopping rule
    (so most runs use all 10 000 half-steps), the run with the smallest reconstruction error
    kept, ``I_m`` in the X block of the joint covariance, SAP with the nominal σ_v and
    ``Var x = 1``, I_m rounded to 8 decimals with their enumeration-order tie rule, SAP ties to
    the lowest latent, and every cell counted: rate = successes / 25.

``exact``
    The formulas as written: analytic Σ_V, an exchangeable initialiser, the exact stopping
    rule, the run with the smallest loss kept, the true ``Σ_X`` and ``Var v_j``, and exact
    ties. A cell *counts* only when its run is at an interior optimum and the metric's
    decision is resolvable: cells whose encoder collapsed (no information, every grouping
    ties), diverged (γ > 1: the loss has no minimum, the run stops where float64 runs out),
    or whose metric decision is a tie (e.g. a factor the encoder does not represent at all,
    which can join any group at no cost) are counted separately. Interior runs that reach
    the half-step budget without meeting the exact rule (the slow approach at the γ = 1
    boundary) are counted, and their number is reported (``n_unconverged``). The rate is then
    successes / counted cells; the face-value rate over all 25 cells is reported too.

Overrides (``success_table(..., init=, preset=)``) change one convention at a time: e.g.
``init="exchangeable"`` (:func:`init_effect`), or ``preset="resampled"``, which redraws Σ_V for
every seed as the authors' notebooks did on every run (a rounded sample covariance of 10⁷
draws; the s5 matrices have entries on rounding midpoints, so they differ between runs).

Seeds: each cell's initial encoders come from ``numpy.random.default_rng([seed, key])`` with
``key`` a CRC-32 of (configuration, scenario, γ, λ), so a table, a single cell
(:func:`solve_cell`) and a subset of seeds all draw the same runs.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .blahut_arimoto import Solution, blahut_arimoto_batch, random_encoder
from .decomposition import KLDecomposition, kl_decomposition
from .gaussian import mutual_information
from .loss import reconstruction_error
from .metrics.common import INFO_TOL, TIE_RTOL
from .metrics.dci import (
    MAX_SHAPLEY_LATENTS,
    coefficient_importance,
    dci_from_importance,
    regression_r2,
    shapley_r2,
)
from .metrics.grouping import format_grouping, grouping_success
from .metrics.im import IM_TIE_TOL, im_score
from .metrics.matched import matched_mi_score
from .metrics.mig import code_factor_information, mig_from_information, pair_covariances
from .metrics.sap import SAP_TIE_ATOL, SAP_TIE_RTOL, sap_score
from .scenarios import CONFIGS, Scenario, scenario

__all__ = [
    "Protocol",
    "PROTOCOLS",
    "GAMMAS",
    "LAMBDAS",
    "METRICS",
    "EXTRA_METRICS",
    "ALL_METRICS",
    "DECOMPOSITION_COLUMNS",
    "metric_names",
    "metrics_for_scenario",
    "table_metrics",
    "add_counted",
    "PUBLISHED",
    "PUBLISHED_SOURCES",
    "published_table",
    "success_table",
    "summarize",
    "compare_published",
    "solve_cell",
    "CellResult",
    "init_effect",
    "get_protocol",
    "config_scenarios",
    "resample_sigma_v",
]

GAMMAS = (0.98, 0.99, 1.00, 1.01, 1.02)
LAMBDAS = (-0.02, -0.01, 0.0, 0.01, 0.02)
#: The published metrics (always in a table).
METRICS = ("I_m", "SAP")
#: Metrics added by ``metrics="all"``: they induce a grouping too, on the true joint covariance.
EXTRA_METRICS = ("MIG", "DCI")
ALL_METRICS = METRICS + EXTRA_METRICS
#: KL-decomposition columns added by ``metrics="all"`` (:func:`lingauss.kl_decomposition`).
DECOMPOSITION_COLUMNS = KLDecomposition.TERMS
METRIC_PREFIX = {"I_m": "im", "SAP": "sap", "MIG": "mig", "DCI": "dci"}
_ALIASES = {"i_m": "I_m", "im": "I_m", "sap": "SAP", "mig": "MIG", "dci": "DCI"}


def metric_names(metrics="all") -> tuple[str, ...]:
    """Normalise a metric selection: ``"all"``, a name or a sequence of names.

    Names are case-insensitive (``"I_m"``, ``"im"``, ``"SAP"``, ``"MIG"``, ``"DCI"``); the
    result is in :data:`ALL_METRICS` order without repeats.

    Examples
    --------
    >>> metric_names("all")
    ('I_m', 'SAP', 'MIG', 'DCI')
    >>> metric_names(["dci", "im"])
    ('I_m', 'DCI')
    """
    if isinstance(metrics, str):
        items = list(ALL_METRICS) if metrics.strip().lower() == "all" else [metrics]
    else:
        try:
            items = list(metrics)
        except TypeError:
            raise ValueError(
                f"metrics: expected 'all', a name or a list of names, got {metrics!r}"
            ) from None
    chosen = set()
    for x in items:
        key = str(x).strip().lower()
        if key == "all":
            chosen.update(ALL_METRICS)
        elif key in _ALIASES:
            chosen.add(_ALIASES[key])
        else:
            raise ValueError(f"metrics: expected names among {ALL_METRICS} or 'all', got {x!r}")
    if not chosen:
        raise ValueError("metrics: empty selection")
    return tuple(mt for mt in ALL_METRICS if mt in chosen)


# ------------------------------------------------------------------------------- protocols
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
        choices = {
            "preset": ("rounded", "analytic", "resampled"),
            "init": ("authors", "exchangeable"),
            "stop_rule": ("notebook", "exact", "none"),
            "select": ("recon", "loss"),
            "x_block": ("identity", "true"),
            "sap_var": ("nominal", "true"),
            "tie_rule": ("authors", "exact"),
            "count": ("all", "decided"),
        }
        for field_, allowed in choices.items():
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

PROTOCOLS: dict[str, Protocol] = {
    "notebook": Protocol(
        name="notebook",
        preset="rounded",
        restarts=_RESTARTS,
        init="authors",
        stop_rule="notebook",
        select="recon",
        x_block="identity",
        sap_var="nominal",
        tie_rule="authors",
        count="all",
    ),
    "exact": Protocol(
        name="exact",
        preset="analytic",
        restarts=_RESTARTS,
        init="exchangeable",
        stop_rule="exact",
        select="loss",
        x_block="true",
        sap_var="true",
        tie_rule="exact",
        count="decided",
    ),
}


def get_protocol(protocol: str | Protocol) -> Protocol:
    """A :class:`Protocol` from its name (or the protocol itself)."""
    if isinstance(protocol, Protocol):
        return protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected one of {sorted(PROTOCOLS)}, got {protocol!r}")
    return PROTOCOLS[protocol]


# ------------------------------------------------------------------------- published data
#: Published success rates (%), scenarios 1/2/3, keyed by (config, metric, source); reference
#: §7. Sources: "slides", "notebook" (the authors' notebook output) and "repeat-1".."repeat-5"
#: (their repeated s5 runs; the slides' (5,5,4) numbers are repeat-1).
PUBLISHED: dict[tuple[str, str, str], tuple[int, int, int]] = {
    ("3-4-3", "I_m", "slides"): (16, 64, 100),
    ("3-4-3", "SAP", "slides"): (40, 92, 92),
    ("5-5-4", "I_m", "slides"): (44, 60, 56),
    ("5-5-4", "SAP", "slides"): (52, 20, 4),
    ("3-4-3", "I_m", "notebook"): (16, 64, 100),
    ("3-4-3", "SAP", "notebook"): (40, 92, 92),
    ("5-5-4", "I_m", "notebook"): (20, 64, 40),
    ("5-5-4", "SAP", "notebook"): (44, 32, 4),
    ("3-4-2", "I_m", "notebook"): (48, 24, 100),
    ("3-4-2", "SAP", "notebook"): (60, 100, 84),
    ("5-5-3", "I_m", "notebook"): (24, 72, 68),
    ("5-5-3", "SAP", "notebook"): (72, 84, 12),
}
_REPEATS = {
    ("5-5-4", "I_m"): ((44, 28, 28, 40, 36), (60, 56, 72, 68, 56), (56, 40, 64, 60, 48)),
    ("5-5-4", "SAP"): ((52, 52, 64, 52, 56), (20, 44, 36, 40, 16), (4, 0, 4, 12, 4)),
    ("5-5-3", "I_m"): ((20, 28, 32, 32, 44), (80, 80, 64, 68, 64), (64, 56, 60, 48, 48)),
    ("5-5-3", "SAP"): ((80, 76, 84, 80, 80), (52, 72, 28, 56, 36), (4, 12, 28, 4, 4)),
}
for (_cfg, _met), _cols in _REPEATS.items():
    for _r in range(5):
        PUBLISHED[(_cfg, _met, f"repeat-{_r + 1}")] = tuple(c[_r] for c in _cols)
del _cfg, _met, _cols, _r
PUBLISHED_SOURCES = ("slides", "notebook") + tuple(f"repeat-{r}" for r in range(1, 6))


def published_table() -> pd.DataFrame:
    """:data:`PUBLISHED` as a tidy table: config, scenario, metric, source, published (%)."""
    rows = [
        {"config": c, "scenario": k + 1, "metric": met, "source": src, "published": float(v[k])}
        for (c, met, src), v in PUBLISHED.items()
        for k in range(3)
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- scenarios
def config_scenarios(config, preset: str = "rounded") -> list[tuple[str, list[Scenario]]]:
    """Resolve ``config`` into ``[(label, [scenarios sharing (m, n)]), ...]``.

    ``config``: a published configuration name, ``"all"``, a list of names, or a sequence of
    :class:`Scenario` objects (grouped by ``config`` label or name and by ``(m, n)``).
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


def _scenario_number(sc: Scenario, pos: int) -> int:
    return int(sc.number) if sc.number is not None else pos + 1


def _seeds(seeds) -> list[int]:
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


def _grid(values, name):
    try:
        arr = np.asarray([float(v) for v in values])
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a sequence of numbers") from None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected a non-empty sequence of finite numbers")
    return arr


def _cell_key(label: str, number: int, gamma: float, lam: float) -> int:
    text = f"{label}|{number}|{round(float(gamma), 10) + 0.0!r}|{round(float(lam), 10) + 0.0!r}"
    return zlib.crc32(text.encode())


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

    from .validation import check_covariance

    df = int(draws) - 1
    W = wishart(df=df, scale=sc.Sigma_V).rvs(random_state=rng) / df
    S, _ = check_covariance(np.round(W, int(decimals)), "Sigma_V (resampled)", batched=False)
    Sy = sc.Gamma @ S @ sc.Gamma.T + sc.noise_var * np.eye(sc.n)
    return dataclasses.replace(
        sc, Sigma_V=S, Sigma_Y=0.5 * (Sy + Sy.T), preset="resampled", name=sc.name + " resampled"
    )


def _scenarios_by_seed(label, scs, protocol, seeds):
    """Per seed, the scenarios to run (the same objects unless Σ_V is resampled)."""
    if protocol.preset != "resampled":
        return [scs] * len(seeds)
    out = []
    for seed in seeds:
        row = []
        for k, sc in enumerate(scs):
            key = zlib.crc32(f"{label}|{_scenario_number(sc, k)}|Sigma_V".encode())
            row.append(resample_sigma_v(sc, np.random.default_rng([seed, key])))
        out.append(row)
    return out


# ------------------------------------------------------------------------------- the engine
def _run_group(
    label, scs_by_seed, protocol, seeds, gammas, lambdas, progress, keep=False, n_jobs=1
):
    """All runs of one group of scenarios (same m, n) over all seeds, in batched BA calls.

    ``scs_by_seed[a][k]`` is scenario ``k`` under seed ``a``.
    """
    scs = scs_by_seed[0]
    m, n = scs[0].m, scs[0].n
    R = max(protocol.runs_per_cell(sc) for sc in scs)
    nS, nK, nG, nL = len(seeds), len(scs), len(gammas), len(lambdas)
    shape = (nS, nK, nG, nL, R)
    B0 = np.empty(shape + (m, n))
    Sw0 = np.empty(shape + (m, m))
    for a, seed in enumerate(seeds):
        for k, sc in enumerate(scs):
            num = _scenario_number(sc, k)
            for gi, g in enumerate(gammas):
                for li, lm in enumerate(lambdas):
                    rng = np.random.default_rng([seed, _cell_key(label, num, g, lm)])
                    B0[a, k, gi, li], Sw0[a, k, gi, li] = random_encoder(
                        m, n, rng, size=R, method=protocol.init
                    )
    Sy = np.broadcast_to(
        np.stack([[sc.Sigma_Y for sc in row] for row in scs_by_seed])[:, :, None, None, None],
        shape + (n, n),
    )
    gam = np.broadcast_to(gammas[None, None, :, None, None], shape)
    lam = np.broadcast_to(lambdas[None, None, None, :, None], shape)
    flat = lambda x, tail: np.ascontiguousarray(x).reshape((-1,) + tail)  # noqa: E731
    Sy_f, gam_f, lam_f = flat(Sy, (n, n)), flat(gam, ()), flat(lam, ())
    B0_f, Sw0_f = flat(B0, (m, n)), flat(Sw0, (m, m))
    P = B0_f.shape[0]
    per_seed = P // nS
    chunk = max(1, 2048 // per_seed) * per_seed
    opts = dict(
        max_half_steps=protocol.max_half_steps,
        tol=protocol.tol,
        stop_rule=protocol.stop_rule,
        history_every=protocol.history_every,
        n_jobs=n_jobs,
        # the table needs the regimes, not the histories; under the exact rule too many runs
        # stop early (resolution limit) and would be re-run for their histories
        history="full" if keep or protocol.stop_rule == "exact" else "regime",
    )
    parts = []
    for lo in range(0, P, chunk):
        sl = slice(lo, min(P, lo + chunk))
        parts += _ba_robust(Sy_f[sl], m, gam_f[sl], lam_f[sl], B0_f[sl], Sw0_f[sl], opts)
        if progress is not None:
            progress(sl.stop - sl.start)
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
    A, B, Sz, Sw = cat("A"), cat("B"), cat("Sigma_Z"), cat("Sigma_W")
    total = np.concatenate([np.asarray(p.loss.total, dtype=float) for p in parts])
    reason, regime, conv = cat("stop_reason"), cat("regime"), cat("converged")
    steps, mi_xy = cat("half_steps"), cat("mutual_information_xy")
    finite = reason != "nonfinite"
    recon = np.full(P, np.nan)
    if finite.any():
        recon[finite] = reconstruction_error(A[finite], Sz[finite], Sy_f[finite])
    crit = recon if protocol.select == "recon" else total
    crit = np.where(finite & np.isfinite(crit), crit, np.inf).reshape(shape)
    pick = np.argmin(crit, axis=-1)  # first on ties, like the authors' strict "<"
    idx = (np.arange(P).reshape(shape)[..., 0] + pick).reshape(-1)  # (nS*nK*nG*nL,)
    chosen = {
        "A": A[idx],
        "B": B[idx],
        "Sigma_Z": Sz[idx],
        "Sigma_W": Sw[idx],
        "loss": total[idx],
        "recon": recon[idx],
        "reason": reason[idx],
        "regime": regime[idx],
        "converged": conv[idx],
        "half_steps": steps[idx],
        "mi_xy": mi_xy[idx],
        "n_finite": finite.reshape(shape).sum(-1).reshape(-1),
    }
    if keep:
        starts = np.cumsum([0] + [len(p) for p in parts])
        where = np.searchsorted(starts, idx, side="right") - 1
        chosen["solutions"] = [parts[w][int(i - starts[w])] for i, w in zip(idx, where)]
    return chosen, (nS, nK, nG, nL), R


@dataclass(frozen=True)
class _FailedRun:
    """Stands in for a batch of one run whose arithmetic broke down (see _ba_robust)."""

    m: int
    n: int

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return None

    def __getattr__(self, name):
        m, n = self.m, self.n
        shapes = {"A": (n, m), "B": (m, n), "Sigma_Z": (n, n), "Sigma_W": (m, m)}
        if name in shapes:
            return np.full((1,) + shapes[name], np.nan)
        if name == "loss":
            return _FailedLoss()
        if name == "stop_reason":
            return np.array(["nonfinite"])
        if name == "regime":
            return np.array(["nonfinite"], dtype=object)
        if name == "converged":
            return np.zeros(1, dtype=bool)
        if name == "half_steps":
            return np.zeros(1, dtype=int)
        if name == "mutual_information_xy":
            return np.full(1, np.nan)
        raise AttributeError(name)


class _FailedLoss:
    total = np.full(1, np.nan)


def _ba_robust(Sy, m, gamma, lam, B0, Sw0, opts) -> list:
    """``blahut_arimoto_batch`` that survives a run whose linear algebra breaks down.

    A drifting run (γ > 1 under the notebook rule, which has no resolution limit) can make
    Σ_W numerically indefinite; the solver then raises for the whole batch. The batch is
    split in halves until the failing run is alone, and that run is reported as
    ``nonfinite`` (the others are unaffected: batch members do not interact).
    """
    try:
        return [blahut_arimoto_batch(Sy, m, gamma, lam, B0, Sw0, **opts)]
    except np.linalg.LinAlgError:
        P = B0.shape[0]
        if P == 1:
            return [_FailedRun(m, B0.shape[-1])]
        h = P // 2
        return _ba_robust(Sy[:h], m, gamma[:h], lam[:h], B0[:h], Sw0[:h], opts) + _ba_robust(
            Sy[h:], m, gamma[h:], lam[h:], B0[h:], Sw0[h:], opts
        )


def metrics_for_scenario(
    sc: Scenario,
    protocol: str | Protocol,
    B,
    Sigma_W,
    finite=None,
    *,
    metrics="published",
) -> dict[str, np.ndarray]:
    """The metric columns of a success table for a stack of encoders of one scenario.

    This is the per-cell metric step of :func:`success_table` (also used by
    :func:`neural.tables.neural_success_table` for learned encoders), vectorised over the
    stack: one joint covariance of ``(X, V)`` per encoder,
    ``[[Σ_X, B Γ Σ_V], [Σ_V Γ^T B^T, Σ_V]]`` with the true ``Σ_X = B Σ_Y B^T + Σ_W``.

    * ``I_m`` and ``SAP`` follow the protocol's conventions (its X block, SAP denominators,
      tie rule and tolerances; see :class:`Protocol`).
    * ``MIG``, ``DCI``, the matched MI and the KL decomposition (``metrics`` including
      ``"MIG"`` or ``"DCI"``, e.g. ``"all"``) **always use the true Σ_X**, whatever the
      protocol's ``x_block``: MIG and DCI need a positive-definite joint covariance, and the
      notebook protocol's identity X block is a convention of the published I_m/SAP only.
      MIG is normalised by ``I(X; v_k)`` (``normalizer="code"``), DCI uses Shapley
      importances (coefficient importances beyond 16 latents); their tie tolerances are the
      metric modules' defaults.

    Parameters
    ----------
    sc : Scenario
    protocol : {"notebook", "exact"} or Protocol
    B : array_like, shape (N, m, n)
    Sigma_W : array_like, shape (N, m, m)
    finite : array_like of bool, shape (N,), optional
        Rows to score (default: rows whose ``B`` and ``Σ_W`` are finite); the others get NaN,
        empty groupings and ``success=False``.
    metrics : "published", "all" or a selection (see :func:`metric_names`)
        I_m and SAP are always computed; ``"MIG"`` or ``"DCI"`` adds the whole extra block
        (both metrics, matched MI, decomposition: they share one pass).

    Returns
    -------
    dict of str to ndarray, each of shape (N,)
        ``mi_xv`` (nats, from the true joint covariance); ``im_value, im_grouping`` (as
        ``"{1,2}{3}"``, 1-based factors), ``im_tied, im_n_tied, im_gap, im_valid,
        im_success``; ``sap_score, sap_grouping, sap_tied, sap_success``; with the extra block
        ``kl, index_code_mi, total_correlation, dimensionwise_kl, marginal_kl`` (nats; the
        decomposition of :func:`lingauss.kl_decomposition`), ``matched_mi`` (nats),
        ``mig_score, mig_grouping, mig_degenerate, mig_tied, mig_success`` and ``dci_d, dci_c,
        dci_i, dci_grouping, dci_degenerate, dci_tied, dci_success``. ``*_degenerate`` is
        ``""``, ``"tied"``, ``"collapsed"``, ``"single_latent"`` (MIG with one latent) or
        ``"singular"`` (the joint covariance is numerically singular: a drifting run);
        ``*_tied`` is ``*_degenerate != ""``. ``*_success`` compares the grouping with
        ``sc.groups`` (:func:`lingauss.metrics.grouping_success`); the counting flags are
        added by :func:`add_counted`.

    Examples
    --------
    >>> import numpy as np
    >>> from lingauss import scenario
    >>> sc = scenario("3-4-3", 1)
    >>> B = 30.0 * np.eye(3, 4)[None]            # one latent per factor
    >>> cols = metrics_for_scenario(sc, "exact", B, 0.1 * np.eye(3)[None], metrics="all")
    >>> cols["im_grouping"][0], bool(cols["mig_success"][0]), bool(cols["dci_success"][0])
    ('{1}{2}{3}', True, True)
    """
    prot = get_protocol(protocol)
    if isinstance(metrics, str) and metrics == "published":
        chosen = METRICS
    else:
        chosen = metric_names(metrics)
    extras = any(mt in chosen for mt in EXTRA_METRICS)
    B = np.asarray(B, dtype=float)
    Sw = np.asarray(Sigma_W, dtype=float)
    if B.ndim != 3 or B.shape[1:] != (sc.m, sc.n):
        raise ValueError(f"B: expected shape (N, {sc.m}, {sc.n}), got {B.shape}")
    if Sw.shape != (B.shape[0], sc.m, sc.m):
        raise ValueError(f"Sigma_W: expected shape ({B.shape[0]}, {sc.m}, {sc.m}), got {Sw.shape}")
    if finite is None:
        finite = np.all(np.isfinite(B), axis=(1, 2)) & np.all(np.isfinite(Sw), axis=(1, 2))
    finite = np.asarray(finite, dtype=bool)
    if finite.shape != (B.shape[0],):
        raise ValueError(f"finite: expected shape ({B.shape[0]},), got {finite.shape}")
    out = _published_metrics(sc, prot, B, Sw, finite)
    if extras:
        out.update(_extra_metrics(sc, B, Sw, finite))
    return out


#: Private alias kept for existing callers.
_metrics_for_scenario = metrics_for_scenario


def _published_metrics(sc, protocol, B, Sw, finite):
    """I_m and SAP columns under the protocol's conventions."""
    N = B.shape[0]
    m, s = sc.m, sc.s
    out = {
        "mi_xv": np.full(N, np.nan),
        "im_value": np.full(N, np.nan),
        "im_grouping": np.full(N, "", dtype=object),
        "im_tied": np.zeros(N, dtype=bool),
        "im_n_tied": np.zeros(N, dtype=int),
        "im_gap": np.full(N, np.nan),
        "im_valid": np.zeros(N, dtype=bool),
        "im_success": np.zeros(N, dtype=bool),
        "sap_score": np.full(N, np.nan),
        "sap_grouping": np.full(N, "", dtype=object),
        "sap_tied": np.zeros(N, dtype=bool),
        "sap_success": np.zeros(N, dtype=bool),
    }
    ok = np.flatnonzero(finite)
    if not ok.size:
        return out
    Bf, Swf = B[ok], Sw[ok]
    true_joint = sc.joint_cov_xv(Bf, Swf, x_block="true")
    try:
        out["mi_xv"][ok] = mutual_information(true_joint, list(range(m)), list(range(m, m + s)))
    except ValueError:  # a numerically singular Σ_X: leave NaN
        pass
    joint = true_joint if protocol.x_block == "true" else sc.joint_cov_xv(Bf, x_block="identity")
    im = im_score(joint, m, tie_rule=protocol.tie_rule, tie_tol=protocol.im_tie_tol)
    out["im_value"][ok] = im.value
    out["im_tied"][ok] = im.tied
    out["im_n_tied"][ok] = im.n_tied
    out["im_gap"][ok] = im.gap
    out["im_valid"][ok] = im.valid
    for r, g in zip(ok, im.grouping):
        out["im_grouping"][r] = format_grouping(g) if g else ""
        out["im_success"][r] = bool(g) and grouping_success(g, sc.groups, m)
    if m >= 2:
        if protocol.sap_var == "nominal":
            nominal = (
                sc.sigma_v_nominal
                if sc.sigma_v_nominal is not None
                else np.sqrt(np.diagonal(sc.Sigma_V))
            )
            var_v, var_x = nominal**2, 1.0
        else:
            var_v = np.diagonal(sc.Sigma_V)
            var_x = np.diagonal(true_joint[:, :m, :m], axis1=-2, axis2=-1)
        sap = sap_score(
            joint,
            m,
            var_v=var_v,
            var_x=var_x,
            tie_atol=protocol.sap_tie_atol,
            tie_rtol=protocol.sap_tie_rtol,
        )
        out["sap_score"][ok] = sap.score
        out["sap_tied"][ok] = sap.tied
        for r, g in zip(ok, sap.grouping):
            out["sap_grouping"][r] = format_grouping(g)
            out["sap_success"][r] = grouping_success(g, sc.groups, m)
    return out


_FAIL = (ValueError, np.linalg.LinAlgError)


def _in_chunks(fn, rows: np.ndarray) -> list:
    """``fn(rows)`` on all rows at once; if it fails (a singular matrix somewhere), row by row,
    dropping the rows that fail. Returns ``[(rows, result), ...]``."""
    try:
        return [(rows, fn(rows))]
    except _FAIL:
        out = []
        for r in rows:
            one = np.array([r])
            try:
                out.append((one, fn(one)))
            except _FAIL:
                pass
        return out


def _extra_metrics(sc, B, Sw, finite):
    """Decomposition, matched MI, MIG and DCI columns (true joint covariance)."""
    N = B.shape[0]
    m = sc.m
    out: dict[str, np.ndarray] = {name: np.full(N, np.nan) for name in DECOMPOSITION_COLUMNS}
    out["matched_mi"] = np.full(N, np.nan)
    for p in ("mig", "dci"):
        out[f"{p}_grouping"] = np.full(N, "", dtype=object)
        out[f"{p}_degenerate"] = np.full(N, "nonfinite", dtype=object)
        out[f"{p}_success"] = np.zeros(N, dtype=bool)
    out["mig_score"] = np.full(N, np.nan)
    for name in ("dci_d", "dci_c", "dci_i"):
        out[name] = np.full(N, np.nan)
    ok = np.flatnonzero(finite)
    # finite rows stay "singular" unless their joint covariance can be factorised below
    out["mig_degenerate"][ok] = "singular" if m >= 2 else "single_latent"
    out["dci_degenerate"][ok] = "singular"

    def decompose(rows):
        return kl_decomposition(B[rows], Sw[rows], sc.Sigma_Y)

    for rows, d in _in_chunks(decompose, ok):
        for name in DECOMPOSITION_COLUMNS:
            out[name][rows] = getattr(d, name)

    def tables(rows):
        cov = sc.joint_cov_xv(B[rows], Sw[rows], x_block="true")
        res = {
            "matched": matched_mi_score(cov, m).score,
            "r2": regression_r2(cov, m),
            "raw": shapley_r2(cov, m)
            if m <= MAX_SHAPLEY_LATENTS
            else coefficient_importance(cov, m),
        }
        if m >= 2:
            res["pair_mi"] = np.asarray(mutual_information(pair_covariances(cov, m), [0], [1]))
            res["code_mi"] = code_factor_information(cov, m)
        return res

    method = "shapley" if m <= MAX_SHAPLEY_LATENTS else "coefficient"
    for rows, t in _in_chunks(tables, ok):
        out["matched_mi"][rows] = t["matched"]
        for k, r in enumerate(rows):
            dci = dci_from_importance(t["raw"][k], t["r2"][k], method=method)
            out["dci_d"][r] = dci.disentanglement
            out["dci_c"][r] = dci.completeness
            out["dci_i"][r] = dci.informativeness
            out["dci_grouping"][r] = format_grouping(dci.grouping)
            out["dci_degenerate"][r] = dci.degenerate
            out["dci_success"][r] = grouping_success(dci.grouping, sc.groups, m)
            if m >= 2:
                code = t["code_mi"][k]
                mig = mig_from_information(t["pair_mi"][k], code, code, "code", INFO_TOL, TIE_RTOL)
                out["mig_score"][r] = mig.score
                out["mig_grouping"][r] = format_grouping(mig.grouping)
                out["mig_degenerate"][r] = mig.degenerate
                out["mig_success"][r] = grouping_success(mig.grouping, sc.groups, m)
    for p in ("mig", "dci"):
        out[f"{p}_tied"] = out[f"{p}_degenerate"] != ""
    return out


def add_counted(df: pd.DataFrame, protocol: str | Protocol) -> pd.DataFrame:
    """Add ``status`` and the ``<metric>_counted`` flags to table rows (in place; returned).

    ``status`` is the regime, or ``"unconverged"`` for an interior run that did not meet its
    stopping rule. Under ``count="all"`` (notebook) every cell counts (SAP and MIG need
    ``m >= 2``); under ``count="decided"`` (exact) a cell counts for a metric when its run is
    interior (converged or not) and the metric's decision is resolvable: not tied, I_m valid,
    MIG/DCI not degenerate. Only metrics whose ``<metric>_success`` column is present get a
    flag.
    """
    prot = get_protocol(protocol)
    df["status"] = np.where((df.regime == "interior") & ~df.converged, "unconverged", df.regime)
    clean = df.regime == "interior"
    for metric in ALL_METRICS:
        p = METRIC_PREFIX[metric]
        if f"{p}_success" not in df.columns:
            continue
        needs_two = metric in ("SAP", "MIG")
        usable = (df.m >= 2) if needs_two else pd.Series(True, index=df.index)
        if prot.count == "all":
            df[f"{p}_counted"] = usable
        else:
            decided = ~df[f"{p}_tied"].astype(bool)
            if metric == "I_m":
                decided &= df.im_valid.astype(bool)
            df[f"{p}_counted"] = clean & decided & usable
    return df


def success_table(
    config="3-4-3",
    protocol: str | Protocol = "notebook",
    seeds=1,
    *,
    init: str | None = None,
    preset: str | None = None,
    gammas: Sequence[float] = GAMMAS,
    lambdas: Sequence[float] = LAMBDAS,
    progress: Callable[[int], None] | None = None,
    metrics="published",
    n_jobs: int | str | None = "auto",
) -> pd.DataFrame:
    """Per-cell results of a protocol: one row per (config, scenario, γ, λ, seed).

    Parameters
    ----------
    config : str, list of str, or sequence of Scenario
        A published configuration ("3-4-3", "3-4-2", "5-5-4", "5-5-3"), ``"all"``, a list of
        them, or user scenarios (e.g. from :func:`lingauss.factor_group_scenario`).
    protocol : {"notebook", "exact"} or Protocol
    seeds : int or sequence of int
        ``N`` means seeds ``0..N-1``.
    init : {"authors", "exchangeable"}, optional
        Override the protocol's initialiser (to measure its effect, see :func:`init_effect`).
    preset : {"rounded", "analytic", "resampled"}, optional
        Override the protocol's Σ_V (``"resampled"``: redrawn per seed, as the authors' runs
        did; see :func:`resample_sigma_v`).
    gammas, lambdas : sequences of float
        The grid (default the published 5 × 5).
    progress : callable, optional
        Called with the number of BA runs just finished (e.g. ``tqdm.update``).
    n_jobs : int, "auto" or None, optional
        Worker processes for the batched solver (default ``"auto"``: one per usable core
        when the table is large enough to gain from them; ``None``/``-1``: one per usable
        core); the results do not depend on it (see :func:`lingauss.blahut_arimoto_batch`).
    metrics : "published", "all" or a selection of names
        ``"published"`` (default): I_m and SAP. ``"all"`` (or any selection naming MIG or
        DCI) adds, per cell, the KL decomposition, the matched MI, MIG and DCI, computed on
        the **true** joint covariance whatever the protocol's X block (see
        :func:`metrics_for_scenario`); the cost is small (vectorised over the cells).

    Returns
    -------
    pandas.DataFrame
        Columns: protocol, config, scenario, G, m, gamma, lam, seed, regime (collapsed /
        interior / divergent / nonfinite), stop_reason, converged, half_steps, status, runs,
        recon_error, loss, mi_xy and mi_xv (nats, from the true joint covariance),
        im_value, im_grouping ("{1,2}{3}": 1-based factors), im_tied, im_n_tied, im_gap,
        im_valid, im_success, im_counted, sap_score, sap_grouping, sap_tied, sap_success,
        sap_counted; with the extra metrics kl, index_code_mi (= mi_xy), total_correlation,
        dimensionwise_kl, marginal_kl, matched_mi, mig_score, mig_grouping, mig_degenerate,
        mig_tied, mig_success, mig_counted, dci_d, dci_c, dci_i, dci_grouping,
        dci_degenerate, dci_tied, dci_success, dci_counted; then truth. ``*_counted`` says
        whether the cell enters the metric's rate (:func:`add_counted`).

    Examples
    --------
    >>> t = success_table("3-4-3", "notebook", seeds=1, gammas=[1.0], lambdas=[0.0])
    >>> len(t), sorted(t.scenario.unique().tolist())
    (3, [1, 2, 3])
    """
    prot = _override(get_protocol(protocol), init, preset)
    metrics = _metric_option(metrics)
    seeds = _seeds(seeds)
    gammas = _grid(gammas, "gammas")
    lambdas = _grid(lambdas, "lambdas")
    if np.any(gammas <= 0):
        raise ValueError("gammas: must be > 0")
    groups = config_scenarios(config, prot.preset)
    frames = []
    for label, scs in groups:
        by_seed = _scenarios_by_seed(label, scs, prot, seeds)
        chosen, _, R = _run_group(
            label, by_seed, prot, seeds, gammas, lambdas, progress, n_jobs=n_jobs
        )
        frames.append(_rows(label, by_seed, prot, seeds, gammas, lambdas, chosen, R, metrics))
    return pd.concat(frames, ignore_index=True)


def _metric_option(metrics):
    if isinstance(metrics, str) and metrics == "published":
        return metrics
    return metric_names(metrics)


def _override(prot: Protocol, init, preset) -> Protocol:
    if init is not None:
        prot = prot.replace(init=init)
    if preset is not None:
        prot = prot.replace(preset=preset)
    return prot


def _rows(label, scs_by_seed, prot, seeds, gammas, lambdas, chosen, R, metrics="published"):
    scs = scs_by_seed[0]
    nS, nK, nG, nL = len(seeds), len(scs), len(gammas), len(lambdas)
    shape = (nS, nK, nG, nL)
    idx = np.indices(shape).reshape(4, -1)
    finite = chosen["n_finite"] > 0
    regime = np.where(finite, chosen["regime"].astype(object), "nonfinite")
    cols = {
        "protocol": prot.name,
        "config": label,
        "scenario": np.array([_scenario_number(scs[k], k) for k in idx[1]]),
        "G": np.array([scs[k].n_groups for k in idx[1]]),
        "m": scs[0].m,
        "gamma": gammas[idx[2]],
        "lam": lambdas[idx[3]],
        "seed": np.asarray(seeds)[idx[0]],
        "regime": regime,
        "stop_reason": chosen["reason"],
        "converged": chosen["converged"],
        "half_steps": chosen["half_steps"],
        "runs": R,
        "recon_error": chosen["recon"],
        "loss": chosen["loss"],
        "mi_xy": chosen["mi_xy"],
        "truth": np.array([format_grouping(scs[k].groups) for k in idx[1]], dtype=object),
    }
    metric_cols: dict[str, np.ndarray] = {}
    # one vectorised metric call per distinct scenario object (per seed if Σ_V is resampled)
    owner: dict[int, tuple[Scenario, list[int]]] = {}
    for r, (a, k) in enumerate(zip(idx[0], idx[1])):
        sc = scs_by_seed[a][k]
        owner.setdefault(id(sc), (sc, []))[1].append(r)
    for sc, rows in owner.values():
        sel = np.asarray(rows)
        res = metrics_for_scenario(
            sc, prot, chosen["B"][sel], chosen["Sigma_W"][sel], finite[sel], metrics=metrics
        )
        for name, vals in res.items():
            if name not in metric_cols:
                metric_cols[name] = np.empty(idx.shape[1], dtype=vals.dtype)
            metric_cols[name][sel] = vals
    df = add_counted(pd.DataFrame({**cols, **metric_cols}), prot)
    order = [
        "protocol", "config", "scenario", "G", "m", "gamma", "lam", "seed", "regime",
        "stop_reason", "converged", "half_steps", "status", "runs", "recon_error", "loss",
        "mi_xy", "mi_xv", "im_value", "im_grouping", "im_tied", "im_n_tied", "im_gap",
        "im_valid", "im_success", "im_counted", "sap_score", "sap_grouping", "sap_tied",
        "sap_success", "sap_counted",
    ]  # fmt: skip
    if "mig_success" in df.columns:
        order += [
            *DECOMPOSITION_COLUMNS, "matched_mi", "mig_score", "mig_grouping",
            "mig_degenerate", "mig_tied", "mig_success", "mig_counted", "dci_d", "dci_c",
            "dci_i", "dci_grouping", "dci_degenerate", "dci_tied", "dci_success",
            "dci_counted",
        ]  # fmt: skip
    return df[order + ["truth"]]


# -------------------------------------------------------------------------------- summaries
def table_metrics(table: pd.DataFrame) -> tuple[str, ...]:
    """The metrics of :data:`ALL_METRICS` a table holds (``<p>_success`` and ``<p>_counted``)."""
    return tuple(
        mt
        for mt in ALL_METRICS
        if {f"{METRIC_PREFIX[mt]}_success", f"{METRIC_PREFIX[mt]}_counted"} <= set(table.columns)
    )


def _per_seed(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, config, scenario, metric, seed): rate and cell counts."""
    rows = []
    present = table_metrics(table)
    keys = ["protocol", "config", "scenario", "seed"]
    for key, g in table.groupby(keys, sort=True):
        status = g.status.to_numpy()
        base = dict(zip(keys, key))
        base.update(
            G=int(g.G.iloc[0]),
            m=int(g.m.iloc[0]),
            n_cells=len(g),
            n_collapsed=int(np.sum(status == "collapsed")),
            n_divergent=int(np.sum(status == "divergent")),
            n_unconverged=int(np.sum(status == "unconverged")),
            n_nonfinite=int(np.sum(status == "nonfinite")),
        )
        for metric in present:
            p = METRIC_PREFIX[metric]
            succ = g[f"{p}_success"].to_numpy(bool)
            counted = g[f"{p}_counted"].to_numpy(bool)
            nc = int(counted.sum())
            rows.append(
                {
                    **base,
                    "metric": metric,
                    "rate": 100.0 * np.sum(succ & counted) / nc if nc else np.nan,
                    "rate_all": 100.0 * np.sum(succ) / len(g),
                    "n_counted": nc,
                    "n_tied": int(g[f"{p}_tied"].sum()) if f"{p}_tied" in g else 0,
                }
            )
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, *, source: str = "notebook") -> pd.DataFrame:
    """Success rates across seeds, next to the published numbers.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`success_table`.
    source : str
        Which published number fills ``published`` (default the authors' notebook output;
        see :data:`PUBLISHED_SOURCES`; the slides' numbers are in ``published_slides``).

    Returns
    -------
    pandas.DataFrame
        One row per (protocol, config, scenario, metric), for every metric of
        :data:`ALL_METRICS` the table holds (MIG and DCI with ``metrics="all"``; their
        ``published`` is NaN): ``mean``, ``sd`` (ddof 1), ``min``,
        ``max`` of the per-seed rate (%), ``low``/``high`` (2.5 and 97.5 percentiles of the
        per-seed rates: the interval a single draw, such as a published number, falls in 95 %
        of the time), ``n_seeds``, ``published`` and ``published_slides`` (NaN if none),
        ``inside`` (published within [min, max]), ``inside_interval`` (within [low, high]),
        ``rate_all_mean`` (successes over all cells), and per-seed means of the cell counts
        (``n_counted``, ``n_tied``, ``n_collapsed``, ``n_divergent``, ``n_unconverged``,
        ``n_nonfinite``). The rate counts the cells whose ``*_counted`` flag is set (all
        cells under the notebook protocol).
    """
    if source not in PUBLISHED_SOURCES:
        raise ValueError(f"source: expected one of {PUBLISHED_SOURCES}, got {source!r}")
    need = {"protocol", "config", "scenario", "seed", "status", "im_success", "im_counted"}
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns):
        raise ValueError("table: expected a DataFrame from success_table")
    ps = _per_seed(table)
    rows = []
    for key, g in ps.groupby(["protocol", "config", "scenario", "metric"], sort=False):
        r = g.rate.to_numpy(float)
        fin = r[np.isfinite(r)]
        row = dict(zip(["protocol", "config", "scenario", "metric"], key))
        row.update(G=int(g.G.iloc[0]), m=int(g.m.iloc[0]), n_seeds=len(g))
        if fin.size:
            row.update(
                mean=float(fin.mean()),
                sd=float(fin.std(ddof=1)) if fin.size > 1 else np.nan,
                min=float(fin.min()),
                max=float(fin.max()),
                low=float(np.percentile(fin, 2.5)),
                high=float(np.percentile(fin, 97.5)),
            )
        else:
            row.update(mean=np.nan, sd=np.nan, min=np.nan, max=np.nan, low=np.nan, high=np.nan)
        row["rate_all_mean"] = float(g.rate_all.mean())
        for c in ("n_counted", "n_tied", "n_collapsed", "n_divergent", "n_unconverged",
                  "n_nonfinite"):  # fmt: skip
            row[c] = float(g[c].mean())
        pub = _published(row["config"], row["metric"], source, row["scenario"])
        row["published"] = pub
        row["published_slides"] = _published(
            row["config"], row["metric"], "slides", row["scenario"]
        )
        row["inside"] = bool(np.isfinite(pub) and row["min"] <= pub <= row["max"])
        row["inside_interval"] = bool(np.isfinite(pub) and row["low"] <= pub <= row["high"])
        rows.append(row)
    return pd.DataFrame(rows)


def _published(config, metric, source, number) -> float:
    v = PUBLISHED.get((config, metric, source))
    if v is None or not 1 <= int(number) <= 3:
        return np.nan
    return float(v[int(number) - 1])


def compare_published(summary: pd.DataFrame) -> pd.DataFrame:
    """Every published number beside the per-seed distribution it should fall in.

    Returns one row per (protocol, config, scenario, metric, source) with ``published``,
    ``mean``, ``min``, ``max``, ``low``, ``high``, ``inside`` ([min, max]) and
    ``inside_interval`` ([low, high]).
    """
    pub = published_table()
    cols = ["protocol", "config", "scenario", "metric", "mean", "min", "max", "low", "high"]
    out = summary[cols].merge(pub, on=["config", "scenario", "metric"], how="inner")
    out["inside"] = (out["min"] <= out.published) & (out.published <= out["max"])
    out["inside_interval"] = (out["low"] <= out.published) & (out.published <= out["high"])
    order = ["protocol", "config", "scenario", "metric", "source", "published"] + cols[4:]
    return out[order + ["inside", "inside_interval"]]


def init_effect(
    config="all", protocol: str | Protocol = "notebook", seeds=5, **kwargs
) -> pd.DataFrame:
    """How much the success rates move between the authors' and an exchangeable initialiser.

    Runs the protocol twice (``init="authors"`` and ``init="exchangeable"``, all else equal)
    and returns one row per (config, scenario, metric) with the mean rates ``authors``,
    ``exchangeable`` and ``difference`` (exchangeable - authors, percentage points).
    Extra keyword arguments go to :func:`success_table` (e.g. ``gammas``, ``progress``).
    """
    out = []
    for init in ("authors", "exchangeable"):
        s = summarize(success_table(config, protocol, seeds, init=init, **kwargs))
        out.append(s.set_index(["config", "scenario", "metric"])["mean"].rename(init))
    df = pd.concat(out, axis=1).reset_index()
    df["difference"] = df["exchangeable"] - df["authors"]
    return df


# ----------------------------------------------------------------------------- single cell
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
    prot = _override(get_protocol(protocol), init, preset)
    metrics = _metric_option(metrics)
    if isinstance(config, Scenario):
        sc = config
        label = sc.config or sc.name
    else:
        if config not in CONFIGS:
            raise ValueError(f"config: expected one of {sorted(CONFIGS)}, got {config!r}")
        sc = scenario(config, number, "analytic" if prot.preset == "resampled" else prot.preset)
        label = config
    gammas = _grid([gamma], "gamma")
    lambdas = _grid([lam], "lam")
    if gammas[0] <= 0:
        raise ValueError(f"gamma: must be > 0, got {gamma!r}")
    seeds = _seeds([seed])
    by_seed = _scenarios_by_seed(label, [sc], prot, seeds)
    chosen, _, R = _run_group(label, by_seed, prot, seeds, gammas, lambdas, None, True)
    row = _rows(label, by_seed, prot, seeds, gammas, lambdas, chosen, R, metrics)
    row = row.iloc[0].to_dict()
    return CellResult(solution=chosen["solutions"][0], row=row)
