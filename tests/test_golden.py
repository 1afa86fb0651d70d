"""Every table of a seed is bit-identical to the reference outputs (issue 14).

The reference tables were written by ``tests/golden/make.py`` on the revision before the
restructure; this test recomputes each and compares **exactly** (no tolerance: the promise is
bit-identical arithmetic, and the chaotic γ > 1 runs would expose any reordering). Columns
added since are ignored; none may be missing. BLAS kernels differ by CPU and round
differently, so both recording and checking run in a subprocess with the kernels pinned to
their AVX2 versions (``tests/golden/env.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

from cases import CASES  # noqa: E402
from env import pinned_env, unsupported_reason  # noqa: E402

NEURAL = {"neural_grid", "neural_adamw", "neural_compare"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_table(name):
    why = unsupported_reason()
    if why:
        pytest.skip(why)
    if name in NEURAL:
        pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, str(GOLDEN / "check.py"), name],
        env=pinned_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
