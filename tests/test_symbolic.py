"""Tests of lingauss.symbolic: sympy derivations of the BA updates (issue item 5).

Besides ``ok``, every derived solution is turned into numbers and compared with the numpy
implementation (lingauss.blahut_arimoto) at random points, and wrong closed forms must be
rejected, so the checks can fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from lingauss.blahut_arimoto import decoder_update, encoder_update
from lingauss.symbolic import (
    SymbolicCheck,
    decoder_closed_form,
    encoder_closed_form,
    verify_collapse_hessian,
    verify_decoder_update,
    verify_divergence_rate,
    verify_encoder_update,
)


def _all_zero(residuals: dict) -> bool:
    for r in residuals.values():
        items = r if isinstance(r, sp.MatrixBase) else [r]
        if any(sp.simplify(e) != 0 for e in items):
            return False
    return True


def _values(matrix: sp.Matrix, rng, spd=False, diag=False, pos=False):
    """Random numbers for the symbols of ``matrix`` (SPD / positive diagonal as asked)."""
    d0, d1 = matrix.shape
    if spd:
        g = rng.standard_normal((d0, d0))
        val = g @ g.T + 0.5 * np.eye(d0)
    elif diag:
        val = np.diag(rng.uniform(0.2, 2.0, d0))
    else:
        val = rng.standard_normal((d0, d1))
    out = {}
    for i in range(d0):
        for j in range(d1):
            e = matrix[i, j]
            if isinstance(e, sp.Symbol):
                out[e] = val[i, j]
    return out, val


def _numeric(expr: sp.Matrix, subs: dict) -> np.ndarray:
    return np.array(expr.subs(subs).evalf(30).tolist(), dtype=float)


# ----------------------------------------------------------------------------- encoder
@pytest.fixture(scope="module")
def enc():
    return verify_encoder_update(1, 2)


def test_encoder_update_derived_and_minimiser(enc):
    assert isinstance(enc, SymbolicCheck)
    assert enc.ok and bool(enc)
    assert enc.stationary and enc.second_order
    assert _all_zero(enc.residuals)
    assert all(e > 0 for e in enc.hessian_min_eigenvalues)


def test_encoder_solution_matches_numpy(enc):
    # The derived (B, Σ_W) as numbers equals lingauss.encoder_update at random points.
    B_der, Sw_der = enc.solution["B"], enc.solution["Sigma_W"]
    syms = B_der.free_symbols | Sw_der.free_symbols
    a = sorted((s for s in syms if s.name.startswith("a")), key=str)
    z = sorted((s for s in syms if s.name.startswith("z")), key=str)
    gamma = next(s for s in syms if s.name == "gamma")
    lam = next(s for s in syms if s.name == "lam")
    rng = np.random.default_rng(0)
    for _ in range(3):
        A = rng.standard_normal((2, 1))
        zv = rng.uniform(0.2, 2.0, 2)
        g, lv = rng.uniform(0.3, 2.0), rng.uniform(-0.05, 1.0)
        subs = {gamma: g, lam: lv}
        subs |= {s: A[int(s.name[1]), int(s.name[2])] for s in a}
        subs |= {s: zv[int(s.name[1])] for s in z}
        B, Sw = encoder_update(A, np.diag(zv), g, lv)
        # 30-digit evaluation vs float64 numpy: agreement to rounding
        np.testing.assert_allclose(_numeric(B_der, subs), B, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(_numeric(Sw_der, subs), Sw, rtol=1e-12, atol=1e-14)


def test_encoder_second_dimension_pair():
    res = verify_encoder_update(2, 1)
    assert res.ok and _all_zero(res.residuals)


def test_wrong_encoder_closed_form_is_rejected():
    def wrong(A, Sz, gamma, lam):  # λ instead of 2λ in M
        n, m = A.shape
        M = gamma * Sz.inv() + lam * sp.eye(n)
        Sw = (sp.eye(m) + A.T * M * A).inv()
        return Sw * A.T * M, Sw

    res = verify_encoder_update(1, 2, closed_form=wrong)
    assert not res.ok and not res.stationary
    # the reference closed form itself, for comparison, passes
    B, Sw = encoder_closed_form(
        sp.Matrix([[sp.Symbol("a00")], [sp.Symbol("a10")]]),
        sp.diag(sp.Symbol("z0", positive=True), sp.Symbol("z1", positive=True)),
        sp.Symbol("gamma", positive=True),
        sp.Symbol("lam", real=True),
    )
    assert B.shape == (1, 2) and Sw.shape == (1, 1)


# ----------------------------------------------------------------------------- decoder
@pytest.fixture(scope="module", params=[True, False], ids=["diagonal", "full"])
def dec(request):
    return request.param, verify_decoder_update(1, 2, diagonal=request.param)


def test_decoder_update_derived_and_minimiser(dec):
    _, res = dec
    assert res.ok and res.stationary and res.second_order
    assert _all_zero(res.residuals)
    # the optimal A does not involve Σ_Z, γ or λ
    assert not res.solution["A_free_of"]


def test_decoder_solution_matches_numpy(dec):
    diagonal, res = dec
    A_der, Sz_der = res.solution["A"], res.solution["Sigma_Z"]
    syms = A_der.free_symbols | Sz_der.free_symbols
    rng = np.random.default_rng(1)
    for _ in range(3):
        B = rng.standard_normal((1, 2))
        w = rng.uniform(0.2, 2.0)
        g = rng.standard_normal((2, 2))
        Sy = g @ g.T + 0.5 * np.eye(2)
        subs = {}
        for s in syms:
            if s.name.startswith("b"):
                subs[s] = B[int(s.name[1]), int(s.name[2])]
            elif s.name.startswith("w"):
                subs[s] = w
            elif s.name.startswith("y"):
                subs[s] = Sy[int(s.name[1]), int(s.name[2])]
        A, Sz = decoder_update(B, np.array([[w]]), Sy, diagonal=diagonal)
        np.testing.assert_allclose(_numeric(A_der, subs), A, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(_numeric(Sz_der, subs), Sz, rtol=1e-11, atol=1e-13)


def test_wrong_decoder_closed_form_is_rejected():
    def wrong(B, Sw, Sy, diagonal):  # Σ_Z = diag Σ_Y: the prior, not the posterior
        A, _ = decoder_closed_form(B, Sw, Sy, diagonal)
        return A, sp.diag(*[Sy[i, i] for i in range(Sy.shape[0])])

    res = verify_decoder_update(1, 2, diagonal=True, closed_form=wrong)
    assert not res.ok and not res.stationary


# ------------------------------------------------------------------- collapse, divergence
def test_collapse_hessian_and_threshold():
    res = verify_collapse_hessian(2)
    assert res.ok and res.second_order
    assert _all_zero(res.residuals)
    # Threshold Σ_Y^{-1} - M at diagonal Σ_Y, λ = 0 is diag((1 - γ)/s_i): PD iff γ < 1.
    thr = res.solution["threshold"]
    syms = {s.name: s for s in thr.free_symbols}
    sub = {syms["y01"]: 0, syms["lam"]: 0}
    diag_thr = sp.simplify(thr.subs(sub))
    g = syms["gamma"]
    assert sp.simplify(diag_thr[0, 0] - (1 - g) / syms["y00"]) == 0
    assert sp.simplify(diag_thr[0, 1]) == 0


@pytest.mark.parametrize("m, n", [(1, 2), (2, 2)])
def test_divergence_rate(m, n):
    res = verify_divergence_rate(m, n)
    assert res.ok
    g = sp.Symbol("gamma", positive=True)
    assert sp.simplify(res.solution["slope"] - (g - 1) * sp.Rational(m, 2)) == 0


def test_bad_dimensions_raise():
    with pytest.raises(ValueError, match=r"^m:"):
        verify_encoder_update(0, 2)
    with pytest.raises(ValueError, match=r"^n:"):
        verify_decoder_update(1, 9)
    with pytest.raises(ValueError, match=r"^m:"):
        verify_divergence_rate(3, 2)
