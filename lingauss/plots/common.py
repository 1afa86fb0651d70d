"""What every figure shares: atomic PNG writing, the regime colours, metric labels and the
lookup of a table's γ / λ columns."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "save_figure",
    "REGIME_COLORS",
    "OTHER_COLOR",
    "METRIC_LABELS",
    "GAMMA_COLS",
    "LAM_COLS",
    "column",
    "metric_label",
    "norm_metric",
]

#: Colour of each BA regime in every figure.
REGIME_COLORS = {"collapsed": "#1f77b4", "interior": "#2ca02c", "divergent": "#d62728"}
#: Colour of a run whose regime is none of those.
OTHER_COLOR = "#7f7f7f"
#: Axis and title label of each metric.
METRIC_LABELS = {"im": "$I_m$", "sap": "SAP", "mig": "MIG", "dci": "DCI", "matched_mi": "MMI"}
#: Column names accepted for γ and λ, in order of preference.
GAMMA_COLS = ("gamma", "γ")
LAM_COLS = ("lam", "lambda", "λ")


def save_figure(fig: Figure, path, *, dpi: int = 110) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (temp file, then rename).

    The PNG carries no ``Software`` entry, so the same figure gives the same bytes with the
    same matplotlib and fonts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi, metadata={"Software": None})
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def column(df: pd.DataFrame, candidates: Sequence[str], what: str) -> str:
    """The first of ``candidates`` that is a column of ``df``; ``ValueError`` naming ``what``."""
    for c in candidates:
        if c in df.columns:
            return c
    raise ValueError(f"df: no {what} column (expected one of {list(candidates)})")


def metric_label(metric: str, m=None) -> str:
    """``"$I_3$"`` for I_m with ``m = 3``, else :data:`METRIC_LABELS` (or the name itself)."""
    if metric == "im" and m is not None:
        return f"$I_{{{int(m)}}}$"
    return METRIC_LABELS.get(metric, metric)


def norm_metric(name) -> str:
    """``"I_m"``, ``"im"``, ``"IM"`` -> ``"im"``; ``"SAP"`` -> ``"sap"``."""
    return str(name).lower().replace("_", "")
