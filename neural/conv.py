r"""The convolutional VAE of Burgess et al. (2018) and Kim & Mnih (2018) for 64×64 images.

Encoder: four ``Conv2d(4×4, stride 2, padding 1)`` with 32-32-64-64 channels and ReLU
(64 → 32 → 16 → 8 → 4 pixels), a 256-unit ReLU layer, and a linear head giving the diagonal
Gaussian posterior ``q(z|x) = N(μ(x), diag exp(logvar(x)))`` over 10 latents. Decoder: the
mirror image (linear 256, linear to 64×4×4, four transposed convolutions) giving per-pixel
Bernoulli logits ``ℓ(z)``. The negative log-likelihood of a binary image in nats is

.. math::

    -\log p(x|z) = \sum_{pixels} \mathrm{BCEWithLogits}(ℓ(z), x)
                 = \sum_p \left[\mathrm{softplus}(ℓ_p) - x_p ℓ_p\right],

the "Rec Error" of the seed's tables. :func:`save_conv_vae` / :func:`load_conv_vae` store the
configuration and the state dict with :func:`neural.config.save_model`'s atomic layout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .config import save_model
from .conv_config import ConvVAEConfig
from .device import resolve_device

__all__ = ["ConvVAE", "ConvVAEConfig", "bernoulli_nll", "save_conv_vae", "load_conv_vae"]


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image Bernoulli negative log-likelihood (nats): BCE-with-logits summed over all
    but the batch dimension. Shapes ``(M, ...)`` -> ``(M,)``."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


class ConvVAE(nn.Module):
    """Convolutional VAE with a diagonal Gaussian posterior and a Bernoulli decoder.

    Parameters
    ----------
    config : ConvVAEConfig, optional
        Architecture (default: the published one).

    Examples
    --------
    >>> import torch
    >>> vae = ConvVAE(ConvVAEConfig(latent_dim=3))
    >>> mu, logvar = vae.encode(torch.zeros(2, 1, 64, 64))
    >>> tuple(mu.shape), tuple(vae.decode(mu).shape)
    ((2, 3), (2, 1, 64, 64))
    """

    def __init__(self, config: ConvVAEConfig | None = None):
        super().__init__()
        config = ConvVAEConfig() if config is None else config
        if not isinstance(config, ConvVAEConfig):
            raise ValueError(f"config: expected a ConvVAEConfig, got {type(config).__name__}")
        self.config = config
        ch = (config.in_channels, *config.channels)
        enc: list[nn.Module] = []
        for cin, cout in zip(ch[:-1], ch[1:]):
            enc += [nn.Conv2d(cin, cout, 4, 2, 1), nn.ReLU()]
        self.encoder_conv = nn.Sequential(*enc)
        flat = config.channels[-1] * config.feature_side**2
        self.encoder_fc = nn.Sequential(nn.Flatten(), nn.Linear(flat, config.hidden), nn.ReLU())
        self.encoder_head = nn.Linear(config.hidden, 2 * config.latent_dim)
        self.decoder_fc = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, flat),
            nn.ReLU(),
        )
        dec: list[nn.Module] = []
        rch = ch[::-1]
        for i, (cin, cout) in enumerate(zip(rch[:-1], rch[1:])):
            dec.append(nn.ConvTranspose2d(cin, cout, 4, 2, 1))
            if i < len(rch) - 2:
                dec.append(nn.ReLU())
        self.decoder_conv = nn.Sequential(*dec)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior ``(μ, logvar)``, each ``(M, m)``, of images ``(M, C, H, W)``."""
        h = self.encoder_head(self.encoder_fc(self.encoder_conv(x)))
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli logits ``(M, C, H, W)`` of latents ``(M, m)``."""
        c = self.config
        h = self.decoder_fc(z).view(-1, c.channels[-1], c.feature_side, c.feature_side)
        return self.decoder_conv(h)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """One reparameterised pass: returns ``(nll, mu, logvar, z)`` with the per-image NLL
        ``(M,)`` in nats, the posterior ``(M, m)`` and the sample ``z = μ + exp(logvar/2) ε``."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps
        return bernoulli_nll(self.decode(z), x), mu, logvar, z


def save_conv_vae(model: ConvVAE, path: str | os.PathLike, *, metadata: dict | None = None):
    """Save ``model`` as a directory with ``config.json`` and ``model.pt`` (atomic; the layout
    of :func:`neural.config.save_model`)."""
    if not isinstance(model, ConvVAE):
        raise ValueError(f"model: expected a ConvVAE, got {type(model).__name__}")
    return save_model(model, path, metadata=metadata)


def load_conv_vae(path: str | os.PathLike, *, device="cpu", return_metadata: bool = False):
    """Load a model written by :func:`save_conv_vae` onto ``device``.

    Returns the model, or ``(model, metadata)`` with ``return_metadata=True``. A directory that
    does not hold a conv VAE raises ``ValueError``.
    """
    path = Path(path)
    cfg_file, state_file = path / "config.json", path / "model.pt"
    if not cfg_file.is_file() or not state_file.is_file():
        raise ValueError(f"path: {str(path)!r} does not hold config.json and model.pt")
    try:
        doc = json.loads(cfg_file.read_text())
        config = ConvVAEConfig.from_dict(doc["model"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"path: {str(path)!r} has no conv VAE configuration ({exc})") from None
    model = ConvVAE(config)
    state = torch.load(state_file, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model = model.to(resolve_device(device))
    return (model, doc.get("metadata", {})) if return_metadata else model
