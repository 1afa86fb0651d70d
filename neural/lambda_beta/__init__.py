"""The learned half of the λβ study: the study's AdamW recipe, a best-effort recipe, and the
Procrustes explanation of the metric gaps.

Both recipes minimise the closed-form λβ loss of the linear-Gaussian model (reference
``lambda-beta-linear-study.md``)::

    L = NLL + β KL + λ MSE,
    NLL = 1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|],   KL = 1/2 [tr Σ_X - log|Σ_W| - m],
    MSE = tr R,   R = Σ_Y - A B Σ_Y - Σ_Y B^T A^T + A Σ_X A^T,   Σ_X = B Σ_Y B^T + Σ_W,

batched over the (β, λ) cells × initialisations (``P`` members; every operation acts per member,
so batching changes nothing in any member's trajectory).

* :func:`train_adamw` is the study's recipe: parameters ``A, B`` and full (lower-triangular
  after each step) factors ``L_Z, L_W`` with ``Σ = L L^T + 5e-5 I``; AdamW (lr 1e-3, betas
  (0.9, 0.999), weight decay 0.01); per member, the gradient norm of ``(A, B)`` and that of
  ``(L_Z, L_W)`` are clipped separately (as ``torch.nn.utils.clip_grad_norm_`` would for one
  member); the iterate with the lowest loss is kept. The gradient is analytic (checked against
  autograd in the tests): with ``Z = Σ_Z^{-1}``::

      ∂L/∂A = Z (A Σ_X - Σ_Y B^T) + 2λ (A Σ_X - Σ_Y B^T)
      ∂L/∂B = (A^T Z A) B Σ_Y - A^T Z Σ_Y + β B Σ_Y + 2λ (A^T A B Σ_Y - A^T Σ_Y)
      ∂L/∂L_W = 2 G_W L_W,  G_W = 1/2 A^T Z A + β/2 (I - Σ_W^{-1}) + λ A^T A
      ∂L/∂L_Z = 2 G_Z L_Z,  G_Z = 1/2 (Z - Z R Z)

  and ``Σ_Y = Γ Σ_V Γ^T + σ² I`` makes every product with ``Σ_Y`` low-rank, so a step costs
  about five ``n × n × n`` products per member instead of the ~16 that autograd performs.
* :func:`train_best` is the project's recipe for reaching the fixed point's loss: the decoder
  is eliminated in closed form (for any encoder the optimal decoder is ``A = Σ_Y B^T Σ_X^{-1}``,
  ``Σ_Z = Σ_{Y|X}``, and then ``R = Σ_Z``), leaving the profile loss of the encoder::

      L*(B, Σ_W) = 1/2 [n (1 + log 2π) + log|Σ_Y| + log|Σ_W| - log|Σ_X|]
                 + β/2 [tr Σ_X - log|Σ_W| - m] + λ [tr Σ_Y - tr(Σ_X^{-1} B Σ_Y² B^T)],

  which is minimised by Adam (one-cycle learning-rate schedule) in whitened coordinates
  ``B = B̃ Σ_Y^{-1/2}`` (so ``B Σ_Y B^T = B̃ B̃^T``: the data's 1e3 spread of variances no longer
  conditions the problem) with ``Σ_W = L L^T``, ``L`` lower triangular with positive diagonal
  ``exp(ℓ)``. The decoder is then set to its optimum.
* :func:`explain_gap` aligns each learned encoder to the fixed-point one of the same cell by an
  orthogonal Procrustes rotation of the latent space (the loss is invariant under
  ``X → Q X``; the metrics are not) and splits each metric gap into a rotation part and a
  different-solution part, beside the loss gap.

Modules: :mod:`.common` (what both recipes share), :mod:`.adamw` (the study's recipe),
:mod:`.best` (the project's recipe), :mod:`.learned` (:func:`learned_study`, the batched run
of every cell), :mod:`.frames` (regimes, the tidy table, the history file),
:mod:`.procrustes` (the explanation of the gaps).
"""

from __future__ import annotations

from .adamw import (
    STUDY_ADAMW,
    AdamWRecipe,
    adamw_initial_parameters,
    adamw_loss_and_grad,
    train_adamw,
)
from .best import BestRecipe, train_best
from .common import study_constants
from .frames import (
    LEARNED_COLLAPSE_NATS,
    LEARNED_FLOOR_FACTOR,
    classify_learned_regime,
    learned_frame,
    save_history,
)
from .learned import LearnedRun, learned_study
from .procrustes import (
    EXPLAINED_ATOL,
    EXPLAINED_RTOL,
    LOSS_GAP_RTOL,
    explain_gap,
    procrustes_rotation,
    rotate_encoder,
    summarize_explanation,
)

__all__ = [
    "AdamWRecipe",
    "STUDY_ADAMW",
    "BestRecipe",
    "LearnedRun",
    "adamw_initial_parameters",
    "adamw_loss_and_grad",
    "train_adamw",
    "train_best",
    "learned_study",
    "learned_frame",
    "save_history",
    "classify_learned_regime",
    "LEARNED_COLLAPSE_NATS",
    "LEARNED_FLOOR_FACTOR",
    "procrustes_rotation",
    "rotate_encoder",
    "explain_gap",
    "summarize_explanation",
    "study_constants",
    "LOSS_GAP_RTOL",
    "EXPLAINED_RTOL",
    "EXPLAINED_ATOL",
]
