"""The seeds' objectives as linear combinations of exact terms, their weights and regimes.

Every objective is ``Σ_t c_t(weights) · term_t`` over the terms of
:class:`lingauss.objectives.ObjectiveTerms` (issue 12's table):

=============  =========================================  ==========================
name           loss                                        weights (defaults)
=============  =========================================  ==========================
beta-vae       NLL + β·KL                                  beta=1
beta-tcvae     NLL + α·MI + β·TC + γ·dimKL                 alpha=1, beta=1, gamma=1
factor-vae     NLL + KL + γ·TC                             gamma=1
dip-vae-i      NLL + KL + λ_od·Σ_{i≠j} S_ij² + λ_d·Σ_i (S_ii − 1)²,  S = BΣ_YBᵀ
                                                           lambda_od=1, lambda_d=1
dip-vae-ii     the same with S replaced by C = BΣ_YBᵀ + Σ_W  lambda_od=1, lambda_d=1
gamma-lambda   KL + γ·NLL + λ·MSE                          gamma=1, lam=0
=============  =========================================  ==========================

Regimes (derivation; the tests check each claim numerically, :mod:`.regimes`):

* NLL + MI ≥ h(Y): NLL is the cross-entropy ``E_q[−log p(y|x)] ≥ h_q(Y|X)`` and
  ``MI = h(Y) − h_q(Y|X)``. Every other term (TC, dimKL, the DIP penalties) is ≥ 0, and
  KL = MI + TC + dimKL. So every objective whose MI coefficient is ≥ 1 (and NLL weight 1) is
  bounded below by h(Y): beta-vae with β ≥ 1, beta-tcvae with α ≥ 1, factor-vae, dip-vae-i/ii
  for all non-negative weights.
* Encoding one coordinate ``Y_k`` ever more precisely (``B = b e_kᵀ`` on latent 1 with
  ``C_11 = 1``, noise ``ε → 0``, the other latents collapsed, the optimal decoder) gives
  NLL = ½ log ε + O(1) (the diagonal Σ_Z lets ``P_kk → 0``), MI = −½ log ε + O(1), TC = 0,
  dimKL = 0, KL = MI, DIP-I/II penalties O(1). Along it beta-vae (β < 1) and beta-tcvae
  (α < 1) fall like ``(1 − β)/2 · log ε`` resp. ``(1 − α)/2 · log ε`` → −∞: **unbounded**.
* Every optimum has ``C = I`` (at ``γ = 0`` in beta-tcvae: ``C`` diagonal). NLL (with the
  decoder following) and MI are invariant under invertible latent maps ``X → MX`` (``B → MB``,
  ``Σ_W → MΣ_WMᵀ``, ``A → AM⁻¹``); ``KL = MI + TC + dimKL`` and ``TC + dimKL = KL(N(0, C) ‖
  N(0, I)) ≥ 0`` vanishes iff ``C = I``, which the whitening ``M = C^{-1/2}`` reaches. So
  ``min beta-tcvae(α, β, γ > 0) = min beta-vae(β = α)`` at the same (whitened) encoders,
  whatever β and γ; factor-vae (any γ) and dip-vae-ii (any λ) reduce to beta-vae(β = 1) (their
  penalties vanish at ``C = I``); and since ``Q I Qᵀ = I``, every latent rotation of an optimum
  is optimal: **no TC, dimKL or DIP-II weight selects a rotation** in this model.
  dip-vae-i penalises ``S = C − Σ_W``; ``S = I`` at ``C = I`` needs ``Σ_W → 0``: its infimum
  (the beta-vae(1) minimum) is approached but not attained (regime ``boundary``).
* gamma-lambda = KL + γ·NLL + λ·MSE: the same path gives ``(γ − 1)/2 · log ε`` (unbounded for
  γ > 1, reference §3). For λ < 0 it is unbounded for every γ: with ``A`` away from its optimum
  the residual covariance grows like ``a²``, NLL (with Σ_Z following) only like ``log a``,
  while ``λ·tr R → −∞``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..validation import check_finite_scalar

__all__ = [
    "ObjectiveSpec",
    "OBJECTIVES",
    "OBJECTIVE_NAMES",
    "TERM_NAMES",
    "check_objective",
    "objective_coefficients",
    "unbounded_reason",
]

#: Names of the exact terms (fields of :class:`ObjectiveTerms`), in order.
TERM_NAMES = (
    "nll",
    "kl",
    "mi",
    "tc",
    "dimkl",
    "mse",
    "dip_i_od",
    "dip_i_d",
    "dip_ii_od",
    "dip_ii_d",
)


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective: its name, formula, weight names with defaults, and sign rules.

    Attributes
    ----------
    name : the command-line name.
    formula : the loss in words.
    defaults : weight name -> default value (all weights of the objective).
    signed : weights that may be negative (only gamma-lambda's ``lam``).
    positive : weights that must be strictly positive (gamma-lambda's ``gamma``).
    """

    name: str
    formula: str
    defaults: Mapping[str, float]
    signed: frozenset = field(default_factory=frozenset)
    positive: frozenset = field(default_factory=frozenset)

    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(self.defaults)


