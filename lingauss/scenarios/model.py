"""The scenario model: ``Y = Γ V + Z̃`` with ``V ~ N(0, Σ_V)``, ``Z̃ ~ N(0, σ² I_n)`` and a
known grouping of the factors into independent groups (:class:`Scenario`), built from its
matrices (:func:`make_scenario`) or from a factor-group structure
(:func:`factor_group_scenario`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..validation import as_float_array, check_covariance, check_positive_scalar

__all__ = ["Scenario", "make_scenario", "factor_group_scenario", "canonical_grouping"]


def canonical_grouping(groups: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """A set partition in canonical form: each block sorted, blocks sorted by first element,
    empty blocks dropped. Two groupings are equal iff their canonical forms are equal."""
    blocks = [tuple(sorted(int(i) for i in g)) for g in groups if len(g)]
    return tuple(sorted(blocks))


@dataclass(frozen=True)
class Scenario:
    """A linear-Gaussian generative model with a known factor grouping.

    Attributes
    ----------
    name : str
    Sigma_V : ndarray, shape (s, s)
        Covariance of the generative factors.
    Gamma : ndarray, shape (n, s)
        Loading matrix.
    noise_var : float
        σ², the variance of the isotropic observation noise.
    m : int
        Latent dimension used with this scenario.
    groups : tuple of tuples of int
        The true grouping of factors into independent groups (0-based, canonical form).
    Sigma_Y : ndarray, shape (n, n)
        ``Γ Σ_V Γ^T + σ² I_n``.
    sigma_v_nominal : ndarray, shape (s,), optional
        The nominal factor standard deviations of the published protocol (the authors' SAP
        divides by these); ``None`` for user scenarios.
    config, number, preset : optional provenance of a published scenario.
    """

    name: str
    Sigma_V: np.ndarray = field(repr=False)
    Gamma: np.ndarray = field(repr=False)
    noise_var: float
    m: int
    groups: tuple[tuple[int, ...], ...]
    Sigma_Y: np.ndarray = field(repr=False)
    sigma_v_nominal: np.ndarray | None = field(default=None, repr=False)
    config: str | None = None
    number: int | None = None
    preset: str | None = None

    @property
    def s(self) -> int:
        """Number of generative factors."""
        return self.Sigma_V.shape[0]

    @property
    def n(self) -> int:
        """Data dimension."""
        return self.Gamma.shape[0]

    @property
    def n_groups(self) -> int:
        """G, the number of independent factor groups."""
        return len(self.groups)

    def cross_covariance(self, B) -> np.ndarray:
        """``Cov(X, V) = B Γ Σ_V``, shape (m, s), for an encoder ``B`` of shape (m, n)."""
        B = as_float_array(B, "B", min_ndim=2)
        if B.shape[-1] != self.n:
            raise ValueError(f"B: expected {self.n} columns to match Gamma, got shape {B.shape}")
        return B @ self.Gamma @ self.Sigma_V

    def joint_cov_xv(self, B, Sigma_W=None, *, x_block: str = "true") -> np.ndarray:
        """Joint covariance of ``(X, V)``, shape (..., m + s, m + s).

        Parameters
        ----------
        B : array_like, shape (..., m, n)
        Sigma_W : array_like, shape (..., m, m)
            Needed for ``x_block="true"``.
        x_block : {"true", "identity"}
            ``"true"``: ``Σ_X = B Σ_Y B^T + Σ_W``; ``"identity"``: ``I_m`` as in the authors'
            notebooks (reference §6.5), which need not make the joint matrix PD.
        """
        B = as_float_array(B, "B", min_ndim=2)
        m = B.shape[-2]
        cxv = self.cross_covariance(B)
        if x_block == "true":
            if Sigma_W is None:
                raise ValueError("Sigma_W: required when x_block='true'")
            Sigma_W = as_float_array(Sigma_W, "Sigma_W", min_ndim=2)
            sx = B @ self.Sigma_Y @ np.swapaxes(B, -1, -2) + Sigma_W
        elif x_block == "identity":
            sx = np.broadcast_to(np.eye(m), B.shape[:-2] + (m, m))
        else:
            raise ValueError(f"x_block: expected 'true' or 'identity', got {x_block!r}")
        sv = np.broadcast_to(self.Sigma_V, B.shape[:-2] + self.Sigma_V.shape)
        top = np.concatenate([sx, cxv], axis=-1)
        bottom = np.concatenate([np.swapaxes(cxv, -1, -2), sv], axis=-1)
        out = np.concatenate([top, bottom], axis=-2)
        return 0.5 * (out + np.swapaxes(out, -1, -2))

    def sample(self, size: int, rng: np.random.Generator):
        """Draw ``(V, Y)`` samples, shapes ``(size, s)`` and ``(size, n)``."""
        lv = np.linalg.cholesky(self.Sigma_V)
        v = rng.standard_normal((size, self.s)) @ lv.T
        y = v @ self.Gamma.T + np.sqrt(self.noise_var) * rng.standard_normal((size, self.n))
        return v, y


def make_scenario(
    Sigma_V,
    Gamma,
    noise_var: float,
    m: int,
    groups: Sequence[Sequence[int]] | None = None,
    *,
    name: str = "custom",
    sigma_v_nominal=None,
    config: str | None = None,
    number: int | None = None,
    preset: str | None = None,
) -> Scenario:
    """Build a :class:`Scenario` from its matrices, validating every argument.

    ``groups`` defaults to the connected components of the non-zero pattern of ``Σ_V``
    (for a Gaussian, blocks with zero cross-covariance are independent).
    """
    Sigma_V, _ = check_covariance(Sigma_V, "Sigma_V", batched=False)
    s = Sigma_V.shape[0]
    Gamma = as_float_array(Gamma, "Gamma", ndim=2)
    if Gamma.shape[1] != s:
        raise ValueError(f"Gamma: expected {s} columns to match Sigma_V, got shape {Gamma.shape}")
    noise_var = check_positive_scalar(noise_var, "noise_var")
    if not isinstance(m, int | np.integer) or m < 1:
        raise ValueError(f"m: must be a positive integer, got {m!r}")
    if groups is None:
        groups = _components(Sigma_V)
    groups = canonical_grouping(groups)
    flat = sorted(i for g in groups for i in g)
    if flat != list(range(s)):
        raise ValueError(f"groups: must partition the factors 0..{s - 1}, got {groups}")
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            if np.any(Sigma_V[np.ix_(groups[a], groups[b])] != 0):
                raise ValueError(
                    f"groups: blocks {groups[a]} and {groups[b]} are correlated in Sigma_V, "
                    "so they are not independent groups"
                )
    n = Gamma.shape[0]
    Sigma_Y = Gamma @ Sigma_V @ Gamma.T + noise_var * np.eye(n)
    Sigma_Y = 0.5 * (Sigma_Y + Sigma_Y.T)
    if sigma_v_nominal is not None:
        sigma_v_nominal = as_float_array(sigma_v_nominal, "sigma_v_nominal", ndim=1)
        if sigma_v_nominal.shape != (s,) or np.any(sigma_v_nominal <= 0):
            raise ValueError(f"sigma_v_nominal: expected {s} positive values")
    return Scenario(
        name=name,
        Sigma_V=Sigma_V,
        Gamma=Gamma,
        noise_var=noise_var,
        m=int(m),
        groups=groups,
        Sigma_Y=Sigma_Y,
        sigma_v_nominal=sigma_v_nominal,
        config=config,
        number=number,
        preset=preset,
    )


def _components(Sigma_V) -> list[list[int]]:
    s = Sigma_V.shape[0]
    adj = Sigma_V != 0
    seen, comps = set(), []
    for i in range(s):
        if i in seen:
            continue
        stack, comp = [i], []
        seen.add(i)
        while stack:
            k = stack.pop()
            comp.append(k)
            for j in np.flatnonzero(adj[k]).tolist():
                if j not in seen:
                    seen.add(j)
                    stack.append(j)
        comps.append(sorted(comp))
    return comps


def factor_group_scenario(
    groups: Sequence[Sequence[int]],
    sigma_lead: Sequence[float],
    loadings: dict[int, float] | None = None,
    sigma_z: dict[int, float] | None = None,
    *,
    noise_sd: float,
    m: int,
    Gamma=None,
    n: int | None = None,
    name: str = "custom",
    sigma_v_nominal=None,
) -> Scenario:
    """Build a scenario from a factor-group structure.

    In each group the first factor is the leader, ``v_l ~ N(0, σ_l²)``; every other factor
    ``k`` of the group is ``v_k = a_k v_l + z_k`` with ``z_k ~ N(0, σ_{z,k}²)``, all
    independent. This is how every published scenario is built.

    Parameters
    ----------
    groups : sequence of sequences of int
        A partition of ``0..s-1``; the first index of each group is its leader.
    sigma_lead : sequence of float
        Standard deviation of each group's leader (one per group).
    loadings, sigma_z : dict factor -> float
        ``a_k`` and ``σ_{z,k}`` for every non-leader factor ``k``.
    noise_sd : float
        σ, the observation noise standard deviation.
    m : int
        Latent dimension.
    Gamma : array_like, shape (n, s), optional
        Loadings; default ``[I_s; 0]`` with ``n`` rows (``n`` defaults to ``s``).

    Examples
    --------
    >>> sc = factor_group_scenario([[0, 1], [2]], [0.01, 0.03], {1: 2.0}, {1: 0.02},
    ...                            noise_sd=0.04, m=3, n=4)
    >>> sc.groups
    ((0, 1), (2,))
    """
    loadings = dict(loadings or {})
    sigma_z = dict(sigma_z or {})
    groups = [list(g) for g in groups]
    s = sum(len(g) for g in groups)
    if sorted(i for g in groups for i in g) != list(range(s)):
        raise ValueError(f"groups: must partition 0..{s - 1}, got {groups}")
    if len(sigma_lead) != len(groups):
        raise ValueError(f"sigma_lead: expected {len(groups)} values (one per group)")
    Sigma_V = np.zeros((s, s))
    for g, sl in zip(groups, sigma_lead, strict=True):
        sl = check_positive_scalar(sl, "sigma_lead")
        lead, rest = g[0], g[1:]
        # v = T u with u = (v_lead, z_k...) independent
        T = np.zeros((len(g), len(g)))
        var_u = np.zeros(len(g))
        T[0, 0] = 1.0
        var_u[0] = sl**2
        for r, k in enumerate(rest, start=1):
            if k not in loadings or k not in sigma_z:
                raise ValueError(f"loadings, sigma_z: factor {k} needs a loading and a sigma_z")
            T[r, 0] = float(loadings[k])
            T[r, r] = 1.0
            var_u[r] = check_positive_scalar(sigma_z[k], f"sigma_z[{k}]") ** 2
        block = (T * var_u) @ T.T
        Sigma_V[np.ix_([lead] + rest, [lead] + rest)] = block
    if Gamma is None:
        n = s if n is None else int(n)
        if n < s:
            raise ValueError(f"n: must be >= s = {s}, got {n}")
        Gamma = np.zeros((n, s))
        Gamma[:s, :s] = np.eye(s)
    return make_scenario(
        Sigma_V,
        Gamma,
        check_positive_scalar(noise_sd, "noise_sd") ** 2,
        m,
        groups,
        name=name,
        sigma_v_nominal=sigma_v_nominal,
    )
