"""Recompute golden cases and compare them exactly: ``python tests/golden/check.py CASE ...``.

Run by ``tests/test_golden.py`` in a subprocess with the kernels pinned (``env.py``); exits 1
and prints the first difference when a case differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES, canonical  # noqa: E402
from env import PINNED, is_pinned  # noqa: E402


def check(name: str) -> str | None:
    expected = pd.read_csv(HERE / f"{name}.csv.gz", keep_default_na=False, na_values=[""])
    fresh = canonical(CASES[name]())
    missing = set(expected.columns) - set(fresh.columns)
    if missing:
        return f"{name}: columns missing {sorted(missing)}"
    try:
        pd.testing.assert_frame_equal(fresh[list(expected.columns)], expected, check_exact=True)
    except AssertionError as exc:
        return f"{name}: {exc}"
    return None


if __name__ == "__main__":
    if not is_pinned():
        sys.exit(f"run with the pinned environment {PINNED}")
    failures = [msg for name in sys.argv[1:] if (msg := check(name))]
    print("\n".join(failures) or "identical")
    sys.exit(1 if failures else 0)
