"""Neural success tables in the analytic tables' format, and the side-by-side summary."""

from __future__ import annotations

import numpy as np
import pytest

from lingauss.protocol import success_table, summarize
from neural.config import TrainingConfig
from neural.tables import format_side_by_side, neural_success_table, side_by_side

CFG = TrainingConfig(
    max_steps=40, eval_every=20, batch_size=64, n_val=512, device="cpu", progress=False
)
GAMMAS, LAMS = [0.98, 1.01], [0.0]


@pytest.fixture(scope="module")
def tables():
    neural = neural_success_table("3-4-2", "exact", 1, training=CFG, gammas=GAMMAS, lambdas=LAMS)
    analytic = success_table("3-4-2", "exact", 1, gammas=GAMMAS, lambdas=LAMS)
    return analytic, neural


def test_neural_table_has_the_analytic_format(tables):
    analytic, neural = tables
    assert set(analytic.columns) <= set(neural.columns)
    assert len(neural) == 3 * len(GAMMAS) * len(LAMS)
    assert (neural.path == "neural").all() and (neural.runs == 1).all()
    # γ > 1 cells are ill-posed: constrained on the neural side, exactly those
    assert neural.constrained.tolist() == (neural.gamma > 1).tolist()
    # the loss gap is the closed-form loss of the learned parameters minus the reference
    np.testing.assert_allclose(neural.loss_gap, neural.loss - neural.analytic_loss, rtol=0, atol=0)
    # the reference is an optimum (constrained where needed): learned losses are not below it
    # (BA's relative stopping tolerance 1e-10 on losses of order 10)
    assert (neural.loss_gap > -1e-8).all()


def test_side_by_side(tables):
    analytic, neural = tables
    summary = summarize(neural)
    assert set(summary.metric) == {"I_m", "SAP"}
    sbs = side_by_side(analytic, neural)
    assert len(sbs) == 3 * 2
    np.testing.assert_allclose(sbs.difference, sbs.neural_mean - sbs.analytic_mean, equal_nan=True)
    text = format_side_by_side(sbs)
    assert "analytic (BA)" in text and "neural (learned)" in text and text.count("\n") == 7


def test_bad_arguments():
    with pytest.raises(ValueError, match="^seeds"):
        neural_success_table("3-4-2", "exact", [0, 0], training=CFG)
    with pytest.raises(ValueError, match="^protocol"):
        neural_success_table("3-4-2", "bogus", 1, training=CFG)
    with pytest.raises(ValueError, match="^gammas, lambdas"):
        neural_success_table("3-4-2", "exact", 1, training=CFG, gammas=[-1.0])
