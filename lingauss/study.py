"""The follow-up λβ-VAE study in the linear-Gaussian setting: fixed point vs published tables.

The λβ loss ``L_λβ = NLL + β KL + λ MSE`` is ``β`` times the γλ loss with ``γ = 1/β`` and
``λ_γλ = λ/β`` (:func:`lingauss.loss.gamma_lambda_from_lambda_beta`), so the Blahut–Arimoto
solver serves both; the study keeps the decoder's **full** posterior covariance
``Σ_Z = (Σ_Y^{-1} + B^T Σ_W^{-1} B)^{-1}``.

Set-up (reference ``lambda-beta-linear-study.md``): ``s = 5`` factors, ``n ∈ {50, 100}``,
``m = 10``, ``Σ_Y = Γ Σ_V Γ^T + 0.05 I`` (shipped as ``scenario("lambda-beta-n50")`` and
``"lambda-beta-n100"``); grid ``β ∈ {1, 4, 8, 16, 32} × λ ∈ {0, 2, 4, 6, 8}``; 50 random
initial encoders (``B ~ U[0,1)``, ``Σ_W`` as scikit-learn's ``make_spd_matrix``), the same 50
in every cell.

Exact dimension reduction
-------------------------
``Σ_Y`` is ``σ² I`` on the ``n - s`` directions orthogonal to ``col(Γ)``. Every half-step keeps
the rows of ``B`` (and the columns of ``A``) inside ``col(Γ) ⊕ S``, where ``S`` is the span of
the initial ``B``'s rows projected off ``col(Γ)`` (``dim S ≤ m``): the decoder maps
``A = Σ_Y B^T Σ_X^{-1}`` and the encoder ``B = Σ_W A^T M`` with ``M A = γ B^T Σ_W^{-1} + 2λ A``
both stay in that span. In an orthonormal basis ``U = [Q_Γ, Q_S]`` (``n × d``, ``d = s + m``)
the problem is therefore exactly the ``d``-dimensional one with
``Σ_Y' = U^T Σ_Y U = diag(Q_Γ^T Σ_Y Q_Γ, σ² I_m)``, and the ``n - d`` remaining directions
add constants: ``Σ_Z = σ² I`` there, so ``NLL += (n - d)/2 · (1 + log 2πσ²)`` and
``MSE += (n - d) σ²``; the KL term, ``I(X;Y)``, ``Cov(X, V)`` and every Frobenius change of a
parameter block are unchanged. For ``n = 100`` this turns 100×100 inversions into 15×15 ones;
:attr:`FixedPointGrid.full_parameters` maps the solutions back to ``R^n``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .blahut_arimoto import (
    blahut_arimoto_batch,
    classify_regime,
    encoder_mutual_information,
    random_encoder,
)
from .gaussian import entropy
from .loss import gamma_lambda_loss
from .metrics.matched import matched_mi_score
from .metrics.sap import sap_score
from .scenarios import Scenario
from .scenarios import scenario as _named_scenario
from .validation import as_float_array, check_positive_scalar

__all__ = [
    "STUDY_BETAS",
    "STUDY_LAMS",
    "STUDY_NS",
    "AUTHORS_FIXED_POINT",
    "PUBLISHED_STUDY",
    "STUDY_METRICS",
    "published_table",
    "published_frame",
    "study_scenario",
    "expected_regime",
    "evaluate_solutions",
    "FixedPointGrid",
    "solve_fixed_point_grid",
    "fixed_point_study",
    "summarize_study",
    "study_heatmap",
    "study_figure",
]

STUDY_BETAS: tuple[float, ...] = (1.0, 4.0, 8.0, 16.0, 32.0)
STUDY_LAMS: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 8.0)
STUDY_NS: tuple[int, ...] = (50, 100)
#: The authors' fixed-point protocol per ``n``: (maximum half-steps, block tolerance).
AUTHORS_FIXED_POINT: dict[int, tuple[int, float]] = {50: (50_000, 1e-6), 100: (100_000, 1e-5)}
#: The three heatmap metrics: NLL in nats, SAP (squared correlations, true variances), matched MI.
STUDY_METRICS: tuple[str, ...] = ("recon", "sap", "matched_mi")
#: Published values are printed to 3 decimals: half a unit of the last digit.
PUBLISHED_ROUNDING = 5e-4
#: Standard deviation of that rounding error (uniform on ±5e-4).
_ROUNDING_SD = PUBLISHED_ROUNDING / np.sqrt(3.0)

#: Published means over 50 initialisations (reference ``lambda-beta-linear-study.md``), keyed by
#: ``(n, method, metric)``; rows ``λ = 0, 2, 4, 6, 8``, columns ``β = 1, 4, 8, 16, 32``.
PUBLISHED_STUDY: dict[tuple[int, str, str], tuple[tuple[float, ...], ...]] = {
    (50, "fixed-point", "recon"): (
        (3.931, 11.553, 11.553, 11.553, 11.553),
        (-46.445, 2.824, 4.942, 6.847, 8.662),
        (-49.922, 1.091, 3.209, 5.114, 6.929),
        (-51.958, 0.077, 2.195, 4.101, 5.916),
        (-53.403, -0.642, 1.476, 3.382, 5.196),
    ),
    (50, "fixed-point", "sap"): (
        (0.144, 0.0, 0.0, 0.0, 0.0),
        (0.166, 0.16, 0.153, 0.138, 0.105),
        (0.163, 0.162, 0.159, 0.153, 0.138),
        (0.163, 0.163, 0.16, 0.157, 0.148),
        (0.163, 0.163, 0.161, 0.158, 0.152),
    ),
    (50, "fixed-point", "matched_mi"): (
        (1.024, 0.0, 0.0, 0.0, 0.0),
        (1.954, 1.187, 1.111, 0.967, 0.706),
        (2.1, 1.217, 1.177, 1.103, 0.963),
        (2.161, 1.226, 1.199, 1.15, 1.055),
        (2.192, 1.229, 1.21, 1.172, 1.101),
    ),
    (50, "adamw", "recon"): (
        (6.398, 11.553, 11.553, 11.553, 11.553),
        (-13.717, 2.825, 4.942, 6.848, 8.662),
        (-15.816, 1.088, 3.21, 5.115, 6.929),
        (-17.34, 0.055, 2.196, 4.101, 5.916),
        (-19.106, -0.695, 1.476, 3.382, 5.197),
    ),
    (50, "adamw", "sap"): (
        (0.07, 0.0, 0.0, 0.0, 0.0),
        (0.145, 0.151, 0.142, 0.133, 0.101),
        (0.144, 0.149, 0.15, 0.141, 0.13),
        (0.149, 0.158, 0.149, 0.149, 0.138),
        (0.149, 0.158, 0.154, 0.152, 0.142),
    ),
    (50, "adamw", "matched_mi"): (
        (0.463, 0.0, 0.0, 0.0, 0.0),
        (1.22, 1.158, 1.077, 0.944, 0.692),
        (1.235, 1.186, 1.147, 1.069, 0.94),
        (1.277, 1.209, 1.165, 1.119, 1.026),
        (1.35, 1.203, 1.193, 1.15, 1.07),
    ),
    (100, "fixed-point", "recon"): (
        (-0.446, 8.268, 8.268, 8.268, 8.268),
        (-42.083, -1.123, 0.996, 2.901, 4.716),
        (-46.187, -2.855, -0.737, 1.168, 2.983),
        (-48.486, -3.869, -1.751, 0.154, 1.969),
        (-50.08, -4.588, -2.47, -0.565, 1.25),
    ),
    (100, "fixed-point", "sap"): (
        (0.134, 0.0, 0.0, 0.0, 0.0),
        (0.158, 0.154, 0.146, 0.13, 0.103),
        (0.156, 0.161, 0.154, 0.144, 0.128),
        (0.155, 0.165, 0.158, 0.15, 0.138),
        (0.154, 0.166, 0.161, 0.154, 0.143),
    ),
    (100, "fixed-point", "matched_mi"): (
        (0.991, 0.0, 0.0, 0.0, 0.0),
        (2.184, 1.166, 1.091, 0.958, 0.725),
        (2.329, 1.207, 1.156, 1.08, 0.948),
        (2.389, 1.226, 1.184, 1.127, 1.03),
        (2.418, 1.236, 1.201, 1.152, 1.075),
    ),
    (100, "adamw", "recon"): (
        (4.726, 8.268, 8.268, 8.268, 8.268),
        (-16.638, -1.121, 0.997, 2.901, 4.716),
        (-18.581, -2.87, -0.736, 1.168, 2.983),
        (-19.935, -3.928, -1.751, 0.155, 1.969),
        (-21.29, -4.704, -2.476, -0.564, 1.25),
    ),
    (100, "adamw", "sap"): (
        (0.047, 0.0, 0.0, 0.0, 0.0),
        (0.151, 0.185, 0.176, 0.162, 0.127),
        (0.151, 0.197, 0.191, 0.175, 0.161),
        (0.152, 0.189, 0.192, 0.182, 0.167),
        (0.155, 0.189, 0.194, 0.191, 0.17),
    ),
    (100, "adamw", "matched_mi"): (
        (0.329, 0.0, 0.0, 0.0, 0.0),
        (1.251, 1.331, 1.229, 1.086, 0.835),
        (1.283, 1.393, 1.336, 1.207, 1.069),
        (1.293, 1.361, 1.378, 1.28, 1.146),
        (1.33, 1.334, 1.394, 1.334, 1.191),
    ),
}

_PUBLISHED_METHOD = {"fixed-point": "fixed-point", "adamw": "adamw", "best": "fixed-point"}


def _check_published_key(n, method, metric):
    if n not in STUDY_NS:
        raise ValueError(f"n: expected one of {STUDY_NS}, got {n!r}")
    if method not in ("fixed-point", "adamw"):
        raise ValueError(f"method: expected 'fixed-point' or 'adamw', got {method!r}")
    if metric not in STUDY_METRICS:
        raise ValueError(f"metric: expected one of {STUDY_METRICS}, got {metric!r}")


def published_table(n: int, method: str, metric: str) -> pd.DataFrame:
    """One published heatmap as a table: rows ``λ``, columns ``β``.

    Examples
    --------
    >>> float(published_table(50, "fixed-point", "recon").loc[0.0, 4.0])
    11.553
    """
    _check_published_key(n, method, metric)
    values = np.array(PUBLISHED_STUDY[(n, method, metric)])
    out = pd.DataFrame(values, index=pd.Index(STUDY_LAMS, name="lam"), columns=STUDY_BETAS)
    out.columns.name = "beta"
    return out


def published_frame() -> pd.DataFrame:
    """All published means, tidy: columns ``n, method, beta, lam, metric, value``."""
    rows = [
        (n, method, beta, lam, metric, PUBLISHED_STUDY[(n, method, metric)][i][j])
        for (n, method, metric) in PUBLISHED_STUDY
        for i, lam in enumerate(STUDY_LAMS)
        for j, beta in enumerate(STUDY_BETAS)
    ]
    return pd.DataFrame(rows, columns=["n", "method", "beta", "lam", "metric", "value"])


def _published_lookup(n, method, beta, lam, metric) -> float:
    key = (n, _PUBLISHED_METHOD.get(method, method), metric)
    if key not in PUBLISHED_STUDY or beta not in STUDY_BETAS or lam not in STUDY_LAMS:
        return np.nan
    return PUBLISHED_STUDY[key][STUDY_LAMS.index(lam)][STUDY_BETAS.index(beta)]


def study_scenario(n: int) -> Scenario:
    """The study's shipped covariances, ``scenario(f"lambda-beta-n{n}")`` (``n ∈ {50, 100}``)."""
    if n not in STUDY_NS:
        raise ValueError(f"n: expected one of {STUDY_NS}, got {n!r}")
    return _named_scenario(f"lambda-beta-n{n}")


