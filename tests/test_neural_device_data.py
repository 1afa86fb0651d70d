"""Device resolution, seeded data, and moving models and data to the requested device."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lingauss as lg
from neural.config import LinearVAEConfig, MLPVAEConfig, TrainingConfig
from neural.data import ScenarioSampler, as_tensor, make_generator, sample_scenario
from neural.device import resolve_device, resolve_dtype
from neural.models import build_model
from neural.training import train_grid

CUDA = torch.cuda.is_available()
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])


def test_auto_and_cpu():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if CUDA else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu0", "cuda:abc", "", "tpu"])
def test_nonsense_device_names(bad):
    with pytest.raises(ValueError, match="^device"):
        resolve_device(bad)


def test_unavailable_or_missing_cuda():
    if not CUDA:
        with pytest.raises(ValueError, match="^device: 'cuda' requested but CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="^device"):
        resolve_device("cuda:99")
    with pytest.raises(ValueError, match="^device"):
        resolve_device(3)


def test_dtype():
    assert resolve_dtype("float32") is torch.float32
    with pytest.raises(ValueError, match="^dtype"):
        resolve_dtype("float16")


@pytest.mark.parametrize("device", DEVICES)
def test_data_and_models_move_to_the_device(device):
    sc = lg.scenario("5-5-4", 1)
    V, Y = sample_scenario(sc, 10, seed=0, device=device)
    assert V.device.type == device and Y.device.type == device
    for cfg in (LinearVAEConfig(5, 4, batch=2), MLPVAEConfig(5, 4, batch=2, hidden=(8,))):
        net = build_model(cfg).init_parameters([0, 1]).to(device)
        assert all(p.device.type == device for p in net.parameters())
        assert all(b.device.type == device for b in net.buffers())
        x = net.encode(Y, generator=make_generator(0))
        assert x.device.type == device and x.shape == (2, 10, 4)


@pytest.mark.parametrize("device", DEVICES)
def test_training_runs_on_the_device(device):
    cfg = TrainingConfig(
        max_steps=10, eval_every=5, batch_size=16, n_val=64, device=device, progress=False
    )
    res = train_grid(lg.scenario("3-4-2", 2), [0.99], [0.0], seeds=[0], training=cfg)
    assert res.model.B_raw.device.type == device
    assert res.device.startswith(device)


def test_seeded_data_is_identical_and_independent_of_dtype_choice():
    sc = lg.scenario("3-4-3", 2)
    a = sample_scenario(sc, 100, seed=3, device="cpu")
    b = sample_scenario(sc, 100, seed=3, device="cpu")
    c = sample_scenario(sc, 100, seed=4, device="cpu")
    f = sample_scenario(sc, 100, seed=3, device="cpu", dtype="float32")
    assert torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])
    # float32 data are the float64 draws rounded: relative difference below 2^-23
    assert torch.allclose(f[1].double(), a[1], rtol=2**-23, atol=0)


def test_samples_have_the_scenario_covariance():
    sc = lg.scenario("5-5-4", 2)
    N = 100_000
    V, Y = sample_scenario(sc, N, seed=1, device="cpu")
    cy = (Y.T @ Y / N).numpy()
    # second moment of zero-mean Gaussians: sd of entry (i, j) is sqrt((S_ii S_jj + S_ij²)/N)
    S = sc.Sigma_Y
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / N)
    assert np.all(np.abs(cy - S) <= 4.5 * se)
    # V and Y satisfy Y = Γ V + noise: Cov(Y, V) = Γ Σ_V
    cyv = (Y.T @ V / N).numpy()
    Sv = sc.Sigma_V
    se_yv = np.sqrt((np.outer(np.diag(S), np.diag(Sv)) + (sc.Gamma @ Sv) ** 2) / N)
    assert np.all(np.abs(cyv - sc.Gamma @ Sv) <= 4.5 * se_yv)


def test_bad_data_arguments():
    sc = lg.scenario("3-4-3", 1)
    with pytest.raises(ValueError, match="^scenario"):
        ScenarioSampler(sc.Sigma_Y)
    with pytest.raises(ValueError, match="^size"):
        sample_scenario(sc, 0, seed=0, device="cpu")
    with pytest.raises(ValueError, match="^seed"):
        make_generator(-1)
    with pytest.raises(ValueError, match="^y: contains NaN"):
        as_tensor([[1.0, math.nan]], "y", device="cpu", dtype=torch.float64)
    with pytest.raises(ValueError, match="^y: expected a 2-d"):
        as_tensor([1.0, 2.0], "y", device="cpu", dtype=torch.float64, ndim=2)


def test_model_rejects_wrong_shapes():
    net = build_model(LinearVAEConfig(4, 3, batch=2)).init_parameters([0, 1])
    with pytest.raises(ValueError, match="^y: expected shape"):
        net.encode_mean(torch.zeros(7, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="^seeds"):
        net.init_parameters([0])
    with pytest.raises(ValueError, match="^Sigma_Y"):
        net.set_data_scale(np.eye(3))
    with pytest.raises(ValueError, match="^Sigma_W"):
        net.set_matrices(Sigma_W=-np.eye(3))
