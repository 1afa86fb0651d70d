"""The conv VAE, its configuration and save/load, and a few steps of image training."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from neural.conv import ConvVAE, ConvVAEConfig, bernoulli_nll, load_conv_vae, save_conv_vae
from neural.datasets import DSprites
from neural.image_training import (
    PRESETS,
    ImageRunSpec,
    latent_traversal,
    train_and_evaluate,
)


@pytest.fixture(autouse=True)
def _one_thread():
    """One CPU thread: on a loaded 2-core machine two threads are several times slower for
    these small convolutions (benchmarks/bench_images.py)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


TINY = {"steps": 3, "batch_size": 8, "n_heldout": 64, "eval_batch": 32, "fvae_votes": 20}


def test_config_validation_and_round_trip():
    c = ConvVAEConfig(latent_dim=6, channels=[16, 16, 32], hidden=64, image_size=64)
    assert c.channels == (16, 16, 32) and c.feature_side == 8
    assert ConvVAEConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="image_size"):
        ConvVAEConfig(image_size=60)
    with pytest.raises(ValueError, match="latent_dim"):
        ConvVAEConfig(latent_dim=0)
    with pytest.raises(ValueError, match="unknown keys"):
        ConvVAEConfig.from_dict({"kind": "conv", "width": 3})
    with pytest.raises(ValueError, match="kind"):
        ConvVAEConfig.from_dict({"kind": "mlp"})


def test_architecture_shapes_and_bernoulli_nll():
    torch.manual_seed(0)
    vae = ConvVAE()
    convs = [m for m in vae.encoder_conv if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [32, 32, 64, 64]
    assert all(m.kernel_size == (4, 4) and m.stride == (2, 2) for m in convs)
    assert vae.encoder_fc[1].out_features == 256 and vae.latent_dim == 10
    x = (torch.rand(5, 1, 64, 64) > 0.5).float()
    nll, mu, logvar, z = vae(x, generator=torch.Generator().manual_seed(1))
    assert nll.shape == (5,) and mu.shape == logvar.shape == z.shape == (5, 10)
    logits = vae.decode(z)
    manual = (F.softplus(logits) - x * logits).flatten(1).sum(1)  # -log Bernoulli(x; σ(l))
    assert torch.allclose(bernoulli_nll(logits, x), manual, rtol=1e-5)
    assert torch.allclose(nll, manual, rtol=1e-5)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    vae = ConvVAE(ConvVAEConfig(latent_dim=4, hidden=32))
    save_conv_vae(vae, tmp_path / "m", metadata={"note": "x"})
    back, meta = load_conv_vae(tmp_path / "m", return_metadata=True)
    assert back.config == vae.config and meta == {"note": "x"}
    x = torch.rand(2, 1, 64, 64)
    assert torch.equal(back.encode(x)[0], vae.encode(x)[0])
    with pytest.raises(ValueError, match="path"):
        load_conv_vae(tmp_path / "nothing")


def test_a_few_steps_reduce_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    vae = ConvVAE(ConvVAEConfig(latent_dim=4))
    x, _, _ = DSprites(0, "cpu", n_heldout=64).sample(8)
    opt = torch.optim.Adam(vae.parameters(), 2e-3)
    g = torch.Generator().manual_seed(0)
    first = None
    for _ in range(8):
        nll, mu, logvar, _ = vae(x, generator=g)
        loss = nll.mean()
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    # the first steps drive the logits of the mostly-black images down: ~2500 nats at init
    # (≈ 4096 log 2 less what the random decoder gets right) falls by hundreds of nats; the
    # MC noise of one posterior sample through an untrained decoder is a few nats
    assert float(loss.detach()) < first - 150


def test_spec_validation_presets_and_round_trip():
    spec = ImageRunSpec(objective="beta-tcvae", weights={"beta": 6})
    assert spec.weights == {"alpha": 1.0, "beta": 6.0, "gamma": 1.0}
    assert ImageRunSpec.from_dict(spec.to_dict()) == spec
    paper = ImageRunSpec.for_preset("paper", "factor-vae", {"gamma": 10})
    assert paper.steps == 300_000 and paper.lr == 1e-4 and paper.disc_betas == (0.5, 0.9)
    assert ImageRunSpec.for_preset("cpu", "beta-vae").steps == PRESETS["cpu"]["steps"]
    for bad, match in (
        ({"objective": "vae++"}, "objective"),
        ({"weights": {"beta": -1}}, "beta"),
        ({"weights": {"gamma": 1}}, "gamma"),
        ({"objective": "gamma-lambda"}, "Gaussian"),
        ({"data": "/nonexistent/dsprites.npz"}, "data"),
        ({"steps": 0}, "steps"),
    ):
        with pytest.raises(ValueError, match=match):
            ImageRunSpec(**bad)
    with pytest.raises(ValueError, match="preset"):
        ImageRunSpec.for_preset("gpu", "beta-vae")


def test_train_and_evaluate_beta_vae_is_seeded(tmp_path):
    calls = []
    spec = ImageRunSpec(objective="beta-vae", weights={"beta": 4}, seed=1, **TINY)
    a = train_and_evaluate(
        spec, device="cpu", checkpoint_dir=tmp_path, progress=lambda *args: calls.append(args)
    )
    b = train_and_evaluate(spec, device="cpu")
    for key in ("rec_error", "kl", "tc_mss", "mig", "sap", "dci", "factor_vae_score"):
        assert isinstance(a[key], float) and a[key] == b[key], key  # same seed, same row
    assert math.isnan(a["d_real"]) and math.isnan(a["d_perm"])
    assert a["steps"] == 3.0 and a["diverged"] == 0.0 and a["objective"] == "beta-vae"
    assert 0 < a["rec_error"] < 4096 * math.log(2) * 2 and a["kl"] >= 0
    assert [c[0] for c in calls] == [1, 2, 3]
    vae = load_conv_vae(tmp_path / "vae")
    assert vae.latent_dim == 10


def test_train_and_evaluate_factor_vae_has_discriminator_outputs(tmp_path):
    spec = ImageRunSpec(objective="factor-vae", weights={"gamma": 10}, seed=0, **TINY)
    r = train_and_evaluate(spec, device="cpu", checkpoint_dir=tmp_path)
    assert 0 < r["d_real"] < 1 and 0 < r["d_perm"] < 1
    assert math.isfinite(r["tc_discriminator"])
    assert (tmp_path / "discriminator.pt").is_file()


@pytest.mark.parametrize("objective", ["beta-tcvae", "dip-vae-i", "dip-vae-ii"])
def test_other_objectives_train(objective):
    spec = ImageRunSpec(objective=objective, seed=0, **{**TINY, "steps": 2})
    r = train_and_evaluate(spec, device="cpu")
    assert r["diverged"] == 0.0 and math.isfinite(r["rec_error"])


def test_latent_traversal_shape_and_range():
    torch.manual_seed(0)
    vae = ConvVAE(ConvVAEConfig(latent_dim=3))
    x, _, _ = DSprites(0, "cpu", n_heldout=64).sample(1)
    t = latent_traversal(vae, x[0, 0], steps=5, limit=2.0)
    assert t.shape == (3, 5, 64, 64) and t.dtype == np.float32
    assert t.min() >= 0 and t.max() <= 1
    # the middle step is z = μ with latent j at 0; traversing j changes the decoded image
    assert not np.allclose(t[0, 0], t[0, -1])
    with pytest.raises(ValueError, match="steps"):
        latent_traversal(vae, x[0, 0], steps=1)