def expected_regime(beta: float, lam: float) -> str:
    """What the analysis says about the λβ loss with full ``Σ_Z`` in cell ``(β, λ)``.

    At the decoder's optimum ``L = h(Y) + (β - 1) I(X;Y) + β KL(q(x) || N(0, I)) + λ tr Σ_{Y|X}``:

    * ``β > 1, λ = 0``: ``"collapsed"``: the unique minimum is ``I(X;Y) = 0`` and the
      reconstruction term is exactly ``h(Y)``;
    * ``β = 1, λ = 0``: ``"flat"``: every encoder with ``Σ_X = I`` is a minimiser (value
      ``h(Y)``), a non-compact set; where a run ends depends on its initialisation;
    * ``β = 1, λ > 0`` or ``β < 1``: ``"divergent"``: the loss has no minimum; it keeps
      falling as ``Σ_W → 0`` (``I(X;Y) → ∞``), so any finite answer is where the stopping
      rule fired;
    * ``β > 1, λ > 0``: ``"minimum"``: the loss grows like ``(β - 1) I(X;Y)``, a minimum
      exists (interior, or collapsed when ``λ`` is small; the run's regime says which);
    * ``λ < 0``: ``"unknown"`` (no claim).
    """
    beta = check_positive_scalar(beta, "beta")
    lam = float(lam)
    if lam < 0:
        return "unknown"
    if beta < 1 or (beta == 1 and lam > 0):
        return "divergent"
    if beta == 1:
        return "flat"
    return "collapsed" if lam == 0 else "minimum"


