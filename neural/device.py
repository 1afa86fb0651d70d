"""Device and dtype resolution for the neural path.

``"auto"`` means CUDA when a CUDA device is available, else the CPU. Any other request must
name a device that exists and is usable here; otherwise :func:`resolve_device` raises
``ValueError`` naming ``device`` (never a silent fall-back to the CPU).
"""

from __future__ import annotations

import contextlib

import torch

__all__ = [
    "resolve_device",
    "resolve_dtype",
    "device_description",
    "deterministic",
    "torch_threads",
]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn a device request into an available :class:`torch.device`.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or ``None``): ``cuda`` if available, else ``cpu``. Otherwise a torch device
        string such as ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``.

    Returns
    -------
    torch.device
        With an explicit index for CUDA (``cuda:0`` for ``"cuda"``).

    Raises
    ------
    ValueError
        If the string is not a device, the device type is not supported (only ``cpu``,
        ``cuda`` and ``mps``), or the device is not available on this machine.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device.strip())
        except (RuntimeError, ValueError):
            raise ValueError(
                f"device: {device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
            ) from None
    else:
        raise ValueError(f"device: expected a string or torch.device, got {type(device).__name__}")
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device: {device!r} requested but CUDA is not available here")
        index = 0 if dev.index is None else dev.index
        count = torch.cuda.device_count()
        if index >= count:
            raise ValueError(
                f"device: {device!r} does not exist ({count} CUDA device(s) available)"
            )
        return torch.device("cuda", index)
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device: {device!r} requested but MPS is not available here")
        return torch.device("mps")
    raise ValueError(f"device: unsupported device type {dev.type!r} (use cpu, cuda or mps)")


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """``"float64"``/``"float32"`` (or the torch dtype) -> :class:`torch.dtype`."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"dtype: expected float64 or float32, got {dtype}")
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f"dtype: expected one of {sorted(_DTYPES)}, got {dtype!r}")
    return _DTYPES[dtype]


def device_description(device: torch.device) -> str:
    """Human-readable device name, e.g. ``"cpu (2 threads)"`` or the CUDA device name."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Run a block with ``torch.use_deterministic_algorithms(True)`` on the CPU.

    On CUDA the flag is set with ``warn_only=True`` (some kernels have no deterministic
    variant; bit-identical results are promised on the CPU only). The previous setting is
    restored on exit.
    """
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)


@contextlib.contextmanager
def torch_threads(k: int | None):
    """Run a block with ``k`` intra-op torch threads, restoring the setting on exit.

    ``None`` leaves torch's setting alone. The batched steps of the neural path are many small
    kernels: on a shared CPU one thread is several times faster than torch's default pool
    (measured in ``benchmarks/bench_study.py``).

    Raises
    ------
    ValueError
        If ``k`` is neither ``None`` nor a positive integer.
    """
    if k is None:
        yield
        return
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"threads: must be a positive integer or None, got {k!r}")
    old = torch.get_num_threads()
    torch.set_num_threads(k)
    try:
        yield
    finally:
        torch.set_num_threads(old)
