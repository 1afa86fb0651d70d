"""The PNGs of ``lingauss reproduce --plots DIR``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .common import save_figure
from .success import success_distributions, success_heatmaps
from .success_tables import success_long

__all__ = ["write_reproduce_plots"]


def write_reproduce_plots(df: pd.DataFrame, outdir, *, published="default") -> list[Path]:
    """Write the PNGs of ``lingauss reproduce --plots DIR``.

    For every (protocol, configuration) in the table: ``heatmap_<protocol>_<config>.png``
    (:func:`success_heatmaps`) and, when the table has several seeds,
    ``distribution_<protocol>_<config>.png`` (:func:`success_distributions`, with the
    published numbers). Each file is written atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The protocol table (:func:`lingauss.protocol.success_table`).
    outdir : str or Path
        Created if missing.
    published : "default", None, DataFrame or mapping
        Published rates for the distributions: ``"default"`` uses
        :func:`lingauss.protocol.published_table`; ``None`` draws none.

    Returns
    -------
    list of Path
        The files written, in order.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> rows = [dict(config="3-4-3", scenario=k, gamma=1.0, lam=0.0, seed=s, im_success=True)
    ...         for k in (1, 2, 3) for s in (0, 1)]
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in write_reproduce_plots(pd.DataFrame(rows), d)]
    ['heatmap_3-4-3.png', 'distribution_3-4-3.png']
    """
    long = success_long(df)
    if isinstance(published, str):
        if published != "default":
            raise ValueError(f"published: expected 'default', None or a table, got {published!r}")
        from ..protocol import published_table

        published = published_table()
    outdir = Path(outdir)
    protocols = list(pd.unique(long["protocol"])) if "protocol" in long.columns else [None]
    configs = list(pd.unique(long["config"])) if "config" in long.columns else [None]
    written = []
    for prot in protocols:
        for config in configs:
            sub = long
            if prot is not None:
                sub = sub[sub["protocol"] == prot]
            if config is not None:
                sub = sub[sub["config"] == config]
            if sub.empty:
                continue
            tag = "_".join(str(x) for x in (prot, config) if x is not None) or "table"
            tag = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in tag)
            fig = success_heatmaps(sub)
            written.append(save_figure(fig, outdir / f"heatmap_{tag}.png"))
            if "seed" in sub.columns and sub["seed"].nunique() > 1:
                fig = success_distributions(sub, published=published)
                written.append(save_figure(fig, outdir / f"distribution_{tag}.png"))
    return written