# ----------------------------------------------------------------------------- evaluation
def _evaluate(A, B, Sz, Sw, Sy, Gamma, Sigma_V, beta, lam, n_extra=0, noise_var=0.0):
    """Loss terms and metrics of stacked solutions; ``Gamma`` in the same coordinates as ``B``.

    ``n_extra`` directions of variance ``noise_var`` that the parameters leave untouched
    (the reduced problem) add their constants to NLL and MSE.
    """
    t = gamma_lambda_loss(A, B, Sz, Sw, Sy, 1.0, 0.0)
    kl, nll, mse = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (t.kl, t.nll, t.mse))
    if n_extra:
        nll = nll + 0.5 * n_extra * (1.0 + np.log(2.0 * np.pi * noise_var))
        mse = mse + n_extra * noise_var
    Bt = np.swapaxes(B, -1, -2)
    Sx = B @ Sy @ Bt + Sw
    Sx = 0.5 * (Sx + np.swapaxes(Sx, -1, -2))
    cross = B @ Gamma @ Sigma_V
    m, s = cross.shape[-2:]
    P = B.shape[0]
    sv = np.broadcast_to(Sigma_V, (P, s, s))
    joint = np.concatenate(
        [
            np.concatenate([Sx, cross], axis=-1),
            np.concatenate([np.swapaxes(cross, -1, -2), sv], axis=-1),
        ],
        axis=-2,
    )
    mm = matched_mi_score(joint, m)
    beta = np.asarray(beta, dtype=float)
    lam = np.asarray(lam, dtype=float)
    return {
        "recon": nll,
        "sap": np.atleast_1d(sap_score(joint, m).score),
        "matched_mi": np.atleast_1d(mm.score),
        "loss": nll + beta * kl + lam * mse,
        "kl": kl,
        "mse": mse,
        "mi_xy": np.atleast_1d(encoder_mutual_information(B, Sw, Sy)),
        "min_eig_sigma_w": np.linalg.eigvalsh(Sw)[:, 0],
    }


def evaluate_solutions(sc: Scenario, A, B, Sigma_Z, Sigma_W, beta, lam) -> pd.DataFrame:
    """Score stacked solutions of the λβ problem of scenario ``sc`` as the study does.

    Parameters
    ----------
    sc : Scenario
        Supplies ``Σ_Y``, ``Γ`` and ``Σ_V``.
    A, B, Sigma_Z, Sigma_W : array_like, shapes (P, n, m), (P, m, n), (P, n, n), (P, m, m)
    beta, lam : float or array_like, shape (P,)
        λβ weights of each solution.

    Returns
    -------
    pandas.DataFrame
        One row per solution: ``recon`` (NLL ``1/2 [tr(Σ_Z^{-1} R) + n log 2π + log|Σ_Z|]``,
        nats), ``sap`` (squared correlations ``Cov(x_i, v_j)² / (Var x_i Var v_j)`` with the
        true ``Σ_X = B Σ_Y B^T + Σ_W``; top-two gap per factor, mean over factors),
        ``matched_mi`` (:func:`lingauss.metrics.matched.matched_mi_score`), ``loss``
        (``NLL + β KL + λ MSE``), ``kl``, ``mse``, ``mi_xy`` (``I(X;Y)``), ``min_eig_sigma_w``.

    Examples
    --------
    A collapsed encoder (``B = 0``, ``Σ_W = I``) with its optimal decoder (``A = 0``,
    ``Σ_Z = Σ_Y``) reconstructs at exactly ``h(Y)`` and scores 0 on both metrics:

    >>> from lingauss.gaussian import entropy
    >>> sc = study_scenario(50)
    >>> n, m = sc.n, sc.m
    >>> r = evaluate_solutions(sc, np.zeros((1, n, m)), np.zeros((1, m, n)), sc.Sigma_Y[None],
    ...                        np.eye(m)[None], 4.0, 0.0)
    >>> bool(np.isclose(r.recon[0], entropy(sc.Sigma_Y))), float(r.sap[0]), float(r.matched_mi[0])
    (True, 0.0, 0.0)
    """
    B = as_float_array(B, "B", ndim=3)
    P = B.shape[0]
    beta = np.broadcast_to(as_float_array(beta, "beta"), (P,))
    lam = np.broadcast_to(as_float_array(lam, "lam"), (P,))
    if np.any(beta <= 0):
        raise ValueError("beta: must be > 0")
    if B.shape[1:] != (B.shape[1], sc.n):
        raise ValueError(f"B: expected shape (P, m, {sc.n}), got {B.shape}")
    Sy = np.broadcast_to(sc.Sigma_Y, (P, sc.n, sc.n))
    out = _evaluate(A, B, Sigma_Z, Sigma_W, Sy, sc.Gamma, sc.Sigma_V, beta, lam)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------ exact reduction
