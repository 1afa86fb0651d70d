"""The published scenarios (reference §5): the s3 and s5 families of the four published
configurations, with the analytic or the authors' rounded Σ_V, and the named scenarios of the
follow-up λβ study shipped as data files."""

from __future__ import annotations

import numpy as np

from .model import Scenario, factor_group_scenario, make_scenario

__all__ = ["CONFIGS", "PRESETS", "NAMED", "scenario"]

#: The published configurations: name -> (s, n, m, family).
CONFIGS: dict[str, tuple[int, int, int, str]] = {
    "3-4-3": (3, 4, 3, "s3"),
    "3-4-2": (3, 4, 2, "s3"),
    "5-5-4": (5, 5, 4, "s5"),
    "5-5-3": (5, 5, 3, "s5"),
}
PRESETS = ("analytic", "rounded")


_S3 = dict(sigma_v=(0.01, 0.02, 0.03), alpha=2.0, beta=4.0, sz2=0.02, sz3=0.03, noise=0.04)
_S5 = dict(
    sigma_v=(0.05, 0.01, 0.02, 0.04, 0.03),
    sz=(0.02, 0.01, 0.03, 0.04),  # z2..z5
    alpha=0.1,
    beta=0.3,
    delta=0.4,
    omega=0.2,
    noise=0.01,
)

# The Σ_V the authors used for s5 (printed in their (5,5,4) notebook, reference §5) are sample
# covariances of 10⁷ draws rounded to 4 decimals: the analytic Σ_V rounded, except the
# covariances that sit exactly on a rounding midpoint (Cov(v1, v2) = .00025, Cov(v1, v3) =
# .00075, Cov(v2, v5) = .00005), which their samples put on one side or the other. The values
# they used there, (config, scenario) -> {(i, j): Σ_V[i, j]} (0-based; (5,5,3) differs from
# (5,5,4) only in Cov(v1, v2) = .0003):
_ROUNDED_MIDPOINTS = {
    ("5-5-4", 1): {(0, 1): 0.0002},
    ("5-5-4", 2): {(0, 1): 0.0002, (0, 2): 0.0007},
    ("5-5-4", 3): {(0, 1): 0.0002, (1, 4): 0.0},
    ("5-5-3", 1): {(0, 1): 0.0003},
    ("5-5-3", 2): {(0, 1): 0.0003, (0, 2): 0.0007},
    ("5-5-3", 3): {(0, 1): 0.0003, (1, 4): 0.0},
}


def _s3_structure(number: int):
    p = _S3
    sv = p["sigma_v"]
    if number == 1:
        return [[0], [1], [2]], [sv[0], sv[1], sv[2]], {}, {}
    if number == 2:
        return [[0, 1], [2]], [sv[0], sv[2]], {1: p["alpha"]}, {1: p["sz2"]}
    return [[0, 1, 2]], [sv[0]], {1: p["alpha"], 2: p["beta"]}, {1: p["sz2"], 2: p["sz3"]}


def _s5_structure(number: int):
    p = _S5
    sv, sz = p["sigma_v"], dict(zip((1, 2, 3, 4), p["sz"], strict=True))
    a, b, d, w = p["alpha"], p["beta"], p["delta"], p["omega"]
    if number == 1:
        return [[0, 1], [2, 3], [4]], [sv[0], sv[2], sv[4]], {1: a, 3: b}, {1: sz[1], 3: sz[3]}
    if number == 2:
        return (
            [[0, 1, 2], [3, 4]],
            [sv[0], sv[3]],
            {1: a, 2: b, 4: d},
            {1: sz[1], 2: sz[2], 4: sz[4]},
        )
    return [[0, 1, 2, 3, 4]], [sv[0]], {1: a, 2: b, 3: d, 4: w}, {k: sz[k] for k in (1, 2, 3, 4)}


def _s5_gamma() -> np.ndarray:
    # Y1=v1, Y2=v4, Y3=v5, Y4=v3, Y5=v2
    G = np.zeros((5, 5))
    for row, factor in enumerate((0, 3, 4, 2, 1)):
        G[row, factor] = 1.0
    return G


