"""The metric columns of a success table: for a stack of encoders of one scenario, the
published I_m and SAP under the protocol's conventions, and the extra metrics (KL
decomposition, matched MI, MIG, DCI) on the true joint covariance of ``(X, V)``."""

from __future__ import annotations

import numpy as np

from ..decomposition import KLDecomposition, kl_decomposition
from ..gaussian import mutual_information
from ..metrics.common import INFO_TOL, TIE_RTOL
from ..metrics.dci import (
    MAX_SHAPLEY_LATENTS,
    coefficient_importance,
    dci_from_importance,
    regression_r2,
    shapley_r2,
)
from ..metrics.grouping import format_grouping, grouping_success
from ..metrics.im import im_score
from ..metrics.matched import matched_mi_score
from ..metrics.mig import code_factor_information, mig_from_information, pair_covariances
from ..metrics.sap import sap_score
from ..scenarios import Scenario
from .conventions import Protocol, get_protocol

__all__ = [
    "METRICS",
    "EXTRA_METRICS",
    "ALL_METRICS",
    "DECOMPOSITION_COLUMNS",
    "METRIC_PREFIX",
    "metric_names",
    "metric_selection",
    "metrics_for_scenario",
]

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


def metric_selection(metrics) -> str | tuple[str, ...]:
    """``"published"`` (I_m and SAP only) as is, any other selection through
    :func:`metric_names`.

    Examples
    --------
    >>> metric_selection("published"), metric_selection("sap")
    ('published', ('SAP',))
    """
    if isinstance(metrics, str) and metrics == "published":
        return metrics
    return metric_names(metrics)


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
    chosen = metric_selection(metrics)
    if chosen == "published":
        chosen = METRICS
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
