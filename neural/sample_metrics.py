"""Sample counterpart of :func:`lingauss.metrics.report`: all metrics from samples of (X, V).

Given codes ``X`` (N, m) and factors ``V`` (N, s) — numpy arrays or torch tensors, e.g. a learned
encoder's samples or posterior means on data drawn from a scenario — :func:`sample_report`
returns one tidy row with

* the **plug-in** metrics: the exact formulas of :func:`lingauss.metrics.report` (I_m, SAP,
  matched MI, MIG, DCI) applied to the sample covariance of ``(X, V)`` — consistent estimators of
  the exact values for Gaussian codes, same column names;
* the **literature estimators**: ``mig_binned*`` (20-bin histogram MIG of
  ``disentanglement_lib``, :func:`lingauss.metrics.mig.binned_mig`) and ``dci_fitted*`` (a
  regressor fitted on a train split, :func:`lingauss.metrics.dci.fitted_dci`);
* the KL decomposition of the encoder, exact from ``(B, Σ_W, Σ_Y)`` if given, else the plug-in
  from posterior ``means`` and ``Σ_W``
  (:func:`lingauss.decomposition.kl_decomposition_from_moments`).

:func:`compare_with_exact` puts a sample row next to an exact report, one row per quantity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lingauss.decomposition import kl_decomposition, kl_decomposition_from_moments
from lingauss.metrics.common import check_sample_covariance
from lingauss.metrics.dci import fitted_dci
from lingauss.metrics.grouping import grouping_success
from lingauss.metrics.mig import binned_mig
from lingauss.metrics.report import report

from .arrays import as_numpy

__all__ = ["sample_report", "sample_cov_xv", "compare_with_exact"]


def _check_xv(X, V):
    X = as_numpy(X, "X", ndim=2)
    V = as_numpy(V, "V", ndim=2)
    if X.shape[0] != V.shape[0]:
        raise ValueError(f"V: expected {X.shape[0]} rows to match X, got shape {V.shape}")
    m, s = X.shape[1], V.shape[1]
    if m < 1 or s < 1:
        raise ValueError(f"X, V: need at least one column each, got {X.shape}, {V.shape}")
    if X.shape[0] <= m + s:
        raise ValueError(
            f"X: need more than m + s = {m + s} samples for a non-singular sample covariance, "
            f"got {X.shape[0]}"
        )
    return X, V


def sample_cov_xv(X, V) -> np.ndarray:
    """Unbiased sample covariance of ``(X, V)``, latents first, shape ``(m + s, m + s)``.

    Raises ``ValueError`` when it is numerically singular (a constant or collinear column).

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (N, m)
    V : array_like or torch.Tensor, shape (N, s)
    """
    X, V = _check_xv(X, V)
    cov = np.cov(np.concatenate([X, V], axis=1), rowvar=False)
    check_sample_covariance(cov, "X, V")
    return 0.5 * (cov + cov.T)


def sample_report(
    X,
    V,
    *,
    means=None,
    Sigma_W=None,
    B=None,
    Sigma_Y=None,
    true_groups: Sequence[Sequence[int]] | None = None,
    bins: int = 20,
    dci_regressor: str = "linear",
    test_fraction: float = 0.5,
    seed: int | None = 0,
    mig_normalizer="code",
    im_kwargs: Mapping | None = None,
    sap_kwargs: Mapping | None = None,
    extra: Mapping | None = None,
) -> pd.DataFrame:
    """All metrics of a code estimated from samples, in one tidy row.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (N, m)
        Codes: samples of ``X`` (or posterior means, if that is what should be scored).
    V : array_like or torch.Tensor, shape (N, s)
        The generative factors of the same data points.
    means : array_like, shape (N, m), optional
        Posterior means ``μ(y_i)``; with ``Sigma_W`` gives the plug-in KL decomposition.
    Sigma_W : array_like, shape (m, m), optional
        Posterior covariance of the encoder.
    B, Sigma_Y : array_like, optional
        Encoder matrix ``(m, n)`` and data covariance ``(n, n)``: with ``Sigma_W``, the exact
        decomposition of this encoder (takes precedence over ``means``).
    true_groups : sequence of sequences of int, optional
        Adds ``<metric>_success`` columns, including ``mig_binned`` and ``dci_fitted``.
    bins : int, default 20
        Histogram bins per dimension for the binned MIG.
    dci_regressor : {"linear", "gbt"}
        Regressor of the fitted DCI (see :func:`lingauss.metrics.dci.fitted_dci`).
    test_fraction, seed
        Train/test split of the fitted DCI.
    mig_normalizer, im_kwargs, sap_kwargs
        Passed to :func:`lingauss.metrics.report` for the plug-in metrics.
    extra : mapping, optional
        Constant columns to prepend.

    Returns
    -------
    pandas.DataFrame
        One row: ``source == "sample"``, ``n_samples``, the columns of
        :func:`lingauss.metrics.report` (plug-in values), then ``mig_binned,
        mig_binned_grouping, mig_binned_degenerate, dci_fitted_d, dci_fitted_c, dci_fitted_i,
        dci_fitted_grouping, dci_fitted_degenerate, dci_regressor``.

    Raises
    ------
    ValueError
        Mismatched or non-finite samples, too few samples, a singular sample covariance, or
        only part of an encoder specification.

    Examples
    --------
    >>> import numpy as np
    >>> V, noise = np.random.default_rng(0).standard_normal((2, 3000, 2))
    >>> row = sample_report(V + 0.5 * noise, V, true_groups=[[0], [1]]).iloc[0]
    >>> bool(row["mig_binned_success"]), bool(row["dci_fitted_success"]), int(row["n_samples"])
    (True, True, 3000)
    """
    X, V = _check_xv(X, V)
    n, m = X.shape
    cov = sample_cov_xv(X, V)
    base = report(
        cov,
        m,
        true_groups=true_groups,
        mig_normalizer=mig_normalizer,
        im_kwargs=im_kwargs,
        sap_kwargs=sap_kwargs,
    )
    row = dict(extra or {})
    row.update(source="sample", n_samples=n)
    row.update(base.iloc[0].to_dict())

    decomp = None
    if B is not None or Sigma_Y is not None:
        if B is None or Sigma_Y is None or Sigma_W is None:
            raise ValueError("B, Sigma_Y, Sigma_W: give all three for the exact decomposition")
        decomp = kl_decomposition(
            as_numpy(B, "B"), as_numpy(Sigma_W, "Sigma_W"), as_numpy(Sigma_Y, "Sigma_Y")
        )
    elif means is not None:
        if Sigma_W is None:
            raise ValueError("Sigma_W: required with means for the plug-in decomposition")
        mu = as_numpy(means, "means", ndim=2)
        if mu.shape != (n, m):
            raise ValueError(f"means: expected shape ({n}, {m}) like X, got {mu.shape}")
        cov_mu = np.atleast_2d(np.cov(mu, rowvar=False))
        decomp = kl_decomposition_from_moments(cov_mu, as_numpy(Sigma_W, "Sigma_W"))
    elif Sigma_W is not None:
        raise ValueError("Sigma_W: give it with means, or with B and Sigma_Y")
    if decomp is not None:
        row.update(
            {k: float(v) if k != "collapsed" else bool(v) for k, v in decomp.as_dict().items()}
        )

    if m >= 2:
        mig = binned_mig(X, V, bins=bins)
        row.update(
            mig_binned=mig.score,
            mig_binned_grouping=mig.grouping,
            mig_binned_degenerate=mig.degenerate,
        )
    else:
        row.update(
            mig_binned=float("nan"),
            mig_binned_grouping=(tuple(range(V.shape[1])),),
            mig_binned_degenerate="single_latent",
        )
    dci = fitted_dci(X, V, regressor=dci_regressor, test_fraction=test_fraction, seed=seed)
    row.update(
        dci_fitted_d=dci.disentanglement,
        dci_fitted_c=dci.completeness,
        dci_fitted_i=dci.informativeness,
        dci_fitted_grouping=dci.grouping,
        dci_fitted_degenerate=dci.degenerate,
        dci_regressor=dci_regressor,
    )
    if true_groups is not None:
        for metric in ("mig_binned", "dci_fitted"):
            row[f"{metric}_success"] = grouping_success(row[f"{metric}_grouping"], true_groups, m)
    return pd.DataFrame([row])


def compare_with_exact(sample: pd.DataFrame, exact: pd.DataFrame) -> pd.DataFrame:
    """Exact and sample values side by side, one row per numeric quantity.

    Parameters
    ----------
    sample : DataFrame
        One row of :func:`sample_report`.
    exact : DataFrame
        One row of :func:`lingauss.metrics.report` (or :func:`lingauss.metrics.encoder_report`).

    Returns
    -------
    pandas.DataFrame
        Columns ``quantity, exact, sample, difference`` for every numeric column the two share,
        plus the binned/fitted sample estimators next to the exact MIG and DCI they estimate
        (``quantity`` e.g. ``"mig (binned)"``).

    Examples
    --------
    >>> import numpy as np
    >>> from lingauss.metrics import report
    >>> rng = np.random.default_rng(1)
    >>> V = rng.standard_normal((4000, 2))
    >>> X = V + rng.standard_normal((4000, 2))
    >>> exact = report(np.block([[2 * np.eye(2), np.eye(2)], [np.eye(2), np.eye(2)]]), 2)
    >>> t = compare_with_exact(sample_report(X, V), exact)
    >>> bool(abs(t.set_index("quantity").loc["dci_i", "difference"]) < 0.05)
    True
    """
    if len(sample) != 1 or len(exact) != 1:
        raise ValueError(
            f"sample, exact: expected one row each, got {len(sample)} and {len(exact)}"
        )
    s = sample.iloc[0]
    e = exact.iloc[0]
    rows = []
    for col in exact.columns:
        if col in ("m", "s") or col not in sample.columns:
            continue
        ev, sv = e[col], s[col]
        if isinstance(ev, bool | np.bool_) or not isinstance(ev, int | float | np.number):
            continue
        rows.append({"quantity": col, "exact": float(ev), "sample": float(sv)})
    for exact_col, sample_col, label in (
        ("mig", "mig_binned", "mig (binned)"),
        ("dci_d", "dci_fitted_d", "dci_d (fitted)"),
        ("dci_c", "dci_fitted_c", "dci_c (fitted)"),
        ("dci_i", "dci_fitted_i", "dci_i (fitted)"),
    ):
        if exact_col in exact.columns and sample_col in sample.columns:
            rows.append(
                {"quantity": label, "exact": float(e[exact_col]), "sample": float(s[sample_col])}
            )
    out = pd.DataFrame(rows, columns=["quantity", "exact", "sample"])
    out["difference"] = out["sample"] - out["exact"]
    return out
