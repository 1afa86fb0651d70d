"""Run every ``benchmarks/bench_*.py`` with its small defaults; collect the tables.

Each script prints a Markdown table (with the baseline it is compared against in the same
run). This runner executes them one after another in fresh interpreters, and writes
``benchmarks/results.md`` (atomically) with the machine it ran on: CPU model, cores, memory,
GPU if any, Python/numpy/scipy/torch versions, date, and per script the exact command, its
wall time and exit status.

Run::

    .venv/bin/python benchmarks/run_all.py                       # all scripts
    .venv/bin/python benchmarks/run_all.py --only bench_ba,bench_im --timeout 900
    .venv/bin/python benchmarks/run_all.py --args "bench_ba=--sizes 1,10,100,1000"
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _gpu() -> str:
    if shutil.which("nvidia-smi") is None:
        return "none detected (nvidia-smi absent)"
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return out.stdout.strip().replace("\n", "; ") or "none detected"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """Where the numbers come from (no imports of the benchmarked packages)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        usable = os.cpu_count() or 0
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        load = "unknown"
    return {
        "date (UTC)": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": _cpu_model(),
        "cores (logical / usable)": f"{os.cpu_count()} / {usable}",
        "load average at start (1, 5, 15 min)": load,
        "memory": _memory_gib(),
        "GPU": _gpu(),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "pandas": _version("pandas"),
        "torch": _version("torch"),
        "lingauss": _version("lingauss"),
    }


def _scripts(only: list[str] | None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        want = {o.removesuffix(".py") for o in only}
        missing = want - {p.stem for p in found}
        if missing:
            raise SystemExit(f"--only: no such benchmark(s): {sorted(missing)}")
        found = [p for p in found if p.stem in want]
    return found


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated script names (default all)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per script")
    ap.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="extra arguments for one script, e.g. 'bench_ba=--sizes 1,10'",
    )
    ap.add_argument("--out", default=str(HERE / "results.md"), help="Markdown file to write")
    args = ap.parse_args(argv)
    extra: dict[str, list[str]] = {}
    for item in args.args:
        name, _, rest = item.partition("=")
        extra[name.removesuffix(".py")] = shlex.split(rest)
    scripts = _scripts([s for s in args.only.split(",") if s])
    info = machine_info()
    parts = ["# Benchmark results\n", "Generated by `python benchmarks/run_all.py`.\n"]
    parts.append("| machine | |\n|---|---|")
    parts += [f"| {k} | {v} |" for k, v in info.items()]
    parts.append("")
    failures = 0
    for script in scripts:
        cmd = [sys.executable, str(script.relative_to(ROOT)), *extra.get(script.stem, [])]
        shown = "python " + " ".join(shlex.quote(c) for c in cmd[1:])
        print(f"[run_all] {shown}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            res = subprocess.run(
                cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout, check=False
            )
            rc, out, err = res.returncode, res.stdout, res.stderr
        except subprocess.TimeoutExpired as exc:
            rc = "timeout"
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = f"timed out after {args.timeout:.0f} s"
        wall = time.perf_counter() - t0
        parts.append(f"## {script.stem}\n")
        parts.append(f"Command: `{shown}` — wall time {wall:.1f} s, exit status {rc}.\n")
        body = "\n".join("#" + ln if ln.startswith("#") else ln for ln in out.strip().splitlines())
        parts.append(body + "\n" if body else "(no output)\n")
        if rc != 0:
            failures += 1
            tail = "\n".join(err.strip().splitlines()[-20:])
            parts.append(f"Failed; last lines of stderr:\n\n```\n{tail}\n```\n")
        print(f"[run_all] {script.stem}: exit {rc}, {wall:.1f} s", file=sys.stderr, flush=True)
    _write_atomic(Path(args.out), "\n".join(parts) + "\n")
    print(f"[run_all] wrote {args.out}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
