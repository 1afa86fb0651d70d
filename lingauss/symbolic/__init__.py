"""Symbolic (sympy) derivations of the Blahut–Arimoto updates of the γλ-VAE loss.

The loss is built exactly as in the reference (§2), in trace form, with
``R = (I - AB) Σ_Y (I - AB)^T + A Σ_W A^T``::

    L = 1/2 [tr(B Σ_Y B^T + Σ_W) - log|Σ_W| - m]
      + γ/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|] + λ tr(R)

Every matrix is a matrix of independent sympy symbols (symmetric ones for the covariances),
so the derivations hold for all values of the entries at the chosen (small) dimensions:

* :func:`verify_encoder_update` solves ``∂L/∂B = 0`` and ``∂L/∂Σ_W = 0`` and compares the
  solution with ``Σ_W = (I + A^T M A)^{-1}``, ``B = Σ_W A^T M``, ``M = γ Σ_Z^{-1} + 2λ I``;
* :func:`verify_decoder_update` solves ``∂L/∂A = 0`` and ``∂L/∂Σ_Z = 0`` and compares with
  ``P = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``, ``A = P B^T Σ_W^{-1}``, ``Σ_Z = diag(P)`` (or ``P``);
* :func:`verify_collapse_hessian` computes the Hessian at the collapsed point
  ``(A, B, Σ_W, Σ_Z) = (0, 0, I, diag Σ_Y)``;
* :func:`verify_divergence_rate` computes the slope of ``L`` along the path to a
  deterministic encoder (``Σ_W = εI``), ``dL/d log ε → (γ - 1) m / 2``: for ``γ > 1`` the loss
  is unbounded below (reference §3).

Stationary equations that are not linear in the unknowns (those of the covariances) are made
linear by multiplying with the unknown covariance, an invertible matrix (e.g.
``G(Σ_W) Σ_W = 0 ⇔ G(Σ_W) = 0``), and then solved with :func:`sympy.linsolve`; nothing is
checked only numerically except the sign of Hessian eigenvalues at random admissible points,
which backs up a convexity argument stated in each function.

Examples
--------
>>> from lingauss.symbolic import verify_encoder_update
>>> bool(verify_encoder_update(m=1, n=2))
True
"""

from .expressions import (
    SymbolicCheck,
    decoder_closed_form,
    encoder_closed_form,
    loss_expression,
)
from .limits import verify_all, verify_collapse_hessian, verify_divergence_rate
from .updates import verify_decoder_update, verify_encoder_update

__all__ = [
    "SymbolicCheck",
    "loss_expression",
    "encoder_closed_form",
    "decoder_closed_form",
    "verify_encoder_update",
    "verify_decoder_update",
    "verify_collapse_hessian",
    "verify_divergence_rate",
    "verify_all",
]
