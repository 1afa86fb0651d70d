"""The exact optimum of every objective: the decoder profiled out, the encoder optimised.

:func:`optimize_objective` minimises the profiled loss ``F(B, Σ_W)`` (:mod:`.profile`) from
``restarts`` seeded random encoders with L-BFGS (analytic gradient), polishes the best few with
a Newton-CG trust step (Hessian-vector products by central differences of the analytic
gradient) until the gradient norm is below ``gtol``, keeps the best, and certifies it
(:func:`lingauss.objectives.certify`).

Regimes (named as the γλ solver names them, :data:`OBJECTIVE_REGIMES`), decided in this order:

* ``unbounded``: the weights make the loss unbounded below (:func:`unbounded_reason`); the
  optimiser refuses them with a :class:`ValueError`;
* ``collapsed``: the optimum carries no information, ``I(X;Y) ≤ collapse_tol`` nats;
* ``boundary``: a bounded loss whose infimum is approached only as some encoder noise
  variance goes to 0 (as in factor analysis's Heywood case; DIP-VAE-I's diagonal penalty wants
  ``(BΣ_YBᵀ)_ii = 1``, which the flat ``β = 1`` family below reaches only at ``Σ_W → 0``):
  the optimum has ``min eig Σ_W`` below :data:`BOUNDARY_TOL`; the loss there is within
  rounding of the infimum but the gradient need not vanish;
* ``degenerate``: the minimum is attained on a continuum beyond the objective's symmetries:
  two restarts reach the same loss (within :data:`TIE_RTOL`) with different ``I(X;Y)``. At KL
  weight 1 the plain ELBO is exactly flat along a whole family: encoding a data coordinate
  ``Y_k`` with noise ``σ²`` (``C_kk = 1``) changes NLL by ``½ log σ²`` and KL by ``−½ log σ²``;
* ``interior``: an informative optimum, unique up to the symmetries (rotations for the
  rotation-invariant objectives), gradient norm ≤ ``gtol``;
* ``unconverged``: the gradient norm stayed above ``gtol`` and a continuation of the optimiser
  showed no drift (an optimiser failure, reported rather than hidden).

``boundary`` is also decided by that continuation: from an unconverged best point a further
L-BFGS + Newton run that lowers the loss *and* halves ``min eig Σ_W`` is drifting toward
``Σ_W → 0`` (gamma-lambda at ``γ = 1, λ > 0``, where the γλ solver reports ``divergent``: the
loss is bounded below by ``h(Y)``, its infimum is not attained).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ..validation import check_covariance
from .profile import ProfiledObjective
from .spec import check_objective, unbounded_reason
from .terms import ObjectiveTerms

__all__ = [
    "ObjectiveSolution",
    "optimize_objective",
    "OBJECTIVE_REGIMES",
    "BOUNDARY_TOL",
    "TIE_RTOL",
    "MI_SPREAD_TOL",
    "objective_regime",
    "single_blas_thread",
]

#: Regime names of an objective's optimum.
OBJECTIVE_REGIMES = ("collapsed", "interior", "degenerate", "boundary", "unconverged", "unbounded")

#: ``min eig Σ_W`` below this counts as the boundary regime (an interior optimum of these
#: problems has ``min eig Σ_W ≥ 1e-2``; DIP-VAE-I's drifting runs stop near 1e-6).
BOUNDARY_TOL = 1e-4

#: Restarts whose losses differ by at most ``TIE_RTOL · (1 + |loss|)`` reach the same minimum.
TIE_RTOL = 1e-10

#: Restarts of one minimum whose I(X;Y) differ by more than this (nats) reveal a continuum.
MI_SPREAD_TOL = 1e-4


@dataclass(frozen=True)
class ObjectiveSolution:
    """The exact optimum of one objective on one data covariance.

    Attributes
    ----------
    name, weights : the objective and all its weights.
    A, B, Sigma_Z, Sigma_W : the optimum (``Σ_Z`` diagonal), original data coordinates.
    loss : the objective's value there; ``terms`` every exact term (:class:`ObjectiveTerms`).
    gradient_norm : ‖∇F‖ over (B, Cholesky factor of Σ_W) in the original coordinates (the
        decoder's gradient is exactly 0 at its profiled optimum).
    gradient_norm_standardized : the same in the optimiser's coordinates (standardised data,
        log-diagonal Cholesky factor).
    regime : one of :data:`OBJECTIVE_REGIMES`.
    restart_losses : the loss reached from every restart (sorted).
    tied : the encoders ``(B, Σ_W)`` of every restart that reached the minimum (within
        :data:`TIE_RTOL`), the best first: a sample of the optimal set.
    tied_mi : their I(X;Y), nats.
    certificate : :class:`lingauss.objectives.Certificate` or ``None`` (``certify=False``).
    """

    name: str
    weights: dict
    A: np.ndarray
    B: np.ndarray
    Sigma_Z: np.ndarray
    Sigma_W: np.ndarray
    loss: float
    terms: ObjectiveTerms
    gradient_norm: float
    gradient_norm_standardized: float
    regime: str
    restart_losses: np.ndarray
    tied: tuple = field(default=(), repr=False)
    tied_mi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    certificate: object = field(default=None)

    def as_dict(self) -> dict:
        """A JSON-ready dict (matrices as nested lists)."""
        out = {
            "objective": self.name,
            "weights": dict(self.weights),
            "loss": float(self.loss),
            "terms": {k: float(v) for k, v in self.terms.as_dict().items()},
            "A": self.A.tolist(),
            "B": self.B.tolist(),
            "Sigma_Z": self.Sigma_Z.tolist(),
            "Sigma_W": self.Sigma_W.tolist(),
            "gradient_norm": float(self.gradient_norm),
            "gradient_norm_standardized": float(self.gradient_norm_standardized),
            "regime": self.regime,
            "restart_losses": [float(x) for x in self.restart_losses],
            "tied_mi": [float(x) for x in self.tied_mi],
        }
        if self.certificate is not None:
            out["certificate"] = self.certificate.as_dict()
        return out


def objective_regime(
    tied_mi,
    min_eig_sigma_w: float,
    collapse_tol: float = 1e-8,
    *,
    converged: bool = True,
    drifting: bool = False,
) -> str:
    """The regime of a bounded objective's optimum (module docstring).

    ``tied_mi``: I(X;Y) of every restart that reached the minimum, the best first;
    ``converged``: the gradient norm reached ``gtol``; ``drifting``: a continuation of the
    optimiser from an unconverged point lowered both the loss and ``min eig Σ_W``.
    """
    tied_mi = np.atleast_1d(np.asarray(tied_mi, dtype=float))
    if tied_mi[0] <= collapse_tol:
        return "collapsed"
    if min_eig_sigma_w < BOUNDARY_TOL or drifting:
        return "boundary"
    if not converged:
        return "unconverged"
    if np.ptp(tied_mi) > MI_SPREAD_TOL:
        return "degenerate"
    return "interior"


def _grad_norms(pf: ProfiledObjective, theta) -> float:
    """The larger of the two gradient norms (optimiser and original coordinates)."""
    return max(float(np.linalg.norm(pf.grad(theta))), pf.grad_norm_original(theta))


def _continue(pf: ProfiledObjective, theta, gtol: float, maxiter: int):
    """Continue an unconverged run; report whether it drifts toward ``Σ_W → 0``."""
    eig0 = np.linalg.eigvalsh(pf.unpack(theta)[1])[0]
    f0 = pf.fast_value(theta)
    x = _polish(pf, _local(pf, theta, gtol, maxiter), gtol)
    f1 = pf.fast_value(x)
    eig1 = np.linalg.eigvalsh(pf.unpack(x)[1])[0]
    if f1 > f0:
        return theta, False
    return x, bool(f1 < f0 - 1e-13 * (1 + abs(f0)) and eig1 < 0.5 * eig0)


def _initial(pf: ProfiledObjective, rng: np.random.Generator) -> np.ndarray:
    """An exchangeable random encoder: ``B̃`` entries N(0, 1/n), ``Σ_W`` with log-normal scales."""
    m, n = pf.m, pf.n
    B = rng.normal(size=(m, n)) / np.sqrt(n)
    ell = rng.normal(scale=0.5, size=m) - 0.5
    off = rng.normal(scale=0.2, size=m * (m - 1) // 2)
    return np.concatenate([B.ravel(), ell, off])


def _hessp(pf: ProfiledObjective):
    def hessp(theta, v):
        nv = np.linalg.norm(v)
        if nv == 0:
            return np.zeros_like(v)
        h = 1e-5 / nv
        return (pf.grad(theta + h * v) - pf.grad(theta - h * v)) / (2.0 * h)

    return hessp


def _local(pf: ProfiledObjective, theta0, gtol: float, maxiter: int):
    res = optimize.minimize(
        pf.value_and_grad,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": maxiter, "gtol": gtol * 1e-2, "ftol": 1e-15, "maxcor": 30},
    )
    return np.asarray(res.x, dtype=float)


def _polish(pf: ProfiledObjective, theta, gtol: float):
    """Newton-CG trust steps until ‖∇F‖ ≤ gtol (or no further progress)."""
    best, fbest = theta, pf.fast_value(theta)
    for _ in range(3):
        if np.linalg.norm(pf.grad(best)) <= gtol * 1e-2:
            break
        res = optimize.minimize(
            pf.value_and_grad,
            best,
            jac=True,
            hessp=_hessp(pf),
            method="trust-krylov",
            options={"gtol": gtol * 1e-2, "maxiter": 200},
        )
        x = np.asarray(res.x, dtype=float)
        fx = pf.fast_value(x)
        if fx <= fbest + 1e-13 * (1 + abs(fbest)):
            if np.linalg.norm(pf.grad(x)) < np.linalg.norm(pf.grad(best)) or fx < fbest:
                best, fbest = x, fx
            else:
                break
        else:
            break
    return best


def optimize_objective(
    name: str,
    weights: Mapping[str, float] | None,
    Sigma_Y,
    m: int,
    *,
    seed: int = 0,
    restarts: int = 8,
    gtol: float = 1e-6,
    maxiter: int = 1000,
    certify: bool = True,
    collapse_tol: float = 1e-8,
) -> ObjectiveSolution:
    """Exact optimum of objective ``name`` for data covariance ``Σ_Y`` and ``m`` latents.

    Parameters
    ----------
    name : str
        One of :data:`lingauss.objectives.OBJECTIVE_NAMES`.
    weights : mapping, optional
        The objective's weights (missing ones take their defaults).
    Sigma_Y : array_like, shape (n, n)
        Data covariance (SPD).
    m : int
        Latent dimension, ≥ 1.
    seed : int
        Seeds the restarts' random encoders (``numpy.random.default_rng(seed)``).
    restarts : int
        Number of random starts (≥ 1); the collapsed encoder ``(B, Σ_W) = (0, I)`` is always
        evaluated too.
    gtol : float
        Target gradient norm (both coordinate systems of :class:`ObjectiveSolution`).
    maxiter : int
        L-BFGS iterations per restart.
    certify : bool
        Attach :func:`lingauss.objectives.certify`'s certificate (random directions, latent
        rotations).
    collapse_tol : float
        ``I(X;Y)`` at or below this many nats is the ``collapsed`` regime.

    Returns
    -------
    ObjectiveSolution

    Raises
    ------
    ValueError
        Bad name or weights (:func:`check_objective`); weights that make the objective
        unbounded below (:func:`unbounded_reason`, the message says why); bad ``Σ_Y``, ``m``,
        ``restarts``.

    Examples
    --------
    >>> import numpy as np
    >>> sol = optimize_objective("beta-vae", {"beta": 4}, np.diag([1.0, 0.5]), 1, restarts=2,
    ...                          certify=False)
    >>> sol.regime, round(sol.loss, 6) == round(sol.terms.nll, 6)
    ('collapsed', True)
    """
    name, w = check_objective(name, weights)
    reason = unbounded_reason(name, w)
    if reason is not None:
        raise ValueError(f"weights: objective {name!r} is unbounded below: {reason}")
    Sy, _ = check_covariance(Sigma_Y, "Sigma_Y", batched=False)
    if not isinstance(m, int | np.integer) or isinstance(m, bool) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    if not isinstance(restarts, int | np.integer) or restarts < 1:
        raise ValueError(f"restarts: must be a positive integer, got {restarts!r}")
    pf = ProfiledObjective(name, w, Sy, int(m))
    # inf/NaN from trial steps far along a drift are rejected by the line searches
    with single_blas_thread(), np.errstate(all="ignore"):
        rng = np.random.default_rng(seed)
        starts = [pf.pack(np.zeros((m, pf.n)), np.eye(m))]
        starts += [_initial(pf, rng) for _ in range(restarts)]
        ends = [_local(pf, t, gtol, maxiter) for t in starts]
        fast = np.array([pf.fast_value(t) for t in ends])
        best = float(np.min(fast))
        # polish every restart near the best (a flat minimum is sampled by several of them)
        near = np.flatnonzero(fast <= best + 1e-6 * (1.0 + abs(best)))
        ends = [_polish(pf, ends[i], gtol) if i in near else ends[i] for i in range(len(ends))]
        values = np.array([pf.value(t) for t in ends])
        order = np.argsort(values, kind="stable")
        f0 = values[order[0]]
        tied_idx = [i for i in order if values[i] <= f0 + TIE_RTOL * (1.0 + abs(f0))]
        best_i = tied_idx[0]
        drifting = False
        small_w = np.linalg.eigvalsh(pf.unpack(ends[best_i])[1])[0] < BOUNDARY_TOL
        if _grad_norms(pf, ends[best_i]) > gtol and not small_w:
            ends[best_i], drifting = _continue(pf, ends[best_i], gtol, 4 * maxiter)
            values[best_i] = pf.value(ends[best_i])
        return _solution(pf, ends, values, tied_idx, certify, collapse_tol, seed, gtol, drifting)


def single_blas_thread():
    """Limit BLAS to one thread where :mod:`threadpoolctl` is installed (a no-op otherwise).

    The optimiser's matrices are at most ~10×10: a BLAS thread pool only adds wake-up latency
    (3× slower on a loaded 2-core machine, measured).
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            return contextlib.nullcontext()
        _CONTROLLER = ThreadpoolController()  # scans the loaded libraries once (~0.1 s)
    return _CONTROLLER.limit(limits=1)


