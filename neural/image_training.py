r"""Train the conv VAE on dSprites with one of the seeds' objectives, then evaluate it.

:func:`train_and_evaluate` is one run of a sweep (one objective, one weight, one seed): Adam on
minibatches drawn by :class:`neural.datasets.DSprites` (training draws never touch the fixed
held-out split), the loss from :func:`neural.objectives.objective_loss` (the same code as the
linear VAE), and for FactorVAE the 6×1000 discriminator trained in alternation as in Kim &
Mnih (2018): per iteration two batches; the VAE steps on the first with
``nll + kl + γ TC_D``; the discriminator steps on ``z`` of the first batch (real) against the
dimension-wise permuted ``z`` of the second (fake).

Evaluation, on the held-out split (a fixed set of ``n_heldout`` grid indices, the same for
every run; see :mod:`neural.datasets.sampler`):

* ``rec_error`` — mean per-image Bernoulli NLL (nats) of one reparameterised sample, and
  ``kl`` — mean analytic ``KL(q(z|x) || N(0, I))`` per image (nats): the seed's Table 01/02
  "validation loss" columns;
* ``tc_mss`` — the total correlation by minibatch stratified sampling (Chen et al.) over
  held-out chunks of ``eval_batch`` images, with ``N`` the training pool size;
* ``d_real``, ``d_perm`` — FactorVAE only (else NaN): mean ``D(z)`` on held-out samples and on
  their dimension-wise permutation, with ``tc_discriminator`` the density-ratio TC;
* ``mig``, ``sap``, ``dci`` (disentanglement; ``dci_completeness``, ``dci_informativeness``)
  and ``factor_vae_score`` from the posterior means and the five discrete factors
  (:mod:`lingauss.metrics.sampled`, :mod:`lingauss.metrics.sampled_fitted`). The FactorVAE
  score's votes draw their 64 images from the held-out rows that share the fixed factor's
  value (with replacement): at 2048 held-out images that is ~51 rows per orientation value
  and ~64 per position value (the original samples fresh images from the generator);
* ``active_latents`` — latents whose mean KL exceeds 0.01 nats (collapse shows as few);
  ``diverged`` — 1.0 when the loss became non-finite (training stops; metrics NaN).

Presets (:data:`PRESETS`, defined with :class:`ImageRunSpec` in :mod:`neural.image_spec`):
``"paper"`` is the published budget; ``"cpu"`` a reduced budget
measured to fit a 7-weight β-VAE sweep on 2 CPU cores in under 15 minutes (see the entry).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .conv import ConvVAE, ConvVAEConfig, save_conv_vae
from .datasets import DSprites, load_dsprites_npz
from .device import resolve_device
from .discriminator import Discriminator, discriminator_loss, permute_dims
from .image_spec import PRESETS, ImageRunSpec  # noqa: F401  (re-exported)
from .objectives import objective_loss, tc_decomposition

# ImageRunSpec and PRESETS (from neural.image_spec) stay importable from here too.
__all__ = ["train_and_evaluate", "evaluate", "latent_traversal"]

_NAN = float("nan")


def _sampler(spec: ImageRunSpec, device) -> DSprites:
    arrays = None if spec.data == "dsprites" else load_dsprites_npz(spec.data)
    return DSprites(
        spec.seed, device, n_heldout=spec.n_heldout, heldout_seed=spec.heldout_seed, arrays=arrays
    )


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@torch.no_grad()
def evaluate(
    model: ConvVAE,
    data: DSprites,
    *,
    discriminator=None,
    eval_batch: int = 256,
    fvae_votes: int = 800,
    seed: int = 0,
) -> dict[str, float]:
    """Held-out losses, TC, discriminator outputs and sampled metrics (see the module
    docstring). ``seed`` fixes the evaluation noise and the metrics' splits."""
    from lingauss.metrics.sampled import mig_sampled, sap_sampled
    from lingauss.metrics.sampled_fitted import dci_sampled, factor_vae_score

    model.eval()
    dev = next(model.parameters()).device
    g = _generator(dev, seed + 1)
    gp = torch.Generator().manual_seed(seed + 2)
    n_pool = len(data.train_indices)
    sums = {"nll": 0.0, "kl": 0.0, "tc": 0.0, "d_real": 0.0, "d_perm": 0.0, "tc_d": 0.0}
    kl_dims = torch.zeros(model.latent_dim, dtype=torch.float64, device=dev)
    n = 0
    n_tc = 0
    mus, classes = [], []
    for x, cl, _ in data.heldout_batches(eval_batch):
        nll, mu, logvar, z = model(x, generator=g)
        var = logvar.exp()
        kl = 0.5 * (var + mu * mu - 1.0 - logvar)
        sums["nll"] += float(nll.double().sum())
        sums["kl"] += float(kl.double().sum())
        kl_dims += kl.double().sum(0)
        if x.shape[0] >= 2:
            dec = tc_decomposition(
                z.double(),
                mu.double(),
                var=var.double(),
                dataset_size=max(n_pool, x.shape[0]),
                estimator="mss",
            )
            sums["tc"] += float(dec["tc"]) * x.shape[0]
            n_tc += x.shape[0]
            if discriminator is not None:
                zp = permute_dims(z, gp)
                a_r, a_p = discriminator(z), discriminator(zp)
                sums["d_real"] += float(torch.softmax(a_r, -1)[:, 0].double().sum())
                sums["d_perm"] += float(torch.softmax(a_p, -1)[:, 0].double().sum())
                sums["tc_d"] += float((a_r[:, 0] - a_r[:, 1]).double().sum())
        n += x.shape[0]
        mus.append(mu.double().cpu())
        classes.append(cl.cpu())
    M = torch.cat(mus).numpy()
    C = torch.cat(classes).numpy().astype(float)
    out = {
        "rec_error": sums["nll"] / n,
        "kl": sums["kl"] / n,
        "tc_mss": sums["tc"] / n_tc if n_tc else _NAN,
        "d_real": sums["d_real"] / n_tc if discriminator is not None and n_tc else _NAN,
        "d_perm": sums["d_perm"] / n_tc if discriminator is not None and n_tc else _NAN,
        "tc_discriminator": sums["tc_d"] / n_tc if discriminator is not None and n_tc else _NAN,
        "active_latents": float((kl_dims / n > 0.01).sum()),
    }
    if np.all(np.isfinite(M)):
        mig = mig_sampled(M, C, discrete=True)
        dci = dci_sampled(M, C, discrete=True, seed=seed)
        out.update(
            mig=mig.score,
            sap=sap_sampled(M, C, discrete=True, seed=seed).score,
            dci=dci.disentanglement,
            dci_completeness=dci.completeness,
            dci_informativeness=dci.informativeness,
            factor_vae_score=factor_vae_score(
                M, C, discrete=True, n_train=fvae_votes, n_eval=max(1, fvae_votes // 2), seed=seed
            ).score,
        )
    else:
        out.update(
            mig=_NAN,
            sap=_NAN,
            dci=_NAN,
            dci_completeness=_NAN,
            dci_informativeness=_NAN,
            factor_vae_score=_NAN,
        )
    return {k: float(v) for k, v in out.items()}


def _save_checkpoint(model, discriminator, spec, checkpoint_dir, extra):
    path = Path(checkpoint_dir)
    save_conv_vae(model, path / "vae", metadata={"spec": spec.to_dict(), **extra})
    if discriminator is not None:
        fd, tmp = tempfile.mkstemp(prefix=".discriminator.", dir=path)
        os.close(fd)
        try:
            state = {k: v.detach().cpu() for k, v in discriminator.state_dict().items()}
            torch.save(state, tmp)
            os.replace(tmp, path / "discriminator.pt")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def train_and_evaluate(
    spec: ImageRunSpec,
    *,
    device="auto",
    checkpoint_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train the conv VAE on dSprites as ``spec`` says and evaluate it on the held-out split.

    Parameters
    ----------
    spec : ImageRunSpec
    device : str or torch.device
        ``"auto"``: CUDA when present.
    checkpoint_dir : path-like, optional
        Where the trained model goes (``vae/`` via :func:`neural.conv.save_conv_vae`, and
        ``discriminator.pt`` for FactorVAE), written atomically after training.
    progress : callable, optional
        Called as ``progress(step, steps, terms)`` about 100 times during training.

    Returns
    -------
    dict
        Plain floats/str: ``rec_error``, ``kl``, ``tc_mss``, ``d_real``, ``d_perm``,
        ``tc_discriminator``, ``mig``, ``sap``, ``dci``, ``dci_completeness``,
        ``dci_informativeness``, ``factor_vae_score``, ``active_latents``, ``diverged``,
        ``train_loss`` (mean of the last 10% of steps), ``wall_time`` (s), ``train_time``
        (s), ``images_per_s``, ``steps`` (done), ``device``, ``objective``, ``seed``.
    """
    if not isinstance(spec, ImageRunSpec):
        raise ValueError(f"spec: expected an ImageRunSpec, got {type(spec).__name__}")
    dev = resolve_device(device)
    t0 = time.perf_counter()
    prev_threads = torch.get_num_threads()
    if spec.num_threads is not None and dev.type == "cpu":
        torch.set_num_threads(spec.num_threads)
    try:
        data = _sampler(spec, dev)
        n_pool = len(data.train_indices)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            model = ConvVAE(ConvVAEConfig(latent_dim=spec.latent_dim)).to(dev)
            disc = (
                Discriminator(spec.latent_dim).to(dev) if spec.objective == "factor-vae" else None
            )
        use_compile = dev.type == "cuda" if spec.compile is None else bool(spec.compile)
        fwd = torch.compile(model) if use_compile else model
        opt = torch.optim.Adam(model.parameters(), lr=spec.lr, betas=spec.betas)
        d_opt = (
            torch.optim.Adam(disc.parameters(), lr=spec.disc_lr, betas=spec.disc_betas)
            if disc is not None
            else None
        )
        g = _generator(dev, spec.seed)
        gp = torch.Generator().manual_seed(spec.seed + 7919)
        tail = max(1, spec.steps // 10)
        losses: list[float] = []
        diverged = False
        every = max(1, spec.steps // 100)
        done = 0
        model.train()
        t_train = time.perf_counter()
        for step in range(1, spec.steps + 1):
            x, _, _ = data.sample(spec.batch_size)
            nll, mu, logvar, z = fwd(x, generator=g)
            loss, terms = objective_loss(
                spec.objective,
                spec.weights,
                nll=nll,
                mu=mu,
                z=z,
                var=logvar.exp(),
                dataset_size=n_pool,
                estimator=spec.estimator,
                discriminator=disc,
            )
            if not torch.isfinite(loss):
                diverged = True
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if disc is not None:
                x2, _, _ = data.sample(spec.batch_size)
                with torch.no_grad():
                    _, _, _, z2 = fwd(x2, generator=g)
                d_opt.zero_grad(set_to_none=True)
                d_loss = discriminator_loss(disc, z.detach(), permute_dims(z2, gp))
                d_loss.backward()
                d_opt.step()
            done = step
            if step > spec.steps - tail:
                losses.append(float(loss.detach()))
            if progress is not None and (step % every == 0 or step == spec.steps):
                progress(step, spec.steps, {k: float(v.detach()) for k, v in terms.items()})
        train_time = time.perf_counter() - t_train
        images = done * spec.batch_size * (2 if disc is not None else 1)
        if diverged:
            keys = (
                "rec_error",
                "kl",
                "tc_mss",
                "d_real",
                "d_perm",
                "tc_discriminator",
                "mig",
                "sap",
                "dci",
                "dci_completeness",
                "dci_informativeness",
                "factor_vae_score",
                "active_latents",
            )
            metrics = dict.fromkeys(keys, _NAN)
        else:
            metrics = evaluate(
                model,
                data,
                discriminator=disc,
                eval_batch=spec.eval_batch,
                fvae_votes=spec.fvae_votes,
                seed=spec.seed,
            )
        row: dict[str, Any] = {
            **metrics,
            "diverged": 1.0 if diverged else 0.0,
            "train_loss": float(np.mean(losses)) if losses else _NAN,
            "steps": float(done),
            "train_time": train_time,
            "images_per_s": images / train_time if train_time > 0 else _NAN,
            "objective": spec.objective,
            "seed": float(spec.seed),
            "device": str(dev),
        }
        if checkpoint_dir is not None:
            _save_checkpoint(model, disc, spec, checkpoint_dir, {"result": dict(row)})
        row["wall_time"] = time.perf_counter() - t0
        return row
    finally:
        torch.set_num_threads(prev_threads)


@torch.no_grad()
def latent_traversal(model: ConvVAE, image, *, steps: int = 10, limit: float = 2.5) -> np.ndarray:
    """Decoded traversals of each latent around the posterior mean of one image.

    Latent ``j`` takes ``steps`` values ``linspace(-limit, limit, steps)`` while the others stay
    at ``μ(image)``; each is decoded to Bernoulli means ``sigmoid(logits)``.

    Parameters
    ----------
    model : ConvVAE
    image : Tensor or array, shape (64, 64), (1, 64, 64) or (1, 1, 64, 64)
    steps : int
    limit : float

    Returns
    -------
    ndarray of float32, shape (latent_dim, steps, 64, 64)
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps: must be an integer >= 2, got {steps!r}")
    if not math.isfinite(limit) or limit <= 0:
        raise ValueError(f"limit: must be finite and > 0, got {limit!r}")
    dev = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(image) if not torch.is_tensor(image) else image)
    size = model.config.image_size
    if x.numel() != size * size * model.config.in_channels:
        raise ValueError(f"image: expected {size}x{size} pixels, got shape {tuple(x.shape)}")
    x = x.reshape(1, model.config.in_channels, size, size).to(dev, torch.float32)
    model.eval()
    mu, _ = model.encode(x)
    m = model.latent_dim
    vals = torch.linspace(-limit, limit, steps, device=dev)
    z = mu.expand(m * steps, m).clone().view(m, steps, m)
    idx = torch.arange(m, device=dev)
    z[idx, :, idx] = vals
    out = torch.sigmoid(model.decode(z.view(m * steps, m)))
    return out.view(m, steps, size, size).float().cpu().numpy()
