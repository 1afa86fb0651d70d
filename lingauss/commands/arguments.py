"""Argument parsers and the progress bar shared by the CLI commands."""

from __future__ import annotations

import argparse
import sys


def metric_list(text: str) -> tuple[str, ...]:
    """Parse ``--metrics``: comma-separated names among I_m, SAP, MIG, DCI, or ``all``."""
    from ..protocol import metric_names

    try:
        return metric_names([x for x in text.split(",") if x.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def float_list(text: str) -> list[float]:
    """Parse a comma-separated list of numbers (at least one)."""
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if not out:
        raise argparse.ArgumentTypeError("expected at least one number")
    return out


class NoBar:
    """A progress bar that shows nothing."""

    def update(self, n=1):
        pass

    def close(self):
        pass


def progress_bar(total, disable):
    """A tqdm bar on stderr counting BA runs, or :class:`NoBar` when ``disable``."""
    if disable:
        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="run", desc="BA runs", file=sys.stderr, leave=False)