_CONTROLLER = None


def _solution(pf, ends, values, tied_idx, certify, collapse_tol, seed, gtol, drifting):
    theta = ends[tied_idx[0]]
    g_std = float(np.linalg.norm(pf.grad(theta)))
    g_orig = pf.grad_norm_original(theta)
    loss, terms = pf.value_terms(theta)
    A, B, Sz, Sw = pf.model(theta)
    tied = tuple(pf.unpack(ends[i])[:2] for i in tied_idx)
    tied_mi = np.array(
        [float(terms.mi)] + [float(pf.value_terms(ends[i])[1].mi) for i in tied_idx[1:]]
    )
    regime = objective_regime(
        tied_mi,
        float(np.linalg.eigvalsh(Sw)[0]),
        collapse_tol,
        converged=max(g_std, g_orig) <= gtol,
        drifting=drifting,
    )
    cert = None
    if certify:
        from .certificate import certify as _certify_solution  # certificate imports this module

        cert = _certify_solution(pf.name, pf.weights, pf.Sigma_Y, B, Sw, seed=seed)
    return ObjectiveSolution(
        name=pf.name,
        weights=dict(pf.weights),
        A=A,
        B=B,
        Sigma_Z=Sz,
        Sigma_W=Sw,
        loss=float(loss),
        terms=terms,
        gradient_norm=g_orig,
        gradient_norm_standardized=g_std,
        regime=regime,
        restart_losses=np.sort(values),
        tied=tied,
        tied_mi=tied_mi,
        certificate=cert,
    )
