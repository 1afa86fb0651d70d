"""The numerical environment the golden tables are recorded and checked in.

BLAS libraries pick their kernels by CPU at run time (OpenBLAS: SkylakeX with AVX-512, Haswell
with AVX2; MKL and ATen likewise), and different kernels round differently. The γ > 1 runs
are chaotic, so the tables depend on the kernel. The golden tables are therefore recorded and
checked with the kernels pinned to their AVX2 versions, which every x86-64 machine with AVX2
runs, and with one thread (so no reduction order depends on the thread count).
"""

from __future__ import annotations

import os
import platform

PINNED = {
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_CBWR": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_NUM_THREADS": "1",
    "ATEN_CPU_CAPABILITY": "avx2",
    "OMP_NUM_THREADS": "1",
}


def pinned_env() -> dict[str, str]:
    """The current environment with the kernel pins applied."""
    return {**os.environ, **PINNED}


def unsupported_reason() -> str | None:
    """Why the pinned kernels cannot run here (``None`` when they can)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"pinned AVX2 kernels need x86-64, this is {platform.machine()}"
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return "cannot read /proc/cpuinfo to check for AVX2"
    if " avx2" not in flags:
        return "this CPU has no AVX2"
    return None


def is_pinned() -> bool:
    return all(os.environ.get(k) == v for k, v in PINNED.items())
