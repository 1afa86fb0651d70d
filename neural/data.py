"""Seeded samples ``(V, Y)`` of a :class:`lingauss.Scenario` as torch tensors.

``V = L_V ξ`` with ``L_V L_V^T = Σ_V`` and ``Y = Γ V + σ ζ`` (``ξ, ζ`` standard normal), so
``Cov(Y) = Σ_Y``. Random numbers are drawn on the CPU from a ``torch.Generator`` and then moved
to the requested device: the same seed gives the same data on every device.
"""

from __future__ import annotations

import numpy as np
import torch

from lingauss import Scenario

from .device import resolve_device, resolve_dtype

__all__ = ["ScenarioSampler", "sample_scenario", "make_generator", "as_tensor"]


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (a non-negative integer)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: must be a non-negative integer, got {seed!r}")
    return torch.Generator(device="cpu").manual_seed(int(seed))


def as_tensor(x, name: str, *, device, dtype, ndim: int | None = None) -> torch.Tensor:
    """A finite float tensor on ``device`` from an array or tensor; ``ValueError`` otherwise."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: cannot be converted to a float tensor ({exc})") from None
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{name}: expected real numbers, got dtype {t.dtype}")
    t = t.to(device=device, dtype=dtype)
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name}: contains NaN or infinite entries")
    return t


class ScenarioSampler:
    """Draws ``(V, Y)`` from a scenario on a device.

    Parameters
    ----------
    scenario : lingauss.Scenario
    device : str or torch.device
        ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ...
    dtype : {"float64", "float32"}

    Examples
    --------
    >>> import lingauss
    >>> s = ScenarioSampler(lingauss.scenario("3-4-3", 1), device="cpu")
    >>> V, Y = s.sample(5, make_generator(0))
    >>> tuple(V.shape), tuple(Y.shape), str(Y.device)
    ((5, 3), (5, 4), 'cpu')
    """

    def __init__(self, scenario: Scenario, device="auto", dtype="float64"):
        if not isinstance(scenario, Scenario):
            raise ValueError(
                f"scenario: expected a lingauss.Scenario, got {type(scenario).__name__}"
            )
        self.scenario = scenario
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype)
        # factors on the CPU in float64 so that the draws do not depend on the device
        self._lv = torch.as_tensor(np.linalg.cholesky(scenario.Sigma_V))
        self._gamma_t = torch.as_tensor(np.ascontiguousarray(scenario.Gamma.T))
        self._sd = float(np.sqrt(scenario.noise_var))

    @property
    def n(self) -> int:
        return self.scenario.n

    @property
    def s(self) -> int:
        return self.scenario.s

    def sample(self, size: int, generator: torch.Generator):
        """``(V, Y)`` of shapes ``(size, s)`` and ``(size, n)`` on the sampler's device."""
        size = _check_size(size)
        xi = torch.randn(size, self.s, generator=generator, dtype=torch.float64)
        zeta = torch.randn(size, self.n, generator=generator, dtype=torch.float64)
        v = xi @ self._lv.T
        y = v @ self._gamma_t + self._sd * zeta
        return self._out(v), self._out(y)

    def sample_y(self, size: int, generator: torch.Generator) -> torch.Tensor:
        """Only ``Y`` (same random stream as :meth:`sample`, ``V`` discarded)."""
        return self.sample(size, generator)[1]

    def normal(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Standard normal noise of ``shape`` from ``generator``, on the device."""
        return self._out(torch.randn(*shape, generator=generator, dtype=torch.float64))

    def _out(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(device=self.device, dtype=self.dtype)


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size: must be a positive integer, got {size!r}")
    return int(size)


def sample_scenario(scenario: Scenario, size: int, *, seed: int, device="auto", dtype="float64"):
    """Draw ``size`` samples ``(V, Y)`` of ``scenario`` as tensors on ``device``.

    Parameters
    ----------
    scenario : lingauss.Scenario
    size : int
    seed : int
        Seed of the CPU generator (identical data on every device).
    device : str or torch.device
    dtype : {"float64", "float32"}

    Returns
    -------
    V : torch.Tensor, shape (size, s)
    Y : torch.Tensor, shape (size, n)

    Examples
    --------
    >>> import lingauss
    >>> V, Y = sample_scenario(lingauss.scenario("3-4-3", 2), 20000, seed=0, device="cpu")
    >>> cov = torch.cov(Y.T).numpy()
    >>> bool(abs(cov[0, 1] - 2e-4) < 6e-5)   # α σ_v1² = 2e-4; 6e-5 is 4 standard errors
    True
    """
    sampler = ScenarioSampler(scenario, device=device, dtype=dtype)
    return sampler.sample(size, make_generator(seed))
