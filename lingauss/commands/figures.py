"""``lingauss figures``: regenerate the README figures (``docs/figures/*.png``) from fixed seeds.

Every figure is a pure function of fixed seeds and the library, so rerunning the command gives
the same pictures (byte-identical PNGs on the same platform and matplotlib version). Each file
is written atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .arguments import add_command, add_seeds_argument, at_least

#: Default output folder (relative to the working directory: run from the repository root).
DEFAULT_OUT = Path("docs") / "figures"
#: Seeds of the success-rate figures when ``--seeds`` is not given.
DEFAULT_SEEDS = 10


def register(subparsers) -> None:
    p = add_command(
        subparsers,
        "figures",
        run,
        help="regenerate the README figures (docs/figures/*.png)",
        description="""Regenerate the README figures deterministically from fixed seeds: BA
        dynamics (collapse, interior optimum, the gamma > 1 drift), the rate-distortion plane,
        and success rates of the notebook protocol across seeds.""",
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    add_seeds_argument(p, DEFAULT_SEEDS, "seeds for the success-rate figures")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help=f"only these figures (names: {', '.join(FIGURES)})",
    )
    p.add_argument("--list", action="store_true", help="list the figure names and exit")


# ------------------------------------------------------------------------------- figures
def fig_ba_dynamics(seeds: int):
    """Loss and I(X;Y) of BA on (3,4,3) scenario 2, λ = 0, five γ, one shared initial
    encoder (seed 0): collapse (γ = 0.9), interior optima (0.98, 1.0) and the drift (γ > 1)."""
    import numpy as np

    from ..blahut_arimoto import blahut_arimoto_batch, random_encoder
    from ..plots import ba_convergence
    from ..scenarios import scenario

    sc = scenario("3-4-3", 2)
    gammas = np.array([0.9, 0.98, 1.0, 1.02, 1.1])
    B0, Sw0 = random_encoder(sc.m, sc.n, np.random.default_rng(0), method="exchangeable")
    P = gammas.size
    sol = blahut_arimoto_batch(
        sc.Sigma_Y,
        sc.m,
        gammas,
        np.zeros(P),
        np.repeat(B0[None], P, 0),
        np.repeat(Sw0[None], P, 0),
        max_half_steps=3000,
        history_every=5,
    )
    return ba_convergence(
        sol, title="Blahut–Arimoto on (3,4,3) scenario 2, λ = 0 (dot: stopped by its rule)"
    )


def fig_rate_distortion(seeds: int):
    """BA solutions of (3,4,3) scenario 2 over a (γ, λ) grid in the rate–distortion plane."""
    import numpy as np

    from ..blahut_arimoto import blahut_arimoto_batch, random_encoder
    from ..plots import rate_distortion_plane
    from ..scenarios import scenario

    sc = scenario("3-4-3", 2)
    g, lam = np.meshgrid(
        [0.5, 0.9, 0.95, 0.98, 0.99, 1.0, 1.01, 1.02, 1.1], [-0.02, 0.0, 0.02, 0.5, 2.0, 10.0]
    )
    g, lam = g.ravel(), lam.ravel()
    B0, Sw0 = random_encoder(
        sc.m, sc.n, np.random.default_rng(0), size=g.size, method="exchangeable"
    )
    sol = blahut_arimoto_batch(sc.Sigma_Y, sc.m, g, lam, B0, Sw0, max_half_steps=3000)
    return rate_distortion_plane(
        sc.Sigma_Y,
        sol,
        title="(3,4,3) scenario 2: BA solutions over γ ∈ [0.5, 1.1], λ ∈ [−0.02, 10]",
    )


def _notebook_table(config: str, seeds: int):
    from ..protocol import success_table

    return success_table(config, "notebook", seeds)


def fig_heatmap_343(seeds: int):
    """Notebook-protocol success over the (γ, λ) grid, (3,4,3), ``seeds`` seeds."""
    from ..plots import success_heatmaps

    return success_heatmaps(_notebook_table("3-4-3", seeds))


def fig_distribution_554(seeds: int):
    """Notebook-protocol table success rate of (5,5,4) across seeds, with every published
    number (slides, notebook output, the authors' five repeats)."""
    from ..plots import success_distributions
    from ..protocol import published_table

    return success_distributions(_notebook_table("5-5-4", seeds), published=published_table())


FIGURES: dict[str, Callable] = {
    "ba_dynamics": fig_ba_dynamics,
    "rate_distortion": fig_rate_distortion,
    "heatmap_notebook_3-4-3": fig_heatmap_343,
    "distribution_notebook_5-5-4": fig_distribution_554,
}


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name, fn in FIGURES.items():
            print(f"{name}: {(fn.__doc__ or '').split(chr(10))[0]}")
        return 0
    at_least(args.seeds, "--seeds")
    names = list(FIGURES) if not args.only else list(args.only)
    bad = [n for n in names if n not in FIGURES]
    if bad:
        raise ValueError(f"--only: unknown figure(s) {bad}; expected some of {list(FIGURES)}")
    from ..plots import save_figure

    out = Path(args.out)
    for name in names:
        print(f"[figures] {name} ...", file=sys.stderr, flush=True)
        fig = FIGURES[name](args.seeds)
        path = save_figure(fig, out / f"{name}.png")
        print(f"wrote {path}")
    return 0
