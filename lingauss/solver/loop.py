"""The one Blahut–Arimoto loop: every run (single, batched, parallel, the λβ study) is this.

Each member starts from its encoder with a decoder half-step, then alternates encoder and
decoder half-steps until its stopping rule retires it or its budget of ``max_half_steps``
half-steps is spent (``"max_half_steps"``). After each half-step the history is recorded
(:func:`lingauss.solver.records.record`) and the rule is consulted; a member whose encoder
turns non-finite is retired (``"nonfinite"``).
"""

from __future__ import annotations

import numpy as np

from .halfsteps import decoder_step, encoder_step
from .records import record
from .state import RunState
from .stop_rules import StopRule

__all__ = ["iterate"]


def iterate(st: RunState, rule: StopRule) -> None:
    """Run the active members of ``st`` to their stop under ``rule``, in place."""
    rule.attach(st)
    subset = st.subset
    h = 0
    H = st.max_half_steps
    while h < H and st.idx.size:
        old = (st.A, st.z)
        decoder_step(st)
        h += 1
        old = subset(old, record(st, h))
        if not st.idx.size:
            break
        if h > 1:
            rule.after_decoder(st, old, h)
        if h >= H or not st.idx.size:
            break
        rule.before_encoder(st)
        old = (st.B, st.Sw)
        kept = encoder_step(st, h)
        h += 1
        if not st.idx.size:
            break
        old = subset(old, kept)
        old = subset(old, record(st, h))
        if not st.idx.size:
            break
        rule.after_encoder(st, old, h)
        if not np.isfinite(st.B).all():
            st.retire(~np.isfinite(st.B).all(axis=(-2, -1)), "nonfinite", h)
    if st.idx.size:
        st.retire(np.ones(st.idx.size, dtype=bool), "max_half_steps", h)