OBJECTIVES: dict[str, ObjectiveSpec] = {
    s.name: s
    for s in (
        ObjectiveSpec("beta-vae", "NLL + beta*KL", {"beta": 1.0}),
        ObjectiveSpec(
            "beta-tcvae",
            "NLL + alpha*MI + beta*TC + gamma*dimKL",
            {"alpha": 1.0, "beta": 1.0, "gamma": 1.0},
        ),
        ObjectiveSpec("factor-vae", "NLL + KL + gamma*TC", {"gamma": 1.0}),
        ObjectiveSpec(
            "dip-vae-i",
            "NLL + KL + lambda_od*sum_{i!=j} S_ij^2 + lambda_d*sum_i (S_ii-1)^2, S = B Sigma_Y B^T",
            {"lambda_od": 1.0, "lambda_d": 1.0},
        ),
        ObjectiveSpec(
            "dip-vae-ii",
            "NLL + KL + lambda_od*sum_{i!=j} C_ij^2 + lambda_d*sum_i (C_ii-1)^2, "
            "C = B Sigma_Y B^T + Sigma_W",
            {"lambda_od": 1.0, "lambda_d": 1.0},
        ),
        ObjectiveSpec(
            "gamma-lambda",
            "KL + gamma*NLL + lam*MSE",
            {"gamma": 1.0, "lam": 0.0},
            signed=frozenset({"lam"}),
            positive=frozenset({"gamma"}),
        ),
    )
}

#: The objective names, in the order of the issue's table.
OBJECTIVE_NAMES = tuple(OBJECTIVES)


def check_objective(name: str, weights: Mapping[str, float] | None = None):
    """Validate an objective name and its weights; fill in the defaults.

    Parameters
    ----------
    name : str
        One of :data:`OBJECTIVE_NAMES`.
    weights : mapping of str to float, optional
        Any subset of the objective's weights; the others take their defaults.

    Returns
    -------
    (name, dict)
        The name and a dict of *all* the objective's weights as floats.

    Raises
    ------
    ValueError
        Unknown objective; a weight name the objective does not have; a non-finite weight; a
        negative weight (every weight but gamma-lambda's ``lam``); gamma-lambda's ``gamma`` ≤ 0.
        Unboundedness is not checked here (see :func:`unbounded_reason`).

    Examples
    --------
    >>> check_objective("beta-tcvae", {"beta": 6})
    ('beta-tcvae', {'alpha': 1.0, 'beta': 6.0, 'gamma': 1.0})
    """
    if not isinstance(name, str) or name not in OBJECTIVES:
        raise ValueError(
            f"objective: unknown objective {name!r}; expected one of {', '.join(OBJECTIVE_NAMES)}"
        )
    spec = OBJECTIVES[name]
    out = dict(spec.defaults)
    if weights is None:
        return name, out
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights: expected a mapping name -> value, got {type(weights).__name__}")
    for key, value in weights.items():
        if key not in spec.defaults:
            raise ValueError(
                f"weights: objective {name!r} has no weight {key!r}; "
                f"its weights are {', '.join(spec.weight_names)}"
            )
        val = check_finite_scalar(value, f"weights[{key!r}]")
        if key in spec.positive and val <= 0:
            raise ValueError(f"weights[{key!r}]: must be > 0 for {name!r}, got {val!r}")
        if key not in spec.signed and val < 0:
            raise ValueError(f"weights[{key!r}]: must be >= 0 (a negative weight), got {val!r}")
        out[key] = val
    return name, out


