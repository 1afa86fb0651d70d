"""Batched Gaussian VAEs: the linear model with the analytic parameterisation, and an MLP one.

Both models hold ``G`` independent members (a leading parameter dimension): one member per
(γ, λ, seed) of a grid, trained together because the loss is summed over members and every
operation acts per member. Shapes below use ``G`` members, batch ``b``, data dimension ``n``
and latent dimension ``m``.

Gaussian heads (shared by both models)
--------------------------------------
* Encoder noise ``Σ_W = L L^T + f_W I_m`` with ``L`` lower triangular, positive diagonal
  ``exp(ℓ_W)``: any SPD matrix when ``f_W = 0``; with a variance floor ``f_W > 0`` exactly the
  matrices ``Σ_W ≻ f_W I`` (see :class:`neural.model_config.VarianceFloor`).
* Decoder noise ``Σ_Z = diag(s_y² exp(ℓ_Z)) + f_Z I_n`` (diagonal, log-variances).

Scale-free parameterisation
---------------------------
The data variances of the published scenarios are ~1e-4, so the parameters are stored in units
of a per-coordinate data scale ``s_y`` (a buffer, by default ``sqrt(diag Σ_Y)``): the linear
encoder is ``B = B̃ diag(1/s_y)`` and the decoder ``A = diag(s_y) Ã``, the MLPs read ``y / s_y``
and write ``s_y ⊙ out``. Parameters are then of order one whatever the data scale, while every
reported matrix and loss is on the original scale.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .device import resolve_dtype
from .model_config import LinearVAEConfig, MLPVAEConfig
from .persistence import load_model, register_model_class, save_model

__all__ = ["GaussianVAE", "LinearGaussianVAE", "MLPGaussianVAE", "build_model"]

_ACT = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": nn.functional.gelu,
    "softplus": nn.functional.softplus,
}


def _tril_factor(raw: torch.Tensor) -> torch.Tensor:
    """Lower-triangular factor with diagonal ``exp(diag(raw))`` from a raw (G, m, m) tensor."""
    return torch.tril(raw, -1) + torch.diag_embed(torch.exp(torch.diagonal(raw, dim1=-2, dim2=-1)))


class GaussianVAE(nn.Module):
    """Base class: the Gaussian heads, the data scale, floors, seeding and save/load.

    Subclasses implement :meth:`encode_mean` ``(G, b, n) -> (G, b, m)`` and
    :meth:`decode_mean` ``(G, b, m) -> (G, b, n)`` and :meth:`_init_member`.
    """

    def __init__(self, config: LinearVAEConfig | MLPVAEConfig, dtype=torch.float64):
        super().__init__()
        dtype = resolve_dtype(dtype)
        self.config = config
        G, n, m = config.batch, config.n, config.m
        self.register_buffer("y_scale", torch.ones(n, dtype=dtype))
        self.register_buffer("floor_w", torch.zeros(G, dtype=dtype))
        self.register_buffer("floor_z", torch.zeros(G, dtype=dtype))
        self.chol_w_raw = nn.Parameter(torch.zeros(G, m, m, dtype=dtype))
        self.logvar_z = nn.Parameter(torch.zeros(G, n, dtype=dtype))

    # ------------------------------------------------------------------------- structure
    @property
    def batch(self) -> int:
        return self.config.batch

    @property
    def n(self) -> int:
        return self.config.n

    @property
    def m(self) -> int:
        return self.config.m

    @property
    def device(self) -> torch.device:
        return self.y_scale.device

    @property
    def dtype(self) -> torch.dtype:
        return self.y_scale.dtype

    def set_data_scale(self, Sigma_Y) -> GaussianVAE:
        """Set ``s_y = sqrt(diag Σ_Y)`` (array ``(n, n)``) or ``s_y`` itself (array ``(n,)``)."""
        arr = np.asarray(Sigma_Y.detach().cpu() if torch.is_tensor(Sigma_Y) else Sigma_Y, float)
        if arr.shape == (self.n, self.n):
            arr = np.sqrt(np.diagonal(arr))
        if arr.shape != (self.n,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValueError(
                f"Sigma_Y: expected an ({self.n}, {self.n}) covariance or {self.n} positive "
                f"scales, got shape {arr.shape}"
            )
        with torch.no_grad():
            self.y_scale.copy_(torch.as_tensor(arr, dtype=self.dtype))
        return self

    def set_floors(self, floor_w, floor_z) -> GaussianVAE:
        """Variance floors per member (scalars or arrays of shape ``(G,)``; 0 = none)."""
        with torch.no_grad():
            for name, val in (("floor_w", floor_w), ("floor_z", floor_z)):
                arr = np.array(np.broadcast_to(np.asarray(val, dtype=float), (self.batch,)))
                if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                    raise ValueError(f"{name}: must be finite and >= 0")
                getattr(self, name).copy_(torch.as_tensor(arr, dtype=self.dtype))
        return self

    # ------------------------------------------------------------------------ Gaussian heads
    def chol_w(self) -> torch.Tensor:
        """``L`` with ``Σ_W = L L^T + f_W I``, shape (G, m, m)."""
        return _tril_factor(self.chol_w_raw)

    def Sigma_W(self) -> torch.Tensor:
        """Encoder noise covariance, shape (G, m, m)."""
        L = self.chol_w()
        eye = torch.eye(self.m, dtype=self.dtype, device=self.device)
        return L @ L.mT + self.floor_w[:, None, None] * eye

    def encoder_noise_factor(self) -> torch.Tensor:
        """A Cholesky factor ``C`` of ``Σ_W`` (``C C^T = Σ_W``), shape (G, m, m)."""
        L = self.chol_w()
        if not bool((self.floor_w > 0).any()):
            return L
        chol, _ = torch.linalg.cholesky_ex(self.Sigma_W())
        # members without a floor keep L itself (their Σ_W may be too close to singular)
        return torch.where((self.floor_w > 0)[:, None, None], chol, L)

    def sigma_z(self) -> torch.Tensor:
        """Diagonal of ``Σ_Z``, shape (G, n)."""
        return self.y_scale**2 * torch.exp(self.logvar_z) + self.floor_z[:, None]

    def Sigma_Z(self) -> torch.Tensor:
        """Decoder noise covariance (diagonal), shape (G, n, n)."""
        return torch.diag_embed(self.sigma_z())

    # ---------------------------------------------------------------------------- forward
    def _batched(self, t: torch.Tensor, d: int, name: str) -> torch.Tensor:
        if not torch.is_tensor(t):
            raise ValueError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        t = t.to(dtype=self.dtype, device=self.device)
        if t.ndim == 2:
            t = t.expand(self.batch, *t.shape)
        if t.ndim != 3 or t.shape[0] != self.batch or t.shape[-1] != d:
            raise ValueError(
                f"{name}: expected shape (b, {d}) or ({self.batch}, b, {d}), got {tuple(t.shape)}"
            )
        return t

    def encode_mean(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode_mean(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, y: torch.Tensor, eps: torch.Tensor | None = None, generator=None):
        """Samples ``x = μ(y) + C ε`` (``C C^T = Σ_W``), shape (G, b, m).

        ``eps`` (``(G, b, m)`` or ``(b, m)``) defaults to fresh standard normal draws from
        ``generator`` (CPU, then moved to the model's device).
        """
        mu = self.encode_mean(y)
        if eps is None:
            eps = torch.randn(mu.shape, generator=generator, dtype=torch.float64).to(mu)
        eps = self._batched(eps, self.m, "eps")
        return mu + eps @ self.encoder_noise_factor().mT

    def forward(self, y: torch.Tensor, eps: torch.Tensor | None = None):
        """``(x, μ_x(y), μ_y(x))``: latent samples, encoder means and decoder means."""
        mu = self.encode_mean(y)
        if eps is None:
            eps = torch.randn(mu.shape, dtype=mu.dtype, device=mu.device)
        x = mu + self._batched(eps, self.m, "eps") @ self.encoder_noise_factor().mT
        return x, mu, self.decode_mean(x)

    # ------------------------------------------------------------------------ initialisation
    def init_parameters(self, seeds: Sequence[int]) -> GaussianVAE:
        """Initialise member ``g`` from a CPU generator seeded with ``seeds[g]``.

        A member's initial parameters depend only on its own seed (not on the grid it is
        trained in) and not on the device. ``Σ_W = I`` and ``Σ_Z = diag(s_y²)`` initially.
        """
        seeds = list(seeds)
        if len(seeds) != self.batch:
            raise ValueError(
                f"seeds: expected {self.batch} seeds (one per member), got {len(seeds)}"
            )
        with torch.no_grad():
            self.chol_w_raw.zero_()
            self.logvar_z.zero_()
            for g, seed in enumerate(seeds):
                if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
                    raise ValueError(f"seeds: must be non-negative integers, got {seed!r}")
                gen = torch.Generator(device="cpu").manual_seed(int(seed))
                for param, value in self._init_member(gen):
                    param[g].copy_(value.to(param))
        return self

    def _init_member(self, gen: torch.Generator):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------------------- export
    def select(self, index: Sequence[int]) -> GaussianVAE:
        """A new model holding members ``index`` of this one (same device and dtype)."""
        idx = torch.as_tensor(list(index), dtype=torch.long)
        if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= self.batch:
            raise ValueError(f"index: expected member indices in 0..{self.batch - 1}")
        cfg = type(self.config).from_dict({**self.config.to_dict(), "batch": int(idx.numel())})
        out = build_model(cfg, dtype=self.dtype).to(self.device)
        state = {}
        for k, v in self.state_dict().items():
            state[k] = v if k == "y_scale" else v[idx.to(v.device)]
        out.load_state_dict(state)
        return out

    def save(self, path: str | os.PathLike, *, metadata: dict | None = None):
        """Write ``config.json`` and ``model.pt`` atomically (see :mod:`neural.persistence`)."""
        return save_model(self, path, metadata=metadata)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device="cpu") -> GaussianVAE:
        """Load a saved model (see :func:`neural.persistence.load_model`)."""
        model = load_model(path, device=device)
        if not isinstance(model, cls):
            raise ValueError(f"path: holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class LinearGaussianVAE(GaussianVAE):
    """``X = B Y + W``, ``W ~ N(0, Σ_W)``; ``Ŷ = A X + Z``, ``Z ~ N(0, Σ_Z)`` diagonal.

    Parameters (per member): ``B̃`` (m, n), ``Ã`` (n, m), ``ℓ_W`` (the raw Cholesky factor of
    ``Σ_W``), ``ℓ_Z`` (n,). See the module docstring for the scale-free parameterisation.

    Examples
    --------
    >>> import torch
    >>> from neural.config import LinearVAEConfig
    >>> model = LinearGaussianVAE(LinearVAEConfig(n=4, m=3, batch=2)).init_parameters([0, 1])
    >>> tuple(model.B().shape), tuple(model.encode_mean(torch.zeros(7, 4)).shape)
    ((2, 3, 4), (2, 7, 3))
    """

    def __init__(self, config: LinearVAEConfig, dtype=torch.float64):
        if not isinstance(config, LinearVAEConfig):
            raise ValueError(f"config: expected a LinearVAEConfig, got {type(config).__name__}")
        super().__init__(config, dtype)
        G, n, m = config.batch, config.n, config.m
        self.B_raw = nn.Parameter(torch.zeros(G, m, n, dtype=self.dtype))
        self.A_raw = nn.Parameter(torch.zeros(G, n, m, dtype=self.dtype))

    def B(self) -> torch.Tensor:
        """Encoder matrix on the data scale, shape (G, m, n)."""
        return self.B_raw / self.y_scale

    def A(self) -> torch.Tensor:
        """Decoder matrix on the data scale, shape (G, n, m)."""
        return self.y_scale[:, None] * self.A_raw

    def encode_mean(self, y: torch.Tensor) -> torch.Tensor:
        return self._batched(y, self.n, "y") @ self.B().mT

    def decode_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self._batched(x, self.m, "x") @ self.A().mT

    def _init_member(self, gen):
        n, m = self.n, self.m
        yield self.B_raw, torch.randn(m, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
        yield self.A_raw, torch.randn(n, m, generator=gen, dtype=torch.float64) / math.sqrt(m)

    def matrices(self) -> dict[str, np.ndarray]:
        """``A, B, Sigma_Z, Sigma_W`` as float64 numpy arrays with a leading member axis."""
        with torch.no_grad():
            return {
                "A": self.A().double().cpu().numpy(),
                "B": self.B().double().cpu().numpy(),
                "Sigma_Z": self.Sigma_Z().double().cpu().numpy(),
                "Sigma_W": self.Sigma_W().double().cpu().numpy(),
            }

    def set_matrices(self, A=None, B=None, Sigma_Z=None, Sigma_W=None) -> LinearGaussianVAE:
        """Set parameters from matrices on the data scale (leading member axis or broadcast).

        ``Σ_Z`` must be diagonal with entries above the floor ``f_Z`` and ``Σ_W - f_W I``
        positive definite (the set the parameterisation covers).
        """
        G = self.batch

        def prep(x, shape, name):
            arr = np.array(np.broadcast_to(np.asarray(x, dtype=float), (G, *shape)))
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name}: contains NaN or infinite entries")
            return torch.as_tensor(np.ascontiguousarray(arr), dtype=self.dtype, device=self.device)

        with torch.no_grad():
            if B is not None:
                self.B_raw.copy_(prep(B, (self.m, self.n), "B") * self.y_scale)
            if A is not None:
                self.A_raw.copy_(prep(A, (self.n, self.m), "A") / self.y_scale[:, None])
            if Sigma_Z is not None:
                sz = prep(Sigma_Z, (self.n, self.n), "Sigma_Z")
                d = torch.diagonal(sz, dim1=-2, dim2=-1) - self.floor_z[:, None]
                if not bool((d > 0).all()):
                    raise ValueError("Sigma_Z: diagonal must exceed the floor f_Z")
                self.logvar_z.copy_(torch.log(d / self.y_scale**2))
            if Sigma_W is not None:
                sw = prep(Sigma_W, (self.m, self.m), "Sigma_W")
                eye = torch.eye(self.m, dtype=self.dtype, device=self.device)
                L, info = torch.linalg.cholesky_ex(sw - self.floor_w[:, None, None] * eye)
                if bool((info != 0).any()):
                    raise ValueError("Sigma_W: Sigma_W - f_W I must be positive definite")
                raw = torch.tril(L, -1) + torch.diag_embed(
                    torch.log(torch.diagonal(L, dim1=-2, dim2=-1))
                )
                self.chol_w_raw.copy_(raw)
        return self


class _BatchedMLP(nn.Module):
    """``G`` independent MLPs evaluated together: weights (G, in, out), biases (G, out)."""

    def __init__(self, G, sizes, activation, dtype):
        super().__init__()
        self.act = _ACT[activation]
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.zeros(G, a, b, dtype=dtype)) for a, b in zip(sizes, sizes[1:])]
        )
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.zeros(G, b, dtype=dtype)) for b in sizes[1:]]
        )

    def forward(self, h):
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b[:, None, :], h, w)
            if k < last:
                h = self.act(h)
        return h

    def init_member(self, gen, out_gain: float):
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            fan_in = w.shape[1]
            bound = 1.0 / math.sqrt(fan_in)
            if k == len(self.weights) - 1:
                bound *= out_gain
            yield w, (2 * torch.rand(w.shape[1:], generator=gen, dtype=torch.float64) - 1) * bound
            yield b, (2 * torch.rand(b.shape[1:], generator=gen, dtype=torch.float64) - 1) * bound


class MLPGaussianVAE(GaussianVAE):
    """MLP encoder mean ``μ(y)`` and decoder mean ``g(x)`` with the linear model's heads.

    ``q(x|y) = N(μ(y / s_y), Σ_W)`` and ``p(y|x) = N(s_y ⊙ g(x), Σ_Z)``; ``Σ_W`` full SPD
    (Cholesky), ``Σ_Z`` diagonal (log-variances), both independent of the input as in the
    analytic model, so the only difference from :class:`LinearGaussianVAE` is the two means.
    """

    def __init__(self, config: MLPVAEConfig, dtype=torch.float64):
        if not isinstance(config, MLPVAEConfig):
            raise ValueError(f"config: expected an MLPVAEConfig, got {type(config).__name__}")
        super().__init__(config, dtype)
        G, n, m, hidden = config.batch, config.n, config.m, list(config.hidden)
        self.encoder = _BatchedMLP(G, [n, *hidden, m], config.activation, self.dtype)
        self.decoder = _BatchedMLP(G, [m, *hidden, n], config.activation, self.dtype)

    def encode_mean(self, y: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._batched(y, self.n, "y") / self.y_scale)

    def decode_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.y_scale * self.decoder(self._batched(x, self.m, "x"))

    def _init_member(self, gen):
        yield from self.encoder.init_member(gen, 1.0)
        yield from self.decoder.init_member(gen, 1.0)


def build_model(config: LinearVAEConfig | MLPVAEConfig, dtype=torch.float64) -> GaussianVAE:
    """The model class for a configuration (parameters zero until initialised)."""
    if isinstance(config, LinearVAEConfig):
        return LinearGaussianVAE(config, dtype)
    if isinstance(config, MLPVAEConfig):
        return MLPGaussianVAE(config, dtype)
    raise ValueError(f"config: expected a LinearVAEConfig or MLPVAEConfig, got {config!r}")


register_model_class(LinearVAEConfig, LinearGaussianVAE)
register_model_class(MLPVAEConfig, MLPGaussianVAE)