def _reduction_basis(sc: Scenario, B0: np.ndarray):
    """Orthonormal bases ``U (K, n, d)`` of ``col(Γ) ⊕ S_k`` and the reduced ``Σ_Y' (d, d)``.

    Returns ``None`` when no reduction is possible (``s + m >= n``).
    """
    K, m, n = B0.shape
    u, sv, _ = np.linalg.svd(sc.Gamma, full_matrices=False)
    r = int(np.sum(sv > sv[0] * max(n, sc.s) * np.finfo(float).eps))
    Qg = u[:, :r]
    d = r + m
    if d >= n:
        return None
    proj = np.swapaxes(B0, -1, -2) - Qg @ (Qg.T @ np.swapaxes(B0, -1, -2))  # (K, n, m)
    Qs, _ = np.linalg.qr(proj)
    Qs, _ = np.linalg.qr(Qs - Qg @ (Qg.T @ Qs))  # re-orthogonalise against col(Γ)
    U = np.concatenate([np.broadcast_to(Qg, (K, n, r)), Qs], axis=-1)
    Ut = np.swapaxes(U, -1, -2)
    # exactness: U orthonormal, B0 inside span(U) and Σ_Y = σ² I on U's second block
    ok = np.allclose(Ut @ U, np.eye(d), atol=1e-12)
    ok &= np.allclose(B0 @ U @ Ut, B0, rtol=0, atol=1e-10 * max(1.0, np.abs(B0).max()))
    ok &= np.allclose(
        sc.Sigma_Y @ Qs, sc.noise_var * Qs, rtol=0, atol=1e-10 * np.abs(sc.Sigma_Y).max()
    )
    if not ok:
        return None
    Sy = np.zeros((d, d))
    core = Qg.T @ sc.Sigma_Y @ Qg
    Sy[:r, :r] = 0.5 * (core + core.T)
    Sy[r:, r:] = sc.noise_var * np.eye(m)
    return U, Sy


# ----------------------------------------------------------------- the authors' stop rule
def _fro(x):
    return np.sqrt(np.einsum("pij,pij->p", x, x))


def _authors_rule_batch(Sy, gamma, lam, B0, Sw0, max_half_steps, block_tol, record_every):
    """Blahut–Arimoto with full ``Σ_Z`` and the follow-up study's stopping rule, batched.

    Starts with a decoder half-step, then alternates. After each half-step after the first,
    the block just updated is compared with its value one full iteration earlier (the first
    encoder step with the initial encoder); the run stops when both matrices of that block
    moved by at most ``block_tol`` (Frobenius), or after ``max_half_steps`` half-steps.
    The updates are those of :mod:`lingauss.blahut_arimoto` in γλ form
    (``M = γ Σ_Z^{-1} + 2λ I``), written with ``J = Σ_Z^{-1} = Σ_Y^{-1} + B^T Σ_W^{-1} B`` and
    ``G = B^T Σ_W^{-1}``: then ``Σ_Z^{-1} A = G`` and ``M A = γ G + 2λ A``, and after an encoder
    step ``B^T Σ_W^{-1} = M A``, so no ``n × n`` matrix other than ``J`` is inverted.
    """
    P, m, d = B0.shape
    T = lambda x: np.swapaxes(x, -1, -2)  # noqa: E731
    Sy_inv = np.linalg.inv(Sy)
    Sy_inv = 0.5 * (Sy_inv + Sy_inv.T)
    eye_m = np.eye(m)
    g = gamma[:, None, None].copy()
    l2 = 2.0 * lam[:, None, None]
    B, Sw = B0.copy(), Sw0.copy()
    G = T(B) @ np.linalg.inv(Sw)
    n_rec = max_half_steps // (2 * record_every) + 2
    mi_hist = np.full((n_rec, P), np.nan)
    out = {
        "A": np.zeros((P, d, m)),
        "B": np.zeros((P, m, d)),
        "Sigma_Z": np.zeros((P, d, d)),
        "Sigma_W": np.zeros((P, m, m)),
    }
    half_steps = np.full(P, max_half_steps, dtype=int)
    reason = np.full(P, "max_half_steps", dtype=object)
    idx = np.arange(P)
    st = {"B": B, "Sw": Sw, "G": G, "g": g, "l2": l2, "pB": B, "pSw": Sw}
    st.update(A=None, Sz=None, pA=None, pSz=None)

    def retire(mask, why, h):
        nonlocal idx
        ids = idx[mask]
        if not ids.size:
            return
        out["A"][ids] = st["A"][mask]
        out["B"][ids] = st["B"][mask]
        out["Sigma_Z"][ids] = st["Sz"][mask]
        out["Sigma_W"][ids] = st["Sw"][mask]
        half_steps[ids] = h
        reason[ids] = why
        keep = ~mask
        idx = idx[keep]
        for k, v in st.items():
            if v is not None:
                st[k] = v[keep]

    h = 0
    while h < max_half_steps and idx.size:
        # decoder half-step
        J = Sy_inv + st["G"] @ st["B"]
        Pz = np.linalg.inv(J)
        st["Sz"] = 0.5 * (Pz + T(Pz))
        st["A"] = st["Sz"] @ st["G"]
        h += 1
        if st["pA"] is not None:
            stop = (_fro(st["A"] - st["pA"]) <= block_tol) & (
                _fro(st["Sz"] - st["pSz"]) <= block_tol
            )
        else:
            stop = np.zeros(idx.size, dtype=bool)
        st["pA"], st["pSz"] = st["A"], st["Sz"]
        retire(stop, "block_rule", h)
        if h >= max_half_steps or not idx.size:
            break
        # encoder half-step
        MA = st["g"] * st["G"] + st["l2"] * st["A"]
        Sw = np.linalg.inv(eye_m + T(st["A"]) @ MA)
        st["Sw"] = 0.5 * (Sw + T(Sw))
        st["B"] = st["Sw"] @ T(MA)
        st["G"] = MA
        h += 1
        bad = ~np.isfinite(st["B"]).all(axis=(-2, -1)) | ~np.isfinite(st["Sw"]).all(axis=(-2, -1))
        stop = (_fro(st["B"] - st["pB"]) <= block_tol) & (_fro(st["Sw"] - st["pSw"]) <= block_tol)
        st["pB"], st["pSw"] = st["B"], st["Sw"]
        it = h // 2
        if it % record_every == 0 and not bad.all():
            ok = ~bad
            mi_hist[it // record_every, idx[ok]] = encoder_mutual_information(
                st["B"][ok], st["Sw"][ok], Sy
            )
        retire(bad, "nonfinite", h)
        stop = stop[~bad]
        retire(stop, "block_rule", h)
    if idx.size:
        retire(np.ones(idx.size, dtype=bool), "max_half_steps", h)
    return out, half_steps, reason.astype(str), mi_hist


