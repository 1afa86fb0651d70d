"""The published success rates (reference §7): the slides, the authors' notebook output and
their five repeated s5 runs, as a dictionary, a tidy table and a lookup."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PUBLISHED", "PUBLISHED_SOURCES", "published_table", "published_rate"]

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
# The five repeats, per scenario: ((repeat 1..5 of scenario 1), (... scenario 2), (... 3)).
_REPEATS = {
    ("5-5-4", "I_m"): ((44, 28, 28, 40, 36), (60, 56, 72, 68, 56), (56, 40, 64, 60, 48)),
    ("5-5-4", "SAP"): ((52, 52, 64, 52, 56), (20, 44, 36, 40, 16), (4, 0, 4, 12, 4)),
    ("5-5-3", "I_m"): ((20, 28, 32, 32, 44), (80, 80, 64, 68, 64), (64, 56, 60, 48, 48)),
    ("5-5-3", "SAP"): ((80, 76, 84, 80, 80), (52, 72, 28, 56, 36), (4, 12, 28, 4, 4)),
}
PUBLISHED.update(
    {
        (cfg, met, f"repeat-{r + 1}"): tuple(c[r] for c in cols)
        for (cfg, met), cols in _REPEATS.items()
        for r in range(5)
    }
)
PUBLISHED_SOURCES = ("slides", "notebook") + tuple(f"repeat-{r}" for r in range(1, 6))


def published_table() -> pd.DataFrame:
    """:data:`PUBLISHED` as a tidy table: config, scenario, metric, source, published (%).

    Examples
    --------
    >>> t = published_table()
    >>> t[(t.config == "3-4-3") & (t.source == "slides")].published.tolist()
    [16.0, 64.0, 100.0, 40.0, 92.0, 92.0]
    """
    rows = [
        {"config": c, "scenario": k + 1, "metric": met, "source": src, "published": float(v[k])}
        for (c, met, src), v in PUBLISHED.items()
        for k in range(3)
    ]
    return pd.DataFrame(rows)


def published_rate(config: str, metric: str, source: str, number: int) -> float:
    """The published success rate (%) of one scenario, or NaN if none was published.

    Examples
    --------
    >>> published_rate("5-5-4", "SAP", "repeat-2", 2), published_rate("4-5-4", "I_m", "slides", 1)
    (44.0, nan)
    """
    v = PUBLISHED.get((config, metric, source))
    if v is None or not 1 <= int(number) <= 3:
        return np.nan
    return float(v[int(number) - 1])
