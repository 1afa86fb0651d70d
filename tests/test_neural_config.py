"""Configurations: dict round trips, validation, and save/load of trained models."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import lingauss as lg
from neural.config import (
    LinearVAEConfig,
    MLPVAEConfig,
    TrainingConfig,
    VarianceFloor,
    load_model,
    model_config_from_dict,
    save_model,
)
from neural.models import LinearGaussianVAE, MLPGaussianVAE
from neural.training import train_grid

training_configs = st.builds(
    TrainingConfig,
    objective=st.sampled_from(["mc", "closed_form"]),
    max_steps=st.integers(1, 10**6),
    lr=st.floats(1e-6, 1.0),
    betas=st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)),
    batch_size=st.integers(1, 4096),
    mc_samples=st.integers(1, 8),
    antithetic=st.booleans(),
    n_train=st.one_of(st.none(), st.integers(2, 10**5)),
    patience=st.integers(1, 50),
    min_delta=st.floats(0.0, 1e-2),
    dtype=st.sampled_from(["float64", "float32"]),
    num_threads=st.one_of(st.none(), st.integers(1, 8)),
)


@given(training_configs)
def test_training_config_round_trip(cfg):
    d = json.loads(json.dumps(cfg.to_dict()))  # survives JSON
    assert TrainingConfig.from_dict(d) == cfg


@given(
    st.integers(1, 20),
    st.integers(1, 10),
    st.integers(1, 100),
    st.lists(st.integers(1, 64), min_size=1, max_size=3),
    st.sampled_from(["tanh", "relu", "gelu", "softplus"]),
)
def test_model_config_round_trip(n, m, batch, hidden, act):
    for cfg in (LinearVAEConfig(n, m, batch), MLPVAEConfig(n, m, batch, tuple(hidden), act)):
        d = json.loads(json.dumps(cfg.to_dict()))
        assert model_config_from_dict(d) == cfg


def test_config_validation():
    with pytest.raises(ValueError, match="^n:"):
        LinearVAEConfig(0, 2)
    with pytest.raises(ValueError, match="^activation"):
        MLPVAEConfig(3, 2, activation="sigmoid")
    with pytest.raises(ValueError, match="^data: unknown keys"):
        TrainingConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="^data: 'kind'"):
        model_config_from_dict({"kind": "cnn", "n": 3, "m": 2})
    with pytest.raises(ValueError, match="^data: kind"):
        LinearVAEConfig.from_dict({"kind": "mlp", "n": 3, "m": 2})
    with pytest.raises(ValueError, match="^sigma_w"):
        VarianceFloor(0.0, 1e-6)


def test_default_floor_is_relative_to_the_data():
    sc = lg.scenario("3-4-3", 1)
    fl = VarianceFloor.default(sc.Sigma_Y)
    assert fl.sigma_w == 1e-3
    assert fl.sigma_z == pytest.approx(1e-3 * sc.Sigma_Y.diagonal().min(), rel=1e-15)


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_save_load_round_trip(tmp_path, model):
    cfg = TrainingConfig(
        max_steps=20, eval_every=10, batch_size=32, n_val=128, device="cpu", progress=False
    )
    res = train_grid(
        lg.scenario("3-4-3", 2),
        [0.98, 1.01],
        [0.0, 0.0],
        seeds=[0],
        model=model,
        training=cfg,
        floor_w=[0, 1e-3],
        floor_z=[0, 1e-6],
    )
    path = save_model(res.model, tmp_path / "net", metadata={"gamma": res.gamma.tolist()})
    loaded, meta = load_model(path, return_metadata=True)
    assert isinstance(loaded, LinearGaussianVAE if model == "linear" else MLPGaussianVAE)
    assert loaded.config == res.model.config and meta == {"gamma": [0.98, 1.01]}
    sa, sb = res.model.state_dict(), loaded.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    y = torch.randn(5, 4, dtype=torch.float64)
    assert torch.equal(res.model.encode_mean(y), loaded.encode_mean(y))
    # saving again over an existing model replaces it; no temporary directories are left
    res.model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net"]
    assert type(loaded).load(path).config == loaded.config


def test_failed_save_leaves_the_old_model(tmp_path):
    net = LinearGaussianVAE(LinearVAEConfig(3, 2)).init_parameters([0])
    path = save_model(net, tmp_path / "net")
    before = (path / "model.pt").read_bytes()
    with pytest.raises(ValueError, match="^metadata"):
        save_model(net, path, metadata={"bad": object()})
    assert (path / "model.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net"]
    with pytest.raises(ValueError, match="^path"):
        load_model(tmp_path / "missing")
    with pytest.raises(ValueError, match="^path: holds a LinearGaussianVAE"):
        MLPGaussianVAE.load(path)


@pytest.mark.parametrize(
    "module",
    [
        "neural.device",
        "neural.data",
        "neural.models",
        "neural.objective",
        "neural.training",
        "neural.estimators",
        "neural.compare",
        "neural.tables",
        "neural.arrays",
        "neural.lambda_beta.procrustes",
    ],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