# ------------------------------------------------------------------------- the grid solver
@dataclass(frozen=True)
class FixedPointGrid:
    """Fixed-point solutions of a (β, λ) grid × initialisations, from the reduced problem.

    Problems are ordered cell-major: ``p = (i_β · n_λ + i_λ) · K + k`` for initialisation
    ``k`` of ``K``. Parameters are stored in the reduced ``d``-dimensional coordinates
    (see the module docstring); :meth:`full_parameters` lifts them to ``R^n``.

    Attributes
    ----------
    scenario : Scenario
    beta, lam : ndarray, shape (P,)
        λβ weights of each problem.
    init : ndarray of int, shape (P,)
        Initialisation index ``k``.
    basis : ndarray, shape (K, n, d), or None
        Orthonormal basis of each initialisation's invariant subspace (``None``: not reduced,
        parameters already in ``R^n``).
    Sigma_Y_reduced : ndarray, shape (d, d)
    A, B, Sigma_Z, Sigma_W : ndarray
        Reduced solutions, shapes (P, d, m), (P, m, d), (P, d, d), (P, m, m).
    metrics : pandas.DataFrame
        :func:`evaluate_solutions` columns, one row per problem (full-dimensional values).
    half_steps : ndarray of int, shape (P,)
    stop_reason : ndarray of str, shape (P,)
        Solver stop reasons (``"converged"``, ``"resolution_limit"``, ``"max_half_steps"``,
        ...); ``"block_rule"`` when the authors' rule fired.
    converged : ndarray of bool, shape (P,)
        The exact rule converged; or the authors' rule fired *and* the run's ``I(X;Y)``
        record has settled (the rule also fires on slow drifts, see :func:`_settled`).
    regime : ndarray of str, shape (P,)
        ``"collapsed"``, ``"interior"`` or ``"divergent"`` from the run's ``I(X;Y)`` trajectory
        (:func:`lingauss.blahut_arimoto.classify_regime`).
    stop_rule : str
    """

    scenario: Scenario = field(repr=False)
    beta: np.ndarray
    lam: np.ndarray
    init: np.ndarray
    basis: np.ndarray | None = field(repr=False)
    Sigma_Y_reduced: np.ndarray = field(repr=False)
    A: np.ndarray = field(repr=False)
    B: np.ndarray = field(repr=False)
    Sigma_Z: np.ndarray = field(repr=False)
    Sigma_W: np.ndarray = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)
    half_steps: np.ndarray
    stop_reason: np.ndarray
    converged: np.ndarray
    regime: np.ndarray
    stop_rule: str

    def __len__(self) -> int:
        return self.beta.size

    def full_parameters(self, idx=None):
        """``(A, B, Σ_Z, Σ_W)`` of problems ``idx`` (default all) in the original ``R^n``.

        ``B = B' U^T``, ``A = U A'``, ``Σ_Z = U Σ_Z' U^T + σ² (I - U U^T)``.
        """
        idx = np.arange(len(self)) if idx is None else np.atleast_1d(np.asarray(idx))
        A, B, Sz, Sw = self.A[idx], self.B[idx], self.Sigma_Z[idx], self.Sigma_W[idx]
        if self.basis is None:
            return A, B, Sz, Sw
        U = self.basis[self.init[idx]]
        Ut = np.swapaxes(U, -1, -2)
        n = U.shape[1]
        Sz_full = U @ Sz @ Ut + self.scenario.noise_var * (np.eye(n) - U @ Ut)
        return U @ A, B @ Ut, 0.5 * (Sz_full + np.swapaxes(Sz_full, -1, -2)), Sw


def _grid_arrays(betas, lams):
    betas = as_float_array(betas, "betas", ndim=1)
    lams = as_float_array(lams, "lams", ndim=1)
    if betas.size == 0 or np.any(betas <= 0):
        raise ValueError(f"betas: must be a non-empty list of positive numbers, got {betas}")
    if lams.size == 0:
        raise ValueError("lams: must be a non-empty list")
    return betas, lams


def _resolve_scenario(n) -> Scenario:
    if isinstance(n, Scenario):
        return n
    return study_scenario(n)


#: A run has settled when the rise of I(X;Y) still to come, extrapolated geometrically from
#: its last two recorded increments, is at most this fraction of ``1 + I(X;Y)``.
SETTLED_RTOL = 1e-4


