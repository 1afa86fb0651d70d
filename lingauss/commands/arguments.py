"""Arguments, checks, JSON values, atomic writes and the progress bar shared by the CLI
commands (:mod:`lingauss.cli`)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


# ---------------------------------------------------------------------------- value parsers
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


# ------------------------------------------------------------------------- shared arguments
def add_command(
    subparsers, name: str, run: Callable, *, help: str, description: str
) -> argparse.ArgumentParser:
    """Add the sub-command ``name``, which calls ``run(args)``, and return its parser.

    argparse re-flows ``description`` (runs of whitespace become one space), so it may be
    written as an indented triple-quoted paragraph.
    """
    p = subparsers.add_parser(name, help=help, description=description)
    p.set_defaults(func=run)
    return p


def add_cell_arguments(
    p: argparse.ArgumentParser, configs, *, weights_required: bool = True
) -> None:
    """``--config`` (one of ``configs``), ``--scenario``, ``--gamma``, ``--lam``: one cell of
    a published table, all required (``--gamma``/``--lam`` optional when
    ``weights_required`` is false; the command then checks them itself)."""
    p.add_argument("--config", choices=list(configs), required=True)
    p.add_argument("--scenario", type=int, choices=[1, 2, 3], required=True)
    hint = None if weights_required else "required unless --objective NAME"
    p.add_argument("--gamma", type=float, required=weights_required, default=None, help=hint)
    p.add_argument("--lam", type=float, required=weights_required, default=None, help=hint)


def add_protocol_argument(p: argparse.ArgumentParser) -> None:
    """``--protocol {notebook, exact}`` (default notebook)."""
    p.add_argument("--protocol", choices=["notebook", "exact"], default="notebook")


def add_seeds_argument(
    p: argparse.ArgumentParser, default: int, what: str = "number of seeds"
) -> None:
    """``--seeds N`` (an integer, checked by :func:`at_least` when the command runs)."""
    p.add_argument("--seeds", type=int, default=default, help=f"{what} (default {default})")


def add_grid_arguments(
    p: argparse.ArgumentParser,
    gammas_help: str = "comma-separated gamma grid (quick look)",
    lambdas_help: str = "comma-separated lambda grid",
) -> None:
    """``--gammas`` and ``--lambdas``: comma-separated grids (default: the published 5 × 5)."""
    p.add_argument("--gammas", type=float_list, default=None, help=gammas_help)
    p.add_argument("--lambdas", type=float_list, default=None, help=lambdas_help)


def grid_options(args: argparse.Namespace) -> dict:
    """The ``gammas``/``lambdas`` keyword arguments given on the command line."""
    return {k: getattr(args, k) for k in ("gammas", "lambdas") if getattr(args, k) is not None}


def add_output_arguments(
    p: argparse.ArgumentParser, json_help: str | None = None, progress: bool = True
) -> None:
    """``--json`` and (with ``progress``) ``--no-progress``."""
    p.add_argument("--json", action="store_true", help=json_help)
    if progress:
        p.add_argument("--no-progress", action="store_true", help="no progress bar")


def at_least(value: int, flag: str, minimum: int = 1) -> None:
    """Refuse ``value < minimum`` with ``ValueError("{flag}: need at least {minimum}, ...")``."""
    if value < minimum:
        raise ValueError(f"{flag}: need at least {minimum}, got {value}")


# ------------------------------------------------------------------------------- output
def json_value(v):
    """A table value for JSON: numpy scalars as Python values, NaN as ``None``."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def atomic_write(path: Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then move it into place
    (never a half-written file; the file gets the permissions ``open`` would give it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class NoBar:
    """A progress bar that shows nothing."""

    def update(self, n=1):
        pass

    def close(self):
        pass


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: not with ``--json`` or ``--no-progress``, and only on
    a terminal."""
    return not (args.json or args.no_progress or not sys.stderr.isatty())


def progress_bar(total, disable):
    """A tqdm bar on stderr counting BA runs, or :class:`NoBar` when ``disable``."""
    if disable:
        return NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="run", desc="BA runs", file=sys.stderr, leave=False)


def parse_named_values(items, flag: str) -> dict[str, float]:
    """``["beta=6", "alpha=1"]`` → ``{"beta": 6.0, "alpha": 1.0}``: the values of a repeatable
    ``NAME=VALUE`` option such as ``--weight``.

    Raises
    ------
    ValueError
        Naming ``flag``: an item without ``=`` or a name, a value that is not a number, or a
        name given twice.
    """
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{flag}: expected NAME=VALUE, got {item!r}")
        if key in out:
            raise ValueError(f"{flag}: {key} given more than once")
        try:
            out[key] = float(value)
        except ValueError:
            raise ValueError(f"{flag}: {key}: expected a number, got {value!r}") from None
    return out
