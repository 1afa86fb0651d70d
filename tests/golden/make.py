"""Write the golden tables: ``python tests/golden/make.py [CASE ...]`` (all cases by default).

Run only on a revision whose outputs are the reference (the code before the issue-14
restructure); see ``cases.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import CASES, FLOAT_FORMAT  # noqa: E402

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    for name in names:
        t0 = time.perf_counter()
        df = CASES[name]()
        df.to_csv(HERE / f"{name}.csv.gz", index=False, float_format=FLOAT_FORMAT)
        print(f"{name}: {len(df)} rows, {time.perf_counter() - t0:.1f} s", flush=True)