def objective_coefficients(name: str, weights: Mapping[str, float] | None = None) -> dict:
    """The loss as coefficients of the exact terms: ``loss = Σ_t c[t] · terms[t]``.

    Returns a dict over :data:`TERM_NAMES` (zeros included). Validates with
    :func:`check_objective`.

    Examples
    --------
    >>> c = objective_coefficients("factor-vae", {"gamma": 5})
    >>> c["nll"], c["kl"], c["tc"], c["mi"]
    (1.0, 1.0, 5.0, 0.0)
    """
    name, w = check_objective(name, weights)
    c = dict.fromkeys(TERM_NAMES, 0.0)
    c["nll"] = 1.0
    if name == "beta-vae":
        c["kl"] = w["beta"]
    elif name == "beta-tcvae":
        c["mi"], c["tc"], c["dimkl"] = w["alpha"], w["beta"], w["gamma"]
    elif name == "factor-vae":
        c["kl"], c["tc"] = 1.0, w["gamma"]
    elif name in ("dip-vae-i", "dip-vae-ii"):
        k = "dip_i" if name == "dip-vae-i" else "dip_ii"
        c["kl"], c[f"{k}_od"], c[f"{k}_d"] = 1.0, w["lambda_od"], w["lambda_d"]
    else:  # gamma-lambda
        c["kl"], c["nll"], c["mse"] = 1.0, w["gamma"], w["lam"]
    return c


def unbounded_reason(name: str, weights: Mapping[str, float] | None = None) -> str | None:
    """Why the objective is unbounded below at these weights, or ``None`` if it is bounded.

    The derivation is in the module docstring: beta-vae with β < 1, beta-tcvae with α < 1 and
    gamma-lambda with γ > 1 fall like ``−(1 − w)/2 · log(1/ε)`` along a deterministic encoding
    of one data coordinate; gamma-lambda with λ < 0 falls like ``λ a²`` along a decoder scale
    ``a``. Every other case is bounded below by ``h(Y)`` (gamma-lambda with γ ≤ 1, λ ≥ 0: by
    ``γ·h(Y)``, as ``KL + γ NLL ≥ γ (MI + NLL)``).

    Examples
    --------
    >>> unbounded_reason("beta-vae", {"beta": 2.0}) is None
    True
    >>> unbounded_reason("beta-vae", {"beta": 0.5})[:40]
    'beta = 0.5 < 1: the loss falls like (1 -'
    """
    name, w = check_objective(name, weights)
    path = "along a deterministic encoding of one data coordinate (noise variance eps -> 0)"
    if name == "beta-vae" and w["beta"] < 1:
        b = w["beta"]
        return f"beta = {b:g} < 1: the loss falls like (1 - beta)/2 * log(eps) -> -inf {path}"
    if name == "beta-tcvae" and w["alpha"] < 1:
        a = w["alpha"]
        return f"alpha = {a:g} < 1: the loss falls like (1 - alpha)/2 * log(eps) -> -inf {path}"
    if name == "gamma-lambda":
        if w["lam"] < 0:
            return (
                f"lam = {w['lam']:g} < 0: lam * tr R -> -inf as the decoder scale grows, "
                "faster than gamma * NLL rises (its log)"
            )
        if w["gamma"] > 1:
            g = w["gamma"]
            return f"gamma = {g:g} > 1: the loss falls like (gamma - 1)/2 * log(eps) -> -inf {path}"
    return None
