"""One metrics report: I_m, SAP, matched MI, MIG, DCI and the KL decomposition in one tidy row.

:func:`report` works on the joint covariance of ``(X, V)`` (one row per matrix of a stack); the
KL decomposition is added when the encoder ``(B, Σ_W)`` and the data covariance ``Σ_Y`` are
given. :func:`encoder_report` builds the joint covariance from a :class:`lingauss.Scenario` and an
encoder (a Blahut–Arimoto solution, a learned encoder). :func:`metric_success` turns the
groupings of a report into tidy success rows against a true grouping. The sample counterpart is
:func:`neural.sample_metrics.sample_report`.

Columns of a report row
-----------------------
``m, s``; ``im, im_grouping, im_tied``; ``sap, sap_grouping, sap_tied``; ``matched_mi``;
``mig, mig_normalization, mig_grouping, mig_degenerate``; ``dci_d, dci_c, dci_i,
dci_grouping, dci_degenerate``; ``kl, index_code_mi, total_correlation, dimensionwise_kl,
marginal_kl, collapsed`` (``NaN``/``None`` without an encoder); with ``true_groups`` also
``<metric>_success`` for ``im, sap, mig, dci``. Groupings are canonical tuples of tuples of
factor indices. ``*_degenerate`` is ``""``, ``"tied"`` or ``"collapsed"`` (see
:class:`~lingauss.metrics.mig.MIGResult`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..decomposition import KLDecomposition, kl_decomposition
from ..validation import as_float_array, check_covariance
from .common import split_cov_xv
from .dci import dci_score
from .grouping import grouping_success
from .mig import available_information, mig_score

__all__ = ["report", "encoder_report", "metric_success", "GROUPING_METRICS"]

#: Metrics that induce a factor grouping, in report column order.
GROUPING_METRICS = ("im", "sap", "mig", "dci")

_DECOMP_COLUMNS = KLDecomposition.TERMS
#: Report columns taken from a :class:`~lingauss.metrics.mig.MIGResult` (column: attribute).
_MIG_COLUMNS = {
    "mig": "score",
    "mig_normalization": "normalization",
    "mig_grouping": "grouping",
    "mig_degenerate": "degenerate",
}
#: Report columns taken from a :class:`~lingauss.metrics.dci.DCIResult` (column: attribute).
_DCI_COLUMNS = {
    "dci_d": "disentanglement",
    "dci_c": "completeness",
    "dci_i": "informativeness",
    "dci_grouping": "grouping",
    "dci_degenerate": "degenerate",
}


def _columns(result, columns: Mapping[str, str]) -> dict:
    """``{column: result.attribute}`` for a metric result, in ``columns`` order."""
    return {col: getattr(result, attr) for col, attr in columns.items()}


def _canonical(groups) -> tuple:
    blocks = [tuple(sorted(int(i) for i in g)) for g in groups if len(g)]
    return tuple(sorted(blocks))


def _im_and_sap(cov: np.ndarray, m: int, im_kwargs: Mapping, sap_kwargs: Mapping):
    from .im import im_score
    from .sap import sap_score

    im = im_score(cov, m, **im_kwargs)
    sap = sap_score(cov, m, **sap_kwargs) if m >= 2 else None
    return im, sap


def _matched(cov: np.ndarray, m: int):
    try:
        from .matched import matched_mi_score
    except ImportError:  # pragma: no cover - optional sibling module
        return None
    return matched_mi_score(cov, m)


def _pick(x, p: int, batched: bool):
    if not batched:
        return x
    return np.asarray(x, dtype=object if isinstance(x, tuple) else None).reshape(-1)[p]


def report(
    cov_xv,
    m: int,
    *,
    Sigma_Y=None,
    B=None,
    Sigma_W=None,
    true_groups: Sequence[Sequence[int]] | None = None,
    mig_normalizer="code",
    dci_importance: str = "shapley",
    im_kwargs: Mapping | None = None,
    sap_kwargs: Mapping | None = None,
    extra: Mapping | None = None,
) -> pd.DataFrame:
    """All metrics of a code in one tidy row (one row per matrix of a stack).

    Parameters
    ----------
    cov_xv : array_like, shape (m + s, m + s) or (P, m + s, m + s)
        Joint covariance of ``(X, V)``, latents first. MIG and DCI need it positive definite
        (the true ``Σ_X`` block); I_m and SAP are computed by
        :func:`lingauss.metrics.im.im_score` and :func:`lingauss.metrics.sap.sap_score`.
    m : int
        Number of latents.
    Sigma_Y, B, Sigma_W : array_like, optional
        Data covariance ``(n, n)`` and encoder ``(B (.., m, n), Σ_W (.., m, m))``; all three
        together add the KL decomposition (:func:`lingauss.decomposition.kl_decomposition`).
    true_groups : sequence of sequences of int, optional
        The true grouping; adds ``<metric>_success`` columns
        (:func:`lingauss.metrics.grouping.grouping_success`).
    mig_normalizer : {"code", "none"} or array_like, shape (s,)
        Passed to :func:`lingauss.metrics.mig.mig_score`.
    dci_importance : {"shapley", "coefficient"}
        Passed to :func:`lingauss.metrics.dci.dci_score`.
    im_kwargs, sap_kwargs : mapping, optional
        Extra options for ``im_score`` / ``sap_score`` (e.g. the notebook conventions).
    extra : mapping, optional
        Constant columns to prepend (e.g. ``{"config": "3-4-3", "gamma": 1.0}``).

    Returns
    -------
    pandas.DataFrame
        One row per covariance; columns as in the module docstring. With ``m == 1`` SAP and MIG
        are ``NaN`` (``sap_tied`` True, ``mig_degenerate == "single_latent"``) and their
        grouping puts every factor in the one latent.

    Raises
    ------
    ValueError
        Bad ``cov_xv``/``m``, or only part of ``(Sigma_Y, B, Sigma_W)`` given, or mismatched
        shapes.

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.block([[1.5 * np.eye(2), np.eye(2)], [np.eye(2), np.eye(2)]])
    >>> row = report(cov, 2, true_groups=[[0], [1]]).iloc[0]
    >>> row["mig_grouping"], round(float(row["dci_d"]), 12), bool(row["dci_success"])
    (((0,), (1,)), 1.0, True)
    """
    cov, _ = check_covariance(cov_xv, "cov_xv")
    batched = cov.ndim == 3
    if cov.ndim > 3:
        raise ValueError(f"cov_xv: expected (d, d) or (P, d, d), got shape {cov.shape}")
    split_cov_xv(cov[0] if batched else cov, m)
    s = cov.shape[-1] - m
    stack = cov if batched else cov[None]
    n_rows = stack.shape[0]

    decomp = None
    given = [x is not None for x in (Sigma_Y, B, Sigma_W)]
    if any(given) and not all(given):
        raise ValueError("Sigma_Y, B, Sigma_W: give all three for the KL decomposition, or none")
    if all(given):
        B_arr = as_float_array(B, "B", min_ndim=2)
        if B_arr.shape[-2] != m:
            raise ValueError(f"B: expected {m} rows (m), got shape {B_arr.shape}")
        decomp = kl_decomposition(B_arr, Sigma_W, Sigma_Y)
        shape = np.shape(decomp.kl)
        if shape not in ((), (n_rows,)) or (shape == () and n_rows != 1):
            raise ValueError(
                f"B, Sigma_W: the encoder batch {shape} does not match cov_xv's {n_rows} rows"
            )

    im, sap = _im_and_sap(cov, m, im_kwargs or {}, sap_kwargs or {})
    matched = _matched(cov, m)

    rows = []
    for p in range(n_rows):
        c = stack[p]
        row: dict = dict(extra or {})
        row.update({"m": m, "s": s})
        row["im"] = float(_pick(im.value, p, batched))
        row["im_grouping"] = _canonical(_pick(im.grouping, p, batched))
        row["im_tied"] = bool(_pick(im.tied, p, batched))
        if sap is not None:
            row["sap"] = float(_pick(sap.score, p, batched))
            row["sap_grouping"] = _canonical(_pick(sap.grouping, p, batched))
            row["sap_tied"] = bool(_pick(sap.tied, p, batched))
        else:  # SAP and MIG compare two latents
            row.update(sap=float("nan"), sap_grouping=(tuple(range(s)),), sap_tied=True)
        row["matched_mi"] = (
            float(_pick(matched.score, p, batched)) if matched is not None else float("nan")
        )
        if m >= 2:
            row.update(_columns(mig_score(c, m, normalizer=mig_normalizer), _MIG_COLUMNS))
        else:
            row.update(
                mig=float("nan"),
                mig_normalization=str(mig_normalizer)
                if isinstance(mig_normalizer, str)
                else "data",
                mig_grouping=(tuple(range(s)),),
                mig_degenerate="single_latent",
            )
        row.update(_columns(dci_score(c, m, importance=dci_importance), _DCI_COLUMNS))
        for name in _DECOMP_COLUMNS:
            row[name] = (
                float(np.reshape(getattr(decomp, name), -1)[p]) if decomp is not None else np.nan
            )
        row["collapsed"] = bool(np.reshape(decomp.collapsed, -1)[p]) if decomp is not None else None
        if true_groups is not None:
            for metric in GROUPING_METRICS:
                row[f"{metric}_success"] = grouping_success(
                    row[f"{metric}_grouping"], true_groups, int(m)
                )
        rows.append(row)
    return pd.DataFrame(rows)


def encoder_report(scenario, B, Sigma_W, *, mig_normalizer="code", **kwargs) -> pd.DataFrame:
    """:func:`report` for an encoder ``(B, Σ_W)`` on a :class:`lingauss.Scenario`.

    The joint covariance uses the true ``Σ_X = B Σ_Y B^T + Σ_W``; the KL decomposition and the
    success columns (against ``scenario.groups``) are included.

    Parameters
    ----------
    scenario : lingauss.Scenario
    B : array_like, shape (m, n) or (P, m, n)
    Sigma_W : array_like, shape (m, m) or (P, m, m)
    mig_normalizer : {"code", "data", "none"} or array_like
        ``"data"``: ``I(Y; v_k)`` from :func:`lingauss.metrics.mig.available_information`.
    **kwargs
        Passed to :func:`report`.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import numpy as np
    >>> from lingauss import scenario
    >>> sc = scenario("3-4-3", 1)
    >>> B = np.eye(3, 4) * 30.0                     # x_i = 30 y_i: one latent per factor
    >>> row = encoder_report(sc, B, 0.1 * np.eye(3)).iloc[0]
    >>> bool(row["mig_success"]), bool(row["dci_success"])
    (True, True)
    """
    B = as_float_array(B, "B", min_ndim=2)
    cov = scenario.joint_cov_xv(B, Sigma_W, x_block="true")
    if isinstance(mig_normalizer, str) and mig_normalizer == "data":
        mig_normalizer = available_information(scenario.Sigma_V, scenario.Gamma, scenario.Sigma_Y)
    kwargs.setdefault("true_groups", scenario.groups)
    return report(
        cov,
        B.shape[-2],
        Sigma_Y=scenario.Sigma_Y,
        B=B,
        Sigma_W=Sigma_W,
        mig_normalizer=mig_normalizer,
        **kwargs,
    )


def metric_success(
    rows: pd.DataFrame | Mapping,
    true_groups: Sequence[Sequence[int]],
    m: int | None = None,
    *,
    metrics: Sequence[str] = GROUPING_METRICS,
) -> pd.DataFrame:
    """Tidy success rows: one per (report row, metric).

    Parameters
    ----------
    rows : DataFrame or mapping
        A report (or one row of it) with ``<metric>_grouping`` columns and ``m``.
    true_groups : sequence of sequences of int
    m : int, optional
        Number of latents (default: the ``m`` column).
    metrics : sequence of str
        Which metrics (default ``im, sap, mig, dci``).

    Returns
    -------
    pandas.DataFrame
        Columns ``row`` (index of the report row), ``metric``, ``grouping``, ``true_grouping``,
        ``success`` and ``decided`` (False when the metric flagged its grouping as tied or
        degenerate, so the success is the lowest-index convention rather than a decision).

    Examples
    --------
    >>> import numpy as np
    >>> cov = np.block([[1.5 * np.eye(2), np.eye(2)], [np.eye(2), np.eye(2)]])
    >>> metric_success(report(cov, 2), [[0], [1]])["success"].tolist()
    [True, True, True, True]
    """
    df = pd.DataFrame([dict(rows)]) if isinstance(rows, Mapping) else rows
    if isinstance(rows, pd.Series):
        df = rows.to_frame().T
    truth = _canonical(true_groups)
    out = []
    for idx, r in df.iterrows():
        mm = int(r["m"]) if m is None else int(m)
        for metric in metrics:
            col = f"{metric}_grouping"
            if col not in r:
                raise ValueError(f"rows: no column {col!r}")
            grouping = r[col]
            if metric in ("mig", "dci"):
                decided = r.get(f"{metric}_degenerate", "") == ""
            else:
                decided = not bool(r.get(f"{metric}_tied", False))
            out.append(
                {
                    "row": idx,
                    "metric": metric,
                    "grouping": grouping,
                    "true_grouping": truth,
                    "success": grouping_success(grouping, truth, mm),
                    "decided": bool(decided),
                }
            )
    return pd.DataFrame(out)
