"""Write the golden tables: ``python tests/golden/make.py [CASE ...]`` (all cases by default).

Run only on a revision whose outputs are the reference (the code before the issue-14
restructure); see ``cases.py``. The script re-executes itself with the BLAS kernels pinned
(``env.py``), so the tables do not depend on this machine's CPU.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from env import is_pinned, pinned_env, unsupported_reason  # noqa: E402

if __name__ == "__main__":
    if not is_pinned():
        why = unsupported_reason()
        if why:
            sys.exit(f"cannot record golden tables: {why}")
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], pinned_env())
    from cases import CASES, FLOAT_FORMAT

    names = sys.argv[1:] or list(CASES)
    for name in names:
        t0 = time.perf_counter()
        df = CASES[name]()
        df.to_csv(HERE / f"{name}.csv.gz", index=False, float_format=FLOAT_FORMAT)
        print(f"{name}: {len(df)} rows, {time.perf_counter() - t0:.1f} s", flush=True)
