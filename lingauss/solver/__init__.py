"""Blahut–Arimoto (alternating exact minimisation) for the γλ-VAE loss (reference §3).

With ``M = γ Σ_Z^{-1} + 2λ I_n`` (positive definite), the encoder update
``Σ_W ← (I_m + A^T M A)^{-1}``, ``B ← Σ_W A^T M`` and the decoder update
``P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``, ``A ← P B^T Σ_W^{-1}``, ``Σ_Z ← diag(P)`` (or ``P``)
are exact block minimisers, so the loss never increases while ``M`` stays PD.

Modules, by concept:

* :mod:`~lingauss.solver.updates` — the exact updates, ``M``, the encoder's rate I(X;Y);
* :mod:`~lingauss.solver.spd_inverse` — the small-SPD-inverse kernel of the loop;
* :mod:`~lingauss.solver.initial` — random initial encoders;
* :mod:`~lingauss.solver.results` — :class:`Solution`, :class:`BatchSolution`;
* :mod:`~lingauss.solver.regimes` — regimes, stop reasons, :func:`classify_regime`;
* :mod:`~lingauss.solver.floor` — the variance floor (constrained updates);
* :mod:`~lingauss.solver.config` — a run's options (:class:`RunConfig`);
* :mod:`~lingauss.solver.state`, :mod:`~lingauss.solver.halfsteps`,
  :mod:`~lingauss.solver.records`, :mod:`~lingauss.solver.stop_rules`,
  :mod:`~lingauss.solver.notebook_rule`, :mod:`~lingauss.solver.loop` — the one loop and
  its pieces; :mod:`~lingauss.solver.finish` turns a finished run into its result;
* :mod:`~lingauss.solver.batch` (with :mod:`~lingauss.solver.parallel`) — the batched run,
  :func:`blahut_arimoto_batch`; :mod:`~lingauss.solver.single` — :func:`blahut_arimoto`.

Every run (one problem, a batch, worker processes, the λβ study's grid) goes through the one
loop, :func:`lingauss.solver.loop.iterate`.
"""

from .batch import blahut_arimoto_batch
from .initial import make_spd_matrix_authors, random_encoder
from .regimes import REGIMES, RESOLUTION_LIMIT, STOP_REASONS, classify_regime
from .results import BatchSolution, Solution
from .single import blahut_arimoto
from .updates import decoder_update, encoder_mutual_information, encoder_update

__all__ = [
    "Solution",
    "BatchSolution",
    "encoder_update",
    "decoder_update",
    "blahut_arimoto",
    "blahut_arimoto_batch",
    "random_encoder",
    "make_spd_matrix_authors",
    "encoder_mutual_information",
    "classify_regime",
    "REGIMES",
    "RESOLUTION_LIMIT",
    "STOP_REASONS",
]