def _settled(rec: np.ndarray) -> bool:
    """Whether an ``I(X;Y)`` record (equally spaced) looks converged rather than drifting.

    With increments ``d1, d2`` of the last three records, a geometric tail ``r = d2/d1 < 1``
    has ``d2 r / (1 - r)`` left to go. A drift to a deterministic encoder (no minimum) grows
    like a logarithm: ``r → 1`` and the extrapolated remainder stays large (several nats),
    while converging runs have remainders of 1e-6 nats or less.
    """
    if rec.size < 3:
        return True
    d1, d2 = rec[-2] - rec[-3], rec[-1] - rec[-2]
    scale = 1.0 + abs(rec[-1])
    if abs(d2) <= 1e-12 * scale:
        return True
    if d1 * d2 <= 0 or abs(d2) >= abs(d1):
        return False
    r = d2 / d1
    return abs(d2) * r / (1.0 - r) <= SETTLED_RTOL * scale


def solve_fixed_point_grid(
    n: int | Scenario = 50,
    inits: int = 50,
    *,
    stop_rule: str = "exact",
    seed: int | None = None,
    betas: Sequence[float] = STUDY_BETAS,
    lams: Sequence[float] = STUDY_LAMS,
    init: str = "authors",
    max_half_steps: int | None = None,
    block_tol: float | None = None,
    tol: float = 1e-10,
    collapse_tol: float = 1e-8,
    n_jobs: int | None = 1,
) -> FixedPointGrid:
    """Solve every (β, λ) cell from the same ``inits`` initial encoders, all in one batch.

    Parameters
    ----------
    n : {50, 100} or Scenario
        The study's shipped covariances (``scenario(f"lambda-beta-n{n}")``), or any scenario.
    inits : int
        Initial encoders per cell (the study: 50), shared by all cells.
    stop_rule : {"exact", "authors"}
        ``"exact"``: :func:`lingauss.blahut_arimoto.blahut_arimoto_batch`'s convergence and
        regime detection (``tol``; drifting runs stop at ``"resolution_limit"``).
        ``"authors"``: the study's rule: stop when both matrices of the block just updated
        moved by at most ``block_tol`` (Frobenius) since that block's previous update.
    seed : int, optional
        Seed of ``numpy.random.default_rng`` for the initial encoders.
    betas, lams : sequences of float
        The grid (λβ weights; the solver runs ``γ = 1/β``, ``λ_γλ = λ/β``).
    init : {"authors", "exchangeable"}
        Law of the initial ``Σ_W`` (:func:`lingauss.blahut_arimoto.random_encoder`).
    max_half_steps, block_tol : optional
        Default to the study's protocol, :data:`AUTHORS_FIXED_POINT` (50 000 / 1e-6 for
        ``n = 50``, 100 000 / 1e-5 for ``n = 100``; the ``n = 50`` values for other
        scenarios). ``max_half_steps`` is the budget of both rules.
    tol, collapse_tol : float
        The exact rule's tolerance and the collapse threshold on ``I(X;Y)`` (nats).
    n_jobs : int, optional
        Worker processes for the exact rule (passed to
        :func:`~lingauss.blahut_arimoto.blahut_arimoto_batch`; results are bit-identical);
        the authors' rule runs in this process.

    Returns
    -------
    FixedPointGrid
    """
    if stop_rule not in ("exact", "authors"):
        raise ValueError(f"stop_rule: expected 'exact' or 'authors', got {stop_rule!r}")
    if isinstance(inits, bool) or not isinstance(inits, int | np.integer) or inits < 1:
        raise ValueError(f"inits: must be a positive integer, got {inits!r}")
    sc = _resolve_scenario(n)
    betas, lams = _grid_arrays(betas, lams)
    H0, tol0 = AUTHORS_FIXED_POINT.get(sc.n, AUTHORS_FIXED_POINT[50])
    H = int(H0 if max_half_steps is None else max_half_steps)
    if H < 1:
        raise ValueError(f"max_half_steps: must be >= 1, got {max_half_steps!r}")
    block_tol = check_positive_scalar(tol0 if block_tol is None else block_tol, "block_tol")
    m = sc.m
    lam_max = np.linalg.eigvalsh(sc.Sigma_Y)[-1]
    # Σ_Z ≤ Σ_Y after a decoder step, so M = (Σ_Z^{-1} + 2λ I)/β stays PD if 1/λ_max + 2λ > 0
    if np.any(1.0 / lam_max + 2.0 * lams <= 0):
        raise ValueError(
            f"lams: lam <= -1/(2 lambda_max(Sigma_Y)) = {-0.5 / lam_max:.4g} makes the encoder "
            "update ill-posed (M not positive definite)"
        )
    rng = np.random.default_rng(seed)
    B0, Sw0 = random_encoder(m, sc.n, rng, size=int(inits), method=init)
    K = int(inits)
    red = _reduction_basis(sc, B0)
    if red is None:
        U, Sy, Gam = None, sc.Sigma_Y, np.broadcast_to(sc.Gamma, (K,) + sc.Gamma.shape)
        B0r = B0
    else:
        U, Sy = red
        B0r = B0 @ U
        Gam = np.swapaxes(U, -1, -2) @ sc.Gamma
    d = Sy.shape[-1]
    bb, ll = (x.ravel() for x in np.meshgrid(betas, lams, indexing="ij"))
    beta = np.repeat(bb, K)
    lam = np.repeat(ll, K)
    cells = bb.size
    init_idx = np.tile(np.arange(K), cells)
    B0p = np.tile(B0r, (cells, 1, 1))
    Sw0p = np.tile(Sw0, (cells, 1, 1))
    record_every = max(1, H // 2000)
    if stop_rule == "exact":
        res = blahut_arimoto_batch(
            Sy,
            m,
            1.0 / beta,
            lam / beta,
            B0p,
            Sw0p,
            max_half_steps=H,
            tol=tol,
            diagonal=False,
            stop_rule="exact",
            history_every=2 * record_every,
            collapse_tol=collapse_tol,
            n_jobs=n_jobs,
        )
        A, B, Sz, Sw = res.A, res.B, res.Sigma_Z, res.Sigma_W
        half_steps, reason = res.half_steps, res.stop_reason
        converged, regime = res.converged, res.regime
    else:
        out, half_steps, reason, mi_hist = _authors_rule_batch(
            Sy, 1.0 / beta, lam / beta, B0p, Sw0p, H, block_tol, record_every
        )
        A, B, Sz, Sw = out["A"], out["B"], out["Sigma_Z"], out["Sigma_W"]
        converged = np.asarray(reason == "block_rule").copy()
        regime = None
    ok = reason != "nonfinite"
    metrics = pd.DataFrame(
        {
            k: np.full(beta.size, np.nan)
            for k in ("recon", "sap", "matched_mi", "loss", "kl", "mse", "mi_xy")
        }
    )
    metrics["min_eig_sigma_w"] = np.nan
    if ok.any():
        ev = _evaluate(
            A[ok],
            B[ok],
            Sz[ok],
            Sw[ok],
            np.broadcast_to(Sy, (int(ok.sum()), d, d)),
            Gam[init_idx[ok]],
            sc.Sigma_V,
            beta[ok],
            lam[ok],
            n_extra=sc.n - d,
            noise_var=sc.noise_var,
        )
        for k, v in ev.items():
            metrics.loc[ok, k] = v
    if regime is None:
        regime = np.empty(beta.size, dtype=object)
        final_mi = metrics["mi_xy"].to_numpy()
        for p in range(beta.size):
            rec = mi_hist[:, p]
            rec = rec[np.isfinite(rec)]
            # the block rule also fires on a drift whose steps have become small (n = 100,
            # β = 1, λ > 0): trust it only where the I(X;Y) record says the run has settled
            converged[p] = bool(converged[p]) and _settled(rec)
            regime[p] = classify_regime(np.append(rec, final_mi[p]), converged[p], collapse_tol)
        regime = regime.astype(str)
    return FixedPointGrid(
        scenario=sc,
        beta=beta,
        lam=lam,
        init=init_idx,
        basis=U,
        Sigma_Y_reduced=Sy,
        A=A,
        B=B,
        Sigma_Z=Sz,
        Sigma_W=Sw,
        metrics=metrics,
        half_steps=np.asarray(half_steps),
        stop_reason=np.asarray(reason).astype(str),
        converged=np.asarray(converged, dtype=bool),
        regime=np.asarray(regime).astype(str),
        stop_rule=stop_rule,
    )


def fixed_point_study(
    n: int | Scenario = 50,
    inits: int = 50,
    *,
    stop_rule: str = "exact",
    seed: int | None = None,
    betas: Sequence[float] = STUDY_BETAS,
    lams: Sequence[float] = STUDY_LAMS,
    init: str = "authors",
    max_half_steps: int | None = None,
    block_tol: float | None = None,
    tol: float = 1e-10,
    n_jobs: int | None = 1,
) -> pd.DataFrame:
    """The fixed-point half of the λβ study as a tidy table, one row per (n, β, λ, init).

    Every cell of the grid starts from the same ``inits`` random encoders and all cells run
    together in one batch (:func:`solve_fixed_point_grid`; arguments as there).

    Returns
    -------
    pandas.DataFrame
        Columns ``method`` (``"fixed-point"``), ``stop_rule``, ``n``, ``beta``, ``lam``,
        ``init``, ``recon`` (NLL, nats), ``sap``, ``matched_mi``, ``loss`` (λβ total), ``kl``,
        ``mse``, ``mi_xy``, ``min_eig_sigma_w``, ``h_y`` (``h(Y)``), ``regime`` (the run's),
        ``expected_regime`` (:func:`expected_regime`), ``stop_reason``, ``converged``,
        ``half_steps``.

    Examples
    --------
    >>> df = fixed_point_study(50, 2, seed=0, betas=[4.0], lams=[0.0, 2.0])
    >>> df.groupby("lam").regime.first().tolist()
    ['collapsed', 'interior']
    >>> plateau = df[df.lam == 0]
    >>> bool(np.allclose(plateau.recon, plateau.h_y))
    True
    """
    grid = solve_fixed_point_grid(
        n,
        inits,
        stop_rule=stop_rule,
        seed=seed,
        betas=betas,
        lams=lams,
        init=init,
        max_half_steps=max_half_steps,
        block_tol=block_tol,
        tol=tol,
        n_jobs=n_jobs,
    )
    return _grid_frame(grid)


def _grid_frame(grid: FixedPointGrid) -> pd.DataFrame:
    sc = grid.scenario
    df = pd.DataFrame(
        {
            "method": "fixed-point",
            "stop_rule": grid.stop_rule,
            "n": sc.n,
            "beta": grid.beta,
            "lam": grid.lam,
            "init": grid.init,
        }
    )
    df = pd.concat([df, grid.metrics.reset_index(drop=True)], axis=1)
    df["h_y"] = float(entropy(sc.Sigma_Y))
    df["regime"] = grid.regime
    df["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(grid.beta, grid.lam)]
    df["stop_reason"] = grid.stop_reason
    df["converged"] = grid.converged
    df["half_steps"] = grid.half_steps
    return df


# --------------------------------------------------------------------------- summaries
def _mode(x: pd.Series) -> str:
    counts = x.value_counts()
    return str(counts.index[0]) if len(counts) else ""


def summarize_study(df: pd.DataFrame) -> pd.DataFrame:
    """Per-cell mean and spread of recon, SAP and matched MI beside the published means.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`fixed_point_study` (or of the learned study in
        :mod:`neural.lambda_beta`): needs ``method, n, beta, lam`` and the metric columns.

    Returns
    -------
    pandas.DataFrame
        One row per ``(method, n, beta, lam)``: ``inits``; for each metric ``M`` in
        ``recon, sap, matched_mi``: ``M_mean``, ``M_sd`` (sample standard deviation over
        initialisations, ``ddof = 1``), ``M_published`` (the published mean: fixed-point table
        for methods ``"fixed-point"`` and ``"best"``, AdamW table for ``"adamw"``; NaN off the
        published grid), ``M_within`` (``|M_mean - M_published| <= M_sd + 5e-4``, with
        ``M_sd = 0`` for a single initialisation: inside the spread across
        initialisations, allowing for the 3-decimal rounding of the published
        value) and ``M_z`` (``(M_mean - M_published) / sqrt(M_sd² (1/K + 1/50) + 5e-4²/3)``:
        the difference in units of its standard error, both means being averages of
        independent initialisations and the published value rounded to 3 decimals; NaN with
        a single initialisation, whose spread is unknown);
        ``loss_mean``, ``loss_sd``;
        ``regime`` (most common run regime), ``regime_counts``, ``expected_regime``,
        ``has_minimum`` (the loss attains its infimum: all cells except ``"divergent"``),
        ``stop_reason`` (most common), ``half_steps_mean``.
    """
    need = {"method", "n", "beta", "lam", *STUDY_METRICS}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"df: missing columns {sorted(missing)}")
    if df.empty:
        raise ValueError("df: no rows")
    keys = ["method", "n", "beta", "lam"]
    g = df.groupby(keys, sort=True)
    out = g.size().rename("inits").to_frame()
    for metric in (*STUDY_METRICS, "loss"):
        if metric not in df.columns:
            continue
        out[f"{metric}_mean"] = g[metric].mean()
        out[f"{metric}_sd"] = g[metric].std(ddof=1)
    out = out.reset_index()
    for metric in STUDY_METRICS:
        pub = np.array(
            [
                _published_lookup(int(r.n), r.method, float(r.beta), float(r.lam), metric)
                for r in out.itertuples()
            ]
        )
        mean = out[f"{metric}_mean"].to_numpy()
        sd = np.nan_to_num(out[f"{metric}_sd"].to_numpy(), nan=0.0)
        diff = mean - pub
        out[f"{metric}_published"] = pub
        out[f"{metric}_within"] = np.where(
            np.isfinite(pub), np.abs(diff) <= sd + PUBLISHED_ROUNDING, False
        )
        K = out["inits"].to_numpy()
        se = np.sqrt(sd**2 * (1.0 / K + 1.0 / 50.0) + _ROUNDING_SD**2)
        out[f"{metric}_z"] = np.where(K >= 2, diff / se, np.nan)
    if "regime" in df.columns:
        out["regime"] = g["regime"].agg(_mode).to_numpy()
        out["regime_counts"] = g["regime"].agg(lambda x: dict(x.value_counts())).to_numpy()
    out["expected_regime"] = [expected_regime(b, lm) for b, lm in zip(out.beta, out.lam)]
    out["has_minimum"] = out["expected_regime"].isin(["collapsed", "flat", "minimum"])
    if "stop_reason" in df.columns:
        out["stop_reason"] = g["stop_reason"].agg(_mode).to_numpy()
    if "half_steps" in df.columns:
        out["half_steps_mean"] = g["half_steps"].mean().to_numpy()
    return out


def study_heatmap(summary: pd.DataFrame, column: str, *, n=None, method=None) -> pd.DataFrame:
    """One column of :func:`summarize_study` as a heatmap table: rows ``λ``, columns ``β``."""
    if column not in summary.columns:
        raise ValueError(f"column: {column!r} not in the summary")
    sel = summary
    if n is not None:
        sel = sel[sel.n == n]
    if method is not None:
        sel = sel[sel.method == method]
    if sel[["beta", "lam"]].duplicated().any():
        raise ValueError("n, method: the selection holds several tables; give n and method")
    return sel.pivot(index="lam", columns="beta", values=column)


def study_figure(summary: pd.DataFrame, *, title: str | None = None):
    """The three heatmaps of one ``(n, method)`` summary beside the published ones.

    Rows: recon, SAP, matched MI; columns: our mean over initialisations, the published
    mean. Each cell is annotated with its value (ours: ``*`` where the published mean is
    outside our spread; no marks with a single initialisation). Returns a
    :class:`matplotlib.figure.Figure` (matplotlib is imported here only).
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    keys = summary[["n", "method"]].drop_duplicates()
    if len(keys) != 1:
        raise ValueError("summary: expected one (n, method), got several; select one first")
    n, method = keys.iloc[0]
    fig = Figure(figsize=(10, 10), layout="constrained")
    axes = fig.subplots(3, 2)
    names = {"recon": "Recon (NLL, nats)", "sap": "SAP", "matched_mi": "matched MI (nats)"}
    pub_name = "AdamW" if method == "adamw" else "fixed point"
    spread = int(summary["inits"].min()) > 1
    for row, metric in enumerate(STUDY_METRICS):
        ours = study_heatmap(summary, f"{metric}_mean")
        pub = study_heatmap(summary, f"{metric}_published")
        within = study_heatmap(summary, f"{metric}_within")
        vals = np.concatenate([ours.to_numpy().ravel(), pub.to_numpy().ravel()])
        vals = vals[np.isfinite(vals)]
        lo, hi = (vals.min(), vals.max()) if vals.size else (0.0, 1.0)
        cmap = "Reds" if metric == "recon" else "Blues"
        for col, (tab, label) in enumerate(
            ((ours, f"ours ({method})"), (pub, f"published ({pub_name})"))
        ):
            ax = axes[row, col]
            im = ax.imshow(tab.to_numpy(), cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
            for i in range(tab.shape[0]):
                for j in range(tab.shape[1]):
                    v = tab.iat[i, j]
                    flag = "*" if col == 0 and spread and not bool(within.iat[i, j]) else ""
                    ax.text(j, i, f"{v:.3f}{flag}", ha="center", va="center", fontsize=8)
            ax.set_xticks(range(tab.shape[1]), [f"{b:g}" for b in tab.columns])
            ax.set_yticks(range(tab.shape[0]), [f"{lm:g}" for lm in tab.index])
            ax.set_xlabel("β")
            ax.set_ylabel("λ")
            ax.set_title(f"{names[metric]}: {label}", fontsize=10)
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title or f"λβ study, n = {n}: means over initialisations")
    return fig
