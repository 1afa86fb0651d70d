"""The ``lingauss`` command line.

Each sub-command lives in :mod:`lingauss.commands` as a module with ``register(subparsers)``
(which adds its parser and sets ``func``). Heavy imports (``neural``, torch) happen inside the
command functions, so ``lingauss reproduce`` never loads torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "build_parser"]

#: Sub-command modules, in the order shown by ``--help``.
COMMANDS = (
    "reproduce",
    "solve",
    "compare",
    "study",
    "hypothesis",
    "figures",
    "sweep",
    "objective",
    "estimators",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lingauss",
        description="Exact and learned disentanglement in linear-Gaussian beta-VAEs.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"lingauss.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lingauss.commands.{name}":
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"lingauss {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