#: Named scenarios loaded from files the package ships: the follow-up λβ study's
#: covariances (n = 50 and 100 observed dimensions, s = 5 independent factors, m = 10).
NAMED = ("lambda-beta-n50", "lambda-beta-n100")


def _named_scenario(name: str) -> Scenario:
    from importlib.resources import files

    n = int(name.rsplit("n", 1)[1])
    data = files("lingauss") / "data"
    with (data / f"Sigma_V_n{n}_m10_s5.npz").open("rb") as fh:
        Sigma_V = np.load(fh)["Sigma_V"]
    with (data / f"Gamma_Sigma_Y_n{n}_m10_s5.npz").open("rb") as fh:
        f = np.load(fh)
        Gamma, Sigma_Y_file = f["Gamma"], f["Sigma_Y"]
    sc = make_scenario(Sigma_V, Gamma, 0.05, 10, name=name, config=name, preset="published")
    # the shipped Σ_Y must be Γ Σ_V Γ^T + 0.05 I: a corrupted file fails loudly
    if not np.allclose(sc.Sigma_Y, Sigma_Y_file, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name}: shipped Sigma_Y does not equal Gamma Sigma_V Gamma^T + 0.05 I")
    return sc


def scenario(config: str, number: int | None = None, preset: str = "analytic") -> Scenario:
    """One of the published scenarios (reference §5).

    Parameters
    ----------
    config : {"3-4-3", "3-4-2", "5-5-4", "5-5-3", "lambda-beta-n50", "lambda-beta-n100"}
        ``(s, n, m)`` of the configuration, or a named scenario of the follow-up study
        (then ``number`` must be ``None``; ``preset`` is ignored).
    number : {1, 2, 3}
        Scenario: 1 (most independent groups) to 3 (one group).
    preset : {"analytic", "rounded"}
        ``"analytic"``: Σ_V from the generative equations. ``"rounded"``: the matrices the
        authors used (sample covariances of 10⁷ draws rounded to 4 decimals; for s3 identical
        to the analytic ones, for s5 the printed matrices of reference §5).

    Examples
    --------
    >>> sc = scenario("3-4-3", 2)
    >>> sc.groups, sc.m, sc.Sigma_Y.shape
    (((0, 1), (2,)), 3, (4, 4))
    """
    if config in NAMED:
        if number is not None:
            raise ValueError(f"number: {config!r} has no numbered scenarios, got {number!r}")
        return _named_scenario(config)
    if config not in CONFIGS:
        raise ValueError(f"config: expected one of {sorted(CONFIGS) + list(NAMED)}, got {config!r}")
    if number not in (1, 2, 3):
        raise ValueError(f"number: expected 1, 2 or 3, got {number!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {PRESETS}, got {preset!r}")
    s, n, m, family = CONFIGS[config]
    if family == "s3":
        groups, lead, load, sz = _s3_structure(number)
        Gamma = np.zeros((4, 3))
        Gamma[:3, :3] = np.eye(3)
        noise, nominal = _S3["noise"], _S3["sigma_v"]
    else:
        groups, lead, load, sz = _s5_structure(number)
        Gamma = _s5_gamma()
        noise, nominal = _S5["noise"], _S5["sigma_v"]
    base = factor_group_scenario(
        groups, lead, load, sz, noise_sd=noise, m=m, Gamma=Gamma, sigma_v_nominal=nominal
    )
    Sigma_V = base.Sigma_V
    if preset == "rounded":
        Sigma_V = np.round(Sigma_V, 4)
        for (i, j), value in _ROUNDED_MIDPOINTS.get((config, number), {}).items():
            Sigma_V[i, j] = Sigma_V[j, i] = value
    return make_scenario(
        Sigma_V,
        Gamma,
        noise**2,
        m,
        base.groups,
        name=f"{config} scenario {number} ({preset})",
        sigma_v_nominal=np.array(nominal),
        config=config,
        number=number,
        preset=preset,
    )
