"""Hypothesis strategies for the objectives (a development dependency, like
:mod:`lingauss.strategies`, whose model strategies these build on).

Examples
--------
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, deadline=None)
... @given(objective_weights(bounded=True))
... def check(nw):
...     from lingauss.objectives import unbounded_reason
...     assert unbounded_reason(*nw) is None
>>> check()
"""

from __future__ import annotations

from hypothesis import strategies as st

from .spec import OBJECTIVES, unbounded_reason

__all__ = ["objective_weights"]


@st.composite
def objective_weights(draw, name: str | None = None, *, bounded: bool = False, high: float = 20.0):
    """``(name, weights)``: an objective and all its weights.

    Weights are uniform in ``[0, high]`` (gamma-lambda: ``gamma`` in ``[0.05, 2]``, ``lam`` in
    ``[-1, 1]``). With ``bounded=True`` only weights whose objective is bounded below
    (:func:`lingauss.objectives.unbounded_reason` is ``None``) are drawn: the unbounded ones are
    mapped into the bounded range (β, α → 1 + |·|; γλ: γ → min(γ, 1), λ → |λ|), not filtered.
    """
    name = draw(st.sampled_from(sorted(OBJECTIVES))) if name is None else name
    spec = OBJECTIVES[name]
    w = {}
    for key in spec.defaults:
        if name == "gamma-lambda" and key == "gamma":
            w[key] = draw(st.floats(0.05, 2.0))
        elif name == "gamma-lambda" and key == "lam":
            w[key] = draw(st.floats(-1.0, 1.0))
        else:
            w[key] = draw(st.floats(0.0, high))
    if bounded and unbounded_reason(name, w) is not None:
        if name == "beta-vae":
            w["beta"] = 1.0 + abs(w["beta"])
        elif name == "beta-tcvae":
            w["alpha"] = 1.0 + abs(w["alpha"])
        else:
            w["gamma"], w["lam"] = min(w["gamma"], 1.0), abs(w["lam"])
    return name, w
