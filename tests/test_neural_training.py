"""Batched training: determinism, member independence, Adam, early stopping, bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lingauss as lg
from neural.config import TrainingConfig
from neural.training import BatchedAdam, train_grid

FAST = TrainingConfig(
    max_steps=60, eval_every=20, batch_size=64, n_val=512, device="cpu", progress=False
)


@pytest.fixture(scope="module")
def sc():
    return lg.scenario("3-4-3", 3)


def _state(res):
    return {k: v.clone() for k, v in res.model.state_dict().items()}


def test_same_seeds_give_identical_results_on_cpu(sc):
    a = train_grid(
        sc,
        [0.98, 1.01],
        [0.0, 0.02],
        seeds=[0, 4],
        training=FAST,
        floor_w=[0, 1e-3],
        floor_z=[0, 1e-6],
    )
    b = train_grid(
        sc,
        [0.98, 1.01],
        [0.0, 0.02],
        seeds=[0, 4],
        training=FAST,
        floor_w=[0, 1e-3],
        floor_z=[0, 1e-6],
    )
    sa, sb = _state(a), _state(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.history.equals(b.history)
    c = train_grid(
        sc,
        [0.98, 1.01],
        [0.0, 0.02],
        seeds=[1, 4],
        training=FAST,
        floor_w=[0, 1e-3],
        floor_z=[0, 1e-6],
    )
    assert not torch.equal(_state(c)["B_raw"][0], sa["B_raw"][0])  # another seed, another run


def test_member_depends_only_on_its_cell_and_seed(sc):
    grid = train_grid(sc, [0.98, 0.99], [0.0, 0.01], seeds=[0, 5], training=FAST)
    alone = train_grid(sc, [0.99], [0.01], seeds=[5], training=FAST)
    assert grid.cell.tolist() == [0, 1, 0, 1] and grid.seed.tolist() == [0, 0, 5, 5]
    sg, sa = _state(grid), _state(alone)
    for k in sg:
        if k != "y_scale":
            # every operation acts per member: member 3 follows exactly its lone trajectory
            assert torch.equal(sg[k][3], sa[k][0]), k


def test_batched_adam_is_adam():
    torch.manual_seed(0)
    w0 = torch.randn(3, 4, dtype=torch.float64)
    target = torch.randn(3, 4, dtype=torch.float64)
    p1 = torch.nn.Parameter(w0.clone())
    p2 = torch.nn.Parameter(w0.clone())
    ours = BatchedAdam([p1], betas=(0.9, 0.99))
    ref = torch.optim.Adam([p2], lr=0.05, betas=(0.9, 0.99), eps=1e-8)
    lr = torch.full((3,), 0.05, dtype=torch.float64)
    for _ in range(25):
        for p, opt in ((p1, ours), (p2, ref)):
            opt.zero_grad()
            ((p - target) ** 4).sum().backward()
        ours.step(lr)
        ref.step()
    # same formula, same float64 operations up to ordering: agreement to rounding
    torch.testing.assert_close(p1, p2, rtol=1e-12, atol=1e-12)


def test_zero_learning_rate_freezes_a_member():
    p = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
    opt = BatchedAdam([p])
    (p**2).sum().backward()
    opt.step(torch.tensor([0.1, 0.0], dtype=torch.float64))
    assert torch.all(p[0] < 1) and torch.equal(p[1], torch.ones(3, dtype=torch.float64))


def test_early_stopping_on_a_plateau(sc):
    cfg = FAST.replace(
        objective="closed_form", max_steps=3000, lr=0.05, patience=2, n_decays=1, min_delta=1e-4
    )
    res = train_grid(sc, [0.98], [0.0], seeds=[0], training=cfg)
    assert res.stop_reason.tolist() == ["plateau"]
    assert res.steps_run < cfg.max_steps
    # the kept iterate is the best one seen: no recorded validation loss is lower
    assert res.best_val[0] == pytest.approx(res.history.val_loss.min(), rel=0, abs=0)


def test_divergence_is_detected_and_named(sc):
    res = train_grid(sc, [0.98], [0.0], seeds=[0], training=FAST.replace(lr=1e4, max_steps=200))
    assert res.stop_reason.tolist() == ["nonfinite"]
    assert np.isfinite(res.best_val).all()
    assert all(torch.isfinite(v).all() for v in res.model.state_dict().values())


def test_floors_hold_during_training(sc):
    res = train_grid(sc, [1.02], [0.0], seeds=[0], training=FAST, floor_w=1e-2, floor_z=1e-5)
    M = res.model.matrices()
    assert np.linalg.eigvalsh(M["Sigma_W"][0]).min() >= 1e-2
    assert np.diagonal(M["Sigma_Z"][0]).min() >= 1e-5
    assert res.frame().constrained.tolist() == [True]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(gammas=[0.9, 1.0], lams=[0.0]), "^gammas, lams"),
        (dict(gammas=[-1.0], lams=[0.0]), "^gammas"),
        (dict(gammas=[1.0], lams=[0.0], seeds=[1, 1]), "^seeds"),
        (dict(gammas=[1.0], lams=[0.0], seeds=[-1]), "^seeds"),
        (dict(gammas=[1.0], lams=[float("nan")]), "^lams"),
        (dict(gammas=[1.0], lams=[0.0], floor_w=[-1.0]), "^floor_w"),
        (dict(gammas=[1.0], lams=[0.0], model="cnn"), "^model"),
    ],
)
def test_bad_arguments(sc, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_grid(sc, training=FAST, **kwargs)


def test_bad_training_configs(sc):
    with pytest.raises(ValueError, match="^training: objective='closed_form' needs the linear"):
        train_grid(sc, [1.0], [0.0], model="mlp", training=FAST.replace(objective="closed_form"))
    with pytest.raises(ValueError, match="^scenario"):
        train_grid(sc.Sigma_Y, [1.0], [0.0], training=FAST)
    with pytest.raises(ValueError, match="^lr"):
        TrainingConfig(lr=0.0)
    with pytest.raises(ValueError, match="^batch_size"):
        TrainingConfig(batch_size=None)
    with pytest.raises(ValueError, match="^objective"):
        TrainingConfig(objective="elbo")
    with pytest.raises(ValueError, match="^device"):
        train_grid(sc, [1.0], [0.0], training=FAST.replace(device="tpu"))


def test_mlp_trains_and_is_deterministic(sc):
    a = train_grid(sc, [0.98], [0.0], seeds=[2], model="mlp", training=FAST)
    b = train_grid(sc, [0.98], [0.0], seeds=[2], model="mlp", training=FAST)
    sa, sb = _state(a), _state(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert np.isfinite(a.best_val).all()
